"""/metrics: match and probe counters and latencies through the real services, IPAM gauges from probe
data (series of vanished nodes removed), and the HTTP route answering before the bot is ready."""

from __future__ import annotations

import urllib.request
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from bot.config import ClusterSettings, Settings, StoreSettings
from bot.metrics import Metrics
from bot.sim.scenarios import build_scenario
from bot.sim.server import SimCluster
from bot.slack.server import HttpServer
from bot.wiring import App


def samples(metrics: Metrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    body, _ = metrics.exposition()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(body.decode())
        for s in family.samples
    }


def test_matches_and_probe_runs_are_counted_and_timed(tmp_path: Path, knowledge_settings) -> None:
    with SimCluster(build_scenario("ipam-exhausted")) as sim:
        settings = Settings(
            knowledge=knowledge_settings,
            cluster=ClusterSettings(kubeconfig=str(sim.write_kubeconfig(tmp_path / "kc")), home=tmp_path),
            store=StoreSettings(path=tmp_path / "cnibot.db"),
        )
        app = App(settings)
        metrics = app._metrics = Metrics()  # what `serve` does
        try:
            app.answering.answer("failed to allocate for range 0: no IP addresses available in range set")
            app.answering.answer("the coffee machine on floor 3 is broken again")
            app.probing.run(["ipam.usage", "cni.detect"])
        finally:
            app.close()
    seen = samples(metrics)
    assert seen[("cnibot_matches_total", (("outcome", "confident"),))] == 1
    assert seen[("cnibot_matches_total", (("outcome", "no_confident_match"),))] == 1
    assert seen[("cnibot_match_duration_seconds_count", ())] == 2
    assert seen[("cnibot_probe_runs_total", (("outcome", "ok"),))] == 1
    assert seen[("cnibot_probes_total", (("probe", "ipam.usage"), ("status", "critical")))] == 1
    assert seen[("cnibot_probe_run_duration_seconds_count", ())] == 1


def test_ipam_gauges_follow_the_data_and_drop_nodes_that_are_gone() -> None:
    metrics = Metrics()
    data = {
        "pools": [{"name": "p", "capacity": 256, "allocated": 200, "free": 56}],
        "nodes": [
            {"node": "n1", "capacity": 128, "allocated": 128, "free": 0},
            {"node": "n2", "capacity": 128, "allocated": 72, "free": 56},
        ],
        "leaked_by": {"pool": {"p": 9}, "node": {"n1": 9}},
    }
    metrics.observe_ipam("prod", data, at=1000.0)
    seen = samples(metrics)
    assert seen[("cnibot_ipam_pool_free_addresses", (("cluster", "prod"), ("pool", "p")))] == 56
    assert seen[("cnibot_ipam_pool_leaked_addresses", (("cluster", "prod"), ("pool", "p")))] == 9
    assert seen[("cnibot_ipam_node_leaked_addresses", (("cluster", "prod"), ("node", "n2")))] == 0
    assert seen[("cnibot_ipam_last_snapshot_timestamp_seconds", (("cluster", "prod"),))] == 1000.0
    # n2 was drained and deleted; the light check (no leak data) keeps the leak gauges as they were
    metrics.observe_ipam("prod", {"pools": data["pools"], "nodes": data["nodes"][:1]}, at=2000.0)
    seen = samples(metrics)
    assert not [k for k in seen if ("node", "n2") in k[1]]
    assert seen[("cnibot_ipam_pool_leaked_addresses", (("cluster", "prod"), ("pool", "p")))] == 9


def test_the_metrics_route_answers_while_the_bot_is_still_starting() -> None:
    metrics = Metrics()
    metrics.observe_report("prod", 1234.0)
    server = HttpServer(None, port=0, host="127.0.0.1", ready=lambda: False, metrics=metrics.exposition).start()
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{server.port}/metrics", timeout=5) as response:
            body = response.read().decode()
            assert response.status == 200 and response.headers["Content-Type"].startswith("text/plain; version=")
        assert 'cnibot_ipam_last_report_timestamp_seconds{cluster="prod"} 1234.0' in body
    finally:
        server.stop()
