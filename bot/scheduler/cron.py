"""Crontab lines as apscheduler triggers, and the fire time a late or restarted job belongs to."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger

from bot.domain.errors import SettingsError

# crontab numbers weekdays from Sunday (0 and 7); apscheduler 3 from Monday (its docs call it "a historical
# mistake", fixed only in 4.x). "1-5" must mean Monday to Friday, so weekdays are handed over as names.
_CRON_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
_BY_NAME = {name: i for i, name in enumerate(_CRON_DAYS)}


def _day_number(token: str, expression: str) -> int:
    token = token.strip().lower()
    if token in _BY_NAME:
        return _BY_NAME[token]
    if token.isdigit() and 0 <= int(token) <= 7:
        return int(token) % 7
    raise SettingsError(f"CNIBOT_REPORT_SCHEDULE={expression!r}: {token!r} is not a weekday (0-7 or sun-sat)")


def crontab_weekdays(field: str, expression: str = "") -> str:
    """A crontab day-of-week field as apscheduler weekday names ("1-5" -> "mon,tue,wed,thu,fri")."""
    if field == "*":
        return "*"
    days: set[int] = set()
    for item in field.split(","):
        span, _, step_text = item.partition("/")
        step = 1
        if step_text:
            if not step_text.isdigit() or int(step_text) == 0:
                raise SettingsError(f"CNIBOT_REPORT_SCHEDULE={expression!r}: bad step {item!r} in the weekday field")
            step = int(step_text)
        if span == "*":
            low, high = 0, 6
        elif "-" in span:
            first, _, last = span.partition("-")
            low, high = _day_number(first, expression), _day_number(last, expression)
            if last.strip() == "7":
                high = 7  # "1-7": Monday through Sunday
            if high < low:
                raise SettingsError(f"CNIBOT_REPORT_SCHEDULE={expression!r}: weekday range {span!r} runs backwards")
        else:
            low = high = _day_number(span, expression)
        days.update(d % 7 for d in range(low, high + 1, step))
    return ",".join(_CRON_DAYS[d] for d in sorted(days))


def cron_trigger(expression: str, timezone: str) -> CronTrigger:
    """A crontab line (minute hour day-of-month month day-of-week) in a time zone; one-line error if not."""
    fields = expression.split()
    if len(fields) != 5:
        raise SettingsError(
            f"CNIBOT_REPORT_SCHEDULE={expression!r}: a crontab line has 5 fields "
            "(minute hour day-of-month month day-of-week), e.g. '0 9 * * 1-5'"
        )
    minute, hour, day, month, weekday = fields
    try:
        return CronTrigger(
            minute=minute,
            hour=hour,
            day=day,
            month=month,
            day_of_week=crontab_weekdays(weekday, expression),
            timezone=ZoneInfo(timezone),
        )
    except ValueError as exc:
        raise SettingsError(f"CNIBOT_REPORT_SCHEDULE={expression!r}: {exc}") from None


def next_fire_times(trigger: CronTrigger, after: datetime, count: int) -> list[datetime]:
    """The next `count` fire times after `after` (for `cnibot report schedule` and the tests)."""
    out: list[datetime] = []
    fire = trigger.get_next_fire_time(None, after)
    while fire is not None and len(out) < count:
        out.append(fire)
        fire = trigger.get_next_fire_time(fire, fire + timedelta(seconds=1))
    return out


def latest_fire_time(trigger: CronTrigger, now: datetime, *, within: float) -> datetime | None:
    """The last time the schedule fired at or before `now`, when that is at most `within` seconds ago:
    the report a late job (or a replica that just started or took over) is due to post."""
    last = None
    fire = trigger.get_next_fire_time(None, now - timedelta(seconds=within))
    while fire is not None and fire <= now:
        last = fire
        fire = trigger.get_next_fire_time(fire, fire + timedelta(seconds=1))
    return last
