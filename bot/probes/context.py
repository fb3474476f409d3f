"""The per-run context probes share: each list is fetched once (e.g. pods, for every probe of a
`probe all`) and kept in compact form, so 150,000 pods cost tens of MB, not gigabytes."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from bot.domain.errors import ForbiddenError
from bot.probes.base import Reader, RunbookFor

T = TypeVar("T")


class shared_once(Generic[T]):
    """Like functools.cached_property, but safe when probes run in parallel: the first probe to ask
    computes the value while the others wait for it, so a list is fetched once per run. A failure is
    not cached (the shared reader already remembers the failed request for this run)."""

    def __init__(self, func: Callable[[Any], T]) -> None:
        self.func = func
        self.name = func.__name__
        self.__doc__ = func.__doc__

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, obj: Any, owner: type | None = None) -> T:
        if obj is None:
            return self  # type: ignore[return-value]
        values: dict[str, Any] = obj._shared_values
        if self.name in values:
            return values[self.name]  # type: ignore[no-any-return]
        with obj._shared_guard:
            lock = obj._shared_locks.setdefault(self.name, threading.RLock())
        with lock:
            if self.name not in values:
                values[self.name] = self.func(obj)
            return values[self.name]  # type: ignore[no-any-return]


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
    if not ips and status.get("podIP"):
        ips = (str(status["podIP"]),)
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


PENDING_STATUSES = frozenset(
    {
        "Pending",
        "ContainerCreating",
        "PodInitializing",
        "ErrImagePull",
        "ImagePullBackOff",
        "CreateContainerConfigError",
    }
)
WAITING_STATUSES = PENDING_STATUSES - {"Pending"} | {"CrashLoopBackOff"}


EMPTY: dict[str, Any] = {}
PER_NAMESPACE_MAX = 300
NAMESPACE_WORKERS = 4


def pods_from_table(table: dict[str, Any], node_ips: frozenset[str], namespace: str = "") -> list[PodInfo]:
    """PodInfo from server-printed rows (`kubectl get pods -o wide` columns). A table has no
    hostNetwork field, so a pod whose IP is its node's address counts as host-network.

    This is the hot loop of a 150,000-pod listing, hence the plain indexing."""
    columns = {str(c.get("name")): i for i, c in enumerate(table.get("columnDefinitions") or [])}
    wanted = [columns.get(n) for n in ("Name", "Ready", "Status", "Restarts", "IP", "Node")]
    if any(i is None for i in wanted):
        return []
    name_i, ready_i, status_i, restarts_i, ip_i, node_i = (int(i) for i in wanted if i is not None)
    width = max(name_i, ready_i, status_i, restarts_i, ip_i, node_i) + 1
    none = ("<none>", None)
    out: list[PodInfo] = []
    append = out.append
    for row in table.get("rows") or ():
        cells = row.get("cells") or ()
        if len(cells) < width:
            continue
        meta = (row.get("object") or {}).get("metadata") or EMPTY
        status = str(cells[status_i])
        done, _, total = str(cells[ready_i]).partition("/")
        ip = "" if cells[ip_i] in none else str(cells[ip_i])
        node = "" if cells[node_i] in none else str(cells[node_i])
        restarts = str(cells[restarts_i]).split(" ", 1)[0]
        if status == "Running":
            phase = "Running"
        elif status in PENDING_STATUSES or status.startswith("Init:"):
            phase = "Pending"
        elif status == "Completed":
            phase = "Succeeded"
        elif status in ("Failed", "Evicted"):
            phase = "Failed"
        else:
            phase = "Running"
        append(
            PodInfo(
                str(meta.get("namespace") or namespace),
                str(meta.get("name") or cells[name_i]),
                node,
                phase,
                ip,
                (ip,) if ip else (),
                ip in node_ips,
                bool(total) and done == total and total != "0",
                status if status in WAITING_STATUSES else "",
                int(restarts) if restarts.isdigit() else 0,
                "",
                status == "Terminating" or bool(meta.get("deletionTimestamp")),
            )
        )
    return out


MAX_DETAILED_PODS = 100


class ProbeContext:
    def __init__(self, reader: Reader, *, runbook_for: RunbookFor | None = None) -> None:
        self.reader = reader
        self.runbook_for = runbook_for
        self._optional_lists: dict[str, list[dict[str, Any]] | None] = {}
        self._shared_values: dict[str, Any] = {}
        self._shared_locks: dict[str, threading.RLock] = {}
        self._shared_guard = threading.Lock()

    def runbooks_for(self, texts: list[str]) -> list[str | None]:
        if self.runbook_for is None or not texts:
            return [None] * len(texts)
        return self.runbook_for(texts)

    @shared_once
    def nodes(self) -> list[dict[str, Any]]:
        return self.reader.items("/api/v1/nodes")

    @shared_once
    def pods(self) -> list[PodInfo]:
        """Every pod, read as server-printed table rows where the apiserver offers them (a few hundred
        bytes a pod instead of kilobytes: 150,000 pods in seconds), else as full objects.

        With up to PER_NAMESPACE_MAX namespaces, each is listed on its own with rows only (the namespace
        is known from the request), a quarter of the bytes of rows that carry object metadata."""
        try:
            namespaces = [str(n["metadata"]["name"]) for n in self.reader.items("/api/v1/namespaces")]
        except ForbiddenError:
            namespaces = []
        if not namespaces or len(namespaces) > PER_NAMESPACE_MAX:
            return self._pods_of("/api/v1/pods", "", with_metadata=True)
        # a few requests in flight: the apiserver renders one namespace while we parse another
        with ThreadPoolExecutor(max_workers=NAMESPACE_WORKERS, thread_name_prefix="cnibot-pods") as pool:
            per_namespace = pool.map(
                lambda ns: self._pods_of(f"/api/v1/namespaces/{ns}/pods", ns, with_metadata=False), namespaces
            )
            return [p for pods in per_namespace for p in pods]

    def _pods_of(self, path: str, namespace: str, *, with_metadata: bool) -> list[PodInfo]:
        out: list[PodInfo] = []
        for document in self.reader.table_pages(path, with_metadata=with_metadata):
            if document.get("kind") == "Table":
                out.extend(pods_from_table(document, self.node_ips, namespace))
            else:
                out.extend(pod_info(item) for item in document.get("items") or [])
        return out

    @shared_once
    def node_of_pod(self) -> dict[str, str]:
        """namespace/name -> node, for events whose source names no host."""
        return {p.key: p.node for p in self.pods}

    @shared_once
    def node_ips(self) -> frozenset[str]:
        return frozenset(
            str(a.get("address"))
            for n in self.nodes
            for a in (n.get("status") or {}).get("addresses") or []
            if a.get("type") in ("InternalIP", "ExternalIP")
        )

    @shared_once
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
        if path not in self._optional_lists:
            self._optional_lists[path] = self.reader.items_optional(path)
        return self._optional_lists[path]

    @shared_once
    def cni_pods(self) -> list[PodInfo]:
        """The CNI agent pods: table rows for all (one per node: 5,000 on a large cluster), then the full
        object of each troubled one, for the crash-loop details a row does not carry."""
        cni = self.cni
        if cni.name == "none":
            return []
        path = f"/api/v1/namespaces/{cni.namespace}/pods"
        pods: list[PodInfo] = []
        for document in self.reader.table_pages(path, label_selector=cni.selector):
            if document.get("kind") == "Table":
                pods.extend(pods_from_table(document, self.node_ips))
            else:
                pods.extend(pod_info(item) for item in document.get("items") or [])
        troubled = [i for i, p in enumerate(pods) if (not p.ready or p.restarts >= 5) and not p.last_terminated]
        for i in troubled[:MAX_DETAILED_PODS]:
            full = self.reader.get_optional(f"{path}/{pods[i].name}")
            if full is not None:
                pods[i] = pod_info(full)
        return pods

    @shared_once
    def cni(self) -> Any:
        from bot.probes.detect import detect_cni

        return detect_cni(self)
