"""Recognising the unsubscribe lists other providers export.

Real files, as managers bring them: Mailchimp's unsubscribed-members export (the status is
only in the file name; merge fields may repeat column names), Constant Contact's contact export
(a status column says who unsubscribed), SendGrid's suppression download (email,created),
listmonk's subscriber export (status "blocklisted"), a plain one-column list with a header,
and a headerless list. Header names match in any case and spacing.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime


class FileRefused(ValueError):
    """The file as a whole cannot be imported; nothing is written. The message says why."""


@dataclass(frozen=True)
class Layout:
    name: str
    email_index: int
    date_index: int | None = None
    status_index: int | None = None
    # Keeps the rows whose status cell says the address unsubscribed; None keeps every row.
    wanted: Callable[[str], bool] | None = None
    has_header: bool = True


def _key(header: str) -> str:
    return re.sub(r"[\s_\-]+", " ", header.replace("\ufeff", "")).strip().lower()


EMAIL_HEADERS = ("email", "email address", "e mail", "e mail address", "emailaddress", "mail")
GENERIC_DATE_HEADERS = (
    "unsubscribed at",
    "unsubscribed",
    "unsubscribe date",
    "unsub time",
    "date",
    "created",
    "created at",
    "suppressed at",
)


def _first(keys: list[str], candidates: tuple[str, ...]) -> int | None:
    for candidate in candidates:
        if candidate in keys:
            return keys.index(candidate)
    return None


def recognise(header: list[str], file_name: str) -> Layout:
    """The layout of a file from its first row and its name, or FileRefused."""
    keys = [_key(h) for h in header]
    email = _first(keys, EMAIL_HEADERS)
    name = file_name.rsplit("/", 1)[-1].lower()

    if email is None:
        if header and "@" in header[0]:
            return Layout(name="headerless list of addresses", email_index=0, has_header=False)
        shown = ", ".join(repr(h) for h in header[:12]) or "(an empty first line)"
        raise FileRefused(
            f"no address column: expected a column named Email or Email Address, or a list of "
            f"addresses without header; the first line has {shown}"
        )

    if {"leid", "euid"} & set(keys) or "member rating" in keys:
        # Mailchimp: which members the file holds is only said by the file name.
        if "unsubscribed" in name:
            return Layout(
                name="Mailchimp unsubscribed members export",
                email_index=email,
                date_index=_first(keys, ("unsub time",)),
            )
        kind = "cleaned" if "cleaned" in name else "subscribed" if "subscribed" in name else None
        what = f"Mailchimp's {kind}-members export" if kind else "a Mailchimp export"
        raise FileRefused(
            f"this is {what}: only the unsubscribed-members export "
            "(unsubscribed_members_export_….csv, keep its file name) lists unsubscribes"
        )

    status = _first(keys, ("email permission status", "email status"))
    if status is not None:
        return Layout(
            name="Constant Contact contact export",
            email_index=email,
            date_index=_first(
                keys,
                (
                    "confirmed opt out date",
                    "opt out date",
                    "unsubscribed date",
                    "email permission status updated",
                    "updated at",
                ),
            ),
            status_index=status,
            wanted=lambda value: "unsubscribed" in value.lower(),
        )

    if "uuid" in keys and "status" in keys:
        return Layout(
            name="listmonk subscriber export",
            email_index=email,
            date_index=_first(keys, ("updated at", "created at")),
            status_index=keys.index("status"),
            wanted=lambda value: value.strip().lower() == "blocklisted",
        )

    if keys == ["email", "created"] or (
        email == 0 and "created" in keys and set(keys) <= {"email", "created", "reason", "status"}
    ):
        return Layout(
            name="SendGrid suppression download",
            email_index=email,
            date_index=keys.index("created"),
        )

    return Layout(
        name="list of addresses" if len(keys) == 1 else "table with an address column",
        email_index=email,
        date_index=_first(keys, GENERIC_DATE_HEADERS),
    )


_US_FORMATS = (
    "%m/%d/%Y %I:%M %p",
    "%m/%d/%Y %I:%M:%S %p",
    "%m/%d/%Y %H:%M",
    "%m/%d/%Y %H:%M:%S",
    "%m/%d/%Y",
)


def parse_date(value: str) -> datetime | None:
    """A date cell as providers write it (ISO, Unix seconds or milliseconds, US M/D/Y), in UTC
    when it carries no zone; None when unreadable."""
    value = value.strip()
    if not value:
        return None
    if value.isdigit():
        number = int(value)
        if number > 10**11:  # milliseconds
            number //= 1000
        try:
            return datetime.fromtimestamp(number, tz=UTC)
        except (OverflowError, OSError, ValueError):
            return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        moment = None
        for fmt in _US_FORMATS:
            try:
                moment = datetime.strptime(value, fmt)
                break
            except ValueError:
                continue
        if moment is None:
            return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
