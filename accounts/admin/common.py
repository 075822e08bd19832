"""Small helpers shared by the account admin pages."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from accounts import selectors
from accounts.models import Account, AccountStatus, CancellationRequest

S = AccountStatus


def local_time(value, account: Account) -> str:
    if value is None:
        return "—"
    return value.astimezone(account.zone).strftime("%Y-%m-%d %H:%M %Z")


def confirmation_state(obj: CancellationRequest) -> str:
    if obj.confirmation_sent_at:
        return f"sent {obj.confirmation_sent_at:%Y-%m-%d %H:%M} UTC"
    attempts = f", {obj.confirmation_attempts} failed attempt(s)" * bool(obj.confirmation_attempts)
    if selectors.confirmation_is_overdue(request=obj, as_of=timezone.now()):
        return f"OVERDUE: unsent after {settings.CONFIRMATION_SLA}{attempts}"
    return f"pending{attempts}"


def billing_summary(account: Account, now) -> str:
    """The next billing date and the last moment to cancel without that charge, in the
    account's time zone (R3), and whether a call now is in time."""
    if account.status == S.TRIAL:
        return f"none: on trial until {local_time(account.trial_ends_at, account)} (R1)"
    billing_date = selectors.next_billing_date(account=account)
    if billing_date is None:
        return "none due"
    deadline = selectors.cutoff_for_billing_date(billing_date=billing_date, zone=account.zone)
    in_time = now < deadline
    last = deadline - timedelta(minutes=1)
    verdict = (
        "a cancellation now is in time: that date is not charged"
        if in_time
        else "a cancellation now is too late for that date: it is charged, no refund"
    )
    return (
        f"{billing_date:%Y-%m-%d}; cancel by {last:%Y-%m-%d %H:%M} {account.time_zone} "
        f"(before midnight starting the billing date, local time) — {verdict}"
    )
