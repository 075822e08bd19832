"""Reads about billing: next billing dates, and the questions staff ask in the admin."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from django.db.models import F, Q, QuerySet

from accounts.models import Account, AccountStatus
from backoffice.localtime import local_date
from billing import conf
from billing.models import BillingMode, BillingProfile, LedgerEntry


def next_billing_date(*, account: Account) -> date | None:
    """The local calendar date of the account's next charge attempt; None when nothing will be
    charged (a trial, a closed account, no plan, or unpaid and waiting for a payment)."""
    if account.status not in (AccountStatus.ACTIVE, AccountStatus.PAUSED):
        return None
    due_at = (
        BillingProfile.objects.filter(account_id=account.pk, plan__isnull=False)
        .values_list("due_at", flat=True)
        .first()
    )
    if due_at is None:
        return None
    return local_date(due_at, account.zone)


def unpaid_cancel_date(*, profile: BillingProfile) -> date | None:
    """The local date a suspended-for-non-payment account is cancelled on (R11: day 91)."""
    if profile.suspended_at is None:
        return None
    start = local_date(profile.suspended_at, profile.account.zone)
    return start + timedelta(days=conf.unpaid_cancel_after_days() + 1)


def profiles_suspended_unpaid() -> QuerySet[BillingProfile]:
    return BillingProfile.objects.filter(
        suspended_at__isnull=False, account__status=AccountStatus.SUSPENDED
    )


# Days suspended for non-payment, in the bands staff filter by and operators watch (R11:
# cancelled after 90).
UNPAID_DAY_BANDS: dict[str, tuple[int, int | None]] = {
    "0-30": (0, 30),
    "31-60": (31, 60),
    "61-90": (61, 90),
    "91+": (91, None),
}


def profiles_suspended_for_days(
    *, as_of: datetime, low: int, high: int | None
) -> QuerySet[BillingProfile]:
    """Suspended for non-payment for `low` to `high` days (None: no upper end), counted in
    whole days since the suspension (to the day in UTC, so that the suspension index narrows
    the range; the cancellation job decides on the local calendar)."""
    profiles = profiles_suspended_unpaid().filter(suspended_at__lte=as_of - timedelta(days=low))
    if high is not None:
        profiles = profiles.filter(suspended_at__gt=as_of - timedelta(days=high + 1))
    return profiles


def profiles_cancelling_within(*, as_of: datetime, days: int) -> QuerySet[BillingProfile]:
    """Suspended for non-payment and cancelled within `days` days (approximate to the day in
    UTC; the cancellation job decides on the local calendar)."""
    threshold = conf.unpaid_cancel_after_days() + 1
    return profiles_suspended_unpaid().filter(
        suspended_at__lte=as_of - timedelta(days=threshold - days)
    )


def profiles_prepaid_below_one_month() -> QuerySet[BillingProfile]:
    """Prepaid accounts whose balance will not cover another month of their plan."""
    return BillingProfile.objects.filter(
        mode="prepaid",
        plan__isnull=False,
        prepaid_balance__lt=F("plan__monthly_price"),
        account__status__in=(AccountStatus.ACTIVE, AccountStatus.PAUSED, AccountStatus.SUSPENDED),
    )


def ledger_for(*, account: Account) -> QuerySet[LedgerEntry]:
    return LedgerEntry.objects.filter(account_id=account.pk).order_by("-at", "-id")


def profiles_due_for_billing(*, as_of: datetime) -> QuerySet[BillingProfile]:
    """Profiles whose billing date has come as of `as_of` and that the run bills (R3, R11).

    Besides open accounts: a monthly account cancelled on its billing date before the run came
    still owes that date (R3: only a cancellation *before* the date avoids it); its profile
    kept the date due (billing_close_for_cancellation), and once billed the next date lies
    after the cancellation, so it is never selected again."""
    cancelled_on_billing_date = Q(
        account__status=AccountStatus.CANCELLED,
        mode=BillingMode.MONTHLY_CARD,
        due_at__lte=F("account__inactive_since"),
    )
    return BillingProfile.objects.filter(
        Q(account__status__in=(AccountStatus.ACTIVE, AccountStatus.PAUSED))
        | cancelled_on_billing_date,
        due_at__lte=as_of,
        unpaid_since__isnull=True,
        plan__isnull=False,
    )


def profiles_due_for_suspension(*, as_of: datetime) -> QuerySet[BillingProfile]:
    """Accounts marked unpaid and not yet suspended for it (R11)."""
    return BillingProfile.objects.filter(
        unpaid_since__isnull=False,
        unpaid_since__lte=as_of,
        suspended_at__isnull=True,
        account__status__in=(AccountStatus.ACTIVE, AccountStatus.PAUSED, AccountStatus.SUSPENDED),
    )


def profiles_candidates_for_unpaid_cancel(*, as_of: datetime) -> QuerySet[BillingProfile]:
    """Accounts suspended for non-payment long enough that they may be past day 90 (R11): a
    coarse UTC bound (local days can be a day ahead of UTC); the local-calendar count in
    billing.services.nonpayment decides."""
    return BillingProfile.objects.filter(
        suspended_at__isnull=False,
        suspended_at__lte=as_of - timedelta(days=conf.unpaid_cancel_after_days() - 1),
        account__status=AccountStatus.SUSPENDED,
    )
