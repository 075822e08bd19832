"""Dates on the account's local calendar (SPEC "Time"): billing dates and day counts."""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo


def local_date(moment: datetime, zone: ZoneInfo) -> date:
    """The calendar date `moment` falls on in `zone`."""
    return moment.astimezone(zone).date()


def start_of_day(day: date, zone: ZoneInfo) -> datetime:
    """The first moment of `day` in `zone`, in UTC. Where a DST jump skips midnight, the
    moment is the jump's (zoneinfo resolves the missing time forward)."""
    local = datetime.combine(day, time.min, tzinfo=zone)
    # Round-trip through UTC so a non-existent local midnight becomes a real instant.
    return local.astimezone(UTC)


def add_months(day: date, months: int, anchor_day: int) -> date:
    """`day` moved by whole months, landing on `anchor_day` or the month's last day."""
    index = day.year * 12 + (day.month - 1) + months
    year, month = divmod(index, 12)
    month += 1
    last = calendar.monthrange(year, month)[1]
    return date(year, month, min(anchor_day, last))


def next_billing_after(day: date, today: date, anchor_day: int) -> date:
    """The first monthly billing date after `day` that is also after `today`: a run that was
    late (or an account reactivated after months) bills once, not once per missed month."""
    months = 1
    nxt = add_months(day, months, anchor_day)
    while nxt <= today:
        months += 1
        nxt = add_months(day, months, anchor_day)
    return nxt


def days_between(start: datetime, end: datetime, zone: ZoneInfo) -> int:
    """Whole calendar days from `start` to `end` on the local calendar: the day of `start`
    is day 0, so "more than 90 days" is reached on day 91."""
    return (local_date(end, zone) - local_date(start, zone)).days
