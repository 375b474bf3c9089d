"""Rules on how the objects fit together: kinds, selectors, Services, StatefulSets' Services,
disruption budgets, autoscalers and network policies. Each rule returns its problems."""

from __future__ import annotations

from model import Manifests, Obj, labels_match, match_labels, pod_labels, pod_spec, ref

# Core Kubernetes kinds only, so the manifests validate offline and apply to any cluster.
CORE_KINDS = {
    ("v1", "ConfigMap"),
    ("v1", "Secret"),
    ("v1", "Service"),
    ("apps/v1", "Deployment"),
    ("apps/v1", "StatefulSet"),
    ("policy/v1", "PodDisruptionBudget"),
    ("autoscaling/v2", "HorizontalPodAutoscaler"),
    ("networking.k8s.io/v1", "NetworkPolicy"),
}


def kinds(m: Manifests) -> list[str]:
    return [
        f"{ref(o)}: {o.get('apiVersion')} {o.get('kind')} is not one of the core kinds these manifests use"
        for o in m.objects
        if (o.get("apiVersion"), o.get("kind")) not in CORE_KINDS
    ]


def workload_selectors(m: Manifests) -> list[str]:
    out = []
    for w in m.workloads():
        sel, problem = match_labels(w["spec"].get("selector"))
        if problem:
            out.append(f"{ref(w)}: selector {problem}")
        elif not sel:
            out.append(f"{ref(w)}: has an empty selector")
        elif not labels_match(sel, pod_labels(w)):
            out.append(f"{ref(w)}: selector {sel} does not match its pod labels {pod_labels(w)}")
    return out


def services(m: Manifests) -> list[str]:
    out = []
    for svc in m.of("Service").values():
        sel = svc["spec"].get("selector") or {}
        picked = m.selected(sel)
        if not picked:
            out.append(f"{ref(svc)}: selector {sel} selects no pod")
            continue
        for p in svc["spec"].get("ports", []):
            target = p.get("targetPort", p.get("port"))
            for w in picked:
                pods = [c for c in pod_spec(w).get("containers", [])]
                if not any(_container_port(c, target) for c in pods):
                    out.append(
                        f"{ref(svc)}: port {p.get('name')} targets {target!r}, which {ref(w)}'s pods do not expose"
                    )
    return out


def _container_port(container: Obj, target: object) -> bool:
    return any(
        target in (p.get("name"), p.get("containerPort")) for p in container.get("ports", []) or []
    )


def statefulset_services(m: Manifests) -> list[str]:
    out = []
    for sts in m.of("StatefulSet").values():
        name = sts["spec"].get("serviceName")
        svc = m.of("Service").get(name)
        if svc is None:
            out.append(f"{ref(sts)}: serviceName {name!r} is not a Service here")
        elif svc["spec"].get("clusterIP") != "None":
            out.append(
                f"{ref(sts)}: its Service {name} is not headless (clusterIP: None), so its pods get no stable names"
            )
        elif sts not in m.selected(svc["spec"].get("selector") or {}):
            out.append(f"{ref(sts)}: its Service {name} does not select its pods")
    return out


def disruption_budgets(m: Manifests) -> list[str]:
    out = []
    autoscaled = {
        h["spec"]["scaleTargetRef"].get("name") for h in m.of("HorizontalPodAutoscaler").values()
    }
    covered: set[str] = set()
    for pdb in m.of("PodDisruptionBudget").values():
        sel, problem = match_labels(pdb["spec"].get("selector"))
        if problem:
            out.append(f"{ref(pdb)}: selector {problem}")
            continue
        picked = m.selected(sel)
        if not picked:
            out.append(f"{ref(pdb)}: selector {sel} selects no pod")
        for w in picked:
            covered.add(ref(w))
            replicas = w["spec"].get("replicas")
            floor = pdb["spec"].get("minAvailable")
            if isinstance(floor, int) and isinstance(replicas, int) and floor >= replicas:
                out.append(
                    f"{ref(pdb)}: minAvailable {floor} with {replicas} replicas of {ref(w)} blocks every eviction"
                )
    for w in m.workloads():
        several = (w["spec"].get("replicas") or 1) > 1 or w["metadata"]["name"] in autoscaled
        if several and ref(w) not in covered:
            out.append(f"{ref(w)}: runs several replicas but no PodDisruptionBudget covers it")
    return out


def autoscalers(m: Manifests) -> list[str]:
    out = []
    for hpa in m.of("HorizontalPodAutoscaler").values():
        target = hpa["spec"]["scaleTargetRef"]
        dep = m.of(target.get("kind", "")).get(target.get("name", ""))
        if (
            target.get("kind") != "Deployment"
            or target.get("apiVersion") != "apps/v1"
            or dep is None
        ):
            out.append(f"{ref(hpa)}: scaleTargetRef {target} is no Deployment here")
            continue
        if "replicas" in dep["spec"]:
            out.append(
                f"{ref(hpa)}: {ref(dep)} sets spec.replicas, which every apply would reset under the autoscaler"
            )
        if hpa["spec"].get("minReplicas", 1) > hpa["spec"]["maxReplicas"]:
            out.append(f"{ref(hpa)}: minReplicas exceeds maxReplicas")
        cpu = [
            x
            for x in hpa["spec"].get("metrics", [])
            if x.get("type") == "Resource" and x["resource"]["name"] == "cpu"
        ]
        if not cpu:
            out.append(f"{ref(hpa)}: does not scale on CPU")
        for c in pod_spec(dep).get("containers", []):
            if not (c.get("resources") or {}).get("requests", {}).get("cpu"):
                out.append(
                    f"{ref(hpa)}: container {c['name']} of {ref(dep)} has no CPU request to measure utilisation against"
                )
    return out


def network_policies(
    m: Manifests, connections: list[tuple[Obj, Obj, tuple[str | None, int]]]
) -> list[str]:
    """Each connection the containers' settings declare — source workload, target workload,
    target container port as (name, number) — must be admitted by the ingress policies that
    select the target, if any do."""
    out = []
    policies = [
        p
        for p in m.of("NetworkPolicy").values()
        if "Ingress" in p["spec"].get("policyTypes", ["Ingress"])
    ]
    for src, dst, port in connections:
        applying = [
            p
            for p in policies
            if labels_match(match_labels(p["spec"].get("podSelector"))[0], pod_labels(dst))
        ]
        if applying and not any(_admits(p, pod_labels(src), port) for p in applying):
            names = ", ".join(ref(p) for p in applying)
            out.append(
                f"{ref(src)} connects to {ref(dst)} port {port[1]}, which {names} does not admit"
            )
    for p in policies:
        if not m.selected(match_labels(p["spec"].get("podSelector"))[0]):
            out.append(f"{ref(p)}: podSelector selects no pod")
    return out


def _admits(policy: Obj, source: dict[str, str], port: tuple[str | None, int]) -> bool:
    for rule in policy["spec"].get("ingress", []) or []:
        peers = rule.get("from")
        ports = rule.get("ports")
        peer_ok = not peers or any(
            "podSelector" in peer
            and "namespaceSelector" not in peer
            and labels_match(match_labels(peer["podSelector"])[0], source)
            for peer in peers
        )
        port_ok = not ports or any(p.get("port") in port for p in ports)
        if peer_ok and port_ok:
            return True
    return False
