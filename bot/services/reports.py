"""The IPAM usage report: take a snapshot with the ipam.usage probe, keep it, compare it with the
history, and post it (scheduled, once per fire time) or hand it to the CLI; and the alert check that
posts only when a pool changes level."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from bot.config import ReportSettings
from bot.domain.errors import CnibotError
from bot.domain.probe import ProbeResult
from bot.reporting.ipam import DAY, IpamReportView, Level, Snapshot, Thresholds, build_report, snapshot_from
from bot.services.probing import Probing
from bot.store.db import Store, StoreError

log = logging.getLogger(__name__)
USAGE_PROBE = "ipam.usage"
POOLS_PROBE = "ipam.pools"  # the light one: pools' allocation only, for the alert check


class ReportError(CnibotError):
    """The report could not be made (the cluster could not be read); the message says why in one line."""


class PostError(CnibotError):
    """Slack did not take a post; the message says why in one line."""


@dataclass(frozen=True)
class ReportTarget:
    """One cluster to report on: the name shown (and the key of its history) and its probing service."""

    name: str
    probing: Probing


@dataclass(frozen=True)
class PoolAlert:
    cluster: str
    pool: str
    cidr: str
    level: Level
    previous: str
    allocated: int
    capacity: int
    simulated: bool = False

    @property
    def utilization(self) -> float:
        return self.allocated / self.capacity if self.capacity else 0.0


StoreFailure = Callable[[str, StoreError], None]
"""Told what the store failed to do ("history unavailable", "snapshot not kept") and why."""


def _log_store_failure(what: str, exc: StoreError) -> None:
    log.error("IPAM %s: %s", what, exc)  # the report itself still goes out


class ReportPoster(Protocol):
    """What posting needs of Slack (bot.slack.reports.SlackReportPoster)."""

    def post_report(self, channel: str, view: IpamReportView, chart: bytes | None) -> None: ...

    def post_alert(self, channel: str, alert: PoolAlert) -> None: ...

    def post_failure(self, channel: str, cluster: str, message: str) -> None: ...


def ipam_result(result: ProbeResult | None, cluster: str) -> dict[str, Any]:
    if result is None:
        raise ReportError(f"IPAM report for {cluster}: the IPAM probe did not run")
    if result.status == "error" or not result.data:
        raise ReportError(f"IPAM report for {cluster}: {result.error or result.summary}")
    return result.data


class Reports:
    def __init__(
        self,
        *,
        targets: Callable[[], Sequence[ReportTarget]],
        store: Callable[[], Store],
        settings: ReportSettings,
        chart: Callable[[IpamReportView], bytes] | None = None,
        poster: Callable[[], ReportPoster] | None = None,
        on_snapshot: Callable[[str, dict[str, Any]], None] | None = None,
        on_posted: Callable[[str, float], None] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._targets = targets
        self._store = store
        self.settings = settings
        self.thresholds = Thresholds(settings.warning, settings.critical)
        self._chart = chart
        self._poster = poster
        self._on_snapshot = on_snapshot
        self._on_posted = on_posted
        self.clock = clock

    def targets(self) -> Sequence[ReportTarget]:
        return self._targets()

    def target(self, name: str = "") -> ReportTarget:
        targets = self.targets()
        if not name:
            return targets[0]
        for target in targets:
            if target.name == name:
                return target
        raise ReportError(f"no cluster {name!r} to report on; known: {', '.join(t.name for t in targets)}")

    def _probe(self, target: ReportTarget, probe_id: str) -> tuple[dict[str, Any], bool]:
        try:
            report = target.probing.run([probe_id])
        except CnibotError as exc:  # e.g. a context missing from the kubeconfig
            raise ReportError(f"IPAM report for {target.name}: {exc}") from exc
        if report.cluster_error is not None:
            raise ReportError(f"IPAM report for {target.name}: {report.cluster_error}")
        result = next((r for r in report.results if r.probe == probe_id), None)
        data = ipam_result(result, target.name)
        if self._on_snapshot is not None:
            self._on_snapshot(target.name, data)
        return data, report.cluster.simulated

    def take(
        self, target: ReportTarget, *, record: bool = True, on_store_error: StoreFailure = _log_store_failure
    ) -> IpamReportView:
        """Snapshot the cluster's IPAM, compare with its history, and keep the snapshot (`record`). A store
        that fails does not stop the report: `on_store_error` hears of it (by default the log)."""
        data, simulated = self._probe(target, USAGE_PROBE)
        now = self.clock()
        snapshot = snapshot_from(data, at=now, cluster=target.name, simulated=simulated)
        history = self._history(target.name, now, on_store_error)
        view = build_report(snapshot, history, self.thresholds)
        if record:
            try:
                self._store().record_snapshot(
                    cluster=target.name,
                    at=now,
                    data=snapshot.to_json(),
                    keep_seconds=self.settings.retention_days * DAY,
                )
            except StoreError as exc:
                on_store_error("snapshot not kept", exc)
        return view

    def _history(self, cluster: str, now: float, on_store_error: StoreFailure) -> list[Snapshot]:
        try:
            rows = self._store().snapshots(cluster=cluster, before=now)
        except StoreError as exc:
            on_store_error("history unavailable", exc)
            return []
        out = []
        for row in rows:
            try:
                out.append(Snapshot.from_json(row))
            except (KeyError, TypeError, ValueError):
                log.warning("an unreadable IPAM snapshot was skipped")
        return out

    def chart(self, view: IpamReportView) -> bytes | None:
        if self._chart is None:
            return None
        try:
            return self._chart(view)
        except Exception as exc:  # the numbers matter more than the picture
            log.error("the IPAM chart could not be drawn: %s", exc)
            return None

    # -- scheduled --------------------------------------------------------------------------------

    def run_key(self, cluster: str, due: datetime) -> str:
        return f"{cluster}|ipam-report|{due.isoformat()}"

    def post_scheduled(self, due: datetime) -> list[str]:
        """Post the report due at `due` for each cluster, unless it was posted already; returns the
        clusters posted. A report whose post fails gives its claim back, so a later attempt posts it."""
        channel = self.settings.channel
        if not channel or self._poster is None:
            return []
        poster = self._poster()
        posted = []
        for target in self.targets():
            key = self.run_key(target.name, due)
            try:
                if not self._store().claim_run(key, cluster=target.name, kind="ipam-report"):
                    log.info("IPAM report %s was posted already", key)
                    continue
            except StoreError as exc:
                log.error("IPAM report %s not posted: %s", key, exc)  # no claim, no post: never twice
                continue
            try:
                try:
                    view = self.take(target)
                except ReportError as exc:
                    poster.post_failure(channel, target.name, str(exc))
                else:
                    poster.post_report(channel, view, self.chart(view))
                    if self._on_posted is not None:
                        self._on_posted(target.name, view.snapshot.at)
            except Exception as exc:
                log.error("IPAM report %s could not be posted (%s); it will be tried again", key, exc)
                self._store().finish_run(key, ok=False)
                continue
            self._store().finish_run(key, ok=True)
            posted.append(target.name)
        return posted

    def check_alerts(self) -> list[PoolAlert]:
        """One light check: post for each pool whose level changed since the last check."""
        changed: list[PoolAlert] = []
        for target in self.targets():
            try:
                data, simulated = self._probe(target, POOLS_PROBE)
            except ReportError as exc:
                log.warning("IPAM alert check: %s", exc)
                continue
            for pool in data.get("pools") or []:
                if pool.get("disabled"):
                    continue
                capacity, allocated = int(pool.get("capacity") or 0), int(pool.get("allocated") or 0)
                level = self.thresholds.level(allocated / capacity if capacity else 0.0)
                previous = self._store().change_alert_level(cluster=target.name, pool=str(pool["name"]), level=level)
                if previous is None:
                    continue
                changed.append(
                    PoolAlert(
                        target.name,
                        str(pool["name"]),
                        str(pool.get("cidr") or ""),
                        level,
                        previous,
                        allocated,
                        capacity,
                        simulated,
                    )
                )
        if changed and self.settings.channel and self._poster is not None:
            poster = self._poster()
            for alert in changed:
                try:
                    poster.post_alert(self.settings.channel, alert)
                except Exception as exc:
                    # back to the level Slack last heard of, so the next check posts this change again
                    log.error(
                        "IPAM alert for %s/%s not posted (%s); the next check tries again",
                        alert.cluster,
                        alert.pool,
                        exc,
                    )
                    self._store().change_alert_level(cluster=alert.cluster, pool=alert.pool, level=alert.previous)
        return changed
