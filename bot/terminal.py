"""Terminal rendering of what the services return: pure functions that build rich renderables, no printing."""

from __future__ import annotations

import os
from collections.abc import Sequence

from rich.console import Group, RenderableType
from rich.markdown import Markdown
from rich.table import Table
from rich.text import Text

from bot.domain.match import MatchResult
from bot.domain.probe import ClusterInfo, ProbeReport, ProbeResult
from bot.domain.runbook import Runbook
from bot.services.answers import Answer
from bot.services.conversation import (
    AnswerReply,
    ErrorReply,
    HelpReply,
    ProbeListReply,
    ProbeReply,
    ProposalReply,
    QuitReply,
    Reply,
    ReportReply,
    RunbookListReply,
    RunbookReply,
)

SEVERITY_STYLE = {"critical": "bold red", "high": "red", "medium": "yellow", "low": "green"}
RISK_STYLE = {"high": "bold red", "medium": "yellow", "low": "green"}


RUNBOOK_COLUMNS = ("ID", "SEVERITY", "CNI", "TITLE")
PROBE_COLUMNS = ("PROBE", "WHAT IT READS")


def runbook_rows(runbooks: list[Runbook]) -> list[tuple[str, ...]]:
    return [(rb.id, rb.severity, ",".join(rb.cni), rb.title) for rb in sorted(runbooks, key=lambda r: r.id)]


def plain_rows(header: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> str:
    """Tab-separated lines for pipes and scripts (`| grep`, `| cut -f1`): nothing cut, nothing wrapped."""
    return "\n".join("\t".join(row) for row in [header, *rows])


def runbook_table(runbooks: list[Runbook]) -> Table:
    """For a terminal: ids are never cut (the id column is as wide as the longest id); titles wrap."""
    table = Table(box=None, pad_edge=False, show_edge=False)
    table.add_column("ID", style="bold", no_wrap=True, min_width=max((len(rb.id) for rb in runbooks), default=2))
    table.add_column("SEVERITY", no_wrap=True)
    table.add_column("CNI", no_wrap=True)
    table.add_column("TITLE")
    for rb_id, severity, cni, title in runbook_rows(runbooks):
        table.add_row(rb_id, Text(severity, SEVERITY_STYLE[severity]), cni, title)
    return table


def _heading(text: str) -> Text:
    return Text(f"\n{text}", style="bold underline")


def _near(path: str) -> str:
    """A path relative to where the user stands, when that is shorter."""
    relative = os.path.relpath(path) if os.path.isabs(path) else path
    return relative if not relative.startswith("..") else path


def render_runbook_brief(rb: Runbook) -> RenderableType:
    """A runbook in a screenful, as a chat reply should be: what it is, how to confirm, how to fix."""
    parts: list[RenderableType] = [
        Text.assemble((rb.title, "bold"), ("  ", ""), (rb.severity, SEVERITY_STYLE[rb.severity])),
        Text.assemble(("id ", "dim"), rb.id, ("  cni ", "dim"), ", ".join(rb.cni), ("  file ", "dim"), _near(rb.path)),
        Text("Symptoms", style="bold"),
    ]
    parts.extend(Text(f"  • {s}") for s in rb.symptoms[:3])
    parts.append(Text("Diagnose (read-only)", style="bold"))
    for n, step in enumerate(rb.diagnosis[:4], 1):
        what = f"probe {step.probe}" if step.probe else f"[{step.where}] {step.command}"
        parts.append(Text.assemble(f"  {n}. ", (what, "cyan"), (f" — {step.why}", "dim")))
    parts.append(Text("Fix", style="bold"))
    for n, fix in enumerate(rb.remediation[:4], 1):
        change = "changes the cluster" if fix.mutating else "read-only"
        parts.append(Text.assemble(f"  {n}. {fix.step} ", (f"({change}, risk {fix.risk})", RISK_STYLE[fix.risk])))
    more = len(rb.remediation) - 4
    tail = f" ({more} more fix steps)" if more > 0 else ""
    parts.append(Text(f"Everything{tail}: `cnibot runbook show {rb.id} --full`", style="dim"))
    return Group(*parts)


def render_runbook(rb: Runbook) -> RenderableType:
    """A runbook laid out for reading in a terminal, in the order an on-call engineer needs it."""
    parts: list[RenderableType] = [
        Text(rb.title, style="bold"),
        Text.assemble(
            ("id ", "dim"),
            rb.id,
            ("  severity ", "dim"),
            (rb.severity, SEVERITY_STYLE[rb.severity]),
            ("  cni ", "dim"),
            ", ".join(rb.cni),
            ("  file ", "dim"),
            rb.path,
        ),
        Text.assemble(("aliases ", "dim"), "; ".join(rb.aliases)),
    ]
    parts.append(_heading("Symptoms"))
    parts.extend(Text(f"  • {s}") for s in rb.symptoms)
    parts.append(_heading("Error signatures"))
    for sig in rb.signatures:
        kind = "regex" if sig.is_regex else "text "
        src = f"  [{sig.source}]" if sig.source else ""
        parts.append(Text.assemble(f"  {kind} ", (sig.pattern, "cyan"), (f"  w={sig.weight:g}{src}", "dim")))
    parts.append(_heading("Diagnosis (read-only)"))
    for n, step in enumerate(rb.diagnosis, 1):
        if step.probe:
            parts.append(Text.assemble(f"  {n}. ", ("probe ", "dim"), (step.probe, "bold magenta")))
        else:
            parts.append(Text.assemble(f"  {n}. ", (f"[{step.where}] ", "dim"), (step.command or "", "cyan")))
        parts.append(Text(f"     {step.why}", style="dim"))
    parts.append(_heading("Remediation"))
    for n, fix in enumerate(rb.remediation, 1):
        change = ("CHANGES CLUSTER", "bold") if fix.mutating else ("read-only", "dim")
        parts.append(Text.assemble(f"  {n}. ", fix.step, "  ", change, "  risk ", (fix.risk, RISK_STYLE[fix.risk])))
        if fix.command:
            parts.append(Text(f"     $ {fix.command}", style="cyan"))
        if fix.caution:
            parts.append(Text(f"     caution: {fix.caution}", style="yellow"))
    parts.append(_heading("Verify"))
    parts.extend(Text(f"  • {v}") for v in rb.verify)
    if rb.risks:
        parts.append(_heading("Risks"))
        table = Table(box=None, pad_edge=False)
        table.add_column("LEVEL")
        table.add_column("RISK")
        table.add_column("MITIGATION")
        for r in rb.risks:
            table.add_row(Text(r.level, RISK_STYLE[r.level]), r.risk, r.mitigation)
        parts.append(table)
    parts.append(_heading("Production safety"))
    parts.extend(Text(f"  ! {s}", style="yellow") for s in rb.safety)
    if rb.related:
        parts.append(Text.assemble(("\nrelated ", "dim"), ", ".join(rb.related)))
    parts.append(Text(""))
    parts.append(Markdown(rb.body))
    return Group(*parts)


def render_match(result: MatchResult) -> RenderableType:
    """A match answer as a terminal shows it: best runbook, confidence, why, first steps, the file."""
    parts: list[RenderableType] = []
    best = result.best
    if result.lookalike is not None:
        x = result.lookalike
        parts.append(Text("No confident match: this does not look like a pod-network (CNI) problem.", "bold yellow"))
        parts.append(Text(f"It looks like: {x.title} (score {x.score:.2f})"))
        parts.append(Text(f"Try: {x.hint}", style="dim"))
    elif not result.confident or best is None:
        parts.append(Text("No confident match among the CNI runbooks.", "bold yellow"))
        parts.append(Text("Add the full error line, or describe what fails (which pods, which nodes).", "dim"))
    if len(result.groups) > 1:
        parts.append(
            Text(
                f"This paste holds errors of {len(result.groups)} different faults "
                f"({result.lines_scanned} lines scanned):",
                "bold",
            )
        )
        for g in result.groups:
            parts.append(
                Text.assemble("  • ", (g.runbook, "bold"), f"  {g.score:.2f}  {g.count} line(s): ", (g.lines[0], "dim"))
            )
    if best is not None and result.confident:
        parts.append(Text.assemble(("Runbook: ", "bold"), (best.runbook, "bold green"), f" — {best.title}"))
        parts.append(Text(f"Confidence: {best.score:.2f}"))
        parts.append(Text(f"Why: {best.why}"))
        if best.first_steps:
            parts.append(Text("First steps:"))
            parts.extend(Text(f"  {n}. {step}") for n, step in enumerate(best.first_steps, 1))
        parts.append(Text(f"Runbook file: {best.path}   (`cnibot runbook show {best.runbook}`)", style="dim"))
    others = [m for m in result.matches if m.score >= 0.05 and not (result.confident and m is best)][:3]
    if others:
        parts.append(Text("Other candidates: " + ", ".join(f"{m.runbook} {m.score:.2f}" for m in others), style="dim"))
    return Group(*parts)


STATUS_STYLE = {
    "ok": "green",
    "warning": "yellow",
    "critical": "bold red",
    "error": "bold magenta",
    "no data": "dim",
}
SEVERITY_MARK = {"ok": "✓", "warning": "!", "critical": "✗"}


def render_answer(answer: Answer) -> RenderableType:
    """A paste's answer: the match, then the read-only probes that would confirm it."""
    parts: list[RenderableType] = [render_match(answer.result)]
    if answer.probes and answer.runbook:
        parts.append(
            Text(
                f"Probes for this runbook: {', '.join(answer.probes)}. "
                f"Run them (read-only) with `probe for {answer.runbook}` in the console "
                f"or `cnibot probe for {answer.runbook}`.",
                style="cyan",
            )
        )
    return Group(*parts)


def render_cluster(cluster: ClusterInfo) -> Text:
    return Text(f"cluster: {cluster.description}", style="bold yellow" if cluster.simulated else "dim")


def render_probe_report(report: ProbeReport) -> RenderableType:
    """Every probe run names its cluster (and says SIMULATED when it is); an unreachable cluster is said
    once, and an error several probes share is printed once."""
    parts: list[RenderableType] = [render_cluster(report.cluster)]
    if report.cluster_error is not None:
        parts.append(Text.assemble(("error ", STATUS_STYLE["error"]), report.cluster_error))
        if report.cluster_request:
            parts.append(Text(f"    request: {report.cluster_request}", style="dim"))
        parts.append(Text(f"    not run: {', '.join(report.not_run)}", style="dim"))
        return Group(*parts)
    said: dict[str, str] = {}
    for result in report.results:
        if result.status == "error" and result.error in said:
            parts.append(
                Text.assemble(
                    (f"{result.probe:<22}", "bold"),
                    (f"{'ERROR':<9}", STATUS_STYLE["error"]),
                    f"the same error as {said[result.error]}",
                )
            )
            continue
        if result.status == "error" and result.error:
            said[result.error] = result.probe
        parts.append(render_probe(result))
    return Group(*parts)


def render_reply(reply: Reply) -> RenderableType:
    """One conversation reply (console today; Slack renders the same replies as Block Kit)."""
    if isinstance(reply, AnswerReply):
        return render_answer(reply.answer)
    if isinstance(reply, ProbeReply):
        return render_probe_report(reply.report)
    if isinstance(reply, RunbookListReply):
        return runbook_table(list(reply.runbooks))
    if isinstance(reply, RunbookReply):
        return render_runbook_brief(reply.runbook)
    if isinstance(reply, ProbeListReply):
        return render_probe_list(reply.probes)
    if isinstance(reply, HelpReply):
        return Text(reply.text)
    if isinstance(reply, ProposalReply):
        from bot.services.remediation_text import proposal_text

        text = Text(proposal_text(reply.view))
        if reply.refused:
            return Group(Text(f"refused: {reply.refused}", style="yellow"), text)
        return text
    if isinstance(reply, ReportReply):
        from bot.reporting.text import report_text

        return Text(report_text(reply.view, timezone=reply.timezone))
    if isinstance(reply, ErrorReply):
        return Text(f"error: {reply.message}", style="red")
    if isinstance(reply, QuitReply):
        return Text("")
    raise TypeError(f"no rendering for {type(reply).__name__}")  # pragma: no cover - mypy checks it


def render_probe(result: ProbeResult, *, max_findings: int = 8) -> RenderableType:
    """One probe's result: status, summary, findings with evidence, the command a human would run."""
    parts: list[RenderableType] = [
        Text.assemble(
            (f"{result.probe:<22}", "bold"),
            (f"{result.status.upper():<9}", STATUS_STYLE[result.status]),
            result.summary,
        )
    ]
    if result.status == "error":
        if result.request:
            parts.append(Text(f"    request: {result.request}", style="dim"))
        return Group(*parts)
    shown = [f for f in result.findings if f.severity != "ok"][:max_findings]
    for f in shown:
        runbook = f"  → runbook {f.runbook}" if f.runbook else ""
        parts.append(Text.assemble(f"    {SEVERITY_MARK[f.severity]} ", f.summary, (runbook, "cyan")))
        parts.extend(Text(f"        {line}", style="dim") for line in f.evidence[:5])
        if f.command:
            parts.append(Text(f"        $ {f.command}", style="cyan"))
    hidden = len([f for f in result.findings if f.severity != "ok"]) - len(shown)
    if hidden > 0:
        parts.append(Text(f"    … {hidden} more (use --json for everything)", style="dim"))
    return Group(*parts)


def listing_table(header: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> Table:
    """A plain listing for a terminal: the first column never wraps or gets cut."""
    table = Table(box=None, pad_edge=False, show_edge=False)
    for i, name in enumerate(header):
        table.add_column(name, style="bold" if i == 0 else None, no_wrap=i == 0)
    for row in rows:
        table.add_row(*row)
    return table


def render_probe_list(probes: dict[str, str]) -> Table:
    table = Table(box=None, pad_edge=False, show_edge=False)
    table.add_column("PROBE", style="bold", no_wrap=True, min_width=max(map(len, probes), default=5))
    table.add_column("WHAT IT READS")
    for probe_id, what in probes.items():
        table.add_row(probe_id, what)
    return table
