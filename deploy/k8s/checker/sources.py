"""What the rest of the repository says the manifests must agree with, read from where it is
defined rather than copied here, so that a change there shows up as a failed check instead of
a silent drift: the images `crm-bench images` builds, the users the Dockerfiles run as, the
ops routes every binary serves, and the environment variables each binary accepts."""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

# Read by sqlx (PgConnectOptions) when CRM_DATABASE_URL carries no password; libpq's name, so
# clap's --help does not list it. Accepted by every binary that takes CRM_DATABASE_URL.
SQLX_ENV = ("PGPASSWORD",)


class Unreadable(Exception):
    """A source the checks rely on is missing or no longer says what they look for."""


@dataclass
class Sources:
    crm_binaries: list[str]
    postgres_image: str
    nats_image: str
    crm_uid: int
    crm_gid: int
    postgres_uid: int
    ops_routes: set[str]
    bin_dir: Path
    _env: dict[str, set[str]]

    def crm_binary(self, image: str) -> str | None:
        """`crm-bench/customers-svc` (or `<registry>/crm-bench/customers-svc`) → `customers-svc`."""
        name = image.rsplit("/", 1)[-1]
        return name if is_image(image, f"crm-bench/{name}") and name in self.crm_binaries else None

    def known_images(self) -> set[str]:
        return {f"crm-bench/{b}" for b in self.crm_binaries} | {
            self.postgres_image,
            self.nats_image,
        }

    def is_known(self, image: str) -> bool:
        return any(is_image(image, known) for known in self.known_images())

    def accepted_env(self, binary: str) -> set[str]:
        """The `[env: NAME=…]` names in `binary --help`, plus what sqlx reads beside them."""
        if binary not in self._env:
            path = self.bin_dir / binary
            if not path.exists():
                raise Unreadable(
                    f"{path} is missing; build the binaries first "
                    "(cargo build --workspace --bins) or pass --bin-dir"
                )
            out = subprocess.run(
                [str(path), "--help"], capture_output=True, text=True, check=True
            ).stdout
            names = set(re.findall(r"\[env:\s+([A-Z0-9_]+)[=\]]", out))
            if not names:
                raise Unreadable(
                    f"`{path} --help` lists no [env: …] names; has its format changed?"
                )
            if "CRM_DATABASE_URL" in names:
                names.update(SQLX_ENV)
            self._env[binary] = names
        return self._env[binary]


def is_image(image: str, name: str) -> bool:
    """Whether `image` (tag stripped) is `name`, as built, or retagged for a registry."""
    return image == name or image.endswith("/" + name)


def _one(pattern: str, text: str, what: str, path: Path) -> re.Match[str]:
    m = re.search(pattern, text, re.S | re.M)
    if m is None:
        raise Unreadable(f"cannot find {what} in {path}; has it moved?")
    return m


def load(root: Path, bin_dir: Path) -> Sources:
    images_rs = root / "harness/src/runtime/docker/images.rs"
    text = images_rs.read_text()
    binaries = re.findall(
        r'"([a-z-]+)"',
        _one(r"pub const CRM_BINARIES[^=]*=\s*\[(.*?)\];", text, "CRM_BINARIES", images_rs)[1],
    )
    postgres = _one(r'pub const POSTGRES: &str = "([^":]+)', text, "POSTGRES", images_rs)[1]
    nats = _one(r'pub const NATS: &str = "([^":]+)', text, "NATS", images_rs)[1]

    crm_dockerfile = root / "deploy/crm/Dockerfile"
    user = _one(r"^USER (\d+):(\d+)", crm_dockerfile.read_text(), "USER uid:gid", crm_dockerfile)
    pg_dockerfile = root / "deploy/postgres/Dockerfile"
    pg_uid = _one(
        r"usermod -u (\d+)",
        pg_dockerfile.read_text(),
        "the postgres uid (usermod -u)",
        pg_dockerfile,
    )

    server_rs = root / "crates/crm-http/src/server.rs"
    ops = _one(r"pub fn ops\(.*?\n}\n", server_rs.read_text(), "fn ops", server_rs)[0]
    routes = set(re.findall(r'\.route\(\s*"(/[^"]*)"', ops))

    return Sources(
        crm_binaries=binaries,
        postgres_image=postgres,
        nats_image=nats,
        crm_uid=int(user[1]),
        crm_gid=int(user[2]),
        postgres_uid=int(pg_uid[1]),
        ops_routes=routes,
        bin_dir=bin_dir,
        _env={},
    )
