"""Remediation as a service: plan an action (with its server-side dry run), propose it, approve or reject
it under the policy, and run it once. Front ends (CLI, console, Slack) render the views it returns.

The sequence that matters for safety: a proposal stores the plan and its hash; an approval is a policy
transition in the store's transaction; the transition to `executing` is another, so only one caller
(click, retry, replica) ever gets to hand the stored plan to the executor, and only an unexpired,
sufficiently approved proposal whose stored plan still hashes to the approved digest gets there."""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.domain.errors import CnibotError, UsageError
from bot.domain.probe import ProbeReport
from bot.domain.runbook import RiskNote, Runbook
from bot.probes.context import ProbeContext
from bot.remediation.catalog import ACTIONS, Action
from bot.remediation.plan import Plan
from bot.remediation.policy import Outcome, Policy, Proposal, approve, finish, propose, reject, start_execution
from bot.services.executor import Execution, Executor, StepResult
from bot.services.plans import build_plan
from bot.services.probing import Probing
from bot.store.db import Store, StoredProposal

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PlanView:
    """A plan as people review it: the requests, each one's dry run and diff, and the runbook's risks."""

    plan: Plan
    action: Action
    steps: tuple[StepResult, ...]
    risks: tuple[RiskNote, ...] = ()
    safety: tuple[str, ...] = ()
    runbook: str = ""

    @property
    def dry_run_ok(self) -> bool:
        return all(s.ok for s in self.steps)

    def to_json(self) -> dict[str, Any]:
        return {
            "plan": self.plan.to_json(),
            "digest": self.plan.digest,
            "approvals_needed": self.action.approvals,
            "dry_run": [s.to_json() for s in self.steps],
            "dry_run_ok": self.dry_run_ok,
            "runbook": self.runbook,
            "risks": [{"level": r.level, "risk": r.risk, "mitigation": r.mitigation} for r in self.risks],
            "safety": list(self.safety),
        }


@dataclass(frozen=True)
class ProposalView:
    """Where a proposal stands, with everything its message shows."""

    proposal: Proposal
    plan: PlanView
    message: str  # what the last step did, in a sentence
    channel: str = ""
    thread_ts: str = ""
    message_ts: str = ""
    execution: Execution | None = None
    verification: ProbeReport | None = None
    needed: int = 1
    history: tuple[str, ...] = field(default=())

    def to_json(self) -> dict[str, Any]:
        p = self.proposal
        return {
            "id": p.id,
            "state": p.state,
            "requester": p.requester,
            "approvals": sorted(p.approvals),
            "approvals_needed": self.needed,
            "expires_at": p.expires_at,
            "message": self.message,
            "execution": self.execution.to_json() if self.execution else None,
            **self.plan.to_json(),
        }


class Remediation:
    def __init__(
        self,
        *,
        policy: Policy,
        probing: Probing,
        executor: Callable[[], Executor],
        store: Callable[[], Store],
        runbooks: Callable[[], Sequence[Runbook]],
        cluster_name: Callable[[], str],
        off_reason: str = "",
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.policy = policy
        self.probing = probing
        self._executor = executor
        self._store = store
        self._runbooks = runbooks
        self._cluster_name = cluster_name
        self.off_reason = off_reason
        self.clock = clock

    # -- planning ------------------------------------------------------------------------------------

    def _runbook_of(self, plan: Plan) -> Runbook | None:
        by_id = {rb.id: rb for rb in self._runbooks()}
        return by_id.get(plan.runbook) or next((by_id[r] for r in ACTIONS[plan.action].runbooks if r in by_id), None)

    def plan(self, action_id: str, params: dict[str, str]) -> PlanView:
        """The exact plan and its dry run; nothing is proposed or stored."""
        if action_id not in ACTIONS:
            raise UsageError(f"no action {action_id!r}; `cnibot remediation list` shows them: {', '.join(ACTIONS)}")
        handle = self.probing.cluster()
        reader = handle.reader.shared(seconds=self.probing.deadline)
        plan = build_plan(action_id, params, ProbeContext(reader), cluster=self._cluster_name())
        return self._view(plan)

    def _view(self, plan: Plan, steps: tuple[StepResult, ...] | None = None) -> PlanView:
        action = ACTIONS[plan.action]
        runbook = self._runbook_of(plan)
        if steps is None:
            steps = self._executor().dry_run(plan)
        return PlanView(
            plan,
            action,
            steps,
            runbook.risks if runbook else (),
            runbook.safety if runbook else (),
            runbook.id if runbook else "",
        )

    # -- the proposal's life ----------------------------------------------------------------------------

    def _check_on(self) -> None:
        if self.off_reason:
            raise UsageError(self.off_reason)

    def propose(
        self, action_id: str, params: dict[str, str], *, requester: str, channel: str = "", thread_ts: str = ""
    ) -> ProposalView:
        self._check_on()
        view = self.plan(action_id, params)
        if not view.dry_run_ok:
            failed = next(s for s in view.steps if not s.ok)
            raise UsageError(f"not proposed: the dry run of {failed.request.describe()} failed: {failed.message}")
        proposal = propose(
            self.policy,
            proposal_id=f"p-{secrets.token_hex(4)}",
            plan_digest=view.plan.digest,
            requester=requester,
            risk=view.plan.risk,
            now=self.clock(),
        )
        stored_plan = {**view.plan.to_json(), "dry_run": [s.to_json() for s in view.steps]}
        self._store().create_proposal(
            proposal,
            plan=stored_plan,
            action=action_id,
            cluster=view.plan.cluster,
            channel=channel,
            thread_ts=thread_ts,
        )
        needed = self.policy.needed(proposal.risk)
        return ProposalView(
            proposal,
            view,
            f"Proposed by {requester}; needs {needed} approver(s) other than the requester.",
            channel,
            thread_ts,
            needed=needed,
        )

    def _stored(self, proposal_id: str) -> StoredProposal:
        stored = self._store().proposal(proposal_id)
        if stored is None:
            raise UsageError(f"no proposal {proposal_id!r}; a proposal's id (p- and 8 hex digits) is in its message")
        return stored

    def view(self, proposal_id: str, message: str = "", **extra: Any) -> ProposalView:
        stored = self._stored(proposal_id)
        plan = Plan.from_json(stored.plan)
        steps = tuple(
            StepResult(r, bool(d.get("ok")), str(d.get("message") or ""), str(d.get("diff") or ""))
            for r, d in zip(plan.requests, stored.plan.get("dry_run") or [], strict=False)
        )
        p = stored.proposal
        history = tuple(
            f"{e['kind']} by {e['user']}: {e['detail']}" for e in self._store().remediation_events(proposal_id)
        )
        return ProposalView(
            p,
            self._view(plan, steps),
            message or p.note or p.state,
            stored.channel,
            stored.thread_ts,
            stored.message_ts,
            needed=self.policy.needed(p.risk),
            history=history,
            **extra,
        )

    def set_message(self, proposal_id: str, *, channel: str, message_ts: str) -> None:
        self._store().set_proposal_message(proposal_id, channel=channel, message_ts=message_ts)

    def reject(self, proposal_id: str, *, user: str) -> tuple[Outcome, ProposalView]:
        self._stored(proposal_id)
        outcome = self._store().transition(
            proposal_id, lambda p: reject(self.policy, p, user=user, now=self.clock()), kind="rejected", user=user
        )
        assert outcome is not None
        return outcome, self.view(proposal_id, outcome.message)

    def approve(
        self, proposal_id: str, *, user: str, on_running: Callable[[ProposalView], None] | None = None
    ) -> tuple[Outcome, ProposalView]:
        """Record `user`'s approval; when that completes the approvals, run the plan (once) and verify.
        The Outcome says whether this click changed anything (a refusal is shown to the clicker only)."""
        self._check_on()
        stored = self._stored(proposal_id)
        store = self._store()
        outcome = store.transition(
            proposal_id, lambda p: approve(self.policy, p, user=user, now=self.clock()), kind="approved", user=user
        )
        assert outcome is not None
        if not outcome.changed or outcome.proposal.state != "approved":
            return outcome, self.view(proposal_id, outcome.message)
        plan = Plan.from_json(stored.plan)
        gate = store.transition(
            proposal_id,
            lambda p: start_execution(self.policy, p, plan_digest=plan.digest, now=self.clock()),
            kind="executing",
            user=user,
        )
        assert gate is not None
        if not (gate.changed and gate.proposal.state == "executing"):
            return outcome, self.view(proposal_id, gate.message)  # another click, retry or replica got there first
        if on_running is not None:
            on_running(self.view(proposal_id, f"Approved by {', '.join(sorted(gate.proposal.approvals))}; running…"))
        execution = self._run(plan)
        done = store.transition(
            proposal_id,
            lambda p: Outcome(finish(p, ok=execution.ok, note=execution.message), execution.message, True),
            kind="done" if execution.ok else "failed",
            user=user,
        )
        assert done is not None
        for step in execution.steps:
            store.record_remediation(
                proposal_id, kind="request", user=user, detail=f"{step.request.describe()}: {step.message}"
            )
        verification = self._verify(proposal_id, plan, user) if execution.ok else None
        return outcome, self.view(proposal_id, execution.message, execution=execution, verification=verification)

    def _run(self, plan: Plan) -> Execution:
        try:
            return self._executor().execute(plan)
        except CnibotError as exc:
            return Execution(False, f"Failed: {exc}")

    def _verify(self, proposal_id: str, plan: Plan, user: str) -> ProbeReport | None:
        """The runbook's probes after the change, so the message shows whether it helped."""
        runbook = self._runbook_of(plan)
        if runbook is None or not runbook.probe_ids:
            return None
        try:
            report = self.probing.run(list(runbook.probe_ids))
        except CnibotError as exc:
            self._store().record_remediation(proposal_id, kind="verification", user=user, detail=f"failed: {exc}")
            return None
        statuses = ", ".join(f"{r.probe} {r.status}" for r in report.results) or (report.cluster_error or "")
        self._store().record_remediation(proposal_id, kind="verification", user=user, detail=statuses)
        return report
