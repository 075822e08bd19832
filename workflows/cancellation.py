"""Cancelling an account (R2, R3, R5, R6, R11): the account closes (accounts: its state and
what closing does to its content) and billing stops (billing: add-ons cancelled, prepaid
balance forfeited, nothing more charged but a billing date already begun), in one
transaction, with the cancellation request R4 confirms."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction

from accounts.models import Account, CancellationOutcome
from accounts.services import (
    NON_PAYMENT_REASON,
    OUTSIDE_DESK_REASON,
    account_cancel_move,
    account_lock,
    cancellation_request_record,
    system_reason,
)
from billing import selectors as billing_selectors
from billing.services import billing_close_for_cancellation
from core.actors import Actor


def cancel_locked(
    *, account: Account, by: Actor, now: datetime, reason: str, voluntary: bool
) -> tuple[Account, bool]:
    """The cancel move and everything R6 says cancelling does, for an account locked by the
    caller's transaction; no request is recorded. Returns (account, moved)."""
    status_before = account.status
    locked, moved = account_cancel_move(
        account=account, by=by, now=now, reason=reason, voluntary=voluntary
    )
    if moved:
        billing_close_for_cancellation(account=locked, by=by, now=now, status_before=status_before)
    return locked, moved


@transaction.atomic
def account_cancel(
    *, account: Account, by: Actor, now: datetime, reason: str, voluntary: bool
) -> Account:
    """Active, paused or suspended → cancelled (R2, R11), with everything R6 says cancelling
    does. `voluntary` is True when the customer chose it (an agent outside the desk), False
    when the system cancelled for non-payment. Records the cancellation request R4 confirms,
    with the next billing date and whether the cancellation came before it (R3)."""
    locked = account_lock(account)
    billing_date = billing_selectors.next_billing_date(account=locked)
    locked, moved = cancel_locked(
        account=locked, by=by, now=now, reason=reason, voluntary=voluntary
    )
    if moved:
        cancellation_request_record(
            account=locked,
            by=by,
            now=now,
            reason=system_reason(name=OUTSIDE_DESK_REASON if voluntary else NON_PAYMENT_REASON),
            callers_words=reason,
            voluntary=voluntary,
            outcome=CancellationOutcome.CANCELLED,
            next_billing_date=billing_date,
            in_time=billing_selectors.in_time_for(
                billing_date=billing_date, account=locked, at=now
            ),
        )
    account.status, account.inactive_since = locked.status, locked.inactive_since
    return locked
