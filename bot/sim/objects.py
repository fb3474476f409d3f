"""Builders for core and apps objects, shaped as the apiserver returns them (omitempty fields left out)."""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bot.sim.obj import Obj

# The alphabet apimachinery's rand.String uses for generated name suffixes (no vowels, no 0/1/3).
_RAND_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"


@dataclass(frozen=True)
class Clock:
    """The scenario's 'now'; every timestamp is relative to it so ages look recent."""

    now: datetime

    @classmethod
    def at(cls, now: datetime | None) -> Clock:
        when = now or datetime.now(UTC)
        return cls(when.astimezone(UTC).replace(microsecond=0))

    def when(self, minutes_ago: float) -> datetime:
        return self.now - timedelta(minutes=minutes_ago)

    def ts(self, minutes_ago: float = 0) -> str:
        """RFC 3339 at second precision, as metav1.Time serialises."""
        return _format_time(self.now, minutes_ago, "%Y-%m-%dT%H:%M:%SZ")

    def calico_ts(self, minutes_ago: float) -> str:
        """Go's time.String(), as libcalico-go stores allocation timestamps."""
        return _format_time(self.now, minutes_ago, "%Y-%m-%d %H:%M:%S.%f000 +0000 UTC")

    def log_ts(self, minutes_ago: float) -> str:
        """Calico's log prefix timestamp."""
        return self.when(minutes_ago).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]

    def klog_ts(self, minutes_ago: float) -> str:
        """klog's header (MMDD hh:mm:ss.uuuuuu) without the severity letter."""
        return self.when(minutes_ago).strftime("%m%d %H:%M:%S.%f")


@functools.lru_cache(maxsize=4096)
def _format_time(now: datetime, minutes_ago: float, fmt: str) -> str:
    # generated objects reuse a few dozen ages: formatting each once matters at 150,000 pods
    return (now - timedelta(minutes=minutes_ago)).strftime(fmt)


def digest(*parts: object) -> bytes:
    return hashlib.sha256("\x1f".join(map(str, parts)).encode()).digest()


def hex64(*parts: object) -> str:
    """A deterministic 64-hex id (container and sandbox ids)."""
    return digest(*parts).hex()


def uid(*parts: object) -> str:
    """A deterministic version-4 UUID (the same text uuid.UUID(bytes=..., version=4) gives, ~4x faster)."""
    raw = bytearray(digest("uid", *parts)[:16])
    raw[6] = raw[6] & 0x0F | 0x40
    raw[8] = raw[8] & 0x3F | 0x80
    h = raw.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def rand_suffix(length: int, *parts: object) -> str:
    """A deterministic stand-in for the random suffix of a generated name."""
    raw = digest("suffix", *parts)
    return "".join(_RAND_ALPHABET[b % len(_RAND_ALPHABET)] for b in raw[:length])


def meta(
    name: str,
    namespace: str | None,
    *,
    uid_: str,
    rv: int | str,
    created: str,
    labels: dict[str, str] | None = None,
    annotations: dict[str, str] | None = None,
    owner: Obj | None = None,
    generate_name: str | None = None,
    generation: int | None = None,
) -> Obj:
    m: Obj = {"name": name}
    if generate_name:
        m["generateName"] = generate_name
    if namespace is not None:
        m["namespace"] = namespace
    m["uid"] = uid_
    m["resourceVersion"] = str(rv)
    if generation is not None:
        m["generation"] = generation
    m["creationTimestamp"] = created
    if labels:
        m["labels"] = labels
    if annotations:
        m["annotations"] = annotations
    if owner:
        m["ownerReferences"] = [owner]
    return m


def owner_ref(api_version: str, kind: str, name: str, uid_: str) -> Obj:
    return {
        "apiVersion": api_version,
        "kind": kind,
        "name": name,
        "uid": uid_,
        "controller": True,
        "blockOwnerDeletion": True,
    }


def condition(type_: str, status: bool, when: str, reason: str = "", message: str = "") -> Obj:
    c: Obj = {"type": type_, "status": "True" if status else "False", "lastProbeTime": None}
    c["lastTransitionTime"] = when
    if reason:
        c["reason"] = reason
    if message:
        c["message"] = message
    return c


def node_condition(type_: str, status: bool, heartbeat: str, since: str, reason: str, message: str) -> Obj:
    return {
        "type": type_,
        "status": "True" if status else "False",
        "lastHeartbeatTime": heartbeat,
        "lastTransitionTime": since,
        "reason": reason,
        "message": message,
    }


def node_ids(n: NodeSpec) -> dict[str, str]:
    """The ids build_node derives from the node's name (a stencil, in bench.scaled, swaps them like pod_ids)."""
    return {"machine": hex64("machine", n.name)[:32], "system": uid("system", n.name), "boot": uid("boot", n.name)}


def node_info(ids: dict[str, str], kubelet: str) -> Obj:
    return {
        "machineID": ids["machine"],
        "systemUUID": ids["system"],
        "bootID": ids["boot"],
        "kernelVersion": "6.1.0-27-cloud-amd64",
        "osImage": "Debian GNU/Linux 12 (bookworm)",
        "containerRuntimeVersion": "containerd://1.7.20",
        "kubeletVersion": kubelet,
        "kubeProxyVersion": kubelet,
        "operatingSystem": "linux",
        "architecture": "amd64",
    }


@dataclass(frozen=True)
class NodeSpec:
    name: str
    ip: str
    uid: str
    rv: int | str
    created: str
    heartbeat: str
    pod_cidr: str | None = None
    ready: bool = True
    ready_reason: str = "KubeletReady"
    ready_message: str = "kubelet is posting ready status"
    network: tuple[bool, str, str] | None = None  # NetworkUnavailable (status, reason, message)
    annotations: dict[str, str] | None = None
    taints: tuple[Obj, ...] = ()
    kubelet: str = "v1.29.4"
    control_plane: bool = False


def build_node(n: NodeSpec) -> Obj:
    labels = {
        "beta.kubernetes.io/arch": "amd64",
        "beta.kubernetes.io/os": "linux",
        "kubernetes.io/arch": "amd64",
        "kubernetes.io/hostname": n.name,
        "kubernetes.io/os": "linux",
    }
    if n.control_plane:
        labels["node-role.kubernetes.io/control-plane"] = ""
    annotations = {
        "kubeadm.alpha.kubernetes.io/cri-socket": "unix:///var/run/containerd/containerd.sock",
        "node.alpha.kubernetes.io/ttl": "0",
        "volumes.kubernetes.io/controller-managed-attach-detach": "true",
        **(n.annotations or {}),
    }
    spec: Obj = {}
    if n.pod_cidr:
        spec["podCIDR"] = n.pod_cidr
        spec["podCIDRs"] = [n.pod_cidr]
    if n.taints:
        spec["taints"] = list(n.taints)
    conditions = []
    if n.network is not None:
        net_down, reason, message = n.network
        conditions.append(node_condition("NetworkUnavailable", net_down, n.created, n.created, reason, message))
    conditions += [
        node_condition(
            "MemoryPressure",
            False,
            n.heartbeat,
            n.created,
            "KubeletHasSufficientMemory",
            "kubelet has sufficient memory available",
        ),
        node_condition(
            "DiskPressure", False, n.heartbeat, n.created, "KubeletHasNoDiskPressure", "kubelet has no disk pressure"
        ),
        node_condition(
            "PIDPressure",
            False,
            n.heartbeat,
            n.created,
            "KubeletHasSufficientPID",
            "kubelet has sufficient PID available",
        ),
        node_condition("Ready", n.ready, n.heartbeat, n.created, n.ready_reason, n.ready_message),
    ]
    capacity = {
        "cpu": "4",
        "ephemeral-storage": "102624184Ki",
        "hugepages-1Gi": "0",
        "hugepages-2Mi": "0",
        "memory": "16364588Ki",
        "pods": "110",
    }
    allocatable = {**capacity, "ephemeral-storage": "94580335255", "memory": "16262188Ki"}
    return {
        "kind": "Node",
        "apiVersion": "v1",
        "metadata": meta(n.name, None, uid_=n.uid, rv=n.rv, created=n.created, labels=labels, annotations=annotations),
        "spec": spec,
        "status": {
            "capacity": capacity,
            "allocatable": allocatable,
            "conditions": conditions,
            "addresses": [{"type": "InternalIP", "address": n.ip}, {"type": "Hostname", "address": n.name}],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
            "nodeInfo": node_info(node_ids(n), n.kubelet),
        },
    }


def build_event(
    involved: Obj,
    *,
    reason: str,
    message: str,
    type_: str,
    count: int,
    first: str,
    last: str,
    component: str,
    host: str | None,
    rv: int,
    field_path: str | None = None,
) -> Obj:
    """A core/v1 Event about `involved` (a pod or node dict), as the kubelet or scheduler records it."""
    m = involved["metadata"]
    namespace = m.get("namespace") or "default"
    name = f"{m['name']}.{hex64('event', m['uid'], reason, message)[:16]}"
    ref: Obj = {"kind": involved["kind"]}
    if m.get("namespace"):
        ref["namespace"] = m["namespace"]
    ref["name"] = m["name"]
    ref["uid"] = m["uid"]
    ref["apiVersion"] = involved["apiVersion"]
    ref["resourceVersion"] = m["resourceVersion"]
    if field_path:
        ref["fieldPath"] = field_path
    source: Obj = {"component": component}
    if host:
        source["host"] = host
    event: Obj = {
        "kind": "Event",
        "apiVersion": "v1",
        "metadata": meta(name, namespace, uid_=uid("event", name), rv=rv, created=first),
        "involvedObject": ref,
        "reason": reason,
        "message": message,
        "source": source,
        "firstTimestamp": first,
        "lastTimestamp": last,
        "count": count,
        "type": type_,
        "eventTime": None,
        "reportingComponent": component,
        "reportingInstance": host or "",
    }
    return event
