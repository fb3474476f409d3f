"""The IPAM report's arithmetic against hand-computed values: growth from a least-squares line, the
exhaustion date, levels, and change since the last report."""

from __future__ import annotations

import pytest

from bot.reporting.ipam import (
    DAY,
    PoolSample,
    Snapshot,
    Thresholds,
    build_report,
    exhaustion_at,
    growth_per_day,
    snapshot_from,
)


def snap(at_days: float, allocated: int, capacity: int = 1024) -> Snapshot:
    return Snapshot(at_days * DAY, "c", "calico", True, (PoolSample("default", "10.0.0.0/22", capacity, allocated),))


def test_linear_growth_gives_its_slope_and_the_day_it_runs_out() -> None:
    # 100 more addresses a day: 524 now, 500 left -> full in 5 days
    history = [snap(0, 124), snap(1, 224), snap(2, 324), snap(3, 424)]
    report = build_report(snap(4, 524), history, Thresholds())
    pool = report.pools[0]
    assert pool.per_day == pytest.approx(100.0)
    assert pool.exhausted_at == pytest.approx(9 * DAY)
    assert pool.change == 100 and pool.level == "ok"


def test_no_growth_shrinking_and_one_point_never_forecast_exhaustion() -> None:
    flat = build_report(snap(2, 500), [snap(0, 500), snap(1, 500)], Thresholds()).pools[0]
    assert flat.per_day == pytest.approx(0.0) and flat.exhausted_at is None
    shrinking = build_report(snap(2, 300), [snap(0, 500), snap(1, 400)], Thresholds()).pools[0]
    assert shrinking.per_day == pytest.approx(-100.0) and shrinking.exhausted_at is None
    first = build_report(snap(0, 900), [], Thresholds()).pools[0]
    assert first.per_day is None and first.change is None and first.exhausted_at is None


def test_least_squares_over_noisy_points() -> None:
    # points (0, 0), (1, 10), (2, 14): slope = sum((t-1)(y-8)) / sum((t-1)^2) = (8 + 6) / 2 = 7
    assert growth_per_day([(0.0, 0), (DAY, 10), (2 * DAY, 14)]) == pytest.approx(7.0)
    assert growth_per_day([(5.0, 1), (5.0, 9)]) is None  # two points at one time say nothing of growth


def test_levels_and_a_full_pool() -> None:
    t = Thresholds(warning=0.8, critical=0.95)
    assert [t.level(u) for u in (0.5, 0.8, 0.949, 0.95, 1.0)] == ["ok", "warning", "warning", "critical", "critical"]
    assert exhaustion_at(10.0, 1024, 1024, None) == 10.0
    report = build_report(snap(1, 1000), [snap(0, 990)], t)
    assert report.level == "critical" and report.to_json()["pools"][0]["utilization"] == pytest.approx(0.9766)


def test_a_snapshot_from_the_probe_data_keeps_what_the_report_needs() -> None:
    data = {
        "backend": "calico",
        "pools": [{"name": "p", "cidr": "10.0.0.0/24", "capacity": 256, "allocated": 200, "disabled": False}],
        "nodes": [
            {"node": "a", "capacity": 64, "allocated": 10, "free": 54},
            {"node": "b", "capacity": 64, "allocated": 64, "free": 0},
        ],
        "fullest_blocks": [{"cidr": "10.0.0.64/26", "node": "b", "capacity": 64, "allocated": 64}],
        "leaked": [{"namespace": "shop"}, {"namespace": "shop"}, {"namespace": "web"}],
        "leaked_total": 3,
    }
    s = snapshot_from(data, at=1.0, cluster="c", simulated=True)
    assert s.fullest_nodes[0]["node"] == "b" and s.leaked_by_namespace == (("shop", 2), ("web", 1))
    assert Snapshot.from_json(s.to_json()) == s
