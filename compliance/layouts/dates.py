"""Dates in every form the providers write them, read to an aware UTC moment or None.

- ISO 8601 with or without an offset (`2024-05-06T18:11:58Z`, `2023-02-21T20:07:38+00:00`,
  PostgreSQL's `2022-04-01 10:00:00.000000+00`); without a zone it is taken as UTC;
- Go's `time.Time.String()`, which listmonk writes: `2024-02-29 17:45:12.000001 +0000 +0000`
  (offset, then the zone's name, sometimes a monotonic clock reading `m=+0.0012`);
- RFC 2822, which Mailgun writes: `Mon, 06 May 2024 18:11:58 UTC`;
- Unix epoch seconds, with a fraction (`1586552585.077`, the AWS CLI) or as milliseconds;
- US month/day/year with an optional 12-hour time (Constant Contact: `10/03/2023 2:15 PM`).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

_EPOCH = re.compile(r"\d{9,13}(?:\.\d+)?\Z")
_GO = re.compile(
    r"(?P<date>\d{4}-\d{2}-\d{2}) (?P<time>\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?) "
    r"(?P<sign>[+-])(?P<hh>\d{2})(?P<mm>\d{2})(?: [A-Za-z0-9+-]{1,8})?(?: m=[+-]?[\d.]+)?\Z"
)
_RFC2822 = re.compile(r"(?:[A-Za-z]{3}, ?)?\d{1,2} [A-Za-z]{3} \d{4} \d{1,2}:\d{2}")
_US_FORMATS = (
    "%m/%d/%Y %I:%M %p",
    "%m/%d/%Y %I:%M:%S %p",
    "%m/%d/%Y %H:%M",
    "%m/%d/%Y %H:%M:%S",
    "%m/%d/%Y",
)
# Earlier than any provider's records; a cell this old was not meant as a date.
_EARLIEST = datetime(1990, 1, 1, tzinfo=UTC)


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is UTC:
        return moment
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


def _epoch(value: str) -> float | None:
    """Unix seconds of a cell of 9 to 13 digits (milliseconds past 10**11): the form most
    lists hold, read without a regex; None for any other cell."""
    if value.isdigit() and 9 <= len(value) <= 13:
        number = int(value)
        return number / 1000 if number > 10**11 else number
    return None


def _parse(value: str) -> datetime | None:
    seconds = _epoch(value)
    if seconds is not None:
        return datetime.fromtimestamp(seconds, tz=UTC)
    if _EPOCH.match(value):
        number = float(value)
        if number > 10**11:  # milliseconds
            number /= 1000
        return datetime.fromtimestamp(number, tz=UTC)
    go = _GO.match(value)
    if go:
        return datetime.fromisoformat(f"{go['date']}T{go['time']}{go['sign']}{go['hh']}:{go['mm']}")
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        pass
    if _RFC2822.match(value):
        try:
            return parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
    for fmt in _US_FORMATS:
        try:
            return datetime.strptime(value, fmt)
        except ValueError:
            continue
    return None


def parse_date(value: str) -> datetime | None:
    """The moment a date cell means, in UTC; None when the cell is empty or cannot be read."""
    value = value.strip()
    if not value:
        return None
    try:
        moment = _parse(value)
    except (OverflowError, OSError, ValueError):
        return None
    if moment is None:
        return None
    moment = _utc(moment)
    return moment if moment >= _EARLIEST else None


_EARLIEST_SECONDS = _EARLIEST.timestamp()


def parse_seconds(value: str) -> float | None:
    """``parse_date`` as Unix seconds, for the import, which stages seconds: the epoch cells
    most lists hold are read without building a datetime (a third of the reading's time)."""
    seconds = _epoch(value)
    if seconds is not None:
        return seconds if seconds >= _EARLIEST_SECONDS else None
    moment = parse_date(value)
    return None if moment is None else moment.timestamp()
