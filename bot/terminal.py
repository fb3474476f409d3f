"""Terminal rendering of runbooks: pure functions that build rich renderables, no printing."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.markdown import Markdown
from rich.table import Table
from rich.text import Text

from bot.domain.match import MatchResult
from bot.domain.probe import ProbeResult
from bot.domain.runbook import Runbook

SEVERITY_STYLE = {"critical": "bold red", "high": "red", "medium": "yellow", "low": "green"}
RISK_STYLE = {"high": "bold red", "medium": "yellow", "low": "green"}


def runbook_table(runbooks: list[Runbook]) -> Table:
    table = Table(box=None, pad_edge=False, show_edge=False)
    table.add_column("ID", style="bold")
    table.add_column("SEVERITY")
    table.add_column("CNI")
    table.add_column("TITLE")
    for rb in sorted(runbooks, key=lambda r: r.id):
        table.add_row(rb.id, Text(rb.severity, SEVERITY_STYLE[rb.severity]), ",".join(rb.cni), rb.title)
    return table


def _heading(text: str) -> Text:
    return Text(f"\n{text}", style="bold underline")


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


def render_probe_list(probes: dict[str, str]) -> Table:
    table = Table(box=None, pad_edge=False, show_edge=False)
    table.add_column("PROBE", style="bold")
    table.add_column("WHAT IT READS")
    for probe_id, what in probes.items():
        table.add_row(probe_id, what)
    return table
