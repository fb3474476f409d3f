"""Remediation through Slack: real slack-bolt behind signed HTTP requests, the Web API stand-in, the
simulated apiserver with its request log, and a real SQLite file."""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from bot.config import ClusterSettings, RemediationSettings, Settings, SlackSettings, StoreSettings
from bot.sim.kubeconfig import REMEDIATOR_CONTEXT
from bot.sim.scenarios import build_scenario
from bot.sim.server import SimCluster
from bot.slack.server import HttpServer
from bot.wiring import App
from tests.slack.test_bot import SECRET, post
from tests.standins.slack import Calls, slack_standin

FORM = "application/x-www-form-urlencoded"


@pytest.fixture
def bot(tmp_path: Path, knowledge_settings) -> Iterator[tuple[str, Calls, App, SimCluster]]:
    sim = SimCluster(build_scenario("ipam-exhausted"), writer_token="remediator-token").start()
    kubeconfig = sim.write_kubeconfig(tmp_path / "kubeconfig")
    with slack_standin() as (api_url, calls):
        settings = Settings(
            knowledge=knowledge_settings,
            slack=SlackSettings(bot_token="xoxb-test", signing_secret=SECRET, api_url=api_url),
            cluster=ClusterSettings(kubeconfig=str(kubeconfig), home=tmp_path),
            store=StoreSettings(path=tmp_path / "cnibot.db"),
            remediation=RemediationSettings(approvers=("U2", "U3", "U4"), context=REMEDIATOR_CONTEXT),
        )
        app = App(settings)
        server = HttpServer(app.slack_bot().app, port=0, ready=lambda: True, host="127.0.0.1").start()
        try:
            yield f"http://127.0.0.1:{server.port}", calls, app, sim
        finally:
            server.stop()
            app.close()
            sim.stop()


def command(calls: Calls, text: str, user: str = "U1") -> bytes:
    form = {
        "command": "/cni",
        "text": text,
        "channel_id": "C1",
        "user_id": user,
        "team_id": "T1",
        "response_url": f"{calls.base}respond",
        "trigger_id": "t",
        "token": "x",
        "api_app_id": "A1",
    }
    return urlencode(form).encode()


def click(action_id: str, value: str, user: str, message_ts: str) -> bytes:
    payload = {
        "type": "block_actions",
        "user": {"id": user},
        "team": {"id": "T1"},
        "channel": {"id": "C1"},
        "message": {"ts": message_ts},
        "container": {"type": "message", "channel_id": "C1", "message_ts": message_ts},
        "actions": [{"action_id": action_id, "value": value, "type": "button"}],
        "trigger_id": "t",
        "api_app_id": "A1",
        "token": "x",
    }
    return urlencode({"payload": json.dumps(payload)}).encode()


def blocks_of(call: dict[str, Any]) -> list[dict[str, Any]]:
    blocks = call["blocks"]
    return json.loads(blocks) if isinstance(blocks, str) else blocks


def propose(url: str, calls: Calls, text: str, user: str = "U1") -> tuple[str, str, list[dict[str, Any]]]:
    assert post(url, command(calls, text, user), FORM) == 200
    posted = calls.wait_for("chat.postMessage", seconds=60)
    assert posted, calls.calls
    blocks = blocks_of(posted[-1])
    buttons = {e["action_id"]: e["value"] for b in blocks if b["type"] == "actions" for e in b["elements"]}
    assert set(buttons) == {"cnibot_approve", "cnibot_reject"}
    assert buttons["cnibot_approve"] == buttons["cnibot_reject"]
    return buttons["cnibot_approve"], "1700000001.000100", blocks


def real_writes(sim: SimCluster) -> list[Any]:
    return [r for r in sim.requests if r.method not in ("GET", "HEAD") and not r.dry_run]


def test_fix_posts_the_exact_plan_with_dry_run_and_buttons(bot) -> None:
    url, calls, app, sim = bot
    pid, _, blocks = propose(url, calls, "fix restart-cni")
    text = json.dumps(blocks)
    assert "PATCH /apis/apps/v1/namespaces/kube-system/daemonsets/calico-node" in text
    assert "accepted" in text and "restartedAt" in text  # the dry run and the diff
    assert "requested by <@U1>" in text and "expires" in text and "Risk medium" in text
    assert not real_writes(sim) and any(r.dry_run for r in sim.requests)
    deadline = time.monotonic() + 10
    while not (stored := app.store.proposal(pid)) or not stored.message_ts:  # recorded once Slack answered
        assert time.monotonic() < deadline
        time.sleep(0.05)


def test_requester_and_non_approver_get_an_ephemeral_refusal_and_nothing_changes(bot) -> None:
    url, calls, _app, sim = bot
    pid, ts, _ = propose(url, calls, "fix restart-cni", user="U2")  # an approver asks
    post(url, click("cnibot_approve", pid, "U2", ts), FORM)  # and may not approve their own
    post(url, click("cnibot_approve", pid, "U9", ts), FORM)  # not an approver
    refusals = calls.wait_for("chat.postEphemeral", 2)
    assert len(refusals) == 2
    said = " ".join(r["text"] for r in refusals)
    assert "requester cannot approve" in said and "Only configured approvers" in said
    assert calls.of("chat.update") == [] and not real_writes(sim)


def test_approval_runs_once_and_updates_the_message_to_done_with_verification(bot) -> None:
    url, calls, _app, sim = bot
    pid, ts, _ = propose(url, calls, "fix restart-cni")
    assert post(url, click("cnibot_approve", pid, "U2", ts), FORM) == 200
    updates = calls.wait_for("chat.update", 2, seconds=60)
    final = json.dumps(blocks_of(updates[-1]))
    assert "DONE" in final and "Verification" in final and "cnibot_approve" not in final
    assert "RUNNING" not in final and "EXECUTING" in json.dumps(blocks_of(updates[0]))
    # a Slack retry of the same click, and a double click by another approver: nothing runs again
    post(url, click("cnibot_approve", pid, "U2", ts), FORM)
    post(url, click("cnibot_approve", pid, "U3", ts), FORM)
    calls.wait_for("chat.postEphemeral", 2)
    assert len(real_writes(sim)) == 1


def test_two_simultaneous_approvals_run_the_plan_once(bot) -> None:
    url, calls, app, sim = bot
    pid, ts, _ = propose(url, calls, "fix restart-cni")
    threads = [
        threading.Thread(target=post, args=(url, click("cnibot_approve", pid, user, ts), FORM)) for user in ("U2", "U3")
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        stored = app.store.proposal(pid)
        if stored and stored.proposal.state in ("done", "failed"):
            break
        time.sleep(0.1)
    time.sleep(1.0)
    assert len(real_writes(sim)) == 1
    assert app.store.proposal(pid).proposal.state == "done"  # type: ignore[union-attr]


def test_reject_closes_the_proposal_and_a_later_approval_runs_nothing(bot) -> None:
    url, calls, _app, sim = bot
    pid, ts, _ = propose(url, calls, "fix restart-cni")
    post(url, click("cnibot_reject", pid, "U3", ts), FORM)
    update = calls.wait_for("chat.update")[0]
    assert "REJECTED" in json.dumps(blocks_of(update))
    post(url, click("cnibot_approve", pid, "U2", ts), FORM)
    refusal = calls.wait_for("chat.postEphemeral")[0]
    assert "rejected" in refusal["text"] and not real_writes(sim)


def test_a_bad_fix_request_is_one_ephemeral_line(bot) -> None:
    url, calls, _, sim = bot
    post(url, command(calls, "fix nosuch-action"), FORM)
    post(url, command(calls, "fix delete-stuck-pods"), FORM)
    said = [json.dumps(r) for r in calls.wait_for("respond", 4, seconds=30)]
    assert any("no action 'nosuch-action'" in s for s in said)
    assert any("needs node=NAME" in s for s in said)
    assert calls.of("chat.postMessage") == [] and not real_writes(sim)


def test_probe_results_offer_fix_buttons_that_propose(bot) -> None:
    url, calls, _app, _sim = bot
    payload = click("cnibot_run_probes", "ipam-exhausted", "U1", "1700000000.000200")
    post(url, payload, FORM)
    posted = calls.wait_for("chat.postMessage", 2, seconds=60)
    buttons = [
        e["value"]
        for b in blocks_of(posted[1])
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == "cnibot_propose"
    ]
    assert "release-leaked-ips" in buttons and "delete-stuck-pods" not in buttons  # it needs node=
    post(url, click("cnibot_propose", "release-leaked-ips", "U1", "1700000000.000200"), FORM)
    proposal = calls.wait_for("chat.postMessage", 3, seconds=60)[2]
    assert "release-leaked-ips" in json.dumps(blocks_of(proposal)) and "Risk high" in json.dumps(blocks_of(proposal))
    assert calls.wait_for("upload")  # 784 requests: the whole plan goes along as a file


def test_a_stale_plan_is_refused_with_a_plan_again_button_and_a_slack_retry_runs_nothing(bot) -> None:
    url, calls, _app, sim = bot
    pid, ts, _ = propose(url, calls, "fix restart-cni")
    from tests.remediation.test_flow import DS

    request = urllib.request.Request(
        sim.url + DS,
        data=b'{"metadata": {"labels": {"touched": "yes"}}}',
        method="PATCH",
        headers={"Authorization": "Bearer remediator-token", "Content-Type": "application/merge-patch+json"},
    )
    urllib.request.urlopen(request, timeout=5).close()
    post(url, click("cnibot_approve", pid, "U2", ts), FORM)
    post(url, click("cnibot_approve", pid, "U2", ts), FORM, retry=1)  # Slack redelivers the click
    updates = calls.wait_for("chat.update", 2, seconds=60)
    assert calls.wait_for("chat.postEphemeral")  # the retry is told, the message is not touched
    time.sleep(0.5)
    assert len(calls.of("chat.update")) == 2
    final = blocks_of(updates[-1])
    assert "FAILED" in json.dumps(final) and "fresh plan" in json.dumps(final)
    again = [e for b in final if b["type"] == "actions" for e in b["elements"] if e["action_id"] == "cnibot_propose"]
    assert again and again[0]["value"] == "restart-cni"
    assert not real_writes(sim)[1:]  # only the racing label change above
    post(url, click("cnibot_propose", again[0]["value"], "U1", ts), FORM)
    posted = calls.wait_for("chat.postMessage", 2, seconds=60)
    assert "cnibot_approve" in json.dumps(blocks_of(posted[-1]))


def test_a_mention_can_propose_in_the_thread(bot) -> None:
    url, calls, _app, _sim = bot
    event = {
        "type": "app_mention",
        "channel": "C1",
        "user": "U1",
        "text": "<@UCNIBOT> fix delete-stuck-pods node=node-1",
        "ts": "1700000005.000100",
    }
    body = {"type": "event_callback", "team_id": "T1", "api_app_id": "A1", "event_id": "EvM1", "event": event}
    post(url, json.dumps(body).encode(), "application/json")
    posted = calls.wait_for("chat.postMessage", seconds=60)[0]
    assert posted["thread_ts"] == "1700000005.000100"
    text = json.dumps(blocks_of(posted))
    assert "delete-stuck-pods" in text and text.count("DELETE /api/v1/namespaces/shop/pods/") == 5


def test_the_ipam_report_release_button_proposes_the_release_for_approval(bot) -> None:
    url, calls, app, _sim = bot
    reports = app.reports()
    view = reports.take(reports.target(), record=False)
    app.report_poster().post_report("C1", view, None)
    report = calls.wait_for("chat.postMessage")[0]
    buttons = {e["action_id"]: e["value"] for b in blocks_of(report) if b["type"] == "actions" for e in b["elements"]}
    assert buttons["cnibot_propose"] == "release-leaked-ips"
    post(url, click("cnibot_propose", buttons["cnibot_propose"], "U1", "1700000000.000300"), FORM)
    proposal = calls.wait_for("chat.postMessage", 2, seconds=60)[1]
    text = json.dumps(blocks_of(proposal))
    assert "release-leaked-ips" in text and "Risk high" in text
    assert proposal.get("thread_ts") == "1700000000.000300"  # in the report's thread
    assert {e["action_id"] for b in blocks_of(proposal) if b["type"] == "actions" for e in b["elements"]} == {
        "cnibot_approve",
        "cnibot_reject",
    }
