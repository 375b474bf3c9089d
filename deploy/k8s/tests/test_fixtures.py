"""The Kubernetes checks can fail: each fixture under fixtures/ is a kustomize overlay that
breaks one thing in a shipped overlay, and its first line says what must catch it —
`# expect: TEXT` (the invariant checker prints TEXT and exits 1) or `# expect-schema: TEXT`
(strict schema validation prints TEXT and fails). The shipped overlays themselves pass both,
so a fixture's failure is its own defect's.

    python3 -m unittest discover -s deploy/k8s/tests

Needs kubectl, kubernetes-validate (scripts/install-deps.sh) and the CRM binaries
(target/debug, or CRM_BIN_DIR)."""

from __future__ import annotations

import os
import subprocess
import sys
import unittest
from pathlib import Path

HERE = Path(__file__).resolve().parent
K8S = HERE.parent
ROOT = K8S.parents[1]
FIXTURES = HERE / "fixtures"
OVERLAYS = ("monolith", "micro", "micro-hpa")
# The Kubernetes release whose schemas the manifests must satisfy (scripts/check-k8s.sh).
KUBERNETES_VERSION = os.environ.get("CRM_K8S_VERSION", "1.32.0")
BIN_DIR = os.environ.get("CRM_BIN_DIR", str(ROOT / "target/debug"))


def render(path: Path) -> str:
    return subprocess.run(
        ["kubectl", "kustomize", str(path)], capture_output=True, text=True, check=True
    ).stdout


def validate(manifests: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "kubernetes_validate",
            "--strict",
            "-k",
            KUBERNETES_VERSION,
            "--quiet",
            "-",
        ],
        input=manifests,
        capture_output=True,
        text=True,
    )


def check(manifests: str, overlay: str | None = None) -> subprocess.CompletedProcess[str]:
    args = [sys.executable, str(K8S / "checker"), "--bin-dir", BIN_DIR, "-"]
    if overlay:
        args += ["--overlay", overlay]
    return subprocess.run(args, input=manifests, capture_output=True, text=True)


def expectation(fixture: Path) -> tuple[str, str]:
    first = (fixture / "kustomization.yaml").read_text().splitlines()[0]
    for kind in ("expect-schema", "expect"):
        if first.startswith(f"# {kind}: "):
            return kind, first[len(f"# {kind}: ") :]
    raise AssertionError(
        f"{fixture.name}: its first line must be `# expect: …` or `# expect-schema: …`"
    )


class ShippedOverlays(unittest.TestCase):
    def test_every_shipped_overlay_passes_the_schema_and_the_checker(self) -> None:
        for overlay in OVERLAYS:
            with self.subTest(overlay=overlay):
                manifests = render(K8S / "overlays" / overlay)
                v = validate(manifests)
                self.assertEqual((v.returncode, v.stdout), (0, ""), f"{overlay}: schema validation")
                c = check(manifests, overlay)
                self.assertEqual((c.returncode, c.stdout), (0, ""), f"{overlay}: {c.stderr}")


class BrokenFixtures(unittest.TestCase):
    def test_there_are_fixtures_for_both_layers(self) -> None:
        kinds = {expectation(f)[0] for f in FIXTURES.iterdir() if f.is_dir()}
        self.assertEqual(kinds, {"expect", "expect-schema"})

    def test_each_broken_fixture_is_caught_with_the_problem_it_names(self) -> None:
        for fixture in sorted(f for f in FIXTURES.iterdir() if f.is_dir()):
            kind, text = expectation(fixture)
            with self.subTest(fixture=fixture.name):
                manifests = render(fixture)
                result = validate(manifests) if kind == "expect-schema" else check(manifests)
                self.assertNotEqual(
                    result.returncode, 0, f"{fixture.name} passed:\n{result.stdout}{result.stderr}"
                )
                self.assertIn(text, result.stdout, f"{fixture.name}: another problem was found")
                if kind == "expect":
                    # A checker that crashed exits non-zero too; only a reported problem counts.
                    self.assertEqual(result.returncode, 1, result.stderr)


if __name__ == "__main__":
    unittest.main()
