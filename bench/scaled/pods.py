"""Generated core objects for the scaled scenario: nodes, application pods and DaemonSet pods."""

from __future__ import annotations

from collections.abc import Mapping

from bench.scaled.layout import NAME, Generated, Layout, decode_suffix, encode_suffix
from bot.sim.base import KUBE_PROXY
from bot.sim.builder import CLUSTER_AGE
from bot.sim.obj import Obj
from bot.sim.objects import NodeSpec, build_node, owner_ref, uid
from bot.sim.pods import CRASHLOOP, CREATING, RUNNING, UNREADY, UNSCHEDULED, Container, PodSpec, build_pod
from bot.sim.scenarios_calico import CALICO_INIT, CALICO_NODE
from bot.sim.table import NONE, age, partial_metadata


class Nodes(Generated):
    def __init__(self, layout: Layout) -> None:
        super().__init__(layout, layout.nodes)

    def item(self, index: int) -> Obj:
        return build_node(self.spec(index))

    def item_json(self, index: int, typed: bool) -> str:
        return self.stencils.node(self.layout.is_bad(index), self.spec(index), typed)

    def spec(self, index: int) -> NodeSpec:
        lay, clock = self.layout, self.layout.clock
        name = lay.node_name(index)
        return NodeSpec(
            name=name,
            ip=lay.node_ip(index),
            uid=uid(NAME, "Node", name),
            rv=1000 + index,
            created=clock.ts(CLUSTER_AGE),
            heartbeat=clock.ts(0.5),
            network=(True, "CalicoIsDown", "Calico is shutting down on this node")
            if lay.is_bad(index)
            else (False, "CalicoIsUp", "Calico is running on this node"),
            annotations={
                "projectcalico.org/IPv4Address": f"{lay.node_ip(index)}/16",
                "projectcalico.org/IPv4VXLANTunnelAddr": lay.slot_ip(index, 0),
                "cnibot.io/uplink-mtu": "1500",
            },
        )

    def labels(self, index: int) -> Mapping[str, str]:
        return {
            "beta.kubernetes.io/arch": "amd64",
            "beta.kubernetes.io/os": "linux",
            "kubernetes.io/arch": "amd64",
            "kubernetes.io/hostname": self.layout.node_name(index),
            "kubernetes.io/os": "linux",
        }

    def fields(self, index: int) -> Mapping[str, str]:
        return {"metadata.name": self.layout.node_name(index), "spec.unschedulable": "false"}

    def index_of(self, namespace: str | None, name: str) -> int | None:
        return None if namespace else self.layout.node_index(name)


def _pod_fields(
    name: str, namespace: str, node: str, phase: str, ip: str, host: bool, account: str = "default"
) -> dict[str, str]:
    return {
        "metadata.name": name,
        "metadata.namespace": namespace,
        "spec.nodeName": node,
        "spec.restartPolicy": "Always",
        "spec.schedulerName": "default-scheduler",
        "spec.serviceAccountName": account,
        "spec.hostNetwork": "true" if host else "false",
        "status.phase": phase,
        "status.podIP": ip,
        "status.nominatedNodeName": "",
    }


def pod_uid(kind: int, index: int) -> str:
    """A unique version-4-shaped UUID for generated pod `index`: hashing one per pod (as `uid` does)
    cost more than everything else in a 150,000-pod page."""
    return f"5ca1ed00-0000-4000-8{kind:03x}-{index:012x}"


class TenantPods(Generated):
    """Application pods in namespaces tenant-000..., contiguous per namespace, so a namespace is a range."""

    def __init__(self, layout: Layout) -> None:
        super().__init__(layout, layout.pods)

    def item(self, index: int) -> Obj:
        return build_pod(self.spec(index))

    def item_json(self, index: int, typed: bool) -> str:
        return self.stencils.pod(self.layout.is_stuck(index), self.spec(index), typed)

    def table_row(self, index: int) -> Obj:
        # the hot path of a 150,000-pod listing: straight from the layout, without building a PodSpec
        lay = self.layout
        namespace, name = lay.namespace(index), lay.pod_name(index)
        app, template = lay.workload(index)
        stuck = lay.is_stuck(index)
        created = lay.clock.ts(lay.age(index))
        return {
            "cells": [
                name,
                "0/1" if stuck else "1/1",
                "ContainerCreating" if stuck else "Running",
                "0",
                age(created),
                lay.pod_ip(index) or NONE,
                lay.node_name(index % lay.nodes),
                NONE,
                NONE,
            ],
            "object": partial_metadata(
                namespace,
                name,
                pod_uid(1, index),
                200_000 + index,
                created,
                {"app": app, "pod-template-hash": template},
            ),
        }

    def spec(self, index: int) -> PodSpec:
        lay, clock = self.layout, self.layout.clock
        namespace, name = lay.namespace(index), lay.pod_name(index)
        app, template = lay.workload(index)
        n = index % lay.nodes
        stuck = lay.is_stuck(index)
        ip = lay.pod_ip(index)
        sandbox = lay.sandbox(index)
        rs = f"{app}-{template}"
        age = lay.age(index)
        return PodSpec(
            namespace=namespace,
            name=name,
            uid=pod_uid(1, index),
            rv=200_000 + index,
            created=clock.ts(age),
            started=clock.ts(age - 0.2),
            node=lay.node_name(n),
            host_ip=lay.node_ip(n),
            ip=ip,
            containers=(Container(app, f"registry.example.com/{namespace}/{app}:1.{index % 7}.0", (8080,)),),
            labels={"app": app, "pod-template-hash": template},
            state=CREATING if stuck else RUNNING,
            owner=owner_ref("apps/v1", "ReplicaSet", rs, uid(NAME, "ReplicaSet", namespace, rs)),
            generate_name=f"{rs}-",
            annotations=None
            if ip is None
            else {
                "cni.projectcalico.org/containerID": sandbox,
                "cni.projectcalico.org/podIP": f"{ip}/32",
                "cni.projectcalico.org/podIPs": f"{ip}/32",
            },
            ids_seed=f"{NAME}/{index}",
        )

    def labels(self, index: int) -> Mapping[str, str]:
        app, template = self.layout.workload(index)
        return {"app": app, "pod-template-hash": template}

    def fields(self, index: int) -> Mapping[str, str]:
        lay = self.layout
        stuck = lay.is_stuck(index)
        return _pod_fields(
            lay.pod_name(index),
            lay.namespace(index),
            lay.node_name(index % lay.nodes),
            "Pending" if stuck else "Running",
            lay.pod_ip(index) or "",
            False,
        )

    def index_of(self, namespace: str | None, name: str) -> int | None:
        i = self.layout.pod_index(name)
        if i is None or (namespace is not None and self.layout.namespace(i) != namespace):
            return None
        return i

    def namespace_ranges(self, namespace: str) -> list[range]:
        lay = self.layout
        if not namespace.startswith("tenant-") or not namespace[7:].isdigit():
            return []
        k = int(namespace[7:])
        if k >= lay.namespaces or namespace != f"tenant-{k:03d}":
            return []
        return [range(k * lay.per_namespace, min(lay.pods, (k + 1) * lay.per_namespace))]

    def candidates(self, namespace: str | None, equal: Mapping[str, str]) -> list[range]:
        node = equal.get("spec.nodeName")
        if equal.get("status.phase") == "Pending" and node is None and "metadata.name" not in equal:
            # "which pods are stuck" is the probes' question: answer it without a full scan
            scope = self.namespace_ranges(namespace) if namespace else [range(self.layout.pods)]
            return [range(i, i + 1) for i in self.layout.stuck if any(i in r for r in scope)]
        if node is None or "metadata.name" in equal:
            return super().candidates(namespace, equal)
        n = self.layout.node_index(node)
        if n is None:
            return []
        # the pods of node n are every N-th index: answer from that index, as the apiserver's cache does
        scope = self.namespace_ranges(namespace) if namespace else [range(self.layout.pods)]
        return [range(r.start + (n - r.start) % self.layout.nodes, r.stop, self.layout.nodes) for r in scope]


class DaemonPods(Generated):
    """calico-node and kube-proxy, one of each per node, in kube-system."""

    def __init__(self, layout: Layout) -> None:
        super().__init__(layout, 2 * layout.nodes)
        self.ds_uid = {d: uid(NAME, "DaemonSet", "kube-system", d) for d in ("calico-node", "kube-proxy")}

    def _which(self, index: int) -> tuple[str, int]:
        n = index % self.layout.nodes
        return ("calico-node" if index < self.layout.nodes else "kube-proxy"), n

    def name(self, index: int) -> str:
        ds, n = self._which(index)
        return f"{ds}-{encode_suffix(n, 5 if ds == 'calico-node' else 7)}"

    def item(self, index: int) -> Obj:
        return build_pod(self.spec(index))

    def item_json(self, index: int, typed: bool) -> str:
        ds, n = self._which(index)
        return self.stencils.pod((ds, self.layout.is_bad(n)), self.spec(index), typed)

    def table_row(self, index: int) -> Obj:
        return row_from_spec(self.spec(index))

    def spec(self, index: int) -> PodSpec:
        lay, clock = self.layout, self.layout.clock
        ds, n = self._which(index)
        calico = ds == "calico-node"
        broken = calico and lay.is_bad(n)
        name = self.name(index)
        return PodSpec(
            namespace="kube-system",
            name=name,
            uid=pod_uid(2 if ds == "calico-node" else 3, n),
            rv=100_000 + index,
            created=clock.ts(CLUSTER_AGE - 1),
            started=clock.ts(2.5 if broken else CLUSTER_AGE - 1.1),
            node=lay.node_name(n),
            host_ip=lay.node_ip(n),
            ip=lay.node_ip(n),
            containers=(CALICO_NODE,) if calico else (KUBE_PROXY,),
            init_containers=CALICO_INIT if calico else (),
            labels=dict(self.labels(index)),
            state=CRASHLOOP if broken else RUNNING,
            owner=owner_ref("apps/v1", "DaemonSet", ds, self.ds_uid[ds]),
            generate_name=f"{ds}-",
            host_network=True,
            service_account=ds,
            priority_class="system-node-critical",
            restarts=9 if broken else 0,
            exit_reason="OOMKilled",
            exit_code=137,
            ids_seed=f"{NAME}/{ds}/{n}",
        )

    def labels(self, index: int) -> Mapping[str, str]:
        ds, _ = self._which(index)
        return {"k8s-app": ds, "controller-revision-hash": "7c9d8b5f6d", "pod-template-generation": "1"}

    def fields(self, index: int) -> Mapping[str, str]:
        ds, n = self._which(index)
        lay = self.layout
        return _pod_fields(self.name(index), "kube-system", lay.node_name(n), "Running", lay.node_ip(n), True, ds)

    def index_of(self, namespace: str | None, name: str) -> int | None:
        if namespace not in (None, "kube-system"):
            return None
        for ds, salt, offset in (("calico-node", 5, 0), ("kube-proxy", 7, self.layout.nodes)):
            if name.startswith(ds + "-") and len(name) == len(ds) + 6:
                n = decode_suffix(name[-5:], salt)
                if n is not None and n < self.layout.nodes:
                    return offset + n
        return None

    def namespace_ranges(self, namespace: str) -> list[range]:
        return [range(self._size)] if namespace == "kube-system" else []

    def candidates(self, namespace: str | None, equal: Mapping[str, str]) -> list[range]:
        if equal.get("status.phase", "Running") != "Running":
            return []  # DaemonSet pods here are all Running (crash-looping ones included)
        node = equal.get("spec.nodeName")
        if node is None or "metadata.name" in equal:
            return super().candidates(namespace, equal)
        n = self.layout.node_index(node)
        if n is None or namespace not in (None, "kube-system"):
            return []
        return [range(n, n + 1), range(self.layout.nodes + n, self.layout.nodes + n + 1)]


def row_from_spec(p: PodSpec) -> Obj:
    """A Table row straight from a generated pod's spec (no full object is built)."""
    total = len(p.containers)
    status = {
        RUNNING: "Running",
        UNREADY: "Running",
        CRASHLOOP: "CrashLoopBackOff",
        CREATING: "ContainerCreating",
        UNSCHEDULED: "Pending",
    }.get(p.state, "Running")
    ready = total if p.state == RUNNING else 0
    ip = p.ip if p.state not in (UNSCHEDULED,) and p.ip else NONE
    cells = [
        p.name,
        f"{ready}/{total}",
        status,
        str(p.restarts * total if p.state == CRASHLOOP else p.restarts),
        age(p.created),
        ip,
        p.node or NONE,
        NONE,
        NONE,
    ]
    return {"cells": cells, "object": partial_metadata(p.namespace, p.name, p.uid, p.rv, p.created, p.labels)}
