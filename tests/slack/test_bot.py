"""The Slack bot end to end: real slack-bolt and slack-sdk, signed HTTP requests to the bot's server on
loopback, a Slack Web API stand-in that records what the bot sends, the simulated cluster, a real
SQLite file."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from bot.config import Settings, SlackSettings, StoreSettings
from bot.slack.server import HttpServer
from bot.wiring import App, ClusterChoice
from tests.standins.slack import BOT_USER, Calls, slack_standin

SECRET = "test-signing-secret"
PASTE = 'Warning  FailedCreatePodSandBox  kubelet  plugin type="calico" failed (add): no IPs available in block'


@pytest.fixture
def bot(tmp_path: Path, knowledge_settings) -> Iterator[tuple[str, Calls, App]]:
    with slack_standin() as (api_url, calls):
        slack = SlackSettings(bot_token="xoxb-test", signing_secret=SECRET, api_url=api_url)
        settings = Settings(knowledge=knowledge_settings, slack=slack, store=StoreSettings(path=tmp_path / "cnibot.db"))
        app = App(settings, ClusterChoice(sim="ipam-exhausted"))
        server = HttpServer(app.slack_bot().app, port=0, ready=lambda: True, host="127.0.0.1").start()
        try:
            yield f"http://127.0.0.1:{server.port}", calls, app
        finally:
            server.stop()
            app.close()


def post(url: str, body: bytes, content_type: str, *, secret: str = SECRET, age: int = 0, retry: int = 0) -> int:
    stamp = str(int(time.time()) - age)
    signature = "v0=" + hmac.new(secret.encode(), f"v0:{stamp}:".encode() + body, hashlib.sha256).hexdigest()
    headers = {"Content-Type": content_type, "X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": signature}
    if retry:
        headers |= {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"}
    request = urllib.request.Request(f"{url}/slack/events", data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def message_event(text: str, *, event_id: str = "Ev1", ts: str = "1700000000.000100", **extra: Any) -> bytes:
    event = {"type": "message", "channel": "C1", "user": "U1", "text": text, "ts": ts, **extra}
    body = {"type": "event_callback", "team_id": "T1", "api_app_id": "A1", "event_id": event_id, "event": event}
    body["authorizations"] = [{"user_id": BOT_USER, "is_bot": True}]
    return json.dumps(body).encode()


def test_an_unsigned_or_stale_request_gets_401_and_nothing_happens(bot) -> None:
    url, calls, _ = bot
    assert post(url, message_event(PASTE), "application/json", secret="wrong") == 401
    assert post(url, message_event(PASTE), "application/json", age=600) == 401
    time.sleep(0.5)
    assert calls.of("chat.postMessage") == []


def test_a_confident_paste_gets_one_threaded_reply_and_a_retry_does_not_answer_twice(bot) -> None:
    url, calls, app = bot
    assert post(url, message_event(PASTE), "application/json") == 200
    posted = calls.wait_for("chat.postMessage")
    assert len(posted) == 1
    reply = posted[0]
    assert reply["channel"] == "C1" and reply["thread_ts"] == "1700000000.000100"
    blocks = json.loads(reply["blocks"]) if isinstance(reply["blocks"], str) else reply["blocks"]
    text = json.dumps(blocks)
    assert "ipam-exhausted" in text and "SIMULATED" in text
    assert {"cnibot_run_probes", "cnibot_show_runbook", "cnibot_not_this_one"} <= {
        e.get("action_id") for b in blocks if b["type"] == "actions" for e in b["elements"]
    }
    assert post(url, message_event(PASTE), "application/json", retry=1) == 200  # Slack's retry, same event id
    time.sleep(1.0)
    assert len(calls.of("chat.postMessage")) == 1
    rows = list(app.store.audit())
    assert [r.kind for r in rows] == ["answer"] and rows[0].summary.startswith("ipam-exhausted")


def test_the_bot_ignores_itself_other_bots_edits_and_unconfident_chatter(bot) -> None:
    url, calls, _ = bot
    post(url, message_event(PASTE, event_id="Ev2", bot_id="BCNIBOT"), "application/json")
    post(url, message_event(PASTE, event_id="Ev3", subtype="message_changed"), "application/json")
    post(url, message_event("anyone up for lunch?", event_id="Ev4"), "application/json")
    # commands not addressed to the bot are not pastes (matched, `probe ipam` read as a CNI crash loop at 0.80)
    post(url, message_event("probe ipam", event_id="Ev5", ts="1.5"), "application/json")
    post(url, message_event("probe ipam.usag", event_id="Ev6", ts="1.6"), "application/json")
    time.sleep(1.5)
    assert calls.of("chat.postMessage") == []


def test_a_paste_with_a_secret_is_stored_redacted(bot) -> None:
    url, calls, app = bot
    paste = PASTE + "\nAuthorization: Bearer abcdefghijklmnop123456"
    post(url, message_event(paste, event_id="Ev5"), "application/json")
    calls.wait_for("chat.postMessage")
    stored = list(app.store.db.table("answers").rows)
    assert "abcdefghijklmnop123456" not in stored[0]["text"] and "[REDACTED]" in stored[0]["text"]


def test_a_paste_with_a_lone_surrogate_is_answered_and_stored(bot) -> None:
    """Slack's JSON may carry "\\ud800"; it once crashed the embedding and could not be stored."""
    url, calls, app = bot
    post(url, message_event(PASTE + " \ud800", event_id="Ev7"), "application/json")
    assert "ipam-exhausted" in json.dumps(calls.wait_for("chat.postMessage")[0]["blocks"])
    stored = list(app.store.db.table("answers").rows)
    assert stored[0]["text"].endswith(" \ufffd")


def test_run_probes_posts_the_results_in_the_thread_and_records_the_run(bot) -> None:
    url, calls, app = bot
    payload = {
        "type": "block_actions",
        "user": {"id": "U2"},
        "team": {"id": "T1"},
        "channel": {"id": "C1"},
        "message": {"ts": "1700000000.000200", "thread_ts": "1700000000.000100"},
        "container": {"type": "message", "channel_id": "C1", "message_ts": "1700000000.000200"},
        "actions": [{"action_id": "cnibot_run_probes", "value": "ipam-exhausted", "type": "button"}],
        "trigger_id": "t",
        "api_app_id": "A1",
        "token": "x",
    }
    body = urlencode({"payload": json.dumps(payload)}).encode()
    assert post(url, body, "application/x-www-form-urlencoded") == 200
    posted = calls.wait_for("chat.postMessage", 2, seconds=60)
    assert len(posted) == 2 and all(p["thread_ts"] == "1700000000.000100" for p in posted)
    results = json.dumps(posted[1])
    assert "ipam.usage" in results and "SIMULATED" in results
    assert [r.kind for r in app.store.audit()] == ["probe"]
    # 768 leaked addresses and more findings than a message shows: the whole report comes as a file
    uploaded = calls.wait_for("upload")
    assert uploaded and "leaked" in uploaded[0]["content"] and "cluster: SIMULATED" in uploaded[0]["content"]
    completed = calls.wait_for("files.completeUploadExternal")
    assert completed and completed[0].get("thread_ts") == "1700000000.000100"


def test_slack_rate_limits_are_retried_after_the_time_slack_asks(bot) -> None:
    url, calls, _ = bot
    calls.throttle["chat.postMessage"] = 1
    started = time.monotonic()
    post(url, message_event(PASTE, event_id="Ev6"), "application/json")
    posted = calls.wait_for("chat.postMessage")
    assert len(posted) == 1 and len(calls.of("chat.postMessage (429)")) == 1
    assert time.monotonic() - started >= 1.0  # Retry-After: 1


def test_health_endpoints(bot) -> None:
    url, _, _ = bot
    with urllib.request.urlopen(f"{url}/healthz", timeout=5) as response:
        assert response.status == 200
    with urllib.request.urlopen(f"{url}/readyz", timeout=5) as response:
        assert response.status == 200


def test_a_token_slack_refuses_stops_the_start_with_one_line(tmp_path: Path, knowledge_settings) -> None:
    from bot.domain.errors import SettingsError

    settings = Settings(
        knowledge=knowledge_settings,
        slack=SlackSettings(bot_token="xoxb-test", signing_secret=SECRET, api_url="http://127.0.0.1:9/api/"),
        store=StoreSettings(path=tmp_path / "db"),
    )
    with pytest.raises(SettingsError) as caught:
        App(replace(settings), ClusterChoice(sim="healthy")).slack_bot()
    assert str(caught.value).startswith("cannot reach Slack at http://127.0.0.1:9/api/ to check SLACK_BOT_TOKEN")
    assert "\n" not in str(caught.value)


def action_body(action_id: str, value: str, *, selected: str = "", response_url: str = "") -> bytes:
    action: dict[str, Any] = {"action_id": action_id, "value": value, "type": "button"}
    if selected:
        action = {"action_id": action_id, "type": "static_select", "selected_option": {"value": selected}}
    payload = {
        "type": "block_actions",
        "user": {"id": "U2"},
        "team": {"id": "T1"},
        "channel": {"id": "C1"},
        "message": {"ts": "1700000000.000200", "thread_ts": "1700000000.000100"},
        "container": {"type": "message", "channel_id": "C1", "message_ts": "1700000000.000200"},
        "actions": [action],
        "trigger_id": "t",
        "api_app_id": "A1",
        "token": "x",
        "response_url": response_url,
    }
    return urlencode({"payload": json.dumps(payload)}).encode()


def test_not_this_one_offers_the_other_candidates_and_stores_the_pick_for_export(bot) -> None:
    url, calls, app = bot
    post(url, message_event(PASTE, event_id="Ev7"), "application/json")
    reply = calls.wait_for("chat.postMessage")[0]
    blocks = json.loads(reply["blocks"]) if isinstance(reply["blocks"], str) else reply["blocks"]
    value = next(e["value"] for b in blocks if b["type"] == "actions" for e in b["elements"])
    answer_id = int(value.split(":")[0])
    assert answer_id > 0
    post(url, action_body("cnibot_not_this_one", value), "application/x-www-form-urlencoded")
    menu = calls.wait_for("chat.postEphemeral")[0]
    text = json.dumps(menu)
    assert "ipam-exhausted" not in text.split("options")[1] and "none of these" in text
    response_url = url.replace("/slack/events", "") + "/respond"  # bolt posts respond() here; ignored
    pick = action_body("cnibot_pick_runbook", "", selected=f"{answer_id}:pod-cidr-conflict", response_url=response_url)
    post(url, pick, "application/x-www-form-urlencoded")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not list(app.store.labelled_pastes()):
        time.sleep(0.05)
    exported = list(app.store.labelled_pastes())
    assert exported and exported[0]["expect"] == "pod-cidr-conflict" and "no IPs available" in exported[0]["text"]


def test_show_runbook_posts_a_chat_sized_runbook_in_the_thread(bot) -> None:
    url, calls, _ = bot
    post(url, action_body("cnibot_show_runbook", "0:mtu-mismatch"), "application/x-www-form-urlencoded")
    shown = calls.wait_for("chat.postMessage")[0]
    assert shown["thread_ts"] == "1700000000.000100" and "Diagnose (read-only)" in json.dumps(shown)


def test_the_same_error_again_within_30_minutes_points_at_the_first_thread(bot) -> None:
    url, calls, _ = bot
    post(url, message_event(PASTE, event_id="Ev8", ts="1700000000.000300"), "application/json")
    calls.wait_for("chat.postMessage")
    post(url, message_event(PASTE, event_id="Ev9", ts="1700000000.000400"), "application/json")
    second = calls.wait_for("chat.postMessage", 2)[1]
    assert second["thread_ts"] == "1700000000.000400"
    assert "Same error as <https://example.slack.com/archives/C1/p1|this thread>" in json.dumps(second)
    assert "actions" not in json.dumps(second)  # one line, not a second full answer


def test_a_mention_always_answers_and_can_run_probes(bot) -> None:
    url, calls, _ = bot
    mention = {
        "type": "event_callback",
        "team_id": "T1",
        "api_app_id": "A1",
        "event_id": "Ev10",
        "event": {"type": "app_mention", "channel": "C1", "user": "U1", "text": f"<@{BOT_USER}> lunch?", "ts": "5.1"},
    }
    post(url, json.dumps(mention).encode(), "application/json")
    answered = calls.wait_for("chat.postMessage")[0]
    assert "No confident match" in json.dumps(answered) or "does not look like" in json.dumps(answered)
    mention["event_id"] = "Ev11"
    mention["event"] = {**mention["event"], "text": f"<@{BOT_USER}> probe ipam", "ts": "5.2"}  # type: ignore[dict-item]
    post(url, json.dumps(mention).encode(), "application/json")
    probed = calls.wait_for("chat.postMessage", 2, seconds=60)[1]
    assert "ipam.usage" in json.dumps(probed) and probed["thread_ts"] == "5.2"
    mention["event_id"] = "Ev12"
    mention["event"] = {**mention["event"], "text": f"<@{BOT_USER}> probe ipam.usag", "ts": "5.3"}  # type: ignore[dict-item]
    post(url, json.dumps(mention).encode(), "application/json")
    mistyped = calls.wait_for("chat.postMessage", 3, seconds=60)[2]
    assert "no probe 'ipam.usag' (did you mean ipam.usage?)" in json.dumps(mistyped), mistyped


def test_the_cni_command_acknowledges_then_answers_through_the_response_url(bot) -> None:
    url, calls, _ = bot
    response_url = f"{calls.base}respond"
    for text in ("no IPs available in block", "probe ipam"):
        form = {
            "command": "/cni",
            "text": text,
            "channel_id": "C1",
            "user_id": "U1",
            "team_id": "T1",
            "response_url": response_url,
            "trigger_id": "t",
            "token": "x",
            "api_app_id": "A1",
        }
        started = time.monotonic()
        assert post(url, urlencode(form).encode(), "application/x-www-form-urlencoded") == 200
        assert time.monotonic() - started < 3  # acknowledged within Slack's 3 seconds
    answers = [json.dumps(a) for a in calls.wait_for("respond", 3, seconds=60)]
    assert len(answers) == 3  # the answer, the in-progress note, the probe results (in any order)
    assert any("ipam-exhausted" in a and "First steps" in a for a in answers)
    assert any("Running read-only probes" in a for a in answers)
    assert any("ipam.usage" in a for a in answers)
