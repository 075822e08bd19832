"""Money staff handle: recorded payments, prepaid terms, refunds, card retries (R5, R11)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db import transaction

from accounts.models import Account, AccountStatus
from billing.calendar import add_months
from billing.gateway import GatewayError, GatewayUnavailable, get_gateway
from billing.models import (
    PREPAYMENT_KINDS,
    REFUNDABLE_KINDS,
    AccountAddOn,
    BillingMode,
    BillingProfile,
    Card,
    CardChargeAttempt,
    EntryKind,
    LedgerEntry,
)
from billing.services.common import (
    BillingError,
    clear_nonpayment,
    lock_profile,
    positive_money,
    require_permission,
    schedule_from,
)
from billing.services.run import Run, bill_account, monthly_total
from core.actors import Actor
from core.localtime import local_date
from core.signoff import SignOffRequired, second_person_check

R5_REFUSAL = (
    "Prepayments are not refundable (R5): a prepaid term is neither refunded nor paid back "
    "on cancellation, its remaining balance is forfeited."
)


def _active_addons(account: Account) -> list[AccountAddOn]:
    return list(
        AccountAddOn.objects.filter(
            account_id=account.pk, cancelled_at__isnull=True
        ).select_related("addon")
    )


def _restart_billing(profile: BillingProfile, *, now: datetime) -> None:
    """After an outstanding period was settled: billing goes on a month from today, and the
    non-payment marks are cleared."""
    today = local_date(now, profile.account.zone)
    schedule_from(profile, first=add_months(today, 1, today.day), anchor_day=today.day)
    clear_nonpayment(profile)


def _outstanding(profile: BillingProfile) -> bool:
    return (
        profile.unpaid_since is not None
        or profile.card_declines > 0
        or profile.account.status == AccountStatus.SUSPENDED
    )


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
    """Record a payment received outside the card on file (bank transfer, cheque).

    If the account owes a period (declined, unpaid or suspended for non-payment, R11) the
    payment settles it: a monthly account's period is charged, a prepaid account's payment
    buys prepaid balance; billing restarts a month from today (a suspended account is then
    reactivated by ``workflows.payments``). Otherwise a prepaid account's payment tops up its
    balance."""
    require_permission(by, "billing.record_payment", "record payments")
    value, code = positive_money(amount, currency, what="payment")
    reference = (reference or "").strip()
    if not reference:
        raise BillingError("a payment needs a reference (bank transfer id, cheque number)")
    profile = lock_profile(account)
    account = profile.account
    plan = profile.plan
    if plan is None:
        raise BillingError(f"{account} has no plan; choose one before recording a payment")
    if code != plan.currency:
        raise BillingError(
            f"{account} is billed in {plan.currency}; a payment in {code} cannot be "
            "recorded against it"
        )
    if account.status not in (AccountStatus.ACTIVE, AccountStatus.PAUSED, AccountStatus.SUSPENDED):
        raise BillingError(
            f"{account} is {account.get_status_display().lower()}; reactivate it before "
            "recording a payment"
        )
    outstanding = _outstanding(profile)
    monthly = monthly_total(plan=plan, addons=_active_addons(account))
    if outstanding and value < monthly:
        raise BillingError(
            f"{account} owes {monthly} {code} for the month from "
            f"{profile.next_billing_date or 'today'}; a payment of {value} {code} does not "
            "cover it"
        )
    fields = by.as_fields()
    payment = LedgerEntry.objects.create(
        account=account,
        at=now,
        kind=EntryKind.PAYMENT,
        amount=value,
        currency=code,
        reference=reference,
        description="Payment recorded",
        **fields,
    )
    if profile.mode == BillingMode.PREPAID:
        profile.prepaid_balance += value
        LedgerEntry.objects.create(
            account=account,
            at=now,
            kind=EntryKind.PREPAYMENT_PURCHASE,
            amount=value,
            currency=code,
            reference=reference,
            prepaid_balance_after=profile.prepaid_balance,
            description="Prepaid balance bought with a recorded payment",
            **fields,
        )
        if profile.next_billing_date is None:
            outstanding = True
    elif outstanding:
        period = profile.next_billing_date
        if not LedgerEntry.objects.filter(
            account_id=account.pk, period=period, kind=EntryKind.CHARGE
        ).exists():
            LedgerEntry.objects.create(
                account=account,
                at=now,
                kind=EntryKind.CHARGE,
                amount=monthly,
                currency=code,
                period=period,
                reference=reference,
                description=f"{plan.name}, month from {period}, paid by {reference}",
                **fields,
            )
    if outstanding:
        _restart_billing(profile, now=now)
    profile.save()
    return payment


@transaction.atomic
def prepaid_term_buy(*, account: Account, by: Actor, now: datetime) -> LedgerEntry:
    """Buy the account's prepaid term with the card on file (prepaid_months × the month)."""
    profile = lock_profile(account)
    account = profile.account
    plan = profile.plan
    if profile.mode != BillingMode.PREPAID or plan is None:
        raise BillingError(f"{account} is not billed by prepaid term")
    card = Card.objects.filter(account_id=account.pk).first()
    today = local_date(now, account.zone)
    if card is None or not card.is_valid_on(today):
        raise BillingError(f"{account} has no valid card on file to buy the prepaid term with")
    amount = monthly_total(plan=plan, addons=_active_addons(account))
    amount *= profile.prepaid_months
    # Stable across a retry of this same purchase (the transaction rolled back, so the count
    # is unchanged): the gateway then answers with the first charge instead of charging again.
    earlier = LedgerEntry.objects.filter(
        account_id=account.pk, kind=EntryKind.PREPAYMENT_PURCHASE
    ).count()
    key = f"purchase:{account.pk}:{earlier}"
    try:
        result = get_gateway().charge(
            token=card.token, amount=amount, currency=profile.currency, idempotency_key=key
        )
    except (GatewayError, GatewayUnavailable) as exc:
        raise BillingError(f"the card could not be charged: {exc}") from None
    CardChargeAttempt.objects.create(
        account=account,
        at=now,
        purpose="purchase",
        amount=amount,
        currency=profile.currency,
        idempotency_key=key,
        outcome="succeeded" if result.succeeded else "declined",
        gateway_reference=result.reference,
        message=result.decline_code,
        **by.as_fields(),
    )
    if not result.succeeded:
        raise BillingError(f"the card was declined ({result.decline_code})")
    profile.prepaid_balance += amount
    entry = LedgerEntry.objects.create(
        account=account,
        at=now,
        kind=EntryKind.PREPAYMENT_PURCHASE,
        amount=amount,
        currency=profile.currency,
        reference=result.reference,
        prepaid_balance_after=profile.prepaid_balance,
        description=f"Prepaid term bought: {profile.prepaid_months} months",
        **by.as_fields(),
    )
    LedgerEntry.objects.create(
        account=account,
        at=now,
        kind=EntryKind.CARD_PAYMENT,
        amount=amount,
        currency=profile.currency,
        reference=result.reference,
        description="Card payment of a prepaid term",
        **by.as_fields(),
    )
    if profile.next_billing_date is None:
        schedule_from(profile, first=add_months(today, 1, today.day), anchor_day=today.day)
    profile.save()
    return entry


def charge_refund_check(*, entry: LedgerEntry, reason: str) -> None:
    """Refuse a refund that can never be made: a prepayment (R5), a payment, an entry of a
    kind that is not a charge, a refund without a reason, a charge refunded already."""
    if entry.kind in PREPAYMENT_KINDS:
        raise BillingError(R5_REFUSAL)
    if entry.kind in (EntryKind.CARD_PAYMENT, EntryKind.PAYMENT):
        bought_prepayment = LedgerEntry.objects.filter(
            account_id=entry.account_id,
            kind=EntryKind.PREPAYMENT_PURCHASE,
            reference=entry.reference,
        ).exists()
        if entry.reference and bought_prepayment:
            raise BillingError(R5_REFUSAL)
        raise BillingError("refund the charge this payment paid for, not the payment itself")
    if entry.kind not in REFUNDABLE_KINDS:
        raise BillingError(f"a {entry.get_kind_display().lower()} cannot be refunded")
    if not (reason or "").strip():
        raise BillingError("a refund needs a reason")
    if LedgerEntry.objects.filter(refund_of=entry).exists():
        raise BillingError(f"this {entry.get_kind_display().lower()} was already refunded")


@transaction.atomic
def charge_refund(
    *,
    entry: LedgerEntry,
    by: Actor,
    now: datetime,
    reason: str,
    requested_by: Actor | None = None,
) -> LedgerEntry:
    """Refund a charge or pause fee in full, signing off what `requested_by` asked for (four
    eyes: another billing clerk). Prepayments never are (R5), whoever asks."""
    require_permission(by, "billing.refund_charge", "refund charges")
    charge_refund_check(entry=entry, reason=reason)
    try:
        second_person_check(
            by=by, requested_by=requested_by, permission="billing.refund_charge", what="a refund"
        )
    except SignOffRequired as exc:
        raise BillingError(str(exc)) from None
    lock_profile(entry.account)
    # Again under the lock: two refunds of one charge at once make one.
    charge_refund_check(entry=entry, reason=reason)
    reference = ""
    if entry.reference.startswith("ch_"):
        try:
            reference = get_gateway().refund(
                reference=entry.reference,
                amount=entry.amount,
                currency=entry.currency,
                idempotency_key=f"refund:{entry.pk}",
            )
        except (GatewayError, GatewayUnavailable) as exc:
            raise BillingError(f"the gateway refused the refund: {exc}") from None
    return LedgerEntry.objects.create(
        account_id=entry.account_id,
        at=now,
        kind=EntryKind.REFUND,
        amount=entry.amount,
        currency=entry.currency,
        refund_of=entry,
        reference=reference,
        description=f"Refund: {reason.strip()}"[:200],
        **by.as_fields(),
    )


@dataclass(frozen=True)
class CardRetry:
    """What a card retry by staff came to: charged or not, in a sentence for the staff."""

    charged: bool
    message: str

    def __str__(self) -> str:
        return self.message


@transaction.atomic
def card_retry_now(*, account: Account, by: Actor, now: datetime) -> CardRetry:
    """Try the card on file for the outstanding period at once, outside the retry schedule
    (e.g. the customer updated the card). A success clears the non-payment marks and
    lets a suspended account be reactivated (``workflows.payments``); a decline changes nothing
    but the attempt record."""
    require_permission(by, "billing.retry_card", "retry cards")
    profile = lock_profile(account)
    account = profile.account
    if not _outstanding(profile):
        raise BillingError(f"{account} has no declined or unpaid charge to retry")
    card = Card.objects.filter(account_id=account.pk).first()
    if card is None or not card.is_valid_on(local_date(now, account.zone)):
        raise BillingError(f"{account} has no valid card on file; attach a card first")
    was_unpaid = profile.unpaid_since is not None or account.status == AccountStatus.SUSPENDED
    earlier = CardChargeAttempt.objects.filter(
        account_id=account.pk, period=profile.next_billing_date, by_job=""
    ).count()
    run = Run(
        as_of=now,
        by=by,
        gateway=get_gateway(),
        plans={profile.plan.pk: profile.plan} if profile.plan else {},
        key_suffix=f"staff{earlier}",
    )
    # A suspended account is billed as an active one: the run tells only paused accounts
    # (the pause fee) apart.
    bill_account(profile=profile, card=card, addons=_active_addons(account), run=run)
    if run.counts.get("errors"):
        raise BillingError("the account cannot be billed; see the log for the reason")
    for attempt in run.attempts:
        attempt.save()
    if not any(a.outcome == "succeeded" for a in run.attempts):
        # A decline outside the schedule neither advances nor shortens the retries: only the
        # attempt is recorded.
        outcome = run.attempts[-1].message if run.attempts else "not charged"
        return CardRetry(charged=False, message=f"the card was not charged ({outcome})")
    for item in run.entries:
        item.save()
    if was_unpaid:
        # As after a recorded payment: the months without service are not billed.
        _restart_billing(profile, now=now)
    profile.save()
    total = sum((e.amount for e in run.entries if e.kind == EntryKind.CARD_PAYMENT), Decimal(0))
    return CardRetry(charged=True, message=f"the card was charged {total} {profile.currency}")
