"""Reads of the compliance app: suppression state from history, accounts due for purge."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.db.models import Q, QuerySet

from accounts.models import INACTIVE_STATUSES, Account
from accounts.selectors import local_midnight
from compliance import conf
from compliance.addresses import normalise_address
from compliance.models import OptIn, Suppression, SuppressionImport


def is_suppressed(account: Account, address: str, *, at: datetime) -> bool:
    """Whether `address` was suppressed for `account` at the moment `at`, from the history:
    the latest suppression event at or before `at` is later than every opt-in up to `at`
    (an opt-in lifts the events up to and including its own instant, R9)."""
    key = normalise_address(address)
    last_suppression = (
        Suppression.objects.filter(account=account, normalised=key, at__lte=at)
        .order_by("-at")
        .values_list("at", flat=True)
        .first()
    )
    if last_suppression is None:
        return False
    last_optin = (
        OptIn.objects.filter(account=account, normalised=key, at__lte=at)
        .order_by("-at")
        .values_list("at", flat=True)
        .first()
    )
    return last_optin is None or last_suppression > last_optin


def suppression_current(account: Account, address: str, *, at: datetime) -> Suppression | None:
    """The event that started the suppression in force at `at` (the earliest one after the last
    opt-in), or None when the address is not suppressed then."""
    key = normalise_address(address)
    last_optin = (
        OptIn.objects.filter(account=account, normalised=key, at__lte=at)
        .order_by("-at")
        .values_list("at", flat=True)
        .first()
    )
    events = Suppression.objects.filter(account=account, normalised=key, at__lte=at)
    if last_optin is not None:
        events = events.filter(at__gt=last_optin)
    return events.order_by("at", "id").first()


def purge_day(account: Account) -> date | None:
    """The first day (on the account's calendar) on which the account may be purged: day
    RETENTION_DAYS + 1 of inactivity (R7, SPEC "Time": more than 120 days is day 121)."""
    if account.inactive_since is None:
        return None
    start = account.inactive_since.astimezone(account.zone).date()
    return start + timedelta(days=conf.retention_days() + 1)


def account_is_due_for_purge(account: Account, *, as_of: datetime) -> bool:
    """The same question as accounts_due_for_purge, for one account already loaded."""
    day = purge_day(account)
    return (
        account.status in INACTIVE_STATUSES
        and not account.legal_hold
        and day is not None
        and as_of.astimezone(account.zone).date() >= day
    )


def accounts_due_for_purge(*, as_of: datetime) -> QuerySet[Account]:
    """Cancelled or expired accounts in (or past) their purge day as of `as_of`, on each
    account's own calendar, without a legal hold (R7). A reactivated account is active, so it
    is never among them; cancelled again later, its clock starts again."""
    return accounts_past_retention(as_of=as_of, legal_hold=False)


def accounts_past_retention(*, as_of: datetime, legal_hold: bool) -> QuerySet[Account]:
    """Cancelled or expired accounts in (or past) their purge day as of `as_of`, on each
    account's own calendar, with or without a legal hold (held: what the hold keeps, R7)."""
    days = conf.retention_days()
    base = Account.objects.filter(
        status__in=INACTIVE_STATUSES,
        legal_hold=legal_hold,
        inactive_since__isnull=False,
        # Broad cut first (local days differ from UTC days by less than one day), then the
        # exact per-zone cut below.
        inactive_since__lt=as_of - timedelta(days=days - 1),
    )
    # order_by(): the model's ordering would make DISTINCT run over (zone, username).
    zones = sorted(base.order_by().values_list("time_zone", flat=True).distinct())
    if not zones:
        return base.none()
    due = Q()
    for zone_name in zones:
        zone = ZoneInfo(zone_name)
        local_today = as_of.astimezone(zone).date()
        # Purged on day N+1: inactive before the start of the local day N days ago.
        cutoff = local_midnight(day=local_today - timedelta(days=days), zone=zone)
        due |= Q(time_zone=zone_name, inactive_since__lt=cutoff)
    return base.filter(due)


def suppression_imports_running() -> QuerySet[SuppressionImport]:
    """Unsubscribe-list imports reading their file now, for a preview or for good."""
    return SuppressionImport.objects.filter(
        status__in=(SuppressionImport.Status.PREVIEWING, SuppressionImport.Status.IMPORTING)
    )
