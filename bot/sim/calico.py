"""Calico's datastore objects (crd.projectcalico.org/v1) and an IPAM allocator that keeps them consistent.

Shapes follow what libcalico-go writes in Kubernetes-datastore mode, including its omitempty fields."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any

from bot.sim.obj import Obj
from bot.sim.objects import Clock, hex64, meta, uid

CALICO_API = "crd.projectcalico.org/v1"
CALICO_VERSION = "v3.27.2"


def block_name(cidr: str) -> str:
    """10.244.0.0/26 -> 10-244-0-0-26, the name Calico gives an IPAMBlock."""
    return cidr.replace(".", "-").replace("/", "-").replace(":", "-")


def affinity_name(node: str, cidr: str) -> str:
    return f"{node}-{block_name(cidr)}"


def pod_handle(sandbox_id: str) -> str:
    return f"k8s-pod-network.{sandbox_id}"


def tunnel_handle(node: str, kind: str) -> str:
    """kind is vxlanTunnelAddress or ipipTunnelAddress."""
    prefix = "vxlan-tunnel-addr" if kind == "vxlanTunnelAddress" else "ipip-tunnel-addr"
    return f"{prefix}-{node}"


def crd_object(kind: str, name: str, spec: Obj, *, rv: int, created: str, generation: int = 1) -> Obj:
    return {
        "apiVersion": CALICO_API,
        "kind": kind,
        "metadata": meta(name, None, uid_=uid(kind, name), rv=rv, created=created, generation=generation),
        "spec": spec,
    }


def ip_pool_spec(
    cidr: str, *, vxlan: str = "Never", ipip: str = "Never", nat: bool = True, disabled: bool = False
) -> Obj:
    spec: Obj = {
        "allowedUses": ["Workload", "Tunnel"],
        "blockSize": 26 if ipaddress.ip_network(cidr).prefixlen <= 26 else 32,
        "cidr": cidr,
        "ipipMode": ipip,
        "nodeSelector": "all()",
        "vxlanMode": vxlan,
    }
    if nat:  # omitempty in libcalico-go, as is `disabled`
        spec["natOutgoing"] = True
    if disabled:
        spec["disabled"] = True
    return spec


def block_spec(
    cidr: str,
    node: str | None,
    allocations: list[int | None],
    attributes: list[Obj],
    sequence: int,
) -> Obj:
    spec: Obj = {}
    if node is not None:
        spec["affinity"] = f"host:{node}"
    spec["allocations"] = allocations
    spec["attributes"] = attributes
    spec["cidr"] = cidr
    spec["deleted"] = False
    spec["sequenceNumber"] = sequence
    spec["sequenceNumberForAllocation"] = {}
    spec["strictAffinity"] = False
    spec["unallocated"] = [i for i, a in enumerate(allocations) if a is None]
    return spec


def pod_attribute(sandbox_id: str, namespace: str, pod: str, node: str, timestamp: str) -> Obj:
    return {
        "handle_id": pod_handle(sandbox_id),
        "secondary": {"namespace": namespace, "node": node, "pod": pod, "timestamp": timestamp},
    }


def tunnel_attribute(node: str, kind: str) -> Obj:
    return {"handle_id": tunnel_handle(node, kind), "secondary": {"node": node, "type": kind}}


def affinity_spec(node: str, cidr: str) -> Obj:
    return {"cidr": cidr, "deleted": "false", "node": node, "state": "confirmed"}


def handle_spec(handle_id: str, blocks: dict[str, int]) -> Obj:
    return {"block": blocks, "deleted": False, "handleID": handle_id}


def felix_spec(**mtus: int) -> Obj:
    spec: Obj = {
        "bpfConnectTimeLoadBalancing": "TCP",
        "bpfHostNetworkedNATWithoutCTLB": "Enabled",
        "bpfLogLevel": "",
        "floatingIPs": "Disabled",
        "logSeverityScreen": "Info",
        "reportingInterval": "0s",
    }
    spec.update(mtus)  # vxlanMTU / ipipMTU / wireguardMTU, only when set explicitly
    return spec


def cluster_information_spec(cluster_type: str) -> Obj:
    return {
        "calicoVersion": CALICO_VERSION,
        "clusterGUID": hex64("cluster-guid", cluster_type)[:32],
        "clusterType": cluster_type,
        "datastoreReady": True,
    }


@dataclass
class _Block:
    cidr: ipaddress.IPv4Network
    node: str
    allocations: list[int | None]
    attributes: list[Obj] = field(default_factory=list)
    sequence: int = 0

    @property
    def name(self) -> str:
        return block_name(str(self.cidr))

    def free(self) -> int | None:
        return next((i for i, a in enumerate(self.allocations) if a is None), None)


class PoolExhausted(RuntimeError):
    """No free address and no free block: the error a scenario builder asked for too much."""


class CalicoIpam:
    """Hands out addresses from one pool the way calico-ipam does: per-node affine /26 blocks, first free
    ordinal, one attribute per allocation; `objects` renders the blocks, affinities and handles."""

    def __init__(self, pool: str, clock: Clock, block_size: int = 26) -> None:
        self.pool = ipaddress.IPv4Network(pool)
        self.clock = clock
        self.block_size = block_size
        self.blocks: list[_Block] = []
        self._claimed: set[ipaddress.IPv4Network] = set()
        self.handles: dict[str, dict[str, int]] = {}
        self._minute = 600.0

    def _claim(self, node: str, prefer: str | None) -> _Block:
        subnets = list(self.pool.subnets(new_prefix=self.block_size))
        if prefer:
            # Scenarios keep a node's blocks inside its podCIDR so either view of "the node's range" holds.
            near = ipaddress.IPv4Network(prefer)
            subnets = [s for s in subnets if s.subnet_of(near)] + subnets
        for subnet in subnets:
            if subnet not in self._claimed:
                self._claimed.add(subnet)
                block = _Block(subnet, node, [None] * subnet.num_addresses)
                self.blocks.append(block)
                return block
        raise PoolExhausted(f"pool {self.pool} has no free block for {node}")

    def assign(self, node: str, attribute: Obj, *, prefer: str | None = None) -> str:
        """Allocates one address on `node`; `attribute` is the handle_id + secondary map."""
        block = next((b for b in self.blocks if b.node == node and b.free() is not None), None)
        if block is None:
            block = self._claim(node, prefer)
        ordinal = block.free()
        assert ordinal is not None
        block.allocations[ordinal] = len(block.attributes)
        block.attributes.append(attribute)
        block.sequence += 1
        handle = attribute["handle_id"]
        per_block = self.handles.setdefault(handle, {})
        per_block[str(block.cidr)] = per_block.get(str(block.cidr), 0) + 1
        return str(block.cidr[ordinal])

    def assign_pod(self, node: str, namespace: str, pod: str, sandbox_id: str, *, prefer: str | None = None) -> str:
        self._minute = max(1.0, self._minute - 0.5)
        stamp = self.clock.calico_ts(self._minute)
        return self.assign(node, pod_attribute(sandbox_id, namespace, pod, node, stamp), prefer=prefer)

    def assign_tunnel(self, node: str, kind: str, *, prefer: str | None = None) -> str:
        return self.assign(node, tunnel_attribute(node, kind), prefer=prefer)

    def objects(self, rv: Any, created: str) -> dict[str, list[Obj]]:
        """IPAMBlocks, BlockAffinities and IPAMHandles; `rv` is a callable handing out resourceVersions."""
        blocks = [
            crd_object(
                "IPAMBlock",
                b.name,
                block_spec(str(b.cidr), b.node, list(b.allocations), list(b.attributes), b.sequence),
                rv=rv(),
                created=created,
                generation=b.sequence + 1,
            )
            for b in self.blocks
        ]
        affinities = [
            crd_object(
                "BlockAffinity",
                affinity_name(b.node, str(b.cidr)),
                affinity_spec(b.node, str(b.cidr)),
                rv=rv(),
                created=created,
            )
            for b in self.blocks
        ]
        handles = [
            crd_object("IPAMHandle", h.lower(), handle_spec(h, dict(per_block)), rv=rv(), created=created)
            for h, per_block in self.handles.items()
        ]
        return {
            "ipamblocks.crd.projectcalico.org": blocks,
            "blockaffinities.crd.projectcalico.org": affinities,
            "ipamhandles.crd.projectcalico.org": handles,
        }
