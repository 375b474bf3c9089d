"""The rendered manifests, indexed: objects by kind and name, pod templates, and which pods a
selector picks. Only what the rules need; no cluster, no API server."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

Obj = dict[str, Any]

WORKLOAD_KINDS = ("Deployment", "StatefulSet")


def ref(obj: Obj) -> str:
    """`Kind/name`, how problems name an object."""
    return f"{obj.get('kind')}/{obj.get('metadata', {}).get('name')}"


def image_name(image: str) -> str:
    """The image's repository without tag or digest: `reg/crm-bench/gateway:abc` → `reg/crm-bench/gateway`."""
    name = image.split("@", 1)[0]
    last = name.rsplit("/", 1)[-1]
    if ":" in last:
        name = name[: len(name) - len(last)] + last.split(":", 1)[0]
    return name


@dataclass
class Container:
    workload: Obj
    spec: Obj
    pod: Obj

    @property
    def where(self) -> str:
        return f"{ref(self.workload)} container {self.spec.get('name')}"

    @property
    def image(self) -> str:
        return image_name(self.spec.get("image", ""))

    def env(self) -> dict[str, Obj]:
        return {e["name"]: e for e in self.spec.get("env", []) or []}

    def env_value(self, name: str) -> str | None:
        e = self.env().get(name)
        return None if e is None else e.get("value")

    def port(self, name_or_number: Any) -> int | None:
        """The container port a probe or Service names, by name or number."""
        for p in self.spec.get("ports", []) or []:
            if name_or_number in (p.get("name"), p.get("containerPort")):
                return p.get("containerPort")
        return None

    def security(self, key: str) -> Any:
        """A security setting: the container's own, else the pod's."""
        own = (self.spec.get("securityContext") or {}).get(key)
        return own if own is not None else (self.pod.get("securityContext") or {}).get(key)


@dataclass
class Manifests:
    objects: list[Obj]
    by_kind: dict[str, dict[str, Obj]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for o in self.objects:
            self.by_kind.setdefault(o.get("kind", ""), {})[
                o.get("metadata", {}).get("name", "")
            ] = o

    def of(self, kind: str) -> dict[str, Obj]:
        return self.by_kind.get(kind, {})

    def workloads(self) -> Iterator[Obj]:
        for kind in WORKLOAD_KINDS:
            yield from self.of(kind).values()

    def containers(self) -> Iterator[Container]:
        for w in self.workloads():
            pod = pod_spec(w)
            for c in (pod.get("initContainers") or []) + (pod.get("containers") or []):
                yield Container(w, c, pod)

    def selected(self, selector: dict[str, str]) -> list[Obj]:
        """The workloads whose pods carry every label of `selector` (none for an empty one)."""
        if not selector:
            return []
        return [w for w in self.workloads() if labels_match(selector, pod_labels(w))]

    def service_target(self, url: str) -> tuple[Obj | None, list[Obj], str | None]:
        """For a URL whose host is a Service name: the Service, the workloads it selects, and
        a problem if the URL's port is not one of the Service's ports."""
        parts = urlsplit(url)
        host = (parts.hostname or "").split(".", 1)[0]
        svc = self.of("Service").get(host)
        if svc is None:
            return None, [], f"{url}: no Service named {host!r}"
        ports = [p.get("port") for p in svc["spec"].get("ports", [])]
        problem = None
        if parts.port not in ports:
            problem = f"{url}: Service {host} has no port {parts.port} (it has {ports})"
        return svc, self.selected(svc["spec"].get("selector") or {}), problem


def pod_spec(workload: Obj) -> Obj:
    return workload.get("spec", {}).get("template", {}).get("spec", {}) or {}


def pod_labels(workload: Obj) -> dict[str, str]:
    return workload.get("spec", {}).get("template", {}).get("metadata", {}).get("labels", {}) or {}


def labels_match(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in selector.items())


def match_labels(selector: Obj | None) -> tuple[dict[str, str], str | None]:
    """A LabelSelector's matchLabels, or a problem if it uses what these checks cannot read."""
    selector = selector or {}
    if selector.get("matchExpressions"):
        return {}, "uses matchExpressions, which these checks do not evaluate; use matchLabels"
    return selector.get("matchLabels") or {}, None
