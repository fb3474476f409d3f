"""IPAM arithmetic over plain API objects: pure functions, no I/O (the probe feeds them)."""

from __future__ import annotations

import ipaddress
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

TUNNEL_HANDLES = ("vxlan-tunnel-addr", "ipip-tunnel-addr", "wireguard-tunnel-addr", "vxlan-v6-tunnel-addr")
POD_HANDLE = "k8s-pod-network."
HOST_LOCAL_RESERVED = 3  # network address, gateway (.1, the bridge) and broadcast


@dataclass
class PoolUsage:
    name: str
    cidr: str
    capacity: int
    allocated: int = 0
    tunnel: int = 0
    blocks: int = 0
    disabled: bool = False
    block_size: int = 26

    @property
    def free(self) -> int:
        return self.capacity - self.allocated

    @property
    def utilization(self) -> float:
        return round(self.allocated / self.capacity, 4) if self.capacity else 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "cidr": self.cidr,
            "capacity": self.capacity,
            "allocated": self.allocated,
            "free": self.free,
            "utilization": self.utilization,
            "pods": self.allocated - self.tunnel,
            "tunnel": self.tunnel,
            "blocks": self.blocks,
            "free_blocks": max(0, self.capacity // (2 ** (32 - self.block_size)) - self.blocks)
            if self.block_size <= 32
            else 0,
            "disabled": self.disabled,
        }


@dataclass
class NodeUsage:
    node: str
    blocks: int = 0
    capacity: int = 0
    allocated: int = 0
    tunnel: int = 0
    cidrs: list[str] = field(default_factory=list)

    @property
    def full(self) -> bool:
        return self.capacity > 0 and self.allocated >= self.capacity

    def to_json(self) -> dict[str, Any]:
        return {
            "node": self.node,
            "blocks": self.blocks,
            "capacity": self.capacity,
            "allocated": self.allocated,
            "free": self.capacity - self.allocated,
            "tunnel": self.tunnel,
            "cidrs": sorted_cidrs(self.cidrs)[:20],
        }


@dataclass
class IpamReport:
    backend: str
    pools: list[PoolUsage]
    nodes: list[NodeUsage]
    leaked: list[dict[str, str]]
    notes: list[str] = field(default_factory=list)
    leaked_total: int = 0
    blocks: list[dict[str, Any]] = field(default_factory=list)  # per block: cidr, node, capacity, allocated
    # exact counts over every leak (the `leaked` list itself is capped): for reports and /metrics
    leaked_by: dict[str, Counter[str]] = field(default_factory=dict)  # "namespace" | "node" | "pool" -> counts

    def to_json(self, *, leaked_limit: int = 1000) -> dict[str, Any]:
        fullest = sorted(self.blocks, key=lambda b: (-b["allocated"] / max(1, b["capacity"]), cidr_order(b["cidr"])))
        return {
            "backend": self.backend,
            "pools": [p.to_json() for p in self.pools],
            "nodes": [n.to_json() for n in sorted(self.nodes, key=lambda n: n.node)],
            "fullest_blocks": fullest[:20],
            "leaked": self.leaked[:leaked_limit],
            "leaked_total": self.leaked_total,
            "leaked_by": {kind: dict(counts.most_common()) for kind, counts in self.leaked_by.items()},
            "notes": self.notes,
        }


def cidr_order(cidr: str) -> tuple[int, int, int]:
    """Sort key for CIDRs by address (10.244.0.64/26 before 10.244.0.128/26), not as strings."""
    net = parse_network(cidr)
    if net is None:
        return (9, 0, 0)
    return (net.version, int(net.network_address), net.prefixlen)


def sorted_cidrs(cidrs: Any) -> list[str]:
    return sorted(cidrs, key=cidr_order)


def short_cidr_list(cidrs: list[str], *, shown: int = 4) -> str:
    """CIDRs in address order; past `shown`, the first few and how many more (never a silent cut)."""
    ordered = sorted_cidrs(cidrs)
    if len(ordered) <= shown:
        return ", ".join(ordered)
    return ", ".join(ordered[: shown - 1]) + f", … (+{len(ordered) - shown + 1} more)"


def parse_network(cidr: object) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    """A CIDR as a network, or None for anything that is not one (missing, empty, malformed)."""
    try:
        return ipaddress.ip_network(str(cidr), strict=False)
    except ValueError:
        return None


def calico_usage(pools: list[dict[str, Any]], blocks: list[dict[str, Any]], existing_pods: set[str]) -> IpamReport:
    """Exact usage from IPPools and IPAMBlocks; tunnel addresses count as allocated but not as pods, and
    a pod allocation whose namespace/pod no longer exists is a leak."""
    usages: list[tuple[Any, PoolUsage]] = []
    for pool in pools:
        spec = pool.get("spec") or {}
        net = parse_network(spec.get("cidr"))
        if net is None:
            continue
        usage = PoolUsage(
            name=str(pool["metadata"]["name"]),
            cidr=str(net),
            capacity=net.num_addresses,
            disabled=bool(spec.get("disabled")),
            block_size=int(spec.get("blockSize") or (26 if net.version == 4 else 122)),
        )
        usages.append((net, usage))
    nodes: dict[str, NodeUsage] = {}
    leaked: list[dict[str, str]] = []
    leaked_total = 0
    leaked_by: dict[str, Counter[str]] = {"namespace": Counter(), "node": Counter(), "pool": Counter()}
    orphans = 0
    per_block: list[dict[str, Any]] = []
    for block in blocks:
        spec = block.get("spec") or {}
        net = parse_network(spec.get("cidr"))
        if net is None:
            continue
        affinity = str(spec.get("affinity") or "")
        node_name = affinity.removeprefix("host:") if affinity.startswith("host:") else ""
        allocations = spec.get("allocations") or []
        attributes = spec.get("attributes") or []
        allocated = len(allocations) - allocations.count(None)
        tunnel = 0
        block_leaks = 0
        # 640,000 allocations at 10,000 blocks: classify each attribute once, then walk allocations
        kinds: list[str] = []
        for attr in attributes:
            handle = str((attr or {}).get("handle_id") or "")
            secondary = (attr or {}).get("secondary") or {}
            if handle.startswith(TUNNEL_HANDLES) or "Tunnel" in str(secondary.get("type") or ""):
                kinds.append("tunnel")
            elif handle.startswith(POD_HANDLE) and secondary.get("pod"):
                key = f"{secondary.get('namespace', '')}/{secondary['pod']}"
                kinds.append("" if key in existing_pods else "leak")
            else:
                kinds.append("")
        # only blocks holding a tunnel address or a leak need the per-address walk (for the IPs)
        walk = allocations if any(kinds) else ()
        for offset, attr_index in enumerate(walk):
            if attr_index is None or not 0 <= attr_index < len(attributes):
                continue
            kind = kinds[attr_index]
            if kind == "tunnel":
                tunnel += 1
            elif kind == "leak":
                attr = attributes[attr_index] or {}
                handle = str(attr.get("handle_id") or "")
                secondary = attr.get("secondary") or {}
                leaked_total += 1
                block_leaks += 1
                leaked_by["namespace"][str(secondary.get("namespace") or "")] += 1
                leaked_by["node"][str(secondary.get("node") or node_name)] += 1
                if len(leaked) < 5000:
                    leaked.append(
                        {
                            "ip": str(net.network_address + offset),
                            "handle": handle,
                            "namespace": str(secondary.get("namespace") or ""),
                            "pod": str(secondary["pod"]),
                            "node": str(secondary.get("node") or node_name),
                        }
                    )
        owner = next((u for pool_net, u in usages if net.version == pool_net.version and net.subnet_of(pool_net)), None)  # type: ignore[arg-type]
        if owner is None:
            orphans += 1
        else:
            owner.allocated += allocated
            owner.tunnel += tunnel
            owner.blocks += 1
            if block_leaks:
                leaked_by["pool"][owner.name] += block_leaks
        per_block.append({"cidr": str(net), "node": node_name, "capacity": net.num_addresses, "allocated": allocated})
        node = nodes.setdefault(node_name or "(no affinity)", NodeUsage(node_name or "(no affinity)"))
        node.blocks += 1
        node.capacity += net.num_addresses
        node.allocated += allocated
        node.tunnel += tunnel
        node.cidrs.append(str(net))
    notes = [f"{orphans} IPAM block(s) lie outside every IP pool (a deleted pool?)"] if orphans else []
    return IpamReport(
        "calico", [u for _, u in usages], list(nodes.values()), leaked, notes, leaked_total, per_block, leaked_by
    )


def host_local_usage(
    nodes: list[dict[str, Any]], pod_ips_by_node: dict[str, list[str]], cluster_cidr: str
) -> IpamReport:
    """host-local (Flannel, kubenet, bridge): each node's podCIDR against the pods on that node."""
    usages = []
    missing = []
    for node in nodes:
        name = str(node["metadata"]["name"])
        cidrs = (node.get("spec") or {}).get("podCIDRs") or [(node.get("spec") or {}).get("podCIDR")]
        nets = [n for n in (parse_network(c) for c in cidrs if c) if n is not None and n.version == 4]
        if not nets:
            missing.append(name)
            continue
        net = nets[0]
        capacity = max(0, net.num_addresses - HOST_LOCAL_RESERVED)
        ips = [ip for ip in pod_ips_by_node.get(name, []) if contains(net, ip)]
        usages.append(NodeUsage(name, blocks=1, capacity=capacity, allocated=len(ips), cidrs=[str(net)]))
    total = PoolUsage(
        name="cluster pod CIDR (node podCIDRs)",
        cidr=cluster_cidr,
        capacity=sum(u.capacity for u in usages),
        allocated=sum(u.allocated for u in usages),
        blocks=len(usages),
        block_size=32,
    )
    notes = [
        "host-local keeps its allocations on each node (/var/lib/cni/networks/<network>/); leaked addresses are "
        "not visible through the API: on a node compare `ls /var/lib/cni/networks/*/ | wc -l` with its pods"
    ]
    if missing:
        notes.append(f"{len(missing)} node(s) have no podCIDR: {', '.join(sorted(missing)[:10])}")
    return IpamReport("host-local", [total], usages, [], notes)


def cilium_usage(cilium_nodes: list[dict[str, Any]], pod_ips_by_node: dict[str, list[str]]) -> IpamReport:
    usages = []
    for cn in cilium_nodes:
        name = str(cn["metadata"]["name"])
        ipam = (cn.get("spec") or {}).get("ipam") or {}
        nets = [n for n in (parse_network(c) for c in ipam.get("podCIDRs") or []) if n is not None]
        capacity = sum(max(0, n.num_addresses - 2) for n in nets) or len(ipam.get("pool") or {})
        used = ((cn.get("status") or {}).get("ipam") or {}).get("used")
        allocated = len(used) if isinstance(used, dict) else len(pod_ips_by_node.get(name, []))
        usages.append(
            NodeUsage(name, blocks=len(nets), capacity=capacity, allocated=allocated, cidrs=[str(n) for n in nets])
        )
    total = PoolUsage(
        name="cilium pod CIDRs",
        cidr=",".join(sorted_cidrs({c for u in usages for c in u.cidrs})[:4]),
        capacity=sum(u.capacity for u in usages),
        allocated=sum(u.allocated for u in usages),
        blocks=sum(u.blocks for u in usages),
        block_size=32,
    )
    return IpamReport("cilium", [total], usages, [], ["from CiliumNode objects (spec.ipam.podCIDRs, status.ipam.used)"])


def contains(net: Any, ip: str) -> bool:
    try:
        return ipaddress.ip_address(ip) in net
    except ValueError:
        return False


def full_nodes(report: IpamReport) -> list[NodeUsage]:
    return [n for n in report.nodes if n.full]


def by_node_ips(pods: list[Any]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = defaultdict(list)
    for p in pods:
        if p.pod_ip and not p.host_network and p.phase not in ("Succeeded", "Failed"):
            out[p.node].append(p.pod_ip)
    return out
