"""`cnibot serve` with a report channel, as a user runs it (its own process, the simulated cluster, the
Slack Web API stand-in): the report that fired today is posted with its chart, the pool alert goes out,
/metrics shows the pools, and a restart posts neither again."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from tests.slack.test_serve import ROOT, env_for, status
from tests.standins.apiserver import free_port
from tests.standins.slack import Calls, slack_standin

CHANNEL = "CREPORTS"


def serve(port: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "bot", "serve", "--port", str(port), "--sim", "ipam-exhausted"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def wait_ready(bot: subprocess.Popen[bytes], port: int) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and status(f"http://127.0.0.1:{port}/readyz") != 200:
        assert bot.poll() is None, bot.stderr.read().decode() if bot.stderr else ""
        time.sleep(0.2)


def reports_posted(calls: Calls) -> list[dict]:
    return [m for m in calls.of("chat.postMessage") if "IPAM usage report" in json.dumps(m.get("blocks") or "")]


def alerts_posted(calls: Calls) -> list[dict]:
    return [m for m in calls.of("chat.postMessage") if str(m.get("text", "")).startswith("IPAM alert")]


def stop(bot: subprocess.Popen[bytes]) -> None:
    bot.terminate()  # SIGTERM, as Kubernetes stops a pod: a clean stop
    assert bot.wait(30) == 0


def test_serve_posts_the_due_report_and_the_alert_once_and_serves_metrics(tmp_path: Path, knowledge_settings) -> None:
    port = free_port()
    with slack_standin() as (api_url, calls):
        env = env_for(api_url, tmp_path) | {
            "CNIBOT_REPORT_CHANNEL": CHANNEL,
            "CNIBOT_REPORT_SCHEDULE": "0 0 * * *",  # daily at midnight UTC: today's fired less than a day ago
            "CNIBOT_REPORT_GRACE": "86400",
            "CNIBOT_ALERT_INTERVAL": "2",
        }
        bot = serve(port, env)
        try:
            wait_ready(bot, port)
            assert calls.wait_for("files.completeUploadExternal", 1, seconds=60)
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and not (reports_posted(calls) and alerts_posted(calls)):
                time.sleep(0.2)
            (report,) = reports_posted(calls)
            assert report["channel"] == CHANNEL
            (alert,) = alerts_posted(calls)
            assert "default-ipv4-ippool" in alert["text"] and "now CRITICAL" in alert["text"]
            upload = calls.of("upload")[0]
            assert upload["bytes"].startswith(b"\x89PNG")
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
                assert response.headers["Content-Type"].startswith("text/plain")
                families = {f.name: f for f in text_string_to_metric_families(response.read().decode())}
            allocated = {s.labels["pool"]: s.value for s in families["cnibot_ipam_pool_allocated_addresses"].samples}
            assert allocated["default-ipv4-ippool"] == 1024
            leaked = {s.labels["pool"]: s.value for s in families["cnibot_ipam_pool_leaked_addresses"].samples}
            assert leaked["default-ipv4-ippool"] == 768
            nodes = {s.labels["node"]: s.value for s in families["cnibot_ipam_node_free_addresses"].samples}
            assert nodes and all(v == 0 for v in nodes.values())
            (last,) = families["cnibot_ipam_last_report_timestamp_seconds"].samples
            assert abs(last.value - time.time()) < 300
            time.sleep(3)  # more alert checks ran: the pool is still critical, so no second alert
            assert len(alerts_posted(calls)) == 1
        finally:
            stop(bot)

        restarted = serve(port, env)
        try:
            wait_ready(restarted, port)
            time.sleep(5)  # the catch-up and two alert checks had their chance
            assert len(reports_posted(calls)) == 1  # the store remembered today's report ...
            assert len(alerts_posted(calls)) == 1  # ... and the pool's level
        finally:
            stop(restarted)
