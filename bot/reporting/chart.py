"""The IPAM report's chart: utilization history per pool, the forecast line to exhaustion and the
warning and critical thresholds, as a PNG (matplotlib's Agg backend: no display, no GUI toolkit)."""

from __future__ import annotations

import io
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.reporting.ipam import DAY, IpamReportView
from bot.reporting.text import simulated_marker

WIDTH_INCHES, HEIGHT_INCHES, DPI = 10.0, 5.0, 100  # 1000 x 500 pixels: readable in a Slack preview
MAX_POOLS = 6  # the fullest; a chart with more lines is not read
MIN_AHEAD_DAYS, MAX_AHEAD_DAYS = 2.0, 60.0


def render_chart(view: IpamReportView, *, timezone: str = "UTC") -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.dates as mdates
    from matplotlib.figure import Figure

    zone = ZoneInfo(timezone)

    def when(epoch: float) -> float:
        """matplotlib's date number of an epoch time (its date axis formats these in `zone`)."""
        return float(mdates.date2num(datetime.fromtimestamp(epoch, zone)))  # type: ignore[no-untyped-call]

    now = view.snapshot.at
    pools = sorted((p for p in view.pools if not p.pool.disabled), key=lambda p: -p.pool.utilization)[:MAX_POOLS]
    first = min([s.at for s in view.history] + [now])
    # ahead: a third of the history shown, at least two days, and up to a forecast exhaustion within 60 days
    horizon = now + max(MIN_AHEAD_DAYS * DAY, (now - first) / 3)
    coming = [p.exhausted_at for p in pools if p.exhausted_at and now < p.exhausted_at <= now + MAX_AHEAD_DAYS * DAY]
    if coming:
        horizon = max(horizon, max(coming) + (max(coming) - now) * 0.1)

    figure = Figure(figsize=(WIDTH_INCHES, HEIGHT_INCHES), dpi=DPI)
    axes = figure.subplots()
    for report in pools:
        pool = report.pool
        series = [
            (s.at, p.allocated / p.capacity * 100)
            for s in view.history
            for p in s.pools
            if p.name == pool.name and p.capacity
        ]
        series.append((now, pool.utilization * 100))
        (line,) = axes.plot(
            [when(t) for t, _ in series], [u for _, u in series], marker="o", markersize=3, label=pool.name
        )
        if report.per_day and report.per_day > 0 and pool.capacity:
            # the fitted growth from now until the pool is full or the chart ends, whichever is first
            end = min(report.exhausted_at or horizon, horizon)
            end_util = min(100.0, (pool.allocated + report.per_day * (end - now) / DAY) / pool.capacity * 100)
            axes.plot(
                [when(now), when(end)], [pool.utilization * 100, end_util], linestyle="--", color=line.get_color()
            )
            if report.exhausted_at is not None and report.exhausted_at <= horizon:
                axes.annotate(
                    f"full {datetime.fromtimestamp(report.exhausted_at, zone):%b %d}",
                    (when(report.exhausted_at), 100),
                    textcoords="offset points",
                    xytext=(0, 6),
                    ha="center",
                    fontsize=8,
                    color=line.get_color(),
                )
    thresholds = view.thresholds
    axes.axhline(thresholds.warning * 100, color="#d4a017", linestyle=":", linewidth=1.2, label="warning")
    axes.axhline(thresholds.critical * 100, color="#c0392b", linestyle=":", linewidth=1.2, label="critical")
    axes.set_ylim(0, 105)
    axes.set_xlim(when(first - DAY / 4), when(horizon))
    axes.set_ylabel("pool utilization (%)")
    simulated = simulated_marker(view.snapshot.cluster, view.snapshot.simulated)
    axes.set_title(
        f"IPAM usage: {view.snapshot.cluster}{simulated}, {datetime.fromtimestamp(now, zone):%Y-%m-%d %H:%M %Z}",
        fontsize=11,
    )
    axes.xaxis.set_major_formatter(mdates.DateFormatter("%b %d", tz=zone))  # type: ignore[no-untyped-call]
    axes.grid(True, alpha=0.3)
    if pools:
        axes.legend(loc="lower left", fontsize=8, ncols=2)
    else:
        axes.text(0.5, 0.5, "no IP pools", transform=axes.transAxes, ha="center")
    figure.tight_layout()
    out = io.BytesIO()
    figure.savefig(out, format="png")
    return out.getvalue()
