"""The report schedule inside `cnibot serve`: apscheduler's BackgroundScheduler, run only while this
replica leads.

A restart neither skips nor repeats a report. The scheduler keeps no job state of its own: when this
replica starts (or takes the Lease over) it posts the last scheduled report if that fired within the
grace time, and the report itself claims its fire time in the store, so a report already posted (by this
replica before a restart, or by a replica sharing the store) is not posted again."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger

from bot.scheduler.cron import cron_trigger, latest_fire_time

log = logging.getLogger(__name__)
REPORT_JOB = "ipam-report"
ALERT_JOB = "ipam-alerts"
RENEW_JOB = "lease-renew"
# a leader alive this long after a fire time had the time to post its report (probe, chart, two API calls)
HANDOVER_MARGIN_SECONDS = 60.0


class ReportScheduler:
    def __init__(
        self,
        *,
        report: Callable[[datetime], object],
        schedule: str,
        timezone: str,
        grace_seconds: float,
        alerts: Callable[[], object] | None = None,
        alert_interval: float = 0.0,
        lead: Callable[[], bool] | None = None,
        release: Callable[[], None] | None = None,
        previous_renewal: Callable[[], float | None] | None = None,
        renew_seconds: float = 5.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """`report(fire_time)` posts the report due at that time; `alerts()` runs one alert check;
        `lead()` is one round of leader election (None: a single replica, always leading), `release()`
        gives the lead up on a clean stop, and `previous_renewal()` says when the replica this one took
        over from was last alive (its reports are not repeated: replicas may not share a store)."""
        self.trigger = cron_trigger(schedule, timezone)  # a bad schedule fails at start, in one line
        self.zone = ZoneInfo(timezone)
        self.grace = grace_seconds
        self._report = report
        self._alerts = alerts
        self._alert_interval = alert_interval
        self._lead = lead
        self._release = release
        self._previous_renewal = previous_renewal
        self._renew_seconds = renew_seconds
        self.clock = clock
        self.leading = False
        self._lock = threading.Lock()
        self.scheduler = BackgroundScheduler(timezone=self.zone, job_defaults={"max_instances": 1, "coalesce": True})

    def now(self) -> datetime:
        """The schedule's idea of now (a fake clock in tests): which fire time is due."""
        return datetime.fromtimestamp(self.clock(), self.zone)

    def _at_once(self) -> datetime:
        """apscheduler's own timing runs on the real clock: "run this job now"."""
        return datetime.now(self.zone)

    def start(self) -> ReportScheduler:
        self.scheduler.start()
        if self._lead is None:
            self._became_leader()
        else:
            self.scheduler.add_job(
                self.renew, IntervalTrigger(seconds=self._renew_seconds), id=RENEW_JOB, next_run_time=self._at_once()
            )
        return self

    def stop(self, *, release: bool = True) -> None:
        """Stop the jobs (waiting for a running report) and give the Lease up; `release=False` is what a
        killed process leaves behind (the tests use it)."""
        self.scheduler.shutdown(wait=True)
        if release and self.leading and self._release is not None:
            self._release()
        self.leading = False

    def renew(self) -> None:
        """One round of leader election; start or stop the report jobs when leadership changes."""
        assert self._lead is not None
        leading = self._lead()
        with self._lock:
            if leading and not self.leading:
                self._became_leader()
            elif not leading and self.leading:
                self._became_follower()

    def _became_leader(self) -> None:
        self.leading = True
        log.info("report schedule: %s (%s)", self.describe(), self.zone)
        self.scheduler.add_job(
            self.fire_scheduled, self.trigger, id=REPORT_JOB, misfire_grace_time=int(self.grace), replace_existing=True
        )
        if self._alerts is not None and self._alert_interval > 0:
            self.scheduler.add_job(
                self.check_alerts,
                IntervalTrigger(seconds=self._alert_interval),
                id=ALERT_JOB,
                next_run_time=self._at_once(),
                replace_existing=True,
            )
        due = latest_fire_time(self.trigger, self.now(), within=self.grace)
        alive = self._previous_renewal() if self._previous_renewal is not None else None
        if due is not None and alive is not None and alive >= due.timestamp() + HANDOVER_MARGIN_SECONDS:
            log.info("the previous leader was alive after %s: that report was its to post", due.isoformat())
            due = None
        if due is not None:
            # the report that fired while this replica was down or following: posted unless it was already
            self.scheduler.add_job(self.fire, args=[due], id=f"{REPORT_JOB}-catch-up", next_run_time=self._at_once())

    def _became_follower(self) -> None:
        self.leading = False
        for job_id in (REPORT_JOB, ALERT_JOB, f"{REPORT_JOB}-catch-up"):
            if self.scheduler.get_job(job_id) is not None:
                self.scheduler.remove_job(job_id)

    def fire_scheduled(self) -> None:
        """The cron job: the fire time it runs for is the last one at or before now (it may run late)."""
        self.fire(latest_fire_time(self.trigger, self.now(), within=self.grace) or self.now())

    def fire(self, due: datetime) -> None:
        if not self.leading:
            return
        try:
            self._report(due)
        except Exception:  # a job must never kill the scheduler thread; the report logs its own failures
            log.exception("the IPAM report due at %s failed", due.isoformat())

    def check_alerts(self) -> None:
        if not self.leading or self._alerts is None:
            return
        try:
            self._alerts()
        except Exception:
            log.exception("the IPAM alert check failed")

    def describe(self) -> str:
        job = self.scheduler.get_job(REPORT_JOB)
        upcoming = job.next_run_time if job is not None else self.trigger.get_next_fire_time(None, self.now())
        return f"IPAM report on '{self.trigger}', next at {upcoming:%Y-%m-%d %H:%M %Z}" if upcoming else "never"
