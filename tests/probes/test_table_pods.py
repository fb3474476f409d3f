"""Pods read as server-printed Table rows must agree with the same pods read as full objects."""

from __future__ import annotations

import pytest

from bot.probes.context import ProbeContext, pod_info


@pytest.mark.parametrize("scenario", ["healthy", "ipam-exhausted", "flannel-subnet-missing", "calico-bgp-down"])
def test_table_rows_agree_with_full_objects(clusters, scenario: str) -> None:
    _, reader = clusters[scenario]
    documents = list(reader.table_pages("/api/v1/pods"))
    assert documents and all(d["kind"] == "Table" for d in documents)
    from_table = {p.key: p for p in ProbeContext(reader).pods}
    full = {p.key: p for p in (pod_info(item) for page in reader.pages("/api/v1/pods") for item in page)}
    assert from_table.keys() == full.keys()
    for key, want in full.items():
        got = from_table[key]
        assert (got.node, got.pod_ip, got.ready, got.host_network) == (
            want.node,
            want.pod_ip,
            want.ready,
            want.host_network,
        ), key
        assert got.phase == want.phase, key
        assert got.restarts == want.restarts, key
        if want.waiting in ("ContainerCreating", "CrashLoopBackOff"):
            assert got.waiting == want.waiting, key


def test_all_namespaces_listing_when_namespaces_cannot_be_listed(tmp_path) -> None:
    from bot.sim.scenarios import build_scenario
    from bot.sim.server import SimCluster
    from tests.probes.conftest import reader_for

    with SimCluster(build_scenario("ipam-exhausted"), forbidden=frozenset({("list", "namespaces")})) as sim:
        reader = reader_for(sim, tmp_path)
        pods = ProbeContext(reader).pods
        paths = {r.path for r in sim.requests if r.method == "GET"}
        full = {pod_info(i).key for page in reader.pages("/api/v1/pods") for i in page}
    assert "/api/v1/pods" in paths  # the fallback: one all-namespaces listing with row metadata
    assert {p.key for p in pods} == full
