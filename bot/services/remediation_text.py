"""Plans and proposals as plain text, for the CLI, the console and the file attached in Slack."""

from __future__ import annotations

import json
import time

from bot.services.remediation import PlanView, ProposalView

SHOWN_REQUESTS = 8


def _when(epoch: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(epoch))


def plan_text(view: PlanView, *, requests: int = SHOWN_REQUESTS, bodies: bool = True) -> str:
    plan = view.plan
    lines = [
        f"action:   {plan.action}  ({view.action.summary})",
        f"cluster:  {plan.cluster}",
        f"change:   {plan.summary}",
        f"risk:     {plan.risk}; needs {view.action.approvals} approver(s) other than the requester",
        f"plan:     sha256 {plan.digest}",
        f"dry run:  {'accepted by the apiserver for every request' if view.dry_run_ok else 'REFUSED (see below)'}",
        f"requests: {len(plan.requests)}",
    ]
    for n, step in enumerate(view.steps[:requests], 1):
        precondition = (
            f"  (if resourceVersion is still {step.request.resource_version})" if step.request.resource_version else ""
        )
        lines.append(f"\n{n}. {step.request.describe()}{precondition}")
        if bodies and step.request.body:
            lines.append("   body: " + json.dumps(step.request.body, sort_keys=True)[:400])
        lines.append(f"   dry run: {step.message}")
        if step.diff:
            lines.extend(f"   {line}" for line in step.diff.splitlines())
    if len(view.steps) > requests:
        lines.append(f"\n… and {len(view.steps) - requests} more request(s) of the same kind")
    if plan.absent_pods:
        lines.append(f"\nre-checked right before running: {len(plan.absent_pods)} pod(s) still absent")
    if view.risks:
        lines.append(f"\nrisks (runbook {view.runbook}):")
        lines.extend(f"  [{r.level}] {r.risk} -> {r.mitigation}" for r in view.risks)
    if view.safety:
        lines.append("safety notes:")
        lines.extend(f"  - {note}" for note in view.safety)
    return "\n".join(lines)


def proposal_text(view: ProposalView) -> str:
    p = view.proposal
    approvals = ", ".join(sorted(p.approvals)) or "none yet"
    head = [
        f"proposal {p.id}: {p.state.upper()} — {view.message}",
        f"requested by {p.requester}; approvals {len(p.approvals)}/{view.needed} ({approvals}); "
        f"expires {_when(p.expires_at)}",
    ]
    tail: list[str] = []
    if view.execution is not None:
        tail.append("\nexecution:")
        tail.extend(
            f"  {'ok ' if s.ok else 'ERR'} {s.request.describe()}: {s.message}" for s in view.execution.steps[:20]
        )
    if view.verification is not None:
        tail.append("verification: " + ", ".join(f"{r.probe} {r.status}" for r in view.verification.results))
    return "\n".join([*head, "", plan_text(view.plan), *tail])
