"""The report schedule with apscheduler running for real and a fake clock for the schedule: catch-up
after a restart within the grace time, nothing twice, and leader election between two instances
against the simulated apiserver (real kubernetes client): exactly one posts, the other takes over."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.cluster.lease import open_elector
from bot.config import ClusterSettings
from bot.scheduler.runner import REPORT_JOB, ReportScheduler
from bot.sim.scenarios import build_scenario
from bot.sim.server import SimCluster
from bot.store.db import Store

MONDAY = datetime(2026, 12, 7, tzinfo=UTC)


def wait_until(condition: Callable[[], bool], seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


class Posts:
    """A report function as the service has it: claim the fire time in the store, then post."""

    def __init__(self, store: Store, who: str = "") -> None:
        self.store, self.who = store, who
        self.posted: list[tuple[str, datetime]] = []
        self.attempts: list[datetime] = []
        self.lock = threading.Lock()

    def __call__(self, due: datetime) -> None:
        self.attempts.append(due)
        if self.store.claim_run(f"prod|ipam-report|{due.isoformat()}", cluster="prod", kind="ipam-report"):
            with self.lock:
                self.posted.append((self.who, due))


@pytest.fixture
def schedulers() -> Iterator[list[ReportScheduler]]:
    started: list[ReportScheduler] = []
    yield started
    for s in started:
        if s.scheduler.running:
            s.stop(release=False)


def start(
    started: list[ReportScheduler], clock: list[float], report: Callable[[datetime], None], **kw
) -> ReportScheduler:
    s = ReportScheduler(
        report=report, schedule="0 9 * * 1-5", timezone="UTC", grace_seconds=3600, clock=lambda: clock[0], **kw
    )
    started.append(s.start())
    return s


def test_a_restart_within_the_grace_posts_the_missed_report_once(tmp_path: Path, schedulers) -> None:
    posts = Posts(Store(tmp_path / "cnibot.db"))
    clock = [MONDAY.replace(hour=9, minute=20).timestamp()]  # down at 09:00, up again at 09:20
    first = start(schedulers, clock, posts)
    assert wait_until(lambda: len(posts.posted) == 1)
    assert posts.posted == [("", MONDAY.replace(hour=9))]
    first.stop()
    clock[0] = MONDAY.replace(hour=9, minute=30).timestamp()  # and restarted again ten minutes later
    start(schedulers, clock, Posts(posts.store))
    time.sleep(1.0)
    assert (
        len(
            Store(tmp_path / "cnibot.db")
            .db.table("report_runs")
            .rows_where("status = 'claimed'")
            .__iter__()
            .__class__.__name__
        )
        > 0
    )
    assert not posts.store.claim_run(
        f"prod|ipam-report|{MONDAY.replace(hour=9).isoformat()}", cluster="prod", kind="ipam-report"
    )


def test_a_start_later_than_the_grace_skips_that_report_and_waits_for_the_next(tmp_path: Path, schedulers) -> None:
    posts = Posts(Store(tmp_path / "cnibot.db"))
    clock = [MONDAY.replace(hour=10, minute=30).timestamp()]
    s = start(schedulers, clock, posts)
    time.sleep(1.0)
    assert posts.attempts == []  # 09:00 is 90 minutes ago: more than the grace, so skipped
    assert "next at " in s.describe()  # the real clock decides apscheduler's next run


def test_the_cron_job_reports_for_the_fire_time_it_belongs_to(tmp_path: Path, schedulers) -> None:
    posts = Posts(Store(tmp_path / "cnibot.db"))
    clock = [MONDAY.replace(hour=8, minute=59).timestamp()]  # before nine: nothing to catch up
    s = start(schedulers, clock, posts)
    time.sleep(0.5)
    assert posts.posted == []
    clock[0] = MONDAY.replace(hour=9, minute=0, second=40).timestamp()  # apscheduler fires a little late
    s.scheduler.modify_job(REPORT_JOB, next_run_time=datetime.now(UTC))  # make it fire now
    assert wait_until(lambda: len(posts.posted) == 1)
    assert posts.posted == [("", MONDAY.replace(hour=9))]
    s.fire_scheduled()  # the same fire time again (a double fire): the claim refuses it
    assert len(posts.posted) == 1


def test_of_two_instances_exactly_one_posts_and_the_other_takes_over_when_it_stops_renewing(
    tmp_path: Path, schedulers
) -> None:
    clock = [MONDAY.replace(hour=9, minute=10).timestamp()]  # both start after the 09:00 report
    store = Store(tmp_path / "cnibot.db")
    with SimCluster(build_scenario("healthy")) as sim:
        settings = ClusterSettings(kubeconfig=str(sim.write_kubeconfig(tmp_path / "kc")), home=tmp_path)
        posts = {who: Posts(store, who) for who in ("pod-a", "pod-b")}
        instances = {}
        for who in ("pod-a", "pod-b"):
            elector = open_elector(settings, namespace="cnibot", name="cnibot-leader", identity=who, duration_seconds=2)
            instances[who] = start(
                schedulers, clock, posts[who], lead=elector.try_lead, release=elector.release, renew_seconds=0.3
            )
        assert wait_until(lambda: sum(len(p.posted) for p in posts.values()) == 1)
        time.sleep(1.0)  # several renewals later: still exactly one leader and one post
        leaders = [who for who, s in instances.items() if s.leading]
        assert len(leaders) == 1
        leader, follower = leaders[0], next(w for w in instances if w != leaders[0])
        assert posts[leader].posted == [(leader, MONDAY.replace(hour=9))]
        assert posts[follower].attempts == []  # a follower runs no report at all, not even one the store refuses

        instances[leader].stop(release=False)  # the leader's process dies: no more renewals, no release
        assert wait_until(lambda: instances[follower].leading, seconds=6)  # after the 2 s lease ran out
        time.sleep(0.5)
        assert posts[follower].attempts == [MONDAY.replace(hour=9)]  # on taking over it caught up ...
        assert posts[follower].posted == []  # ... and found the 09:00 report posted already

        clock[0] = (MONDAY.replace(hour=9).timestamp()) + 86_400 + 5  # Tuesday 09:00:05
        for s in instances.values():
            s.fire_scheduled()
        assert posts[follower].posted == [(follower, MONDAY.replace(day=8, hour=9))]
        assert len(posts[leader].posted) == 1
        writes = [r for r in sim.requests if "/leases" in r.path and r.method != "GET"]
        assert writes and all(r.status in (200, 201, 409) for r in writes)


def test_a_clean_stop_releases_the_lease_so_the_other_takes_over_at_once(tmp_path: Path, schedulers) -> None:
    clock = [MONDAY.replace(hour=8).timestamp()]
    store = Store(tmp_path / "cnibot.db")
    with SimCluster(build_scenario("healthy")) as sim:
        settings = ClusterSettings(kubeconfig=str(sim.write_kubeconfig(tmp_path / "kc")), home=tmp_path)
        a_elector, b_elector = (
            open_elector(settings, namespace="cnibot", name="cnibot-leader", identity=w, duration_seconds=60)
            for w in ("pod-a", "pod-b")
        )
        a = start(
            schedulers, clock, Posts(store), lead=a_elector.try_lead, release=a_elector.release, renew_seconds=0.3
        )
        assert wait_until(lambda: a.leading)
        b = start(
            schedulers, clock, Posts(store), lead=b_elector.try_lead, release=b_elector.release, renew_seconds=0.3
        )
        time.sleep(0.7)
        assert not b.leading
        a.stop()  # SIGTERM: the Lease is given up instead of running out in 60 s
        assert wait_until(lambda: b.leading, seconds=3)


@pytest.mark.parametrize(
    ("leader_dies_at", "follower_posts"),
    [
        (MONDAY.replace(hour=9, minute=2), False),  # it was alive two minutes after 09:00: its report
        (MONDAY.replace(hour=8, minute=59, second=30), True),  # it died before 09:00: nobody posted it
    ],
)
def test_with_a_store_each_the_new_leader_posts_only_what_the_old_one_could_not(
    tmp_path: Path, schedulers, leader_dies_at: datetime, follower_posts: bool
) -> None:
    clock = [MONDAY.replace(hour=8, minute=59).timestamp()]
    with SimCluster(build_scenario("healthy")) as sim:
        settings = ClusterSettings(kubeconfig=str(sim.write_kubeconfig(tmp_path / "kc")), home=tmp_path)
        posts, instances = {}, {}
        for who in ("pod-a", "pod-b"):
            posts[who] = Posts(Store(tmp_path / f"{who}.db"), who)  # a StatefulSet: one volume each
            # a lease far longer than the fake clock's jumps below, so only the leader's death ends it
            elector = open_elector(
                settings, namespace="cnibot", name="cnibot-leader", identity=who, duration_seconds=600
            )
            elector.clock = lambda: clock[0]
            instances[who] = start(
                schedulers,
                clock,
                posts[who],
                lead=elector.try_lead,
                release=elector.release,
                previous_renewal=elector.previous_renewal,
                renew_seconds=0.2,
            )
        assert wait_until(lambda: sum(s.leading for s in instances.values()) == 1)
        leader = next(w for w, s in instances.items() if s.leading)
        follower = next(w for w in instances if w != leader)
        if leader_dies_at > MONDAY.replace(hour=9):
            clock[0] = MONDAY.replace(hour=9).timestamp()
            instances[leader].fire_scheduled()
            assert posts[leader].posted == [(leader, MONDAY.replace(hour=9))]
        clock[0] = leader_dies_at.timestamp()
        time.sleep(0.6)  # a few renewals at that time
        instances[leader].stop(release=False)
        clock[0] = leader_dies_at.timestamp() + 601  # the lease ran out; still within the hour of grace
        assert wait_until(lambda: instances[follower].leading, seconds=5)
        time.sleep(0.5)
        expected = [(follower, MONDAY.replace(hour=9))] if follower_posts else []
        assert posts[follower].posted == expected
