"""The approval state machine as the bot runs it: every transition through the real SQLite store (one
transaction each), with restarts that reopen the file, Slack retries that repeat a click, and a clock.
No sequence executes a plan without the distinct approvals the risk needs, after expiry, or twice."""

from __future__ import annotations

import tempfile
from functools import partial
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.remediation.plan import ApiRequest, Plan
from bot.remediation.policy import Outcome, Policy, Proposal, approve, finish, propose, reject, start_execution
from bot.store.db import Store

POLICY = Policy(approvers=frozenset({"alice", "bob", "carol"}), ttl_seconds=900)
PLAN = Plan("restart-cni", "sim", "medium", (ApiRequest("PATCH", "/apis/apps/v1/x", {"a": 1}, "7"),))
USERS = st.sampled_from(["alice", "bob", "carol", "mallory"])
EVENT = st.one_of(
    st.tuples(st.just("approve"), USERS),
    st.tuples(st.just("retry"), st.just("")),  # Slack delivers the last click again
    st.tuples(st.just("reject"), USERS),
    st.tuples(st.just("execute"), st.sampled_from(["same", "other"])),
    st.tuples(st.just("restart"), st.just("")),
    st.tuples(st.just("wait"), st.sampled_from([1.0, 60.0, 600.0])),
    st.tuples(st.just("finish"), st.booleans()),
)


def _finished(p: Proposal, *, ok: bool) -> Outcome:
    return Outcome(finish(p, ok=ok), "finished", True)


@settings(max_examples=150, deadline=None)
@given(risk=st.sampled_from(["low", "medium", "high"]), requester=USERS, events=st.lists(EVENT, max_size=25))
def test_the_stored_state_machine_never_runs_without_approvals_or_twice(risk, requester, events) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "cnibot.db"
        store = Store(path)
        clock = 0.0
        plan = Plan(PLAN.action, PLAN.cluster, risk, PLAN.requests)
        p = propose(POLICY, proposal_id="p-1", plan_digest=plan.digest, requester=requester, risk=risk, now=clock)
        store.create_proposal(p, plan=plan.to_json(), action=plan.action, cluster="sim", channel="C", thread_ts="")
        executions = 0
        last_click = ("approve", requester)
        for kind, arg in events:
            if kind == "restart":
                store = Store(path)  # a new process: only what the store kept survives
                continue
            if kind == "wait":
                clock += float(arg)
                continue
            if kind == "retry":
                kind, arg = last_click
            if kind == "approve":
                last_click = (kind, str(arg))
                user = str(arg)
                store.transition("p-1", partial(approve, POLICY, user=user, now=clock), kind=kind, user=user)
            elif kind == "reject":
                user = str(arg)
                store.transition("p-1", partial(reject, POLICY, user=user, now=clock), kind=kind, user=user)
            elif kind == "execute":
                digest = plan.digest if arg == "same" else "0" * 64
                gate = partial(start_execution, POLICY, plan_digest=digest, now=clock)
                out = store.transition("p-1", gate, kind=kind, user="")
                assert out is not None
                if out.changed and out.proposal.state == "executing":
                    executions += 1
                    assert digest == plan.digest and clock < out.proposal.expires_at
                    approvals = out.proposal.approvals
                    assert requester not in approvals and approvals <= POLICY.approvers
                    assert len(approvals) >= POLICY.needed(risk)
            elif kind == "finish":
                store.transition("p-1", partial(_finished, ok=bool(arg)), kind="finish", user="")
        assert executions <= 1
        stored = Store(path).proposal("p-1")
        assert stored is not None and stored.proposal.plan_digest == plan.digest
