"""Every probe against the simulated cluster's scenarios, through the real kubernetes client."""

from __future__ import annotations

import pytest

from bot.domain.probe import ProbeResult
from bot.probes.registry import PROBES
from bot.sim.scenarios import SCENARIOS
from tests.probes.helpers import run


def one(clusters, scenario: str, probe: str, namer) -> ProbeResult:
    _, reader = clusters[scenario]
    return run([probe], reader, runbook_for=namer)[0]


def runbooks_named(result: ProbeResult) -> set[str]:
    return {f.runbook for f in result.findings if f.runbook}


def test_healthy_cluster_is_ok_everywhere(clusters, namer) -> None:
    _, reader = clusters["healthy"]
    results = run(list(PROBES), reader, runbook_for=namer)
    assert {r.probe: r.status for r in results} == {p: "ok" for p in PROBES}, [
        (r.probe, r.summary, [f.summary for f in r.findings]) for r in results if r.status != "ok"
    ]


def test_detect_names_cni_version_and_encapsulation(clusters, namer) -> None:
    calico = one(clusters, "healthy", "cni.detect", namer).data
    assert (calico["cni"], calico["version"], calico["encapsulation"], calico["overhead_bytes"]) == (
        "calico",
        "v3.27.2",
        "vxlan",
        50,
    )
    flannel = one(clusters, "flannel-subnet-missing", "cni.detect", namer).data
    assert flannel["cni"] == "flannel" and flannel["encapsulation"] == "vxlan"
    cilium = one(clusters, "cilium-healthy", "cni.detect", namer).data
    assert cilium["cni"] == "cilium"
    none = one(clusters, "cni-not-initialized", "cni.detect", namer)
    assert none.status == "critical" and none.data["cni"] == "none"


def test_ipam_exhausted_finds_full_pool_leaks_and_disabled_pool(clusters, namer) -> None:
    result = one(clusters, "ipam-exhausted", "ipam.usage", namer)
    assert result.status == "critical"
    data = result.data
    assert data["backend"] == "calico"
    pools = {p["name"]: p for p in data["pools"]}
    main = next(p for p in pools.values() if p["cidr"] == "10.244.0.0/22")
    assert main["capacity"] == 1024
    assert main["utilization"] >= 0.95
    assert main["free"] == main["capacity"] - main["allocated"]
    assert any(p["disabled"] for p in pools.values())
    assert data["leaked_total"] > 0
    leak = data["leaked"][0]
    assert set(leak) == {"ip", "handle", "namespace", "pod", "node"}
    assert leak["handle"].startswith("k8s-pod-network.")
    assert "ipam-exhausted" in runbooks_named(result)
    assert {n["node"] for n in data["nodes"]} >= {"node-1", "node-2", "node-3", "node-4"}


def test_sandbox_failures_are_grouped_and_named(clusters, namer) -> None:
    result = one(clusters, "ipam-exhausted", "pods.sandbox_failures", namer)
    assert result.status == "critical"
    assert result.data["groups"] and all(g["node"] for g in result.data["groups"])
    assert "ipam-exhausted" in runbooks_named(result)
    flannel = one(clusters, "flannel-subnet-missing", "pods.sandbox_failures", namer)
    assert "flannel-not-ready" in runbooks_named(flannel)
    assert {g["node"] for g in flannel.data["groups"]} == {"node-3"}


def test_mtu_mismatch_shows_the_arithmetic(clusters, namer) -> None:
    result = one(clusters, "mtu-mismatch", "config.mtu", namer)
    assert result.status == "critical"
    text = " ".join(f.summary for f in result.findings)
    assert "1500 + vxlan 50 = 1550 > node MTU 1500" in text
    assert "set it to 1450" in text
    assert result.data["expected_pod_mtu"] == 1450
    assert runbooks_named(result) == {"mtu-mismatch"}
    assert one(clusters, "healthy", "config.mtu", namer).status == "ok"


def test_cni_not_initialized_nodes(clusters, namer) -> None:
    result = one(clusters, "cni-not-initialized", "nodes.network", namer)
    assert result.status == "critical"
    assert len(result.data["problems"]) == 3
    assert runbooks_named(result) == {"cni-config-uninitialized"}
    assert one(clusters, "cni-not-initialized", "cni.pods", namer).status == "no data"


def test_calico_bgp_down_pods_and_logs(clusters, namer) -> None:
    pods = one(clusters, "calico-bgp-down", "cni.pods", namer)
    assert pods.status == "critical"
    assert (pods.data["desired"], pods.data["ready"]) == (3, 1)
    assert {p["node"] for p in pods.data["not_ready"]} == {"node-2", "node-3"}
    assert "calico-node-not-ready" in runbooks_named(pods)
    logs = one(clusters, "calico-bgp-down", "cni.logs", namer)
    assert logs.findings and "calico-node-not-ready" in runbooks_named(logs)


def test_flannel_subnet_missing(clusters, namer) -> None:
    pods = one(clusters, "flannel-subnet-missing", "cni.pods", namer)
    assert pods.status == "critical"
    crash = pods.data["not_ready"][0]
    assert crash["node"] == "node-3" and crash["waiting"] == "CrashLoopBackOff" and crash["restarts"] >= 5
    cidr = one(clusters, "flannel-subnet-missing", "config.pod_cidr", namer)
    assert cidr.status == "critical"
    assert any("node(s) have no podCIDR (node-3)" in f.summary for f in cidr.findings)
    ipam = one(clusters, "flannel-subnet-missing", "ipam.usage", namer)
    assert ipam.data["backend"] == "host-local"
    assert ipam.data["leaked"] == []
    logs = one(clusters, "flannel-subnet-missing", "cni.logs", namer)
    assert "pod-cidr-conflict" in runbooks_named(logs)


def test_cilium_ipam_backend(clusters, namer) -> None:
    result = one(clusters, "cilium-healthy", "ipam.usage", namer)
    assert result.data["backend"] == "cilium"
    assert result.data["nodes"]


def test_pods_ips_on_healthy_and_exhausted(clusters, namer) -> None:
    assert one(clusters, "healthy", "pods.ips", namer).status == "ok"
    assert one(clusters, "healthy", "config.pod_cidr", namer).status == "ok"


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_every_probe_only_ever_sends_get(clusters, namer, scenario: str) -> None:
    sim, reader = clusters[scenario]
    before = len(sim.requests)
    results = run(list(PROBES), reader, runbook_for=namer)
    assert len(results) == len(PROBES)
    assert all(r.status != "error" for r in results), [(r.probe, r.error) for r in results if r.status == "error"]
    seen = sim.requests[before:]
    assert seen, "the probes made no requests"
    assert {r.method for r in seen} == {"GET"}


def test_ipam_text_counts_enabled_pools_and_lists_blocks_in_address_order(clusters, namer) -> None:
    from bot.probes.ipam_math import short_cidr_list

    result = one(clusters, "ipam-exhausted", "ipam.usage", namer)
    assert result.summary.startswith("calico: 1024/1024 addresses allocated in 1 enabled pool(s)")
    assert "1 disabled pool(s) not counted" in result.summary
    full = next(f for f in result.findings if "have no free pod address" in f.summary)
    assert full.evidence[0] == "node-1: 256/256 in 10.244.0.0/26, 10.244.0.64/26, 10.244.0.128/26, 10.244.0.192/26"
    six = [f"10.0.{i}.0/24" for i in (10, 9, 2, 1, 100, 3)]
    assert short_cidr_list(six) == "10.0.1.0/24, 10.0.2.0/24, 10.0.3.0/24, … (+3 more)"


def test_the_runbook_suggests_no_pool_that_overlaps_one_the_probe_reports(clusters, namer) -> None:
    import ipaddress
    import re

    from bot.knowledge.loader import load_runbooks
    from tests.conftest import RUNBOOKS

    pools = [
        ipaddress.ip_network(p["cidr"]) for p in one(clusters, "ipam-exhausted", "ipam.usage", namer).data["pools"]
    ]
    runbook = next(rb for rb in load_runbooks(RUNBOOKS) if rb.id == "ipam-exhausted")
    for step in runbook.remediation:
        for cidr in re.findall(r"\b\d+\.\d+\.\d+\.\d+/\d+\b", step.command or ""):
            assert not any(ipaddress.ip_network(cidr).overlaps(p) for p in pools), (step.command, cidr)


def test_flannels_in_cluster_config_notice_is_not_a_finding(clusters, namer) -> None:
    result = one(clusters, "flannel-subnet-missing", "cni.logs", namer)
    assert not any("Neither --kubeconfig nor --master" in f.summary for f in result.findings)
    assert any("pod cidr not assigned" in f.summary for f in result.findings)
