"""Compliance services: recording suppressions (R9)."""

from __future__ import annotations

from datetime import datetime

from accounts.models import Account
from backoffice.actors import Actor
from compliance.models import Suppression


class InvalidAddress(ValueError):
    """Not an email address; the message says why."""


def normalise_address(address: str) -> str:
    """The match key: trimmed, lower-cased, domain in IDNA form; dots and +tags kept."""
    value = address.strip()
    local, at, domain = value.rpartition("@")
    if not at or not local or not domain:
        raise InvalidAddress(f"{address!r} is not an email address")
    try:
        ascii_domain = domain.encode("idna").decode("ascii")
    except UnicodeError as exc:
        raise InvalidAddress(f"{address!r} has an invalid domain") from exc
    return f"{local}@{ascii_domain}".lower()


def suppression_record(
    *, account: Account, address: str, source: str, at: datetime, by: Actor, evidence: str = ""
) -> Suppression:
    """Record that `address` unsubscribed from `account` (R9). Recorded whatever the account's
    state, also after it closed or was purged."""
    return Suppression.objects.create(
        account=account,
        address=address,
        normalised=normalise_address(address),
        source=source,
        at=at,
        evidence=evidence,
        **by.as_fields(),
    )
