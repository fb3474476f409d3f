"""Crontab lines as apscheduler triggers: crontab's weekday numbering (0 = Sunday), time zones with
daylight saving, one-line errors, and the fire time a late or restarted job belongs to."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.domain.errors import SettingsError
from bot.scheduler.cron import cron_trigger, crontab_weekdays, latest_fire_time, next_fire_times

BERLIN = ZoneInfo("Europe/Berlin")


@pytest.mark.parametrize(
    ("field", "names"),
    [
        ("1-5", "mon,tue,wed,thu,fri"),  # apscheduler 3 alone would read this as Tuesday to Saturday
        ("0", "sun"),
        ("7", "sun"),
        ("0,6", "sun,sat"),
        ("1-7", "sun,mon,tue,wed,thu,fri,sat"),
        ("*/2", "sun,tue,thu,sat"),
        ("mon-fri", "mon,tue,wed,thu,fri"),
        ("SAT,sun", "sun,sat"),
        ("1-5/2", "mon,wed,fri"),
        ("*", "*"),
    ],
)
def test_crontab_weekdays_are_numbered_from_sunday(field: str, names: str) -> None:
    assert crontab_weekdays(field) == names


@pytest.mark.parametrize(
    "expression", ["0 9 * *", "0 9 * * 1-5 x", "61 9 * * *", "0 25 * * *", "0 9 * * 8", "0 9 * * 5-1"]
)
def test_a_bad_schedule_is_one_line_naming_the_setting(expression: str) -> None:
    with pytest.raises(SettingsError) as caught:
        cron_trigger(expression, "UTC")
    message = str(caught.value)
    assert message.startswith("CNIBOT_REPORT_SCHEDULE=") and "\n" not in message


def test_weekdays_at_nine_in_berlin_across_a_weekend_and_the_end_of_summer_time() -> None:
    trigger = cron_trigger("0 9 * * 1-5", "Europe/Berlin")
    friday_ten = datetime(2026, 10, 23, 10, 0, tzinfo=BERLIN)  # summer time ends on Sunday 2026-10-25
    fires = next_fire_times(trigger, friday_ten, 3)
    assert [f.strftime("%a %Y-%m-%d %H:%M") for f in fires] == [
        "Mon 2026-10-26 09:00",
        "Tue 2026-10-27 09:00",
        "Wed 2026-10-28 09:00",
    ]
    assert fires[0].utcoffset() == timedelta(hours=1)  # CET now: 08:00 UTC, not 07:00
    assert datetime(2026, 10, 23, 9, 0, tzinfo=BERLIN).utcoffset() == timedelta(hours=2)


def test_the_fire_time_a_late_job_belongs_to_is_the_last_one_within_the_grace() -> None:
    trigger = cron_trigger("0 9 * * 1-5", "UTC")
    monday = datetime(2026, 12, 7, tzinfo=ZoneInfo("UTC"))
    nine = monday.replace(hour=9)
    assert latest_fire_time(trigger, monday.replace(hour=9, minute=20), within=3600) == nine
    assert latest_fire_time(trigger, nine, within=3600) == nine  # on time
    assert latest_fire_time(trigger, monday.replace(hour=10, minute=1), within=3600) is None  # too late: skipped
    assert latest_fire_time(trigger, monday.replace(hour=8, minute=59), within=3600) is None  # not yet
    saturday = datetime(2026, 12, 12, 9, 30, tzinfo=ZoneInfo("UTC"))
    assert latest_fire_time(trigger, saturday, within=3 * 3600) is None  # no report on weekends
    assert latest_fire_time(trigger, saturday, within=86_400) is None
    # a grace of two days reaches back to Friday 09:00 (one day reaches Friday 09:30: too short)
    assert latest_fire_time(trigger, saturday, within=2 * 86_400) == datetime(2026, 12, 11, 9, tzinfo=ZoneInfo("UTC"))
