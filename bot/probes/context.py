"""The per-run context probes share: each list is fetched once (e.g. pods, for every probe of a
`probe all`) and kept in compact form, so 150,000 pods cost tens of MB, not gigabytes."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

from bot.probes.base import Reader, RunbookFor

CALICO = "/apis/crd.projectcalico.org/v1"
CILIUM = "/apis/cilium.io/v2"
OPERATOR = "/apis/operator.tigera.io/v1"


@dataclass(frozen=True, slots=True)
class PodInfo:
    namespace: str
    name: str
    node: str
    phase: str
    pod_ip: str
    pod_ips: tuple[str, ...]
    host_network: bool
    ready: bool
    waiting: str  # first container waiting reason, e.g. ContainerCreating, CrashLoopBackOff
    restarts: int
    last_terminated: str  # reason and exit code of the last termination, if any
    deleting: bool

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"


def pod_info(item: dict[str, Any]) -> PodInfo:
    meta, spec, status = item.get("metadata") or {}, item.get("spec") or {}, item.get("status") or {}
    statuses = status.get("containerStatuses") or []
    waiting, last, restarts = "", "", 0
    for cs in statuses:
        restarts += int(cs.get("restartCount") or 0)
        w = (cs.get("state") or {}).get("waiting") or {}
        if w.get("reason") and not waiting:
            waiting = str(w["reason"])
        t = (cs.get("lastState") or {}).get("terminated") or {}
        if t and not last:
            last = f"{t.get('reason') or 'Terminated'} (exit code {t.get('exitCode')})"
    ready = any(c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions") or [])
    ips = tuple(str(p.get("ip")) for p in status.get("podIPs") or [] if p.get("ip"))
    return PodInfo(
        namespace=str(meta.get("namespace") or ""),
        name=str(meta.get("name") or ""),
        node=str(spec.get("nodeName") or ""),
        phase=str(status.get("phase") or ""),
        pod_ip=str(status.get("podIP") or ""),
        pod_ips=ips,
        host_network=bool(spec.get("hostNetwork")),
        ready=ready,
        waiting=waiting,
        restarts=restarts,
        last_terminated=last,
        deleting=bool(meta.get("deletionTimestamp")),
    )


class ProbeContext:
    def __init__(self, reader: Reader, *, runbook_for: RunbookFor | None = None) -> None:
        self.reader = reader
        self.runbook_for = runbook_for

    def runbooks_for(self, texts: list[str]) -> list[str | None]:
        if self.runbook_for is None or not texts:
            return [None] * len(texts)
        return self.runbook_for(texts)

    @cached_property
    def nodes(self) -> list[dict[str, Any]]:
        return self.reader.items("/api/v1/nodes")

    @cached_property
    def pods(self) -> list[PodInfo]:
        return [pod_info(item) for page in self.reader.pages("/api/v1/pods") for item in page]

    @cached_property
    def daemonsets(self) -> list[dict[str, Any]]:
        return self.reader.items("/apis/apps/v1/daemonsets")

    def events(self, reason: str) -> list[dict[str, Any]]:
        return self.reader.items("/api/v1/events", field_selector=f"reason={reason}")

    def configmap(self, namespace: str, name: str) -> dict[str, Any] | None:
        return self.reader.get_optional(f"/api/v1/namespaces/{namespace}/configmaps/{name}")

    def calico(self, plural: str) -> list[dict[str, Any]] | None:
        """A Calico CRD's objects, or None when Calico's CRDs are not installed (404)."""
        return self._optional_list(f"{CALICO}/{plural}")

    def cilium_nodes(self) -> list[dict[str, Any]] | None:
        return self._optional_list(f"{CILIUM}/ciliumnodes")

    def installation(self) -> dict[str, Any] | None:
        return self.reader.get_optional(f"{OPERATOR}/installations/default")

    def _optional_list(self, path: str) -> list[dict[str, Any]] | None:
        cache: dict[str, list[dict[str, Any]] | None] = self.__dict__.setdefault("_optional_lists", {})
        if path not in cache:
            cache[path] = self.reader.items_optional(path)
        return cache[path]

    @cached_property
    def cni(self) -> Any:
        from bot.probes.detect import detect_cni

        return detect_cni(self)
