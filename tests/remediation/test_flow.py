"""The remediation flow through the real kubernetes client against the simulated apiserver, with its log
of every request: plans, dry runs, the policy, single execution, stale plans, failures, and audit."""

from __future__ import annotations

import json
import sqlite3
import urllib.error
import urllib.request
from typing import Any

import pytest

from bot.domain.errors import CnibotError, UsageError
from bot.services.executor import Executor
from bot.store.db import Store
from tests.remediation.conftest import Rig

DS = "/apis/apps/v1/namespaces/kube-system/daemonsets/calico-node"


def racing_write(rig: Rig, path: str, patch: dict[str, Any]) -> None:
    """Someone else changes an object (with the remediator's token): its resourceVersion moves on."""
    request = urllib.request.Request(
        rig.sim.url + path,
        data=json.dumps(patch).encode(),
        method="PATCH",
        headers={"Authorization": "Bearer remediator-token", "Content-Type": "application/merge-patch+json"},
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        assert response.status == 200


def restarted_at(rig: Rig) -> str | None:
    ds = rig.app.probing.cluster().reader.shared(seconds=5).get(DS)  # type: ignore[attr-defined]
    annotations = ds["spec"]["template"]["metadata"].get("annotations") or {}
    return annotations.get("kubectl.kubernetes.io/restartedAt")


def assert_safe_request_log(rig: Rig) -> None:
    """The read-only identity never wrote; every real write came right after its own dry run."""
    for r in rig.sim.requests:
        if not r.writer:
            assert r.method in ("GET", "HEAD"), r
    writes = rig.writes()
    for n, r in enumerate(writes):
        if not r.dry_run and r.status < 400:
            assert n > 0, r
            previous = writes[n - 1]
            assert previous.dry_run and (previous.method, previous.path) == (r.method, r.path), (previous, r)


def test_plan_is_exact_and_dry_run_changes_nothing(rig) -> None:
    r = rig()
    view = r.app.remediation.plan("restart-cni", {})
    assert view.dry_run_ok and len(view.plan.requests) == 1
    request = view.plan.requests[0]
    assert (request.method, request.path) == ("PATCH", DS) and request.resource_version
    assert "kubectl.kubernetes.io/restartedAt" in view.steps[0].diff and view.steps[0].diff.startswith("---")
    assert view.runbook == "calico-node-not-ready" and view.risks
    assert restarted_at(r) is None  # dry run only
    assert [w.dry_run for w in r.writes()] == [True]
    assert_safe_request_log(r)


def test_requester_and_non_approvers_are_refused_and_one_approval_runs_medium_risk(rig) -> None:
    r = rig()
    remediation = r.app.remediation
    proposed = remediation.propose("restart-cni", {}, requester="alice")
    pid = proposed.proposal.id
    own, _ = remediation.approve(pid, user="alice")
    assert not own.changed and "requester cannot approve" in own.message
    stranger, _ = remediation.approve(pid, user="mallory")
    assert not stranger.changed and "Only configured approvers" in stranger.message
    assert restarted_at(r) is None
    outcome, view = remediation.approve(pid, user="bob")
    assert outcome.changed and view.proposal.state == "done", view.message
    assert restarted_at(r) is not None
    assert view.verification is not None and {p.probe for p in view.verification.results}
    again, _ = remediation.approve(pid, user="carol")  # a late click on a finished proposal
    assert not again.changed
    real = [w for w in r.writes() if not w.dry_run]
    assert len(real) == 1 and real[0].status == 200
    assert_safe_request_log(r)
    kinds = [e["kind"] for e in r.app.store.remediation_events(pid)]
    assert kinds[:3] == ["proposed", "approved refused", "approved refused"]
    assert {"approved", "executing", "done", "request", "verification"} <= set(kinds)


def test_high_risk_needs_two_distinct_approvers(rig) -> None:
    r = rig("mtu-mismatch")
    remediation = r.app.remediation
    pid = remediation.propose("set-mtu", {}, requester="alice").proposal.id
    first, view = remediation.approve(pid, user="bob")
    assert first.changed and view.proposal.state == "proposed" and "1 of 2" in first.message
    twice, _ = remediation.approve(pid, user="bob")
    assert not twice.changed
    assert not [w for w in r.writes() if not w.dry_run]
    _second, view = remediation.approve(pid, user="carol")
    assert view.proposal.state == "done", view.message
    assert len([w for w in r.writes() if not w.dry_run]) == len(view.plan.plan.requests)
    assert_safe_request_log(r)


def test_an_expired_proposal_runs_nothing(rig) -> None:
    r = rig()
    remediation = r.app.remediation
    pid = remediation.propose("restart-cni", {}, requester="alice").proposal.id
    start = remediation.clock()
    remediation.clock = lambda: start + 15 * 60 + 1
    outcome, view = remediation.approve(pid, user="bob")
    assert view.proposal.state == "expired" and "expired" in outcome.message
    assert not [w for w in r.writes() if not w.dry_run]
    stored = r.app.store.proposal(pid)
    assert stored is not None and stored.proposal.state == "expired"
    assert [e["kind"] for e in r.app.store.remediation_events(pid)] == ["proposed", "expired"]


def test_a_changed_object_between_plan_and_execution_is_refused(rig) -> None:
    r = rig()
    remediation = r.app.remediation
    pid = remediation.propose("restart-cni", {}, requester="alice").proposal.id
    racing_write(r, DS, {"metadata": {"labels": {"touched": "yes"}}})
    _outcome, view = remediation.approve(pid, user="bob")
    assert view.proposal.state == "failed" and view.execution is not None and view.execution.stale
    assert "changed" in view.message and "fresh plan" in view.message
    assert restarted_at(r) is None
    assert not [w for w in r.writes() if not w.dry_run and w.writer and w.path == DS and "restartedAt" in w.query]


def test_a_409_during_execution_is_reported_and_stored_as_failed(rig) -> None:
    r = rig()
    remediation = r.app.remediation
    pid = remediation.propose("delete-stuck-pods", {"node": "node-1"}, requester="alice").proposal.id
    real_executor = remediation._executor()
    writer = real_executor._w()

    class RacingWriter:
        """Someone changes the second pod after the executor's re-check, before its delete."""

        def __init__(self) -> None:
            self.deletes = 0

        def get_optional(self, path: str) -> Any:
            return writer.get_optional(path)

        def send(self, request: Any, *, dry_run: bool) -> Any:
            if not dry_run and request.method == "DELETE":
                self.deletes += 1
                if self.deletes == 2:
                    racing_write(r, request.path, {"metadata": {"labels": {"touched": "yes"}}})
            return writer.send(request, dry_run=dry_run)

    remediation._executor = lambda: Executor(lambda: RacingWriter())
    _outcome, view = remediation.approve(pid, user="bob")
    assert view.proposal.state == "failed"
    assert "409 Conflict" in view.message and "1 of 8 request(s) applied" in view.message
    stored = Store(r.app.settings.store.path).proposal(pid)
    assert stored is not None and stored.proposal.state == "failed"
    assert any(w.status == 409 for w in r.writes())


def test_an_apiserver_that_refuses_during_execution_is_stored_as_failed(rig) -> None:
    r = rig()
    remediation = r.app.remediation
    pid = remediation.propose("restart-cni", {}, requester="alice").proposal.id
    r.sim.api.forbidden = frozenset({("patch", "daemonsets")})
    _outcome, view = remediation.approve(pid, user="bob")
    assert view.proposal.state == "failed" and "403 Forbidden" in view.message
    assert "cnibot-remediator" in view.message  # names the role that grants it
    assert restarted_at(r) is None


def test_a_double_approve_from_two_replicas_runs_once(rig) -> None:
    """Two processes (here: two Apps on one database) get the same click: the store lets one run."""
    r = rig()
    pid = r.app.remediation.propose("restart-cni", {}, requester="alice").proposal.id
    replica = type(r.app)(r.app.settings)
    try:
        _first, one = r.app.remediation.approve(pid, user="bob")
        second, _two = replica.remediation.approve(pid, user="bob")
    finally:
        replica.close()
    assert one.proposal.state == "done" and not second.changed
    assert len([w for w in r.writes() if not w.dry_run]) == 1


def test_release_leaked_ips_rechecks_that_the_pods_are_still_gone(rig) -> None:
    r = rig()
    remediation = r.app.remediation
    view = remediation.propose("release-leaked-ips", {}, requester="alice")
    assert view.plan.plan.absent_pods and view.plan.dry_run_ok
    before = r.app.probing.run(["ipam.usage"]).results[0].data["leaked_total"]
    assert before == len(view.plan.plan.absent_pods)
    remediation.approve(view.proposal.id, user="bob")
    _outcome, done = remediation.approve(view.proposal.id, user="carol")
    assert done.proposal.state == "done", done.message
    after = r.app.probing.run(["ipam.usage"]).results[0].data
    assert after["leaked_total"] == 0
    assert_safe_request_log(r)


def test_bad_requests_are_one_line(rig) -> None:
    r = rig()
    remediation = r.app.remediation
    for action, params, says in [
        ("nosuch", {}, "no action 'nosuch'"),
        ("delete-stuck-pods", {}, "needs node=NAME"),
        ("delete-stuck-pods", {"node": "ghost"}, "no node 'ghost'"),
        ("restart-cni", {"force": "yes"}, "does not take force"),
        ("add-ippool", {"cidr": "10.244.0.0/16"}, "overlaps"),
        ("add-ippool", {"cidr": "8.8.8.0/24"}, "not a private range"),
        ("add-ippool", {"cidr": "banana"}, "not a network address"),
    ]:
        with pytest.raises(UsageError) as caught:
            remediation.plan(action, params)
        assert says in str(caught.value) and "\n" not in str(caught.value)
    with pytest.raises(UsageError, match="no proposal"):
        remediation.approve("p-nothere", user="bob")


def test_remediation_is_off_without_approvers_or_write_credentials(rig) -> None:
    r = rig(approvers=())
    with pytest.raises(UsageError, match="no approvers are configured"):
        r.app.remediation.propose("restart-cni", {}, requester="alice")
    r2 = rig(context="")
    with pytest.raises(UsageError, match="no write credentials"):
        r2.app.remediation.propose("restart-cni", {}, requester="alice")
    with pytest.raises(CnibotError, match="CNIBOT_REMEDIATION_CONTEXT"):
        r2.app.remediation.plan("restart-cni", {})  # the dry run needs the writer's credentials too


def test_the_reader_identity_cannot_write(rig) -> None:
    r = rig()
    request = urllib.request.Request(
        r.sim.url + DS,
        data=b'{"metadata": {"labels": {"x": "y"}}}',
        method="PATCH",
        headers={"Authorization": f"Bearer {r.sim.token}", "Content-Type": "application/merge-patch+json"},
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=5)
    assert refused.value.code == 403


def test_proposals_survive_a_restart_and_the_audit_has_every_step(rig) -> None:
    r = rig()
    pid = r.app.remediation.propose("restart-cni", {}, requester="alice").proposal.id
    r.app.close()
    restarted = type(r.app)(r.app.settings)
    try:
        _outcome, view = restarted.remediation.approve(pid, user="bob")
        assert view.proposal.state == "done"
        kinds = [row.kind for row in restarted.store.audit()]
    finally:
        restarted.close()
    assert "remediation proposed" in kinds and "remediation done" in kinds and "remediation verification" in kinds
    with sqlite3.connect(r.app.settings.store.path) as db:
        (digest,) = db.execute("select digest from proposals where id = ?", [pid]).fetchone()
    assert digest == view.plan.plan.digest


def test_in_the_cluster_the_bot_writes_by_impersonating_the_remediator(rig) -> None:
    """CNIBOT_REMEDIATION_IMPERSONATE: the bot's own (read-only) credentials plus Impersonate-User."""
    remediator = "system:serviceaccount:cnibot:cnibot-remediator"
    r = rig(writer_user=remediator, context="", impersonate=remediator)
    pid = r.app.remediation.propose("restart-cni", {}, requester="alice").proposal.id
    _outcome, view = r.app.remediation.approve(pid, user="bob")
    assert view.proposal.state == "done", view.message
    assert restarted_at(r) is not None
    assert all(w.writer for w in r.writes())
    assert_safe_request_log(r)


def test_approvers_and_groups_come_from_the_settings_file(tmp_path) -> None:
    from bot.config import Settings, read_settings_file
    from bot.domain.errors import SettingsError

    path = tmp_path / "cnibot.yaml"
    path.write_text(
        "CNIBOT_APPROVERS: [U1, U2]\nCNIBOT_APPROVER_GROUPS:\n  netops: [U7, U8]\n  sre: [U9]\n"
        "CNIBOT_PROPOSAL_TTL: 600\n",
        encoding="utf-8",
    )
    settings = Settings.from_env(read_settings_file(path)).remediation
    assert settings.all_approvers == {"U1", "U2", "U7", "U8", "U9"} and settings.ttl_seconds == 600
    assert not settings.allow_self_approval
    with pytest.raises(SettingsError, match="CNIBOT_PROPOSAL_TTL"):
        Settings.from_env({"CNIBOT_PROPOSAL_TTL": "soon"})
    with pytest.raises(SettingsError, match="GROUP=U1 U2"):
        Settings.from_env({"CNIBOT_APPROVER_GROUPS": "netops"})


def test_self_approval_when_the_setting_allows_it(rig) -> None:
    r = rig(allow_self_approval=True)
    pid = r.app.remediation.propose("restart-cni", {}, requester="alice").proposal.id
    outcome, view = r.app.remediation.approve(pid, user="alice")
    assert outcome.changed and view.proposal.state == "done"


def test_a_silent_apiserver_fails_the_dry_run_once_not_once_per_request(rig) -> None:
    import time

    from bot.config import ClusterSettings

    r = rig()
    remediation = r.app.remediation
    view = remediation.plan("release-leaked-ips", {})  # 784 requests
    assert view.dry_run_ok
    executor = remediation._executor()
    executor._writer._settings = ClusterSettings(read_timeout=0.5, connect_timeout=0.5)  # type: ignore[union-attr]
    r.sim.delay_seconds = 2.0
    started = time.monotonic()
    steps = executor.dry_run(view.plan)
    assert time.monotonic() - started < 10
    assert "timed out" in steps[0].message and all("not tried" in s.message for s in steps[1:])
    assert len(steps) == len(view.plan.requests)
