"""Block Kit for the bot's replies: pure functions from service results to blocks, no sending."""

from __future__ import annotations

import json
from typing import Any

from bot.domain.probe import ProbeReport
from bot.domain.runbook import Runbook
from bot.services.answers import Answer
from bot.services.remediation import ProposalView

Block = dict[str, Any]
RUN_PROBES = "cnibot_run_probes"
SHOW_RUNBOOK = "cnibot_show_runbook"
NOT_THIS_ONE = "cnibot_not_this_one"
PICK_RUNBOOK = "cnibot_pick_runbook"
NONE_OF_THESE = "none"
MAX_TEXT = 2900  # a section's text may hold 3,000 characters
STATUS_EMOJI = {"ok": ":white_check_mark:", "warning": ":warning:", "critical": ":red_circle:", "error": ":x:"}


def _text(text: str) -> str:
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 1] + "…"


def section(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": _text(text)}}


def context(text: str) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": _text(text)}]}


def answer_blocks(answer: Answer, *, cluster: str, answer_id: int = 0) -> tuple[list[Block], str]:
    """The reply to a paste: runbook, confidence, why, first steps, cluster, and the three buttons.
    Returns the blocks and the plain-text fallback for notifications."""
    result = answer.result
    best = result.best
    if not result.confident or best is None:
        if result.lookalike is not None:
            x = result.lookalike
            text = f"This does not look like a pod-network (CNI) problem. It looks like *{x.title}*.\n{x.hint}"
        else:
            text = "No confident match among the CNI runbooks. Add the full error line, or say which pods and nodes."
        candidates = ", ".join(f"`{m.runbook}` {m.score:.2f}" for m in result.matches[:3])
        return [section(text), context(f"Closest runbooks: {candidates}")], text
    blocks = [section(f"*{best.title}*  (`{best.runbook}`, confidence {best.score:.2f})")]
    if len(result.groups) > 1:
        faults = "\n".join(f"• `{g.runbook}` ({g.count} line(s)): {g.lines[0][:150]}" for g in result.groups)
        blocks.append(section(f"This paste holds errors of {len(result.groups)} different faults:\n{faults}"))
    blocks.append(context(f"Why: {best.why}"))
    if best.first_steps:
        steps = "\n".join(f"{n}. {step}" for n, step in enumerate(best.first_steps, 1))
        blocks.append(section(f"*First steps*\n{steps}"))
    blocks.append(context(f"Cluster: {cluster}"))
    value = button_value(answer_id, best.runbook)
    buttons = [
        _button("Run probes", RUN_PROBES, value, primary=True),
        _button("Show runbook", SHOW_RUNBOOK, value),
        _button("Not this one", NOT_THIS_ONE, value),
    ]
    blocks.append({"type": "actions", "elements": buttons})
    return blocks, f"{best.title} ({best.runbook}, confidence {best.score:.2f})"


def _button(label: str, action_id: str, value: str, *, primary: bool = False) -> Block:
    button: Block = {"type": "button", "text": {"type": "plain_text", "text": label}, "action_id": action_id}
    button["value"] = value
    if primary:
        button["style"] = "primary"
    return button


def probe_blocks(report: ProbeReport) -> tuple[list[Block], str]:
    """A probe run's results: the cluster (SIMULATED when it is), each probe's status and findings."""
    cluster = report.cluster.description
    blocks = [context(f"Cluster: {cluster}")]
    if report.cluster_error is not None:
        blocks.append(section(f":x: The cluster could not be asked: {report.cluster_error}"))
        return blocks, f"The cluster could not be asked: {report.cluster_error}"
    for result in report.results:
        lines = [f"{STATUS_EMOJI.get(result.status, ':grey_question:')} *{result.probe}*: {result.summary}"]
        for finding in [f for f in result.findings if f.severity != "ok"][:SHOWN_FINDINGS]:
            runbook = f" → `{finding.runbook}`" if finding.runbook else ""
            lines.append(f"   • {finding.summary}{runbook}")
            lines.extend(f"      _{line[:200]}_" for line in finding.evidence[:2])
            if finding.command:
                lines.append(f"     `{finding.command}`")
        blocks.append(section("\n".join(lines)))
    worst = ", ".join(f"{r.probe} {r.status}" for r in report.results)
    return blocks[:50], f"Probe results: {worst}"


def button_value(answer_id: int, runbook: str) -> str:
    return f"{answer_id}:{runbook}"


def parse_value(value: str) -> tuple[int, str]:
    """(answer id, runbook) from a button's value; the id is 0 when the answer was not stored."""
    head, _, runbook = value.partition(":")
    return (int(head), runbook) if head.isdigit() and runbook else (0, value)


def runbook_blocks(rb: Runbook) -> tuple[list[Block], str]:
    """A runbook in a chat-sized reply: symptoms, read-only diagnosis, fixes with their risk."""
    symptoms = "\n".join(f"• {s}" for s in rb.symptoms[:3])
    diagnosis = "\n".join(
        f"{n}. " + (f"probe `{d.probe}`" if d.probe else f"`{d.command}` ({d.where})") + f": {d.why}"
        for n, d in enumerate(rb.diagnosis[:4], 1)
    )
    fixes = "\n".join(
        f"{n}. {f.step} _({'changes the cluster' if f.mutating else 'read-only'}, risk {f.risk})_"
        for n, f in enumerate(rb.remediation[:4], 1)
    )
    out = [
        section(f"*{rb.title}*  (`{rb.id}`, severity {rb.severity})"),
        section(f"*Symptoms*\n{symptoms}"),
        section(f"*Diagnose (read-only)*\n{diagnosis}"),
        section(f"*Fix*\n{fixes}"),
        context(f"Everything: `cnibot runbook show {rb.id} --full` ({rb.path.rsplit('/', 1)[-1]})"),
    ]
    return out, rb.title


def pick_blocks(answer_id: int, candidates: list[str]) -> tuple[list[Block], str]:
    """[Not this one]: which runbook was it? The other candidates, or none of these."""
    options = [
        {"text": {"type": "plain_text", "text": runbook[:75]}, "value": button_value(answer_id, runbook)}
        for runbook in candidates
    ]
    options.append(
        {"text": {"type": "plain_text", "text": "none of these"}, "value": button_value(answer_id, NONE_OF_THESE)}
    )
    menu = {
        "type": "static_select",
        "action_id": PICK_RUNBOOK,
        "placeholder": {"type": "plain_text", "text": "Which runbook was it?"},
        "options": options,
    }
    text = "Thanks. Which runbook was it? Your pick is stored with the paste and becomes evaluation data."
    return [section(text), {"type": "actions", "elements": [menu]}], text


SHOWN_FINDINGS = 4


def probe_report_is_long(report: ProbeReport) -> bool:
    """More findings than a chat message shows: the whole report goes along as a file."""
    return any(len([f for f in r.findings if f.severity != "ok"]) > SHOWN_FINDINGS for r in report.results)


def probe_text(report: ProbeReport) -> str:
    """The whole probe report as plain text, for the file attached to a long answer."""
    lines = [f"cluster: {report.cluster.description}"]
    for result in report.results:
        lines.append(f"\n{result.probe}  {result.status.upper()}  {result.summary}")
        if result.request:
            lines.append(f"    request: {result.request}")
        for finding in result.findings:
            runbook = f"  -> runbook {finding.runbook}" if finding.runbook else ""
            lines.append(f"  [{finding.severity}] {finding.summary}{runbook}")
            lines.extend(f"      {line}" for line in finding.evidence)
            if finding.command:
                lines.append(f"      $ {finding.command}")
    return "\n".join(lines) + "\n"


APPROVE = "cnibot_approve"
REJECT = "cnibot_reject"
PROPOSE = "cnibot_propose"
STATE_EMOJI = {
    "proposed": ":hourglass_flowing_sand:",
    "approved": ":white_check_mark:",
    "executing": ":gear:",
    "done": ":white_check_mark:",
    "failed": ":x:",
    "rejected": ":no_entry_sign:",
    "expired": ":alarm_clock:",
}


def proposal_blocks(view: ProposalView) -> tuple[list[Block], str]:
    """A proposal's message, updated in place at each step: the change, the requests with their dry run
    and diff, the risks, who asked and approved, the expiry; buttons while it is open."""
    p, plan = view.proposal, view.plan
    state = f"{STATE_EMOJI.get(p.state, '')} *{p.state.upper()}*: {view.message}"
    requests = []
    for step in plan.steps[:5]:
        body = json.dumps(step.request.body, sort_keys=True)
        body = body if len(body) <= 300 else body[:299] + "…"
        diff = "\n".join(step.diff.splitlines()[:12])
        requests.append(
            f"`{step.request.describe()}` — dry run {step.message}\nbody `{body}`" + (f"\n```{diff}```" if diff else "")
        )
    if len(plan.steps) > 5:
        requests.append(f"… and {len(plan.steps) - 5} more request(s) (attached in full)")
    risks = "\n".join(f"• [{r.level}] {r.risk} → {r.mitigation}" for r in plan.risks[:4])
    safety = "\n".join(f"• {s}" for s in plan.safety[:3])
    approvals = ", ".join(f"<@{u}>" for u in sorted(p.approvals)) or "none yet"
    out = [
        section(f"*Remediation `{plan.plan.action}`* — {plan.plan.summary}"),
        section(state),
        section("*Requests (dry run: dryRun=All)*\n" + "\n".join(requests)),
    ]
    if risks or safety:
        out.append(section(f"*Risk {plan.plan.risk}* (runbook `{plan.runbook}`)\n{risks}\n{safety}".strip()))
    out.append(
        context(
            f"Proposal `{p.id}` · cluster {plan.plan.cluster} · requested by <@{p.requester}> · "
            f"approvals {len(p.approvals)}/{view.needed}: {approvals} · expires <!date^{int(p.expires_at)}^{{time}}|"
            f"{int(p.expires_at)}> · plan sha256 `{plan.plan.digest[:16]}`"
        )
    )
    if view.execution is not None:
        lines = [f"{'✓' if s.ok else '✗'} `{s.request.describe()}` {s.message}" for s in view.execution.steps[:8]]
        out.append(section("*Execution*\n" + ("\n".join(lines) or view.execution.message)))
    if view.verification is not None:
        checks = ", ".join(f"{STATUS_EMOJI.get(r.status, '')} {r.probe} {r.status}" for r in view.verification.results)
        out.append(section(f"*Verification* {checks}"))
    if view.execution is not None and view.execution.stale:
        again = " ".join([plan.plan.action, *(f"{k}={v}" for k, v in plan.plan.parameters)])
        out.append({"type": "actions", "elements": [_button("Plan again", PROPOSE, again, primary=True)]})
    if p.state == "proposed":
        out.append(
            {
                "type": "actions",
                "elements": [_button("Approve", APPROVE, p.id, primary=True), _button("Reject", REJECT, p.id)],
            }
        )
    return out, f"Remediation {plan.plan.action} ({p.id}): {p.state}"


def propose_buttons(report: ProbeReport, actions_of: dict[str, list[str]]) -> list[Block]:
    """Under a probe run: a [Fix: ACTION] button for each parameterless action of a runbook that a
    critical or warning finding names (at most five)."""
    wanted: list[str] = []
    for result in report.results:
        for finding in result.findings:
            if finding.severity in ("critical", "warning") and finding.runbook:
                wanted += [a for a in actions_of.get(finding.runbook, []) if a not in wanted]
    if not wanted:
        return []
    buttons = [_button(f"Fix: {action}", PROPOSE, action) for action in wanted[:5]]
    return [
        context("Propose a fix (it is planned, dry-run and shown for approval first):"),
        {"type": "actions", "elements": buttons},
    ]
