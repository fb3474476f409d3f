"""The generated large scenario: correct at a small size, and fast at the benchmark's size."""

from __future__ import annotations

import ipaddress
import json
from collections import Counter

import pytest

from bench.scaled import scaled_scenario
from bench.scaled.layout import Layout
from bot.sim.server import SimCluster
from bot.sim.store import encode_item
from tests.sim.conftest import NOW, Kube, connect

CALICO = "/apis/crd.projectcalico.org/v1"
KEYS = [
    "pods",
    "nodes",
    "ipamblocks.crd.projectcalico.org",
    "ipamhandles.crd.projectcalico.org",
    "blockaffinities.crd.projectcalico.org",
]


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory):
    sim = SimCluster(scaled_scenario(nodes=130, pods=3000, blocks=270, now=NOW)).start()
    kube = connect(sim, tmp_path_factory.mktemp("scaled"))
    yield kube
    kube.close()
    sim.stop()


@pytest.mark.parametrize("key", KEYS)
def test_rendered_json_is_exactly_the_built_object(small: Kube, key: str) -> None:
    collection = small.sim.scenario.objects[key]
    for index in range(0, len(collection), 37):
        obj = collection.item(index)
        for typed in (True, False):
            assert collection.item_json(index, typed) == encode_item(obj, typed), (key, index, typed)
        name = obj["metadata"]["name"]
        assert collection.index_of(obj["metadata"].get("namespace"), name) == index
    assert collection.index_of(None, "garbage-name") is None


def test_ipam_is_consistent_with_the_pods(small: Kube) -> None:
    facts = small.sim.scenario.facts
    pods = small.items("/api/v1/pods", limit=1000)
    assert len(pods) == 3000 + 2 * 130 + 3
    live = {(p["metadata"]["namespace"], p["metadata"]["name"]): p for p in pods}
    owner_of: dict[str, tuple[str, str, str]] = {}
    allocated = leaked = 0
    handles: Counter[tuple[str, str]] = Counter()
    for block in small.items(f"{CALICO}/ipamblocks", limit=100):
        spec = block["spec"]
        net = ipaddress.ip_network(spec["cidr"])
        assert net.subnet_of(ipaddress.ip_network(facts["pool"]))
        assert spec["unallocated"] == [i for i, a in enumerate(spec["allocations"]) if a is None]
        for offset, a in enumerate(spec["allocations"]):
            if a is None:
                continue
            allocated += 1
            attr = spec["attributes"][a]
            handles[(attr["handle_id"], spec["cidr"])] += 1
            second = attr["secondary"]
            if "pod" in second:
                owner_of[str(net.network_address + offset)] = (second["namespace"], second["pod"], spec["affinity"])
                leaked += (second["namespace"], second["pod"]) not in live
    assert (allocated, leaked) == (facts["allocated"], facts["leaked"])
    with_ip = [p for p in pods if p["status"].get("podIP") and not p["spec"].get("hostNetwork")]
    assert len(with_ip) == facts["pod_allocations"]
    for pod in with_ip:
        namespace, name, affinity = owner_of[pod["status"]["podIP"]]
        assert (namespace, name) == (pod["metadata"]["namespace"], pod["metadata"]["name"])
        assert affinity == f"host:{pod['spec']['nodeName']}"
    listed = small.items(f"{CALICO}/ipamhandles", limit=1000)
    assert Counter({(h["spec"]["handleID"], c): n for h in listed for c, n in h["spec"]["block"].items()}) == handles
    stuck = [p for p in pods if p["status"]["phase"] == "Pending"]
    assert len(stuck) == facts["pending_pods"] == 2 * 6  # nodes 13 and 113 are the broken ones


def test_daemonsets_events_and_indexes(small: Kube) -> None:
    core = small.core
    status = small.apps.read_namespaced_daemon_set("calico-node", "kube-system").status
    calico = small.items("/api/v1/namespaces/kube-system/pods", labelSelector="k8s-app=calico-node")
    ready = sum(any(c["type"] == "Ready" and c["status"] == "True" for c in p["status"]["conditions"]) for p in calico)
    assert (status.desired_number_scheduled, status.number_ready) == (130, ready) == (130, 128)
    events = core.list_event_for_all_namespaces(field_selector="reason=FailedCreatePodSandBox").items
    assert len(events) == 12 and all("/var/lib/calico/nodename" in e.message for e in events)
    for pod_name in {e.involved_object.name for e in events}:
        assert core.list_pod_for_all_namespaces(field_selector=f"metadata.name={pod_name}").items[0].status.phase == (
            "Pending"
        )
    # the indexed answers equal a plain scan
    everything = small.items("/api/v1/pods", limit=2000)
    for selector, keep in (
        ("spec.nodeName=node-00014", lambda p: p["spec"]["nodeName"] == "node-00014"),
        ("status.phase=Pending", lambda p: p["status"]["phase"] == "Pending"),
        (
            "status.phase=Running,spec.nodeName=node-00114",
            lambda p: p["spec"]["nodeName"] == "node-00114" and p["status"]["phase"] == "Running",
        ),
    ):
        indexed = small.items("/api/v1/pods", fieldSelector=selector, limit=7)
        assert [p["metadata"]["name"] for p in indexed] == [p["metadata"]["name"] for p in everything if keep(p)]
    tenant = small.items("/api/v1/namespaces/tenant-002/pods", fieldSelector="spec.nodeName=node-00005")
    assert tenant and all(p["metadata"]["namespace"] == "tenant-002" for p in tenant)
    assert small.items("/api/v1/namespaces/nope/pods") == []


def test_too_few_blocks_is_an_error() -> None:
    with pytest.raises(ValueError, match="raise blocks"):
        scaled_scenario(nodes=10, pods=2000, blocks=10)
    with pytest.raises(ValueError, match="blocks >= nodes"):
        scaled_scenario(nodes=10, pods=20, blocks=5)
    assert Layout(5000, 150000, 10000, clock=None).pool_cidr == "10.128.0.0/12"  # type: ignore[arg-type]


def test_the_benchmark_size_serves_pages_fast(tmp_path) -> None:
    """150,000 pods are never held: building is instant and a 500-item page takes milliseconds. The bounds
    are loose (shared CI machines); measured medians are ~20 ms for pods, ~60 ms for IPAM blocks."""
    sim = SimCluster(scaled_scenario(nodes=5000, pods=150000, blocks=10000, now=NOW)).start()
    kube = connect(sim, tmp_path)
    try:
        first = kube.json("/api/v1/pods", limit=500)
        assert first["metadata"]["remainingItemCount"] == 150000 + 10000 + 3 - 500
        token = json.loads(__import__("base64").urlsafe_b64decode(first["metadata"]["continue"] + "=="))
        assert token["start"] == 500
        deep = kube.json("/api/v1/namespaces/tenant-077/pods", limit=500)
        assert len(deep["items"]) == 500
        blocks = kube.json(f"{CALICO}/ipamblocks", limit=500)
        assert len(blocks["items"]) == 500
        pods_ms, _, blocks_ms = (r.duration_ms for r in sim.requests[-3:])
        assert pods_ms < 400 and blocks_ms < 1500, (pods_ms, blocks_ms)
    finally:
        kube.close()
        sim.stop()
