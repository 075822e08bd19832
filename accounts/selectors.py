"""Reads about accounts: local calendars, billing cut-offs, trials due, confirmations due."""

from __future__ import annotations

import datetime as dt
import zoneinfo

from django.conf import settings
from django.db.models import Count, Q, QuerySet

from accounts.models import Account, AccountStatus, CancellationRequest
from backoffice import localtime


def local_date(*, account: Account, at: dt.datetime) -> dt.date:
    """The day `at` falls on in the account's time zone."""
    return localtime.local_date(at, account.zone)


def local_midnight(*, day: dt.date, zone: zoneinfo.ZoneInfo) -> dt.datetime:
    """The instant a local day begins (00:00 there), as an aware datetime."""
    return localtime.local_midnight(day, zone)


def local_days_between(*, account: Account, start: dt.datetime, end: dt.datetime) -> int:
    """Whole days from `start` to `end` counted on the account's local calendar: a day count
    changes at local midnight, so the day after `start` is day 1."""
    return localtime.days_between(start, end, account.zone)


def trial_end_for(*, account: Account, started_at: dt.datetime) -> dt.datetime:
    """When a trial that started at `started_at` ends (R1): at local midnight after its last
    day, the first day being the local day it started on."""
    first_day = local_date(account=account, at=started_at)
    return local_midnight(day=first_day + settings.TRIAL_LENGTH, zone=account.zone)


def next_billing_date(*, account: Account) -> dt.date | None:
    """The account's next billing date on its local calendar, from billing; None when nothing
    is due (a trial, a closed account)."""
    # Imported here: billing's models import this app's models.
    from billing.selectors import next_billing_date as billing_next_billing_date

    return billing_next_billing_date(account=account)


def cutoff_for_billing_date(*, billing_date: dt.date, zone: zoneinfo.ZoneInfo) -> dt.datetime:
    """The last moment to cancel without being charged for `billing_date` (R3): the start of
    that day in the account's time zone. A cancellation recorded before it is in time."""
    return local_midnight(day=billing_date, zone=zone)


def cancellation_deadline(*, account: Account) -> dt.datetime | None:
    """The last moment to cancel without the next charge (R3), in the account's time zone;
    None when no billing date is due."""
    billing_date = next_billing_date(account=account)
    if billing_date is None:
        return None
    return cutoff_for_billing_date(billing_date=billing_date, zone=account.zone)


def call_is_in_time(*, account: Account, at: dt.datetime) -> bool:
    """Whether a cancellation recorded at `at` is before the next billing date (R3). With no
    billing date due, nothing would be charged, so it is in time."""
    deadline = cancellation_deadline(account=account)
    return deadline is None or at < deadline


def in_time_for(*, billing_date: dt.date | None, account: Account, at: dt.datetime) -> bool | None:
    """Whether a cancellation at `at` comes before `billing_date` begins locally (R3); None
    when no billing date was due (nothing to be in time for)."""
    if billing_date is None:
        return None
    return at < cutoff_for_billing_date(billing_date=billing_date, zone=account.zone)


def accounts_count_by_state() -> dict[str, int]:
    """How many accounts are in each state now (states with none are absent)."""
    # COUNT(*), not COUNT(id): answered from the status index alone.
    return dict(Account.objects.order_by().values_list("status").annotate(n=Count("*")))


def trials_due_to_expire(*, as_of: dt.datetime) -> QuerySet[Account]:
    """Trials whose end (local midnight, stored in UTC) has been reached (R1)."""
    return Account.objects.filter(status=AccountStatus.TRIAL, trial_ends_at__lte=as_of)


def trials_ending_within(*, as_of: dt.datetime, days: int) -> QuerySet[Account]:
    return Account.objects.filter(
        status=AccountStatus.TRIAL,
        trial_ends_at__gt=as_of,
        trial_ends_at__lte=as_of + dt.timedelta(days=days),
    )


def confirmations_due(*, as_of: dt.datetime, sender: str = "") -> QuerySet[CancellationRequest]:
    """Requests not yet confirmed and not claimed by a sender right now (R4); with `sender`,
    also those that sender's own dead attempt left claimed (services.confirmation_claim)."""
    free = Q(confirmation_claimed_until__isnull=True) | Q(confirmation_claimed_until__lt=as_of)
    if sender:
        free |= Q(confirmation_claim__startswith=f"{sender[:15]}-")
    return CancellationRequest.objects.filter(
        confirmation_sent_at__isnull=True, at__lte=as_of
    ).filter(free)


def confirmations_overdue(*, as_of: dt.datetime) -> QuerySet[CancellationRequest]:
    """Requests still unconfirmed after the SLA (24 hours, R4): breaches staff must act on."""
    return CancellationRequest.objects.filter(
        confirmation_sent_at__isnull=True, at__lte=as_of - settings.CONFIRMATION_SLA
    )


def confirmations_pending(*, as_of: dt.datetime) -> QuerySet[CancellationRequest]:
    """Requests not yet confirmed and still within the 24 hours (R4)."""
    return CancellationRequest.objects.filter(
        confirmation_sent_at__isnull=True, at__gt=as_of - settings.CONFIRMATION_SLA
    )


def confirmation_is_overdue(*, request: CancellationRequest, as_of: dt.datetime) -> bool:
    return request.confirmation_sent_at is None and (
        request.at <= as_of - settings.CONFIRMATION_SLA
    )
