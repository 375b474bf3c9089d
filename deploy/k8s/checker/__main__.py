"""Checks crm-bench's own invariants on rendered Kubernetes manifests (`kubectl kustomize`
output), beyond what schema validation can see: that the objects select each other, that each
CRM binary gets only settings it accepts and URLs that reach the right peers, that each
service has a PostgreSQL of its own, that autoscalers target real Deployments, and that every
container is locked down.

    kubectl kustomize deploy/k8s/overlays/micro | python3 deploy/k8s/checker --overlay micro -

Exit status: 0 when every rule holds, 1 with one line per problem otherwise, 2 on bad input.

# Layout
- `model.py`: the rendered objects, indexed; selectors and Service targets.
- `sources.py`: what the repository defines (images, users, ops routes, each binary's --help).
- `objects.py`: rules on objects: kinds, selectors, Services, budgets, autoscalers, policies.
- `containers.py`: rules on containers: hardening, CRM settings and URLs, PostgreSQL, NATS.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import yaml

import containers
import objects
from model import Container, Manifests, ref
from sources import Sources, Unreadable, is_image, load

ROOT = Path(__file__).resolve().parents[3]
MICRO_SERVICES = 7


def check(m: Manifests, src: Sources) -> list[str]:
    out: list[str] = []
    for rule in (
        objects.kinds,
        objects.workload_selectors,
        objects.services,
        objects.statefulset_services,
        objects.disruption_budgets,
        objects.autoscalers,
    ):
        out += rule(m)
    users: dict[str, set[str]] = {}
    conns: list[containers.Connection] = []
    for c in m.containers():
        out += containers.hardening(c, src)
        out += containers.secrets(c, m)
        if src.crm_binary(c.image):
            problems, cs = containers.crm(c, m, src, users)
            out += problems
            conns += cs
        elif is_image(c.image, src.postgres_image):
            out += containers.postgres(c, src)
        elif is_image(c.image, src.nats_image):
            out += containers.nats(c, c.workload)
    for db, used_by in users.items():
        if len(used_by) > 1:
            out.append(
                f"{db}: shared by {sorted(used_by)}; each service needs a PostgreSQL of its own"
            )
    for sts in m.of("StatefulSet").values():
        if containers.has_image(sts, src.postgres_image) and ref(sts) not in users:
            out.append(f"{ref(sts)}: no CRM container's CRM_DATABASE_URL points at this PostgreSQL")
    out += objects.network_policies(m, conns)
    return out


def expect(m: Manifests, src: Sources, overlay: str) -> list[str]:
    """The shape each shipped overlay promises (README, "Running on a cluster")."""
    deployed = sorted(
        b
        for d in m.of("Deployment").values()
        for c in d["spec"]["template"]["spec"]["containers"]
        if (b := src.crm_binary(Container(d, c, {}).image))
    )
    dbs = [s for s in m.of("StatefulSet").values() if containers.has_image(s, src.postgres_image)]
    nats = [s for s in m.of("StatefulSet").values() if containers.has_image(s, src.nats_image)]
    scaled = sorted(
        h["spec"]["scaleTargetRef"]["name"] for h in m.of("HorizontalPodAutoscaler").values()
    )
    out = []
    if overlay == "monolith":
        want, want_dbs, want_nats = ["crm-monolith"], 1, []
    else:
        want = sorted(b for b in src.crm_binaries if b != "crm-monolith")
        want_dbs, want_nats = MICRO_SERVICES, [3]
    if deployed != want:
        out.append(f"{overlay}: deploys {deployed}, expected {want}")
    if len(dbs) != want_dbs:
        out.append(f"{overlay}: {len(dbs)} PostgreSQL StatefulSets, expected {want_dbs}")
    if [s["spec"].get("replicas") for s in nats] != want_nats:
        out.append(
            f"{overlay}: NATS StatefulSets with replicas {[s['spec'].get('replicas') for s in nats]}, expected {want_nats}"
        )
    want_scaled = sorted(m.of("Deployment")) if overlay == "micro-hpa" else []
    if scaled != want_scaled:
        out.append(f"{overlay}: autoscalers for {scaled}, expected {want_scaled}")
    return out


def main() -> int:
    p = argparse.ArgumentParser(prog="checker", description=__doc__.split("\n\n")[0])
    p.add_argument("file", help="rendered manifests (YAML, several documents), or - for stdin")
    p.add_argument(
        "--overlay",
        choices=["monolith", "micro", "micro-hpa"],
        help="also check the shape this shipped overlay promises",
    )
    p.add_argument(
        "--bin-dir",
        type=Path,
        default=ROOT / "target/debug",
        help="where the CRM binaries are, for their --help (default: target/debug)",
    )
    args = p.parse_args()
    try:
        text = sys.stdin.read() if args.file == "-" else Path(args.file).read_text()
        docs = [d for d in yaml.safe_load_all(text) if d]
    except (OSError, yaml.YAMLError) as e:
        print(f"checker: cannot read {args.file}: {e}", file=sys.stderr)
        return 2
    if not docs or not all(isinstance(d, dict) and "kind" in d for d in docs):
        print(f"checker: {args.file} holds no Kubernetes objects", file=sys.stderr)
        return 2
    m = Manifests(docs)
    try:
        src = load(ROOT, args.bin_dir)
        problems = check(m, src)
    except Unreadable as e:
        print(f"checker: {e}", file=sys.stderr)
        return 2
    if args.overlay:
        problems += expect(m, src, args.overlay)
    for line in problems:
        print(line)
    name = args.overlay or args.file
    print(f"checker: {name}: {len(docs)} objects, {len(problems)} problems", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
