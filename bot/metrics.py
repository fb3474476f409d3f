"""/metrics in the Prometheus text format (prometheus-client), for teams who chart IPAM elsewhere:
capacity, allocated, free and leaked per pool and per node, the time of the last report, and match and
probe counts and latencies. One registry per bot (not the library's global one), so tests stay apart."""

from __future__ import annotations

import contextlib
import threading
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from bot.domain.match import MatchResult
from bot.domain.probe import ProbeReport

LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60)


class Metrics:
    def __init__(self) -> None:
        r = self.registry = CollectorRegistry()
        pool, node = ["cluster", "pool"], ["cluster", "node"]
        self.pool = {
            "capacity": Gauge("cnibot_ipam_pool_capacity_addresses", "Addresses in the IP pool", pool, registry=r),
            "allocated": Gauge("cnibot_ipam_pool_allocated_addresses", "Allocated addresses", pool, registry=r),
            "free": Gauge("cnibot_ipam_pool_free_addresses", "Free addresses", pool, registry=r),
            "leaked": Gauge(
                "cnibot_ipam_pool_leaked_addresses", "Addresses held by pods that are gone", pool, registry=r
            ),
        }
        self.node = {
            "capacity": Gauge(
                "cnibot_ipam_node_capacity_addresses", "Addresses in the node's blocks", node, registry=r
            ),
            "allocated": Gauge("cnibot_ipam_node_allocated_addresses", "Allocated on the node", node, registry=r),
            "free": Gauge("cnibot_ipam_node_free_addresses", "Free in the node's blocks", node, registry=r),
            "leaked": Gauge("cnibot_ipam_node_leaked_addresses", "Leaked on the node", node, registry=r),
        }
        self.last_report = Gauge(
            "cnibot_ipam_last_report_timestamp_seconds", "When the last IPAM report was posted", ["cluster"], registry=r
        )
        self.last_snapshot = Gauge(
            "cnibot_ipam_last_snapshot_timestamp_seconds", "When IPAM usage was last read", ["cluster"], registry=r
        )
        self.matches = Counter("cnibot_matches", "Pastes matched, by outcome", ["outcome"], registry=r)
        self.match_seconds = Histogram(
            "cnibot_match_duration_seconds", "Time to match a paste", buckets=LATENCY_BUCKETS, registry=r
        )
        self.probe_runs = Counter("cnibot_probe_runs", "Probe runs, by outcome", ["outcome"], registry=r)
        self.probes = Counter("cnibot_probes", "Probes run, by probe and status", ["probe", "status"], registry=r)
        self.probe_seconds = Histogram(
            "cnibot_probe_run_duration_seconds", "Time of a probe run", buckets=LATENCY_BUCKETS, registry=r
        )
        self._series: dict[tuple[str, str], set[str]] = {}  # (cluster, pool|node) -> label values shown
        self._lock = threading.Lock()

    # -- hooks the services call ----------------------------------------------------------------------

    def observe_match(self, result: MatchResult, seconds: float) -> None:
        self.matches.labels("confident" if result.confident else "no_confident_match").inc()
        self.match_seconds.observe(seconds)

    def observe_probes(self, report: ProbeReport, seconds: float) -> None:
        self.probe_runs.labels("cluster_error" if report.cluster_error else "ok").inc()
        for result in report.results:
            self.probes.labels(result.probe, result.status).inc()
        self.probe_seconds.observe(seconds)

    def observe_ipam(self, cluster: str, data: dict[str, Any], *, at: float) -> None:
        """Set the gauges from ipam.usage (or ipam.pools) data; series of pools and nodes that are gone
        are removed, not left at their last value."""
        leaked = data.get("leaked_by") or {}
        with self._lock:
            self._set(cluster, "pool", self.pool, data.get("pools") or [], "name", leaked.get("pool"))
            self._set(cluster, "node", self.node, data.get("nodes") or [], "node", leaked.get("node"))
            self.last_snapshot.labels(cluster).set(at)

    def _set(
        self,
        cluster: str,
        kind: str,
        gauges: dict[str, Gauge],
        rows: list[dict[str, Any]],
        key: str,
        leaked: dict[str, int] | None,
    ) -> None:
        names = set()
        for row in rows:
            name = str(row.get(key) or "")
            names.add(name)
            for field in ("capacity", "allocated", "free"):
                gauges[field].labels(cluster, name).set(float(row.get(field) or 0))
            if leaked is not None:
                gauges["leaked"].labels(cluster, name).set(float(leaked.get(name, 0)))
        for gone in self._series.get((cluster, kind), set()) - names:
            for gauge in gauges.values():
                with contextlib.suppress(KeyError):  # never set (e.g. leaked, from the light check)
                    gauge.remove(cluster, gone)
        self._series[(cluster, kind)] = names

    def observe_report(self, cluster: str, at: float) -> None:
        self.last_report.labels(cluster).set(at)

    def exposition(self) -> tuple[bytes, str]:
        return generate_latest(self.registry), CONTENT_TYPE_LATEST
