"""The IPAM report in words: the phrases both the terminal and Slack show."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from bot.reporting.ipam import IpamReportView, PoolReport

LEVEL_WORD = {"ok": "ok", "warning": "WARNING", "critical": "CRITICAL"}


def when(epoch: float, timezone: str, fmt: str = "%Y-%m-%d %H:%M %Z") -> str:
    return datetime.fromtimestamp(epoch, ZoneInfo(timezone)).strftime(fmt)


def usage_phrase(report: PoolReport) -> str:
    p = report.pool
    return f"{p.allocated:,} of {p.capacity:,} allocated ({p.utilization:.1%}), {p.free:,} free"


def change_phrase(report: PoolReport) -> str:
    if report.change is None:
        return "first report"
    return f"{report.change:+,} since the last report"


def growth_phrase(report: PoolReport) -> str:
    if report.per_day is None:
        return "growth: not enough history yet"
    return f"growth {report.per_day:+,.1f}/day"


def forecast_phrase(report: PoolReport, now: float, timezone: str) -> str:
    if report.pool.free <= 0:
        return "full now"
    if report.per_day is None:
        return "no forecast until a second report"
    if report.exhausted_at is None:
        return "not exhausted at the current growth"
    days = (report.exhausted_at - now) / 86_400
    return f"full by {when(report.exhausted_at, timezone, '%Y-%m-%d')} (in {days:,.0f} days at this growth)"


def pool_lines(report: PoolReport, now: float, timezone: str) -> list[str]:
    p = report.pool
    state = "disabled" if p.disabled else LEVEL_WORD[report.level]
    return [
        f"{p.name} {p.cidr}: {state}",
        f"  {usage_phrase(report)}; {change_phrase(report)}; {growth_phrase(report)}; "
        f"{forecast_phrase(report, now, timezone)}",
    ]


def leak_phrase(view: IpamReportView) -> str:
    s = view.snapshot
    if not s.leaked_total:
        return "no leaked addresses" if s.backend == "calico" else "leaks not checked (needs Calico IPAM blocks)"
    top = ", ".join(f"{ns or '(none)'} {count:,}" for ns, count in s.leaked_by_namespace)
    return f"{s.leaked_total:,} leaked address(es) (allocated to pods that no longer exist); most in: {top}"


def nodes_phrase(view: IpamReportView) -> str:
    nodes = view.snapshot.fullest_nodes
    if not nodes:
        return ""
    return "fullest nodes: " + ", ".join(f"{n['node']} {n['allocated']}/{n['capacity']}" for n in nodes)


def blocks_phrase(view: IpamReportView) -> str:
    blocks = view.snapshot.fullest_blocks
    if not blocks:
        return ""
    return "fullest blocks: " + ", ".join(
        f"{b['cidr']} ({b.get('node') or '-'}) {b['allocated']}/{b['capacity']}" for b in blocks
    )


def simulated_marker(cluster: str, simulated: bool) -> str:
    """ " (SIMULATED cluster)" after a simulated cluster's name, unless the name already says so."""
    return " (SIMULATED cluster)" if simulated and "SIMULATED" not in cluster else ""


def headline(view: IpamReportView, timezone: str) -> str:
    simulated = simulated_marker(view.snapshot.cluster, view.snapshot.simulated)
    return (
        f"IPAM usage report: {view.snapshot.cluster}{simulated}, {view.snapshot.backend or 'unknown backend'}, "
        f"{when(view.snapshot.at, timezone)}: {LEVEL_WORD[view.level]}"
    )


def report_text(view: IpamReportView, *, timezone: str = "UTC") -> str:
    lines = [headline(view, timezone), ""]
    for report in view.pools:
        lines.extend(pool_lines(report, view.snapshot.at, timezone))
    if not view.pools:
        lines.append("no IP pools found")
    lines.append("")
    lines.extend(x for x in (nodes_phrase(view), blocks_phrase(view), leak_phrase(view)) if x)
    t = view.thresholds
    lines.append(
        f"thresholds: warning {t.warning:.0%}, critical {t.critical:.0%}; "
        f"history: {len(view.history)} earlier snapshot(s)"
    )
    if view.level != "ok":
        lines.append("runbook: ipam-exhausted (`cnibot runbook show ipam-exhausted`)")
    if view.snapshot.leaked_total:
        lines.append("release the leaks: `cnibot plan release-leaked-ips` (then approve it in Slack)")
    return "\n".join(lines)
