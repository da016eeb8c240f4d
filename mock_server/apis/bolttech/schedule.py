"""Calendar arithmetic of a strategy's schedule: when an instance's events fall due.

Pure functions over timezone-aware datetimes. Month and year steps keep the instance's
``executionDay`` (clamped to short months, so Jan 31 -> Feb 28 -> Mar 31); day steps move the
wall clock of the strategy's timezone; hour and minute steps move absolute time.
"""

from __future__ import annotations

import calendar
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

UNITS = ("years", "months", "days", "hours", "minutes")
RESET_FIELDS = ("month", "day", "hour", "minute")


class ScheduleError(ValueError):
    """A date the calendar cannot represent (past year 9999): the caller's CREATE_CYCLE_ERROR."""


def zone(name: str | None) -> tzinfo:
    """The strategy's ``config.timezone``; UTC when absent or unknown."""
    if not name:
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


def days_in_month(year: int, month: int) -> int:
    return calendar.monthrange(year, month)[1]


def _set_day(dt: datetime, day: int) -> datetime:
    return dt.replace(day=min(day, days_in_month(dt.year, dt.month)))


def _add_months(dt: datetime, months: int, day: int) -> datetime:
    year, month0 = divmod(dt.month - 1 + months, 12)
    year += dt.year
    if not 1 <= year <= 9999:
        raise ScheduleError(f"year {year} is out of range")
    return dt.replace(year=year, month=month0 + 1, day=min(day, days_in_month(year, month0 + 1)))


def reset(dt: datetime, reset_to: Mapping[str, Any] | None) -> datetime:
    """Apply ``resetTo {month, day, hour, minute}``: set the given fields and zero the finer ones.

    ``hour: 24`` is midnight of the next day (JavaScript ``setHours(24)``). Days past the month's
    end clamp to its last day.
    """
    if not reset_to:
        return dt
    given = [f for f in RESET_FIELDS if reset_to.get(f) is not None]
    if not given:
        return dt
    if "month" in given:
        month = int(reset_to["month"])
        dt = dt.replace(month=month, day=min(dt.day, days_in_month(dt.year, month)))
    if "day" in given:
        dt = _set_day(dt, int(reset_to["day"]))
    finest = given[-1]
    zeroed = {"second": 0, "microsecond": 0}
    if finest in ("month", "day"):
        zeroed |= {"hour": 0, "minute": 0}
    elif finest == "hour":
        zeroed["minute"] = 0
    dt = dt.replace(**zeroed)
    if "hour" in given:
        hour = int(reset_to["hour"])
        dt = dt.replace(hour=0) + timedelta(days=1) if hour >= 24 else dt.replace(hour=hour)
    if "minute" in given:
        dt = dt.replace(minute=int(reset_to["minute"]))
    return dt


def add_delay(
    base: datetime,
    delay: Mapping[str, Any] | None,
    *,
    tz: tzinfo = UTC,
    execution_day: int | None = None,
    default_reset: Mapping[str, Any] | None = None,
    sign: int = 1,
) -> datetime:
    """``base`` moved by a ``{unit, amount, resetTo}`` delay (``sign=-1``: before ``base``).

    Years and months take the whole part of ``amount`` (as JavaScript's ``setMonth`` does) and land
    on ``execution_day`` (default: ``base``'s day); days, hours and minutes may be fractional.
    The delay's own ``resetTo`` wins over ``default_reset`` (the schedule-level one).
    """
    local = base.astimezone(tz)
    if delay:
        unit, amount = delay.get("unit"), float(delay.get("amount", 0)) * sign
        try:
            if unit in ("years", "months"):
                months = int(amount) * (12 if unit == "years" else 1)
                local = _add_months(local, months, execution_day or local.day)
            elif unit == "days":
                wall = local.replace(tzinfo=None) + timedelta(days=amount)
                local = wall.replace(tzinfo=tz)
            elif unit in ("hours", "minutes"):
                local = (local.astimezone(UTC) + timedelta(**{unit: amount})).astimezone(tz)
        except OverflowError as exc:
            raise ScheduleError(str(exc)) from exc
    reset_to = (delay or {}).get("resetTo") or default_reset
    try:
        local = reset(local, reset_to)
        return local.astimezone(UTC)
    except (OverflowError, ValueError) as exc:
        raise ScheduleError(str(exc)) from exc


def duration(delay: Mapping[str, Any] | None, *, at: float, tz: tzinfo = UTC) -> float:
    """How many seconds ``delay`` lasts when counted from unix time ``at`` (0 when absent or when
    the date cannot be represented)."""
    if not delay:
        return 0.0
    try:
        return max(0.0, add_delay(moment(at), delay, tz=tz).timestamp() - at)
    except ScheduleError:
        return 0.0


def first_main_date(
    start: datetime, schedule: Mapping[str, Any], attributes: Mapping[str, Any] | None = None, *, tz: tzinfo = UTC
) -> datetime:
    """Cycle 1's main event: ``startDate`` (or the attribute named by ``initialDelay.from``) +
    ``initialDelay``, then the schedule's ``resetTo``."""
    delay = schedule.get("initialDelay")
    base = _from_attribute(start, delay, attributes)
    return add_delay(base, delay, tz=tz, default_reset=schedule.get("resetTo"))


def delayed(start: datetime, delay: Mapping[str, Any] | None, *, tz: tzinfo = UTC) -> datetime:
    """An on-create (or on-cancel) event's date: ``start`` + ``delayBy`` (``start`` when absent)."""
    return add_delay(start, delay, tz=tz) if delay else start


def execution_day(date: datetime, tz: tzinfo = UTC) -> int:
    """The day of the month the instance runs on (an integer), in the strategy's timezone."""
    return date.astimezone(tz).day


def calendar_for_cycle(calendars: Sequence[Mapping[str, Any]], cycle: int) -> Mapping[str, Any] | None:
    """The calendar that drives ``cycle``: the first whose ``runOnCycle`` is that cycle, else the
    first without ``runOnCycle``; None when no calendar runs on it (the instance has no more cycles)."""
    for cal in calendars:
        if cal.get("runOnCycle") is not None and int(cal["runOnCycle"]) == cycle:
            return cal
    return next((cal for cal in calendars if cal.get("runOnCycle") is None), None)


def next_main_date(
    previous: datetime,
    cal: Mapping[str, Any],
    *,
    execution_day: int,
    schedule: Mapping[str, Any] | None = None,
    attributes: Mapping[str, Any] | None = None,
    tz: tzinfo = UTC,
) -> datetime:
    """The next cycle's main event: the previous cycle's date + the calendar's ``scheduleAfter``."""
    delay = cal.get("scheduleAfter")
    base = _from_attribute(previous, delay, attributes)
    return add_delay(
        base, delay, tz=tz, execution_day=execution_day, default_reset=(schedule or {}).get("resetTo")
    )


def zone_exists(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def iso(t: float) -> str:
    """Unix seconds as JavaScript's ``toISOString()``: UTC, milliseconds, ``Z``."""
    ms = round(t * 1000)
    dt = datetime.fromtimestamp(ms // 1000, UTC)
    return f"{dt.year:04d}-{dt:%m-%dT%H:%M:%S}.{ms % 1000:03d}Z"   # %Y does not pad years < 1000


def moment(t: float) -> datetime:
    """Unix seconds as an aware UTC datetime."""
    return datetime.fromtimestamp(t, UTC)


def parse_date(text: str) -> datetime:
    """An ISO 8601 date-time (``Z`` or an offset; naive means UTC) as an aware datetime."""
    dt = datetime.fromisoformat(text.replace("Z", "+00:00") if text.endswith(("Z", "z")) else text)
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def _from_attribute(base: datetime, delay: Mapping[str, Any] | None, attributes: Mapping[str, Any] | None) -> datetime:
    # ``from`` names an instance attribute holding the date to count from; unusable values are ignored.
    name = (delay or {}).get("from")
    value = (attributes or {}).get(name) if name else None
    if isinstance(value, str):
        try:
            return parse_date(value)
        except ValueError:
            return base
    return base
