"""Snapshots, history, forecast and levels for the IPAM usage report.

A snapshot is what one ipam.usage run saw, kept in the store; a report compares the newest with the
history: change since the last report, growth per day from a least-squares line over the history, and
the date the pool runs out at that growth."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Literal

Level = Literal["ok", "warning", "critical"]
DAY = 86_400.0


@dataclass(frozen=True)
class PoolSample:
    name: str
    cidr: str
    capacity: int
    allocated: int
    disabled: bool = False

    @property
    def free(self) -> int:
        return self.capacity - self.allocated

    @property
    def utilization(self) -> float:
        return self.allocated / self.capacity if self.capacity else 0.0


@dataclass(frozen=True)
class Snapshot:
    at: float
    cluster: str
    backend: str
    simulated: bool
    pools: tuple[PoolSample, ...]
    fullest_nodes: tuple[dict[str, Any], ...] = ()
    fullest_blocks: tuple[dict[str, Any], ...] = ()
    leaked_total: int = 0
    leaked_by_namespace: tuple[tuple[str, int], ...] = ()
    leaked_by_pool: tuple[tuple[str, int], ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "at": self.at,
            "cluster": self.cluster,
            "backend": self.backend,
            "simulated": self.simulated,
            "pools": [p.__dict__ for p in self.pools],
            "fullest_nodes": list(self.fullest_nodes),
            "fullest_blocks": list(self.fullest_blocks),
            "leaked_total": self.leaked_total,
            "leaked_by_namespace": [list(x) for x in self.leaked_by_namespace],
            "leaked_by_pool": [list(x) for x in self.leaked_by_pool],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Snapshot:
        return cls(
            at=float(data["at"]),
            cluster=str(data["cluster"]),
            backend=str(data["backend"]),
            simulated=bool(data["simulated"]),
            pools=tuple(PoolSample(**p) for p in data["pools"]),
            fullest_nodes=tuple(data.get("fullest_nodes") or ()),
            fullest_blocks=tuple(data.get("fullest_blocks") or ()),
            leaked_total=int(data.get("leaked_total") or 0),
            leaked_by_namespace=tuple((str(n), int(c)) for n, c in data.get("leaked_by_namespace") or ()),
            leaked_by_pool=tuple((str(n), int(c)) for n, c in data.get("leaked_by_pool") or ()),
        )


def snapshot_from(ipam: dict[str, Any], *, at: float, cluster: str, simulated: bool, top: int = 5) -> Snapshot:
    """A snapshot from ipam.usage's JSON data (IpamReport.to_json)."""
    pools = tuple(
        PoolSample(str(p["name"]), str(p["cidr"]), int(p["capacity"]), int(p["allocated"]), bool(p.get("disabled")))
        for p in ipam.get("pools") or []
    )
    nodes = sorted(
        ipam.get("nodes") or [],
        key=lambda n: (-int(n.get("allocated", 0)) / max(1, int(n.get("capacity", 0))), n["node"]),
    )
    by = ipam.get("leaked_by") or {}
    # exact counts when the probe gives them; else from the (capped) list of leaks
    namespaces = Counter(by.get("namespace") or [str(x.get("namespace") or "") for x in ipam.get("leaked") or []])
    pools_leaked = Counter(by.get("pool") or {})
    return Snapshot(
        at=at,
        cluster=cluster,
        backend=str(ipam.get("backend") or ""),
        simulated=simulated,
        pools=pools,
        fullest_nodes=tuple(
            {k: n[k] for k in ("node", "capacity", "allocated", "free") if k in n} for n in nodes[:top]
        ),
        fullest_blocks=tuple((ipam.get("fullest_blocks") or [])[:top]),
        leaked_total=int(ipam.get("leaked_total") or 0),
        leaked_by_namespace=tuple(namespaces.most_common(top)),
        leaked_by_pool=tuple(pools_leaked.most_common()),
    )


def growth_per_day(points: list[tuple[float, int]]) -> float | None:
    """Addresses per day from a least-squares line through (time, allocated); None with fewer than two
    points at distinct times."""
    if len(points) < 2:
        return None
    n = len(points)
    mean_t = sum(t for t, _ in points) / n
    mean_y = sum(y for _, y in points) / n
    spread = sum((t - mean_t) ** 2 for t, _ in points)
    if spread == 0:
        return None
    slope = sum((t - mean_t) * (y - mean_y) for t, y in points) / spread
    return slope * DAY


def exhaustion_at(now: float, allocated: int, capacity: int, per_day: float | None) -> float | None:
    """When the pool is full at this growth (epoch seconds), `now` if it already is, None if it is not
    growing (or there is no growth to go by)."""
    if allocated >= capacity:
        return now
    if per_day is None or per_day <= 0:
        return None
    return now + (capacity - allocated) / per_day * DAY


@dataclass(frozen=True)
class Thresholds:
    warning: float = 0.80
    critical: float = 0.95

    def level(self, utilization: float) -> Level:
        if utilization >= self.critical:
            return "critical"
        if utilization >= self.warning:
            return "warning"
        return "ok"


@dataclass(frozen=True)
class PoolReport:
    pool: PoolSample
    level: Level
    change: int | None  # allocated since the last report; None on the first
    per_day: float | None
    exhausted_at: float | None

    def to_json(self) -> dict[str, Any]:
        return {
            **self.pool.__dict__,
            "free": self.pool.free,
            "utilization": round(self.pool.utilization, 4),
            "level": self.level,
            "change_since_last": self.change,
            "growth_per_day": None if self.per_day is None else round(self.per_day, 2),
            "exhausted_at": self.exhausted_at,
        }


@dataclass(frozen=True)
class IpamReportView:
    snapshot: Snapshot
    pools: tuple[PoolReport, ...]
    history: tuple[Snapshot, ...] = field(default=())
    thresholds: Thresholds = Thresholds()

    @property
    def level(self) -> Level:
        levels = [p.level for p in self.pools if not p.pool.disabled]
        return "critical" if "critical" in levels else "warning" if "warning" in levels else "ok"

    def to_json(self) -> dict[str, Any]:
        return {
            **self.snapshot.to_json(),
            "level": self.level,
            "thresholds": {"warning": self.thresholds.warning, "critical": self.thresholds.critical},
            "pools": [p.to_json() for p in self.pools],
            "history_points": len(self.history),
        }


def build_report(snapshot: Snapshot, history: list[Snapshot], thresholds: Thresholds) -> IpamReportView:
    """`history`: earlier snapshots of the same cluster, oldest first (the current one not included)."""
    reports = []
    for pool in snapshot.pools:
        series = [(s.at, p.allocated) for s in history for p in s.pools if p.name == pool.name]
        series.append((snapshot.at, pool.allocated))
        last = series[-2][1] if len(series) > 1 else None
        per_day = growth_per_day(series)
        reports.append(
            PoolReport(
                pool,
                thresholds.level(pool.utilization),
                None if last is None else pool.allocated - last,
                per_day,
                exhaustion_at(snapshot.at, pool.allocated, pool.capacity, per_day),
            )
        )
    return IpamReportView(snapshot, tuple(reports), tuple(history), thresholds)
