"""The IPAM report service against the simulated apiserver (real kubernetes client), a real SQLite
store and the Slack Web API stand-in (real slack_sdk): snapshots and history, the forecast from stored
history, one post per fire time across restarts, failures, and alerts only on a change of level."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.config import ClusterSettings, ReportSettings, Settings, SlackSettings, StoreSettings
from bot.reporting.ipam import DAY, PoolSample, Snapshot
from bot.services.reports import Reports
from bot.sim.scenarios import build_scenario
from bot.sim.server import SimCluster
from bot.wiring import App
from tests.standins.slack import Calls, slack_standin

T0 = datetime(2026, 12, 7, 9, 0, tzinfo=UTC).timestamp()  # a Monday, 09:00
CHANNEL = "CREPORTS"


@pytest.fixture
def slack() -> Iterator[tuple[str, Calls]]:
    with slack_standin() as standin:
        yield standin


@pytest.fixture
def reports_for(tmp_path: Path, knowledge_settings, slack) -> Iterator[Callable[..., tuple[App, Reports]]]:
    """A fresh App (a restart, each time) on a scenario, named "prod", sharing one store file."""
    api_url, _ = slack
    apps: list[App] = []
    sims: list[SimCluster] = []

    def start(scenario: str = "ipam-exhausted", *, stopped: bool = False, **options: object) -> tuple[App, Reports]:
        sim = SimCluster(build_scenario(scenario)).start()
        kubeconfig = sim.write_kubeconfig(tmp_path / f"kubeconfig-{len(apps)}")
        if stopped:
            sim.stop()  # the apiserver is gone: connection refused
        else:
            sims.append(sim)
        settings = Settings(
            knowledge=knowledge_settings,
            cluster=ClusterSettings(kubeconfig=str(kubeconfig), home=tmp_path, connect_timeout=1, probe_deadline=5),
            store=StoreSettings(path=tmp_path / "cnibot.db"),
            slack=SlackSettings(bot_token="xoxb-test", api_url=api_url, cluster_name="prod"),
            reports=ReportSettings(channel=CHANNEL, **options),  # type: ignore[arg-type]
        )
        app = App(settings)
        apps.append(app)
        reports = app.reports(poster=app.report_poster)
        return app, reports

    yield start
    for app in apps:
        app.close()
    for sim in sims:
        sim.stop()


def at(reports: Reports, epoch: float) -> Reports:
    reports.clock = lambda: epoch
    return reports


def test_each_report_keeps_a_snapshot_compares_with_the_last_and_drops_what_retention_says(reports_for) -> None:
    app, reports = reports_for("ipam-exhausted", retention_days=90)
    target = reports.target()
    first = at(reports, T0).take(target)
    assert first.pools[0].change is None and first.pools[0].per_day is None and not first.history
    assert not first.snapshot.simulated and first.snapshot.backend == "calico"  # reached by kubeconfig, as a real one
    assert first.snapshot.leaked_total == 768 and dict(first.snapshot.leaked_by_namespace) == {"batch": 692, "shop": 76}
    second = at(reports, T0 + DAY).take(target)
    assert second.pools[0].change == 0 and second.pools[0].per_day == pytest.approx(0.0)
    assert len(second.history) == 1
    late = at(reports, T0 + 100 * DAY).take(target)
    assert len(late.history) == 2  # read before the retention sweep that this report's snapshot triggers
    after = at(reports, T0 + 101 * DAY).take(target, record=False)
    assert [s.at for s in after.history] == [T0 + 100 * DAY]  # the two older than 90 days are gone
    assert len(app.store.snapshots(cluster="prod", before=T0 + 200 * DAY)) == 1  # record=False kept nothing


def test_growth_and_the_exhaustion_date_come_from_the_stored_history(reports_for) -> None:
    app, reports = reports_for("healthy")  # default-ipv4-ippool: 26 of 65,536 allocated
    for days_ago, allocated in ((3, 2), (2, 10), (1, 18)):
        earlier = Snapshot(
            T0 - days_ago * DAY,
            "prod",
            "calico",
            True,
            (PoolSample("default-ipv4-ippool", "10.244.0.0/16", 65536, allocated),),
        )
        app.store.record_snapshot(cluster="prod", at=earlier.at, data=earlier.to_json(), keep_seconds=90 * DAY)
    pool = at(reports, T0).take(reports.target()).pools[0]
    # 2, 10, 18, 26 a day apart: exactly 8 a day; 65,510 free -> full in 8,188.75 days
    assert pool.per_day == pytest.approx(8.0)
    assert pool.change == 8
    assert pool.exhausted_at == pytest.approx(T0 + 65510 / 8 * DAY)
    assert pool.level == "ok"


def test_a_scheduled_report_is_posted_once_per_fire_time_even_across_a_restart(reports_for, slack) -> None:
    _, calls = slack
    due = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
    _, reports = reports_for("ipam-exhausted")
    assert at(reports, T0 + 60).post_scheduled(due) == ["prod"]
    assert len(calls.of("chat.postMessage")) == 1
    assert len(calls.wait_for("files.completeUploadExternal")) == 1
    _, restarted = reports_for("ipam-exhausted")  # a new process, the same store
    assert at(restarted, T0 + 120).post_scheduled(due) == []
    assert len(calls.of("chat.postMessage")) == 1
    tomorrow = datetime(2026, 12, 8, 9, 0, tzinfo=UTC)
    assert at(restarted, T0 + DAY).post_scheduled(tomorrow) == ["prod"]
    assert len(calls.of("chat.postMessage")) == 2


def test_the_posted_summary_has_the_numbers_the_runbook_and_the_release_button(reports_for, slack) -> None:
    _, calls = slack
    _, reports = reports_for("ipam-exhausted")
    at(reports, T0).post_scheduled(datetime(2026, 12, 7, 9, 0, tzinfo=UTC))
    message = calls.of("chat.postMessage")[0]
    assert message["channel"] == CHANNEL
    blocks = message["blocks"] if isinstance(message["blocks"], list) else json.loads(message["blocks"])
    text = json.dumps(blocks)
    assert "default-ipv4-ippool" in text and "1,024 of 1,024 allocated (100.0%), 0 free" in text
    assert "768 leaked address(es)" in text and "batch 692" in text and "full now" in text
    buttons = [e for b in blocks if b["type"] == "actions" for e in b["elements"]]
    assert {(b["action_id"], b["value"]) for b in buttons} == {
        ("cnibot_show_runbook", "0:ipam-exhausted"),
        ("cnibot_propose", "release-leaked-ips"),
    }
    upload = calls.wait_for("upload")[0]
    assert upload["bytes"].startswith(b"\x89PNG\r\n\x1a\n")  # the chart, as uploaded
    complete = calls.of("files.completeUploadExternal")[0]
    assert complete["channel_id"] == CHANNEL and complete.get("thread_ts") == str(
        calls.of("chat.postMessage")[0].get("ts", complete.get("thread_ts"))
    )


def test_a_healthy_cluster_gets_no_runbook_and_no_release_button(reports_for, slack) -> None:
    _, calls = slack
    _, reports = reports_for("healthy")
    at(reports, T0).post_scheduled(datetime(2026, 12, 7, 9, 0, tzinfo=UTC))
    message = calls.of("chat.postMessage")[0]
    blocks = message["blocks"] if isinstance(message["blocks"], list) else json.loads(message["blocks"])
    assert not [b for b in blocks if b["type"] == "actions"]
    assert "not exhausted at the current growth" not in json.dumps(blocks)  # one point: no growth yet
    assert "growth: not enough history yet" in json.dumps(blocks)


def test_a_post_slack_refuses_gives_the_claim_back_and_the_next_attempt_posts(reports_for, slack) -> None:
    _, calls = slack
    due = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
    _, reports = reports_for("ipam-exhausted")
    calls.throttle["chat.postMessage"] = 4  # more 429s than the client retries (3)
    assert at(reports, T0).post_scheduled(due) == []
    assert len(calls.of("chat.postMessage (429)")) == 4
    assert at(reports, T0 + 60).post_scheduled(due) == ["prod"]
    assert len(calls.of("chat.postMessage")) == 1


def test_an_unreachable_apiserver_posts_one_line_saying_so_and_only_once(reports_for, slack) -> None:
    _, calls = slack
    due = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
    _, reports = reports_for("healthy", stopped=True)
    assert at(reports, T0).post_scheduled(due) == ["prod"]
    (message,) = calls.of("chat.postMessage")
    assert message["text"].startswith(":x: The IPAM report could not be made.") and "\n" not in message["text"]
    assert "prod" in message["text"]
    assert at(reports, T0 + 60).post_scheduled(due) == []  # the failure was reported: not again


def test_alerts_post_only_when_a_pool_changes_level(reports_for, slack) -> None:
    _, calls = slack
    _, healthy = reports_for("healthy")
    assert healthy.check_alerts() == []  # ok, as it was (no row yet means ok)
    _, exhausted = reports_for("ipam-exhausted")
    (alert,) = exhausted.check_alerts()
    assert (alert.pool, alert.previous, alert.level, alert.allocated) == ("default-ipv4-ippool", "ok", "critical", 1024)
    assert exhausted.check_alerts() == []  # still critical: not the same alert twice in a row
    _, recovered = reports_for("healthy")
    (back,) = recovered.check_alerts()
    assert (back.previous, back.level) == ("critical", "ok")
    texts = [m["text"] for m in calls.of("chat.postMessage")]
    assert len(texts) == 2
    assert "is now CRITICAL: 1,024/1,024 (100.0%) allocated, was ok" in texts[0]
    assert "is back to ok" in texts[1]


def test_each_cluster_of_the_channel_map_gets_its_report_and_the_default_one_only_once(
    tmp_path: Path, knowledge_settings, slack
) -> None:
    from tests.slack.test_clusters import merged_kubeconfig

    api_url, calls = slack
    with SimCluster(build_scenario("ipam-exhausted")) as prod, SimCluster(build_scenario("healthy")) as staging:
        kubeconfig = merged_kubeconfig(tmp_path / "kubeconfig", {"prod": prod, "staging": staging})
        settings = Settings(
            knowledge=knowledge_settings,
            cluster=ClusterSettings(kubeconfig=str(kubeconfig), home=tmp_path),  # current context: prod
            store=StoreSettings(path=tmp_path / "cnibot.db"),
            slack=SlackSettings(
                bot_token="xoxb-test",
                api_url=api_url,
                cluster_name="prod",
                channel_clusters=(("C1", "prod"), ("C2", "staging"), ("C3", "gone")),
            ),
            reports=ReportSettings(channel=CHANNEL),
        )
        app = App(settings)
        try:
            reports = app.reports(poster=app.report_poster)
            assert [t.name for t in reports.targets()] == ["prod", "staging", "gone"]
            assert at(reports, T0).post_scheduled(datetime(2026, 12, 7, 9, 0, tzinfo=UTC)) == [
                "prod",
                "staging",
                "gone",
            ]
        finally:
            app.close()
    texts = [m["text"] for m in calls.of("chat.postMessage")]
    assert len(texts) == 3
    assert texts[0].startswith("IPAM usage report: prod") and "CRITICAL" in texts[0]
    assert texts[1].startswith("IPAM usage report: staging") and texts[1].endswith(": ok")
    assert texts[2].startswith(":x: The IPAM report could not be made. IPAM report for gone:") and "\n" not in texts[2]


def test_an_alert_slack_refuses_is_posted_by_the_next_check(reports_for, slack) -> None:
    _, calls = slack
    _, exhausted = reports_for("ipam-exhausted")
    calls.throttle["chat.postMessage"] = 4  # more 429s than the client retries
    assert [a.level for a in exhausted.check_alerts()] == ["critical"]
    assert calls.of("chat.postMessage") == []
    assert [a.level for a in exhausted.check_alerts()] == ["critical"]  # the change is still news
    assert len(calls.of("chat.postMessage")) == 1
    assert exhausted.check_alerts() == []
