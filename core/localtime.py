"""The account's local calendar (SPEC "Time"), one implementation for every app: which day a
moment falls on, when a day begins, how many days lie between two moments; and one way to
show a moment on an account's clock: the local time with the zone's abbreviation and its
name, e.g. "2026-12-11 23:59 PST (America/Los_Angeles)", so staff in any country read it
without guessing whose midnight it is."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from django.utils.translation import gettext as _


def local_date(moment: datetime, zone: ZoneInfo) -> date:
    """The calendar date `moment` falls on in `zone`."""
    return moment.astimezone(zone).date()


def local_midnight(day: date, zone: ZoneInfo) -> datetime:
    """The instant `day` begins in `zone` (00:00 there), as an aware local datetime."""
    return datetime.combine(day, time.min, tzinfo=zone)


def start_of_day(day: date, zone: ZoneInfo) -> datetime:
    """The first moment of `day` in `zone`, in UTC. Where a DST jump skips midnight, the
    moment is the jump's (zoneinfo resolves the missing time forward)."""
    # Round-trip through UTC so a non-existent local midnight becomes a real instant.
    return local_midnight(day, zone).astimezone(UTC)


def days_between(start: datetime, end: datetime, zone: ZoneInfo) -> int:
    """Whole calendar days from `start` to `end` on the local calendar: the day of `start`
    is day 0, so "more than 90 days" is reached on day 91."""
    return (local_date(end, zone) - local_date(start, zone)).days


def local_moment(value: datetime | None, zone: ZoneInfo) -> str:
    """The moment on the zone's wall clock, with the abbreviation and the zone name: the one
    format for every moment on an account's calendar, the same in English and German."""
    if value is None:
        return "—"
    local = value.astimezone(zone)
    text = f"{local:%Y-%m-%d %H:%M %Z}"
    return text if local.tzname() == zone.key else f"{text} ({zone.key})"


def cancel_before(cutoff: datetime | None, zone: ZoneInfo) -> str:
    """R3's cut-off, phrased once for every page: a cancellation before the moment the next
    billing date begins on the account's calendar skips that charge. `cutoff` is that
    moment (billing's selector says which); None: no billing date is due."""
    if cutoff is None:
        return _("no billing date due")
    return _("cancel before %(moment)s, when the billing date begins there") % {
        "moment": local_moment(cutoff, zone)
    }


def local_day(value: date | None, zone: ZoneInfo) -> str:
    """A day of the account's calendar, with the zone name that calendar follows."""
    if value is None:
        return "—"
    return f"{value:%Y-%m-%d} ({zone.key})"
