"""IPAM arithmetic on hand-built Calico, host-local and Cilium objects."""

from __future__ import annotations

from bot.probes.ipam_math import calico_usage, cilium_usage, host_local_usage


def block(cidr: str, node: str, entries: list[tuple[str, dict[str, str]] | None]) -> dict[str, object]:
    attributes = []
    allocations: list[int | None] = []
    for entry in entries:
        if entry is None:
            allocations.append(None)
            continue
        attributes.append({"handle_id": entry[0], "secondary": entry[1]})
        allocations.append(len(attributes) - 1)
    allocations += [None] * (64 - len(allocations))
    return {
        "metadata": {"name": cidr},
        "spec": {"cidr": cidr, "affinity": f"host:{node}", "allocations": allocations, "attributes": attributes},
    }


def pool(name: str, cidr: str, disabled: bool = False) -> dict[str, object]:
    return {"metadata": {"name": name}, "spec": {"cidr": cidr, "blockSize": 26, "disabled": disabled}}


def pod_entry(ns: str, name: str, node: str) -> tuple[str, dict[str, str]]:
    return (f"k8s-pod-network.{name}0000", {"namespace": ns, "pod": name, "node": node})


def test_calico_counts_tunnels_as_allocated_but_not_pods_and_finds_leaks() -> None:
    blocks = [
        block(
            "10.244.0.0/26",
            "node-1",
            [
                ("vxlan-tunnel-addr-node-1", {"node": "node-1", "type": "vxlanTunnelAddress"}),
                pod_entry("shop", "web-1", "node-1"),
                None,
                pod_entry("shop", "gone-1", "node-1"),
            ],
        ),
        block("10.244.0.64/26", "node-2", [pod_entry("default", "api-1", "node-2")]),
    ]
    report = calico_usage(
        [pool("default-ipv4-ippool", "10.244.0.0/24"), pool("spare", "10.245.0.0/24", disabled=True)],
        blocks,
        existing_pods={"shop/web-1", "default/api-1"},
    )
    data = report.to_json()
    main = data["pools"][0]
    assert main == {
        "name": "default-ipv4-ippool",
        "cidr": "10.244.0.0/24",
        "capacity": 256,
        "allocated": 4,
        "free": 252,
        "utilization": round(4 / 256, 4),
        "pods": 3,
        "tunnel": 1,
        "blocks": 2,
        "free_blocks": 2,
        "disabled": False,
    }
    assert data["pools"][1]["disabled"] is True and data["pools"][1]["allocated"] == 0
    assert data["leaked"] == [
        {
            "ip": "10.244.0.3",
            "handle": "k8s-pod-network.gone-10000",
            "namespace": "shop",
            "pod": "gone-1",
            "node": "node-1",
        }
    ]
    nodes = {n["node"]: n for n in data["nodes"]}
    assert nodes["node-1"] == {
        "node": "node-1",
        "blocks": 1,
        "capacity": 64,
        "allocated": 3,
        "free": 61,
        "tunnel": 1,
        "cidrs": ["10.244.0.0/26"],
    }
    assert data["backend"] == "calico"


def test_calico_block_outside_every_pool_is_noted() -> None:
    report = calico_usage([pool("p", "10.244.0.0/24")], [block("10.99.0.0/26", "node-9", [])], set())
    assert report.notes == ["1 IPAM block(s) lie outside every IP pool (a deleted pool?)"]


def test_host_local_uses_node_pod_cidrs_and_reports_nodes_without_one() -> None:
    nodes = [
        {"metadata": {"name": "node-1"}, "spec": {"podCIDR": "10.244.1.0/24", "podCIDRs": ["10.244.1.0/24"]}},
        {"metadata": {"name": "node-3"}, "spec": {}},
    ]
    report = host_local_usage(nodes, {"node-1": ["10.244.1.5", "10.244.1.6", "10.9.9.9"]}, "10.244.0.0/16")
    data = report.to_json()
    assert data["pools"][0]["capacity"] == 253  # 256 minus network, gateway and broadcast
    assert data["pools"][0]["allocated"] == 2
    assert data["nodes"] == [
        {
            "node": "node-1",
            "blocks": 1,
            "capacity": 253,
            "allocated": 2,
            "free": 251,
            "tunnel": 0,
            "cidrs": ["10.244.1.0/24"],
        }
    ]
    assert data["leaked"] == []
    assert any("no podCIDR: node-3" in n for n in data["notes"])


def test_cilium_prefers_status_used_then_pods() -> None:
    cilium_nodes = [
        {
            "metadata": {"name": "a"},
            "spec": {"ipam": {"podCIDRs": ["10.0.1.0/24"]}},
            "status": {"ipam": {"used": {"10.0.1.5": {}}}},
        },
        {"metadata": {"name": "b"}, "spec": {"ipam": {"podCIDRs": ["10.0.2.0/24"]}}},
    ]
    report = cilium_usage(cilium_nodes, {"b": ["10.0.2.7", "10.0.2.8"]})
    nodes = {n.node: n for n in report.nodes}
    assert nodes["a"].allocated == 1 and nodes["b"].allocated == 2
    assert report.pools[0].capacity == 254 * 2
