"""Leader election through a Lease on the simulated apiserver (real kubernetes client): exactly one of
two instances leads, and the other takes over once the first stops renewing."""

from __future__ import annotations

from pathlib import Path

from bot.cluster.lease import open_elector
from bot.config import ClusterSettings
from bot.sim.scenarios import build_scenario
from bot.sim.server import SimCluster
from bot.store.db import Store


def test_one_leader_and_a_takeover_when_it_stops_renewing(tmp_path: Path) -> None:
    now = [1_000_000.0]
    with SimCluster(build_scenario("healthy"), writer_token="remediator-token") as sim:
        settings = ClusterSettings(kubeconfig=str(sim.write_kubeconfig(tmp_path / "kc")), home=tmp_path)
        a, b = (
            open_elector(settings, namespace="cnibot", name="cnibot-leader", identity=who, duration_seconds=15)
            for who in ("pod-a", "pod-b")
        )
        a.clock = b.clock = lambda: now[0]
        assert a.try_lead() and not b.try_lead()
        for _ in range(5):  # a renews every 5 s: b never gets it
            now[0] += 5
            assert a.try_lead() and not b.try_lead()
        now[0] += 16  # a stopped renewing (its process died): after the lease duration b takes over
        assert b.try_lead() and not a.try_lead()
        lease = [r for r in sim.requests if "/leases" in r.path and r.method in ("POST", "PUT")]
        assert lease and all(r.status in (200, 201) for r in lease)


def test_a_second_candidate_finds_the_lease_held_and_does_not_lead(tmp_path: Path) -> None:
    with SimCluster(build_scenario("healthy")) as sim:
        settings = ClusterSettings(kubeconfig=str(sim.write_kubeconfig(tmp_path / "kc")), home=tmp_path)
        a, b = (open_elector(settings, namespace="cnibot", name="l", identity=who) for who in ("a", "b"))
        a.clock = b.clock = lambda: 5_000.0
        first = a.try_lead()
        assert first and not b.try_lead()


def test_the_store_records_a_scheduled_run_once_and_an_alert_level_only_on_change(tmp_path: Path) -> None:
    store = Store(tmp_path / "cnibot.db")
    key = "prod|ipam-report|2026-12-03T09:00:00+00:00"
    assert store.claim_run(key, cluster="prod", kind="ipam-report")
    assert not Store(tmp_path / "cnibot.db").claim_run(key, cluster="prod", kind="ipam-report")  # a restart
    store.finish_run(key, ok=False)  # posting failed: the claim is given back
    assert store.claim_run(key, cluster="prod", kind="ipam-report")
    assert store.change_alert_level(cluster="prod", pool="p", level="ok") is None
    assert store.change_alert_level(cluster="prod", pool="p", level="warning") == "ok"
    assert store.change_alert_level(cluster="prod", pool="p", level="warning") is None
    assert store.change_alert_level(cluster="prod", pool="p", level="ok") == "warning"
    store.record_snapshot(cluster="prod", at=100.0, data={"n": 1}, keep_seconds=50)
    store.record_snapshot(cluster="prod", at=200.0, data={"n": 2}, keep_seconds=50)
    assert store.snapshots(cluster="prod", before=300.0) == [{"n": 2}]  # the old one fell out of retention


def test_an_apiserver_that_refuses_the_lease_is_said_once_and_no_one_leads(tmp_path: Path, caplog) -> None:
    import logging

    with SimCluster(build_scenario("healthy")) as sim:
        settings = ClusterSettings(kubeconfig=str(sim.write_kubeconfig(tmp_path / "kc")), home=tmp_path)
        elector = open_elector(settings, namespace="cnibot", name="l", identity="a")
    # the apiserver is gone: connection refused, round after round
    with caplog.at_level(logging.WARNING, logger="bot.cluster.lease"):
        assert not any(elector.try_lead() for _ in range(5))
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "posts no report" in warnings[0].getMessage()
