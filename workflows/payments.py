"""Money that settles what an account owes (R11): billing records it and restarts the
schedule, and a suspended account is reactivated, in one transaction (for a card, the one that
records the gateway's answer: the gateway is never asked under a lock)."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction

from accounts.models import Account, AccountStatus
from accounts.services import account_lock, account_unsuspend
from billing.models import LedgerEntry
from billing.services import BillingError, CardRetry, charge_send
from billing.services import card_retry_claim as billing_card_retry_claim
from billing.services import card_retry_record as billing_card_retry_record
from billing.services import payment_record as billing_payment_record
from core.actors import Actor


@transaction.atomic
def payment_record(
    *,
    account: Account,
    amount: object,
    currency: str,
    by: Actor,
    now: datetime,
    reference: str,
) -> LedgerEntry:
    """Record a payment received outside the card on file (billing.services.payment_record);
    when it settles a suspended account's debt, the account is active again (R11)."""
    locked = account_lock(account)
    payment = billing_payment_record(
        account=locked, amount=amount, currency=currency, by=by, now=now, reference=reference
    )
    if locked.status == AccountStatus.SUSPENDED:
        account_unsuspend(
            account=locked,
            by=by,
            now=now,
            reason=f"Payment of {payment.amount} {payment.currency} recorded "
            f"({payment.reference}) (R11)",
        )
    account.status = locked.status
    return payment


def card_retry_now(*, account: Account, by: Actor, now: datetime) -> str:
    """Try the card on file for what the account owes now (billing.services.card_retry_claim);
    a charge reactivates a suspended account (R11). Returns the outcome in a sentence.

    The gateway is asked with no lock held: billing claims the charge and commits, the gateway
    answers, then one transaction locks the account, records the outcome and, once paid,
    lifts the suspension."""
    claim = billing_card_retry_claim(account=account, by=by, now=now)
    if isinstance(claim, CardRetry):
        return claim.message
    sent = charge_send(charge=claim)
    with transaction.atomic():
        locked = account_lock(account)
        retry = billing_card_retry_record(account=locked, sent=sent, by=by, now=now)
        if retry.charged and locked.status == AccountStatus.SUSPENDED:
            account_unsuspend(
                account=locked, by=by, now=now, reason="Card charged after a retry (R11)"
            )
    account.status = locked.status
    if retry.refused:
        raise BillingError(retry.message)
    return retry.message
