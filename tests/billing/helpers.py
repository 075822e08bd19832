"""Small helpers for billing tests: local moments, running the billing jobs as of a moment."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from billing.models import EntryKind, LedgerEntry
from tests.jobrun import job


def local(zone: str, *args: int) -> datetime:
    """A moment given on a local wall clock, e.g. local("America/Los_Angeles", 2026, 11, 30,
    17, 30)."""
    return datetime(*args, tzinfo=ZoneInfo(zone))


def run_billing(as_of: datetime) -> dict[str, int]:
    return job("run_billing")(as_of=as_of)


def suspend_unpaid(as_of: datetime) -> dict[str, int]:
    return job("suspend_unpaid")(as_of=as_of)


def cancel_unpaid(as_of: datetime) -> dict[str, int]:
    return job("cancel_unpaid")(as_of=as_of)


def entries(account, kind: str | None = None):
    qs = LedgerEntry.objects.filter(account=account)
    return qs.filter(kind=kind) if kind else qs


def charges(account):
    """Everything that billed a period of the account."""
    return entries(account).filter(
        kind__in=[EntryKind.CHARGE, EntryKind.PAUSE_FEE, EntryKind.PREPAID_CONSUMPTION]
    )
