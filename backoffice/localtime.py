"""One way to show a moment on an account's clock: the local time with the zone's
abbreviation and its name, e.g. "2026-12-11 23:59 PST (America/Los_Angeles)", so staff in
any country read it without guessing whose midnight it is."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo


def local_moment(value: datetime | None, zone: ZoneInfo) -> str:
    """The moment on the zone's wall clock, with the abbreviation and the zone name."""
    if value is None:
        return "—"
    local = value.astimezone(zone)
    text = f"{local:%Y-%m-%d %H:%M %Z}"
    return text if local.tzname() == zone.key else f"{text} ({zone.key})"


def local_day(value: date | None, zone: ZoneInfo) -> str:
    """A day of the account's calendar, with the zone name that calendar follows."""
    if value is None:
        return "—"
    return f"{value:%Y-%m-%d} ({zone.key})"
