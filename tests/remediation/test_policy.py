"""The approval state machine: examples of each rule, and a property test that no sequence of clicks,
expiries, plan changes and restarts runs a plan without the required distinct approvals, or twice."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.remediation.plan import ApiRequest, Plan
from bot.remediation.policy import Policy, Proposal, approve, finish, propose, reject, start_execution

POLICY = Policy(approvers=frozenset({"alice", "bob", "carol"}))
PLAN = Plan(
    "restart-cni",
    "prod",
    "medium",
    (ApiRequest("PATCH", "/apis/apps/v1/namespaces/kube-system/daemonsets/calico-node", {"spec": {}}, "123"),),
)


def proposed(risk: str = "medium", requester: str = "alice") -> Proposal:
    return propose(POLICY, proposal_id="p1", plan_digest=PLAN.digest, requester=requester, risk=risk, now=0.0)  # type: ignore[arg-type]


def test_the_plan_hash_changes_with_any_detail() -> None:
    other = replace(PLAN, requests=(replace(PLAN.requests[0], resource_version="124"),))
    assert PLAN.digest != other.digest and PLAN.digest == replace(PLAN).digest


def test_the_rules() -> None:
    p = proposed()
    assert not approve(POLICY, p, user="alice", now=1).changed  # the requester
    assert not approve(POLICY, p, user="mallory", now=1).changed  # not an approver
    ok = approve(POLICY, p, user="bob", now=1)
    assert ok.proposal.state == "approved"
    assert start_execution(POLICY, ok.proposal, plan_digest="other", now=2).proposal.state == "approved"
    running = start_execution(POLICY, ok.proposal, plan_digest=PLAN.digest, now=2)
    assert running.proposal.state == "executing"
    assert not start_execution(POLICY, running.proposal, plan_digest=PLAN.digest, now=3).changed  # once
    high = proposed("high")
    one = approve(POLICY, high, user="bob", now=1).proposal
    assert one.state == "proposed" and not approve(POLICY, one, user="bob", now=2).changed  # not the same twice
    assert approve(POLICY, one, user="carol", now=2).proposal.state == "approved"
    late = approve(POLICY, proposed(), user="bob", now=POLICY.ttl_seconds + 1)
    assert late.proposal.state == "expired"
    assert reject(POLICY, proposed(), user="bob", now=1).proposal.state == "rejected"
    off = Policy(approvers=frozenset())
    assert "Remediation is off" in approve(off, proposed(), user="bob", now=1).message


USERS = st.sampled_from(["alice", "bob", "carol", "mallory"])
EVENTS = st.lists(
    st.one_of(
        st.tuples(st.just("approve"), USERS, st.floats(0, 2000)),
        st.tuples(st.just("reject"), USERS, st.floats(0, 2000)),
        st.tuples(st.just("execute"), st.sampled_from(["same", "other"]), st.floats(0, 2000)),
        st.tuples(st.just("restart"), st.just(""), st.floats(0, 2000)),
        st.tuples(st.just("finish"), st.booleans(), st.floats(0, 2000)),
    ),
    max_size=30,
)


@settings(max_examples=400, deadline=None)
@given(risk=st.sampled_from(["low", "medium", "high"]), requester=USERS, events=EVENTS)
def test_no_sequence_runs_a_plan_without_distinct_approvals_or_twice(risk: str, requester: str, events: list) -> None:
    p = propose(POLICY, proposal_id="p", plan_digest=PLAN.digest, requester=requester, risk=risk, now=0.0)  # type: ignore[arg-type]
    stored = p  # what the store holds; a restart reloads it
    executions = 0
    clock = 0.0
    for kind, arg, at in events:
        clock = max(clock, at)  # time only moves forward
        if kind == "approve":
            p = approve(POLICY, p, user=arg, now=clock).proposal
        elif kind == "reject":
            p = reject(POLICY, p, user=arg, now=clock).proposal
        elif kind == "execute":
            digest = PLAN.digest if arg == "same" else "0" * 64
            outcome = start_execution(POLICY, p, plan_digest=digest, now=clock)
            if outcome.changed and outcome.proposal.state == "executing":
                executions += 1
                assert digest == PLAN.digest
                assert clock < p.expires_at
                approvers = outcome.proposal.approvals
                assert requester not in approvers and approvers <= POLICY.approvers
                assert len(approvers) >= POLICY.needed(risk)  # type: ignore[arg-type]
            p = outcome.proposal
        elif kind == "restart":
            p = stored  # the process restarts and reloads the stored proposal
        elif kind == "finish":
            p = finish(p, ok=bool(arg))
        stored = p  # the store records every transition in one transaction
    assert executions <= 1
