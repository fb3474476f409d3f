"""The approval policy as a state machine over frozen values: who may approve, how many distinct
approvers a risk needs, expiry, and execution at most once. Every transition returns the new state and
the sentence to show; nothing here can be bypassed by calling it in another order."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Literal

from bot.remediation.plan import Risk

State = Literal["proposed", "approved", "rejected", "expired", "executing", "done", "failed"]
FINAL: frozenset[str] = frozenset({"rejected", "expired", "done", "failed"})


@dataclass(frozen=True)
class Policy:
    approvers: frozenset[str]
    """User ids allowed to approve (CNIBOT_APPROVERS); empty means remediation is off."""
    allow_self_approval: bool = False
    ttl_seconds: float = 15 * 60
    approvals_needed: tuple[tuple[str, int], ...] = (("low", 1), ("medium", 1), ("high", 2))

    def needed(self, risk: Risk) -> int:
        return dict(self.approvals_needed)[risk]


@dataclass(frozen=True)
class Proposal:
    id: str
    plan_digest: str
    requester: str
    risk: Risk
    created_at: float
    expires_at: float
    state: State = "proposed"
    approvals: frozenset[str] = field(default_factory=frozenset)
    note: str = ""


@dataclass(frozen=True)
class Outcome:
    proposal: Proposal
    message: str
    changed: bool


def propose(policy: Policy, *, proposal_id: str, plan_digest: str, requester: str, risk: Risk, now: float) -> Proposal:
    return Proposal(proposal_id, plan_digest, requester, risk, now, now + policy.ttl_seconds)


def _expire(p: Proposal, now: float) -> Proposal:
    if p.state in ("proposed", "approved") and now >= p.expires_at:
        return replace(p, state="expired", note="expired before it ran")
    return p


def approve(policy: Policy, p: Proposal, *, user: str, now: float) -> Outcome:
    p = _expire(p, now)
    if not policy.approvers:
        return Outcome(p, "Remediation is off: no approvers are configured (CNIBOT_APPROVERS).", False)
    if p.state in FINAL or p.state == "executing":
        return Outcome(p, f"This proposal is {p.state}; nothing to approve.", p.state == "expired")
    if user not in policy.approvers:
        return Outcome(p, "Only configured approvers may approve (CNIBOT_APPROVERS); nothing changed.", False)
    if user == p.requester and not policy.allow_self_approval:
        return Outcome(p, "The requester cannot approve their own proposal; ask another approver.", False)
    if user in p.approvals:
        return Outcome(p, "You approved this already; it needs a different approver.", False)
    approvals = p.approvals | {user}
    needed = policy.needed(p.risk)
    state: State = "approved" if len(approvals) >= needed else "proposed"
    message = (
        "Approved: ready to run."
        if state == "approved"
        else f"Approval {len(approvals)} of {needed} recorded; {p.risk} risk needs {needed} distinct approvers."
    )
    return Outcome(replace(p, approvals=approvals, state=state), message, True)


def reject(policy: Policy, p: Proposal, *, user: str, now: float) -> Outcome:
    p = _expire(p, now)
    if p.state in FINAL or p.state == "executing":
        return Outcome(p, f"This proposal is {p.state}; nothing to reject.", p.state == "expired")
    if user not in policy.approvers and user != p.requester:
        return Outcome(p, "Only an approver or the requester may reject; nothing changed.", False)
    return Outcome(replace(p, state="rejected", note=f"rejected by {user}"), "Rejected; nothing will run.", True)


def start_execution(policy: Policy, p: Proposal, *, plan_digest: str, now: float) -> Outcome:
    """The gate in front of the executor: an approved, unexpired proposal whose stored plan is exactly the
    plan about to run moves to `executing`, once; everything else is refused."""
    p = _expire(p, now)
    if p.state != "approved":
        return Outcome(p, f"Refused: the proposal is {p.state}, not approved.", p.state == "expired")
    if len(p.approvals) < policy.needed(p.risk) or (p.requester in p.approvals and not policy.allow_self_approval):
        return Outcome(p, "Refused: the approvals do not meet the policy.", False)
    if plan_digest != p.plan_digest:
        return Outcome(p, "Refused: the plan differs from the one approved; make a fresh plan.", False)
    return Outcome(replace(p, state="executing"), "Running.", True)


def finish(p: Proposal, *, ok: bool, note: str = "") -> Proposal:
    if p.state != "executing":
        return p
    return replace(p, state="done" if ok else "failed", note=note)
