"""Block Kit for the bot's replies: pure functions from service results to blocks, no sending."""

from __future__ import annotations

from typing import Any

from bot.domain.probe import ProbeReport
from bot.services.answers import Answer

Block = dict[str, Any]
RUN_PROBES = "cnibot_run_probes"
SHOW_RUNBOOK = "cnibot_show_runbook"
NOT_THIS_ONE = "cnibot_not_this_one"
MAX_TEXT = 2900  # a section's text may hold 3,000 characters
STATUS_EMOJI = {"ok": ":white_check_mark:", "warning": ":warning:", "critical": ":red_circle:", "error": ":x:"}


def _text(text: str) -> str:
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 1] + "…"


def section(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": _text(text)}}


def context(text: str) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": _text(text)}]}


def answer_blocks(answer: Answer, *, cluster: str) -> tuple[list[Block], str]:
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
    buttons = [
        _button("Run probes", RUN_PROBES, best.runbook, primary=True),
        _button("Show runbook", SHOW_RUNBOOK, best.runbook),
        _button("Not this one", NOT_THIS_ONE, best.runbook),
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
        for finding in [f for f in result.findings if f.severity != "ok"][:4]:
            runbook = f" → `{finding.runbook}`" if finding.runbook else ""
            lines.append(f"   • {finding.summary}{runbook}")
            if finding.command:
                lines.append(f"     `{finding.command}`")
        blocks.append(section("\n".join(lines)))
    worst = ", ".join(f"{r.probe} {r.status}" for r in report.results)
    return blocks[:50], f"Probe results: {worst}"
