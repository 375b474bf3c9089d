"""Rules on each container: hardening and resources for all; for the CRM binaries, the
settings they are given (names their --help accepts, the listen address, probes on routes
they serve, a drain that fits the grace period, URLs that reach the right peers); for
PostgreSQL and NATS, what their images need."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from model import Container, Manifests, Obj, pod_spec, ref
from sources import Sources, is_image

# After the drain the outbox relay, the event consumers and background tasks still stop
# (crm-micro/runtime/src/service.rs); a few seconds of the grace period are theirs.
STOP_MARGIN_S = 5
# Settings that must come from a Secret, never a literal in the manifests.
SECRET_ENV = {"CRM_INTERNAL_SECRET", "PGPASSWORD", "POSTGRES_PASSWORD"}
# CRM_<SERVICE>_URLS → the binary that must answer there.
SERVICE_URLS = re.compile(r"^CRM_([A-Z]+)_URLS$")

Connection = tuple[Obj, Obj, tuple[str | None, int]]


def hardening(c: Container, src: Sources) -> list[str]:
    out = []
    res = c.spec.get("resources") or {}
    for kind in ("requests", "limits"):
        for r in ("cpu", "memory"):
            if not (res.get(kind) or {}).get(r):
                out.append(f"{c.where}: no {r} in resources.{kind}")
    if c.security("runAsNonRoot") is not True:
        out.append(f"{c.where}: runAsNonRoot is not true")
    uid = c.security("runAsUser")
    if not isinstance(uid, int) or uid == 0:
        out.append(
            f"{c.where}: runAsUser must be a numeric non-root uid (runAsNonRoot cannot check a named user), not {uid!r}"
        )
    own = c.spec.get("securityContext") or {}
    if own.get("allowPrivilegeEscalation") is not False:
        out.append(f"{c.where}: allowPrivilegeEscalation is not false")
    if "ALL" not in ((own.get("capabilities") or {}).get("drop") or []):
        out.append(f"{c.where}: capabilities do not drop ALL")
    if own.get("readOnlyRootFilesystem") is not True:
        out.append(f"{c.where}: readOnlyRootFilesystem is not true")
    for probe in ("livenessProbe", "readinessProbe"):
        if probe not in c.spec:
            out.append(f"{c.where}: no {probe}")
    if not src.is_known(c.image):
        out.append(
            f"{c.where}: image {c.image} is none of those `crm-bench images` builds ({sorted(src.known_images())})"
        )
    return out


def secrets(c: Container, m: Manifests) -> list[str]:
    out = []
    for name, e in c.env().items():
        key_ref = (e.get("valueFrom") or {}).get("secretKeyRef")
        if name in SECRET_ENV and key_ref is None:
            out.append(f"{c.where}: {name} must come from a Secret (secretKeyRef), not a literal")
        if key_ref is not None:
            secret = m.of("Secret").get(key_ref.get("name"))
            keys = set((secret or {}).get("data") or {}) | set(
                (secret or {}).get("stringData") or {}
            )
            if key_ref.get("key") not in keys:
                out.append(
                    f"{c.where}: {name} refers to key {key_ref.get('key')!r} of Secret {key_ref.get('name')!r}, which is not here"
                )
    return out


def crm(
    c: Container, m: Manifests, src: Sources, users: dict[str, set[str]]
) -> tuple[list[str], list[Connection]]:
    """The CRM binary in `c`; `users` collects which Deployments use each PostgreSQL."""
    binary = src.crm_binary(c.image)
    assert binary is not None
    out: list[str] = []
    conns: list[Connection] = []
    env = c.env()
    accepted = src.accepted_env(binary)
    for name in env:
        if name not in accepted:
            out.append(
                f"{c.where}: sets {name}, which {binary} does not accept (its --help lists {sorted(accepted)})"
            )

    listen = env.get("CRM_LISTEN", {}).get("value", "")
    host, _, port = listen.rpartition(":")
    if host != "0.0.0.0" or not port.isdigit() or c.port(int(port)) is None:
        out.append(
            f"{c.where}: CRM_LISTEN {listen!r} must be 0.0.0.0:<a containerPort> to take traffic from other pods"
        )
    for probe, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
        get = (c.spec.get(probe) or {}).get("httpGet") or {}
        if get.get("path") != path or path not in src.ops_routes:
            out.append(
                f"{c.where}: {probe} must GET {path} (the binaries serve {sorted(src.ops_routes)}), not {get.get('path')!r}"
            )
        elif listen and port.isdigit() and c.port(get.get("port")) != int(port):
            out.append(f"{c.where}: {probe} port {get.get('port')!r} is not the listen port {port}")

    out += _drain(c, env)

    user = (c.security("runAsUser"), c.security("runAsGroup"))
    if user != (src.crm_uid, src.crm_gid):
        out.append(
            f"{c.where}: runs as {user}, not as deploy/crm/Dockerfile's USER {src.crm_uid}:{src.crm_gid}"
        )

    for name, e in env.items():
        value = e.get("value")
        if value is None:
            continue
        if name == "CRM_DATABASE_URL":
            o, cs = _database(c, value, m, src, users)
        elif name == "CRM_NATS_URL":
            o, cs = _peer(c, value, m, lambda w: has_image(w, src.nats_image), "NATS")
        elif (s := SERVICE_URLS.match(name)) is not None:
            want = f"crm-bench/{s[1].lower()}-svc"
            o, cs = [], []
            for url in value.split(","):
                o2, cs2 = _peer(c, url, m, lambda w, want=want: has_image(w, want), want)
                o += o2
                cs += cs2
        else:
            continue
        out += [f"{c.where}: {name}: {p}" for p in o]
        conns += cs
    return out, conns


def _drain(c: Container, env: dict[str, Obj]) -> list[str]:
    drain = env.get("CRM_DRAIN_TIMEOUT_MS", {}).get("value")
    sleep = ((c.spec.get("lifecycle") or {}).get("preStop") or {}).get("sleep", {}).get("seconds")
    grace = c.pod.get("terminationGracePeriodSeconds", 30)
    if drain is None or not str(drain).isdigit():
        return [
            f"{c.where}: CRM_DRAIN_TIMEOUT_MS must be set, so the grace period can be checked against it"
        ]
    if not isinstance(sleep, int):
        return [
            f"{c.where}: no preStop sleep: the pod would stop accepting before its endpoints are removed"
        ]
    need = sleep + int(drain) / 1000 + STOP_MARGIN_S
    if grace < need:
        return [
            f"{c.where}: terminationGracePeriodSeconds {grace} < preStop {sleep} s + drain {int(drain) / 1000:g} s + {STOP_MARGIN_S} s to stop"
        ]
    return []


def has_image(w: Obj, image: str) -> bool:
    return any(
        is_image(Container(w, c, pod_spec(w)).image, image)
        for c in pod_spec(w).get("containers", [])
    )


def _peer(
    c: Container, url: str, m: Manifests, is_wanted, what: str
) -> tuple[list[str], list[Connection]]:
    svc, picked, problem = m.service_target(url)
    if svc is None or problem:
        return [problem or ""], []
    wrong = [ref(w) for w in picked if not is_wanted(w)]
    if not picked or wrong:
        return [f"{url} reaches {wrong or 'no pod'}, not {what}"], []
    port = next(p for p in svc["spec"]["ports"] if p.get("port") == urlsplit(url).port)
    target = port.get("targetPort", port.get("port"))
    conns = []
    for w in picked:
        for spec in pod_spec(w).get("containers", []):
            number = Container(w, spec, pod_spec(w)).port(target)
            if number is not None:
                name = next(
                    (
                        p.get("name")
                        for p in spec.get("ports", [])
                        if p.get("containerPort") == number
                    ),
                    None,
                )
                conns.append((c.workload, w, (name, number)))
    return [], conns


def _database(
    c: Container, url: str, m: Manifests, src: Sources, users: dict[str, set[str]]
) -> tuple[list[str], list[Connection]]:
    out, conns = _peer(c, url, m, lambda w: has_image(w, src.postgres_image), "PostgreSQL")
    parts = urlsplit(url)
    if parts.password:
        out.append("carries a password in clear; give it as PGPASSWORD from a Secret")
    if conns:
        db = conns[0][1]
        users.setdefault(ref(db), set()).add(ref(c.workload))
        database = parts.path.lstrip("/")
        created = set()
        for spec in pod_spec(db).get("containers", []):
            created |= set(
                re.split(
                    r"[ ,]+", Container(db, spec, pod_spec(db)).env_value("CRM_DATABASES") or ""
                )
            )
        if database not in created:
            out.append(
                f"database {database!r} is not among those {ref(db)} creates (CRM_DATABASES {sorted(created - {''})})"
            )
    return out, conns


def postgres(c: Container, src: Sources) -> list[str]:
    out = []
    if c.security("runAsUser") != src.postgres_uid:
        out.append(
            f"{c.where}: runAsUser {c.security('runAsUser')} is not the postgres uid {src.postgres_uid} (deploy/postgres/Dockerfile)"
        )
    pgdata = c.env_value("PGDATA") or "/var/lib/postgresql/data"
    mounts = [v.get("mountPath", "") for v in c.spec.get("volumeMounts", []) or []]
    if not any(pgdata.startswith(mp.rstrip("/") + "/") for mp in mounts):
        out.append(
            f"{c.where}: PGDATA {pgdata} is not below a mounted volume (and initdb must create it itself)"
        )
    for needed in ("/run/postgresql", "/tmp"):
        if needed not in mounts:
            out.append(f"{c.where}: {needed} must be a writable volume under a read-only root")
    return out


def nats(c: Container, w: Obj) -> list[str]:
    """The routes must name every member of the StatefulSet through its headless Service, on
    the cluster port, and each server must get a name of its own."""
    args = dict(a.split("=", 1) for a in c.spec.get("args", []) if a.startswith("--") and "=" in a)
    replicas = w["spec"].get("replicas", 1)
    want = {
        f"{w['metadata']['name']}-{i}.{w['spec'].get('serviceName')}:{c.port('cluster')}"
        for i in range(replicas)
    }
    have = {urlsplit(r).netloc for r in args.get("--routes", "").split(",") if r}
    out = []
    if have != want:
        out.append(f"{c.where}: --routes name {sorted(have)}, but the members are {sorted(want)}")
    pod_name = (
        (c.env().get("POD_NAME", {}).get("valueFrom") or {}).get("fieldRef", {}).get("fieldPath")
    )
    if args.get("--server_name") != "$(POD_NAME)" or pod_name != "metadata.name":
        out.append(
            f"{c.where}: --server_name must be $(POD_NAME) from metadata.name: JetStream needs a distinct name per server"
        )
    monitor = args.get("--http_port")
    for probe in ("livenessProbe", "readinessProbe"):
        get = (c.spec.get(probe) or {}).get("httpGet") or {}
        if (
            not get.get("path", "").startswith("/healthz")
            or str(c.port(get.get("port"))) != monitor
        ):
            out.append(
                f"{c.where}: {probe} must GET /healthz on the monitoring port (--http_port {monitor})"
            )
    return out
