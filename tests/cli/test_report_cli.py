"""`cnibot report` as a user scripts it: piped text, --json, --png, --post to the Slack stand-in, the
schedule, and bad input as one line with a non-zero exit."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

from tests.cli.test_remediation_cli import cnibot
from tests.reporting.test_chart import png_size
from tests.standins.slack import slack_standin


def test_report_ipam_json_then_text_with_history_and_a_chart(tmp_path: Path) -> None:
    first = cnibot(tmp_path, "report", "ipam", "--sim", "ipam-exhausted", "--json")
    assert first.returncode == 0, first.stderr
    data = json.loads(first.stdout)
    (pool,) = [p for p in data["pools"] if p["name"] == "default-ipv4-ippool"]
    assert (pool["capacity"], pool["allocated"], pool["free"], pool["level"]) == (1024, 1024, 0, "critical")
    assert pool["change_since_last"] is None and data["history_points"] == 0
    assert data["simulated"] is True and data["leaked_total"] == 768
    assert data["leaked_by_namespace"] == [["batch", 692], ["shop", 76]]
    second = cnibot(tmp_path, "report", "ipam", "--sim", "ipam-exhausted", "--png", str(tmp_path / "chart.png"))
    assert second.returncode == 0, second.stderr
    text = second.stdout.decode()
    assert "default-ipv4-ippool 10.244.0.0/22: CRITICAL" in text and "+0 since the last report" in text
    assert "history: 1 earlier snapshot(s)" in text  # the first run was kept
    assert "release the leaks: `cnibot plan release-leaked-ips`" in text
    assert png_size((tmp_path / "chart.png").read_bytes()) == (1000, 500)
    assert "chart written to" in second.stderr.decode()


def test_a_store_that_is_not_a_database_still_prints_the_report_then_one_warning_and_exit_1(
    tmp_path: Path,
) -> None:
    (tmp_path / "not.db").write_bytes(b"not SQLite, just text " * 20)
    done = cnibot(tmp_path, "report", "ipam", "--sim", "ipam-exhausted", CNIBOT_DB=str(tmp_path / "not.db"))
    assert "default-ipv4-ippool 10.244.0.0/22: CRITICAL" in done.stdout.decode()
    err = done.stderr.decode()
    assert done.returncode == 1 and err.count("\n") == 1, err
    assert err.startswith("cnibot: warning: IPAM history unavailable and snapshot not kept: cannot open the database")


def test_no_record_keeps_no_history(tmp_path: Path) -> None:
    for _ in range(2):
        done = cnibot(tmp_path, "report", "ipam", "--sim", "healthy", "--json", "--no-record")
        assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["history_points"] == 0


def test_post_sends_the_summary_and_the_chart_to_the_report_channel(tmp_path: Path) -> None:
    with slack_standin() as (api_url, calls):
        done = cnibot(
            tmp_path,
            "report",
            "ipam",
            "--sim",
            "ipam-exhausted",
            "--post",
            SLACK_BOT_TOKEN="xoxb-test",
            SLACK_API_URL=api_url,
            CNIBOT_REPORT_CHANNEL="CREPORTS",
        )
        assert done.returncode == 0, done.stderr
        (message,) = calls.of("chat.postMessage")
        assert message["channel"] == "CREPORTS" and "IPAM usage report" in message["text"]
        assert calls.of("upload")[0]["bytes"].startswith(b"\x89PNG")
        assert "posted to CREPORTS" in done.stderr.decode()


def test_bad_input_is_one_line_and_a_non_zero_exit(tmp_path: Path) -> None:
    cases = [
        (("report", "ipam", "--sim", "healthy", "--post"), {}, "--post needs CNIBOT_REPORT_CHANNEL"),
        (
            ("report", "ipam", "--sim", "healthy", "--post"),
            {"CNIBOT_REPORT_CHANNEL": "C1"},
            "SLACK_BOT_TOKEN is not set",
        ),
        (("report", "ipam", "--sim", "healthy", "--png", "/nonexistent/dir/c.png"), {}, "--png /nonexistent/dir/c.png"),
        (("report", "ipam", "--sim", "healthy", "--cluster", "nope"), {}, "no cluster 'nope'"),
        (("report", "schedule"), {"CNIBOT_REPORT_SCHEDULE": "0 9 * * mon-xyz"}, "CNIBOT_REPORT_SCHEDULE="),
        (("report", "ipam", "--sim", "healthy"), {"CNIBOT_TIMEZONE": "Mars/Olympus"}, "CNIBOT_TIMEZONE="),
        (("report", "ipam", "--sim", "healthy"), {"CNIBOT_REPORT_CRITICAL": "0.5"}, "below CNIBOT_REPORT_WARNING"),
        (("report",), {}, "report needs an action"),
    ]
    for args, extra, expected in cases:
        done = cnibot(tmp_path, *args, **extra)
        err = done.stderr.decode()
        assert done.returncode != 0, (args, err)
        assert expected in err and err.count("\n") == 1 and "Traceback" not in err, (args, err)


def test_the_schedule_lists_the_next_fire_times_in_the_time_zone(tmp_path: Path) -> None:
    done = cnibot(
        tmp_path,
        "report",
        "schedule",
        "--count",
        "3",
        CNIBOT_REPORT_SCHEDULE="30 8 * * 1",
        CNIBOT_TIMEZONE="Asia/Tokyo",
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.decode().split()
    assert len(lines) == 3 and all(line.endswith("T08:30:00+09:00") for line in lines)
    assert {datetime.fromisoformat(line).weekday() for line in lines} == {0}  # Mondays
