"""Money staff handle: recorded payments, prepaid terms, refunds, card retries (R5, R11)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

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
from billing.selectors import STAFF_CLAIM_PREFIX
from billing.services.charging import (
    CHARGE_LEASE,
    CLAIM_FIELDS,
    Charge,
    Sent,
    charge_in_flight_refusal,
    charge_send,
    claim_lapsed,
    claim_token,
    claim_write,
    claimed_charge,
)
from billing.services.common import (
    BillingError,
    clear_nonpayment,
    lock_profile,
    positive_money,
    require_permission,
    schedule_from,
)
from billing.services.periods import (
    PAID_OUTCOMES,
    Run,
    bill_account,
    charge_record,
    charge_texts,
    monthly_total,
)
from core.actors import Actor
from core.localtime import local_date
from core.signoff import SignOffRequired, second_person_check

R5_REFUSAL = gettext_noop(
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


def _refuse_while_charging(profile: BillingProfile, *, now: datetime) -> None:
    """A money action on an account whose card charge is at the gateway is refused at once,
    naming the charge: it neither waits for the gateway nor crosses the charge's record."""
    refusal = charge_in_flight_refusal(profile, now=now)
    if refusal is not None:
        raise refusal


def _resumable_by_staff(profile: BillingProfile, *, purpose_is_purchase: bool, now: datetime):
    """Whether the charge in flight is one a staff action of this kind left (its process
    stopped before the record), for this action to send again and record."""
    return (
        claim_lapsed(profile, now=now)
        and profile.charge_claim.startswith(STAFF_CLAIM_PREFIX)
        and (profile.charge_purpose == "purchase") == purpose_is_purchase
    )


def _outstanding(profile: BillingProfile) -> bool:
    return (
        profile.unpaid_since is not None
        or profile.card_declines > 0
        or profile.account.status == AccountStatus.SUSPENDED
    )


@dataclass(frozen=True)
class Owed:
    """What an account owes now: the month from `period` (a billing date of its calendar), at
    `amount` in `currency`, unpaid since `since` (first decline, or the day it became unpaid)."""

    period: date | None
    amount: Decimal
    currency: str
    since: datetime | date | None


def amount_owed(*, profile: BillingProfile) -> Owed | None:
    """The period a recorded payment would settle (R11), as payment_record reads it; None
    when nothing is owed (or no plan is chosen)."""
    if profile.plan is None or not _outstanding(profile):
        return None
    return Owed(
        period=profile.next_billing_date,
        amount=monthly_total(plan=profile.plan, addons=_active_addons(profile.account)),
        currency=profile.plan.currency,
        since=profile.first_declined_on or profile.unpaid_since or profile.suspended_at,
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
    require_permission(by, "billing.record_payment", _("record payments"))
    value, code = positive_money(amount, currency, what=_("payment"))
    reference = (reference or "").strip()
    if not reference:
        raise BillingError(_("a payment needs a reference (bank transfer id, cheque number)"))
    profile = lock_profile(account)
    account = profile.account
    _refuse_while_charging(profile, now=now)
    plan = profile.plan
    if plan is None:
        raise BillingError(
            _("%(account)s has no plan; choose one before recording a payment")
            % {"account": account}
        )
    if code != plan.currency:
        raise BillingError(
            _(
                "%(account)s is billed in %(currency)s; a payment in "
                "%(code)s cannot be recorded against it"
            )
            % {"account": account, "currency": plan.currency, "code": code}
        )
    if account.status not in (AccountStatus.ACTIVE, AccountStatus.PAUSED, AccountStatus.SUSPENDED):
        raise BillingError(
            _("%(account)s is %(status)s; reactivate it before recording a payment")
            % {"account": account, "status": account.get_status_display().lower()}
        )
    outstanding = _outstanding(profile)
    monthly = monthly_total(plan=plan, addons=_active_addons(account))
    if outstanding and value < monthly:
        raise BillingError(
            _(
                "%(account)s owes %(monthly)s %(code)s for the month from "
                "%(since)s; a payment of %(paid)s %(code2)s does not cover "
                "it"
            )
            % {
                "account": account,
                "monthly": monthly,
                "code": code,
                "since": profile.next_billing_date or _("today"),
                "paid": value,
                "code2": code,
            }
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


def prepaid_term_buy(*, account: Account, by: Actor, now: datetime) -> LedgerEntry:
    """Buy the account's prepaid term with the card on file (prepaid_months × the month).

    The card is charged outside any lock (billing.services.charging): the charge is claimed
    and committed, sent, then recorded. A decline or a gateway failure is recorded as the
    attempt, then refused. A purchase whose record a crash lost is completed by buying again:
    the same key goes to the gateway, which answers with the first charge."""
    charge = _purchase_claim(account=account, by=by, now=now)
    sent = charge_send(charge=charge)
    entry = _purchase_record(account=account, sent=sent, by=by, now=now)
    if sent.refused or sent.unavailable:
        raise BillingError(
            _("the card could not be charged: %(problem)s")
            % {"problem": sent.refused or sent.unavailable}
        )
    if entry is None:
        assert sent.result is not None
        raise BillingError(
            _("the card was declined (%(decline_code)s)")
            % {"decline_code": sent.result.decline_code}
        )
    return entry


@transaction.atomic
def _purchase_claim(*, account: Account, by: Actor, now: datetime) -> Charge:
    profile = lock_profile(account)
    account = profile.account
    plan = profile.plan
    if profile.mode != BillingMode.PREPAID or plan is None:
        raise BillingError(_("%(account)s is not billed by prepaid term") % {"account": account})
    card = Card.objects.filter(account_id=account.pk).first()
    today = local_date(now, account.zone)
    if card is None or not card.is_valid_on(today):
        raise BillingError(
            _("%(account)s has no valid card on file to buy the prepaid term with")
            % {"account": account}
        )
    if _resumable_by_staff(profile, purpose_is_purchase=True, now=now):
        charge = claimed_charge(profile)
    else:
        _refuse_while_charging(profile, now=now)
        amount = monthly_total(plan=plan, addons=_active_addons(account))
        amount *= profile.prepaid_months
        # Stable until this purchase is recorded: sent again, the gateway answers with the
        # first charge instead of charging again.
        earlier = LedgerEntry.objects.filter(
            account_id=account.pk, kind=EntryKind.PREPAYMENT_PURCHASE
        ).count()
        charge = Charge(
            profile_id=profile.pk,
            account_id=account.pk,
            key=f"purchase:{account.pk}:{earlier}",
            purpose="purchase",
            period=None,
            amount=amount,
            currency=plan.currency,
        )
    charge.token = card.token
    charge.description = f"Prepaid term bought: {profile.prepaid_months} months"
    charge.payment = "Card payment of a prepaid term"
    claim_write(profile, charge, token=claim_token(staff=True), until=now + CHARGE_LEASE)
    profile.save(update_fields=CLAIM_FIELDS)
    return charge


@transaction.atomic
def _purchase_record(*, account: Account, sent: Sent, by: Actor, now: datetime):
    profile = _claimed_profile(account=account, charge=sent.charge)
    run = Run(as_of=now, by=by, gateway=get_gateway(), plans={})
    outcome = charge_record(profile=profile, sent=sent, run=run, retries=False)
    entries = _save(run)
    if outcome == PAID_OUTCOMES["purchase"] and profile.next_billing_date is None:
        today = local_date(now, profile.account.zone)
        schedule_from(profile, first=add_months(today, 1, today.day), anchor_day=today.day)
    profile.save()
    paid = [e for e in entries if e.kind == EntryKind.PREPAYMENT_PURCHASE]
    return paid[0] if paid else None


def _claimed_profile(*, account: Account, charge: Charge) -> BillingProfile:
    """The account's profile, locked, still holding the claim of `charge`; a clear error when
    another request completed that charge meanwhile (after the claim lapsed)."""
    profile = (
        BillingProfile.objects.select_for_update(of=("self",))
        .select_related("account")
        .filter(account_id=account.pk, charge_claim=charge.claim)
        .first()
    )
    if profile is None:
        raise BillingError(
            _(
                "the card charge of %(account)s was completed by another "
                "request meanwhile; see its card charge attempts"
            )
            % {"account": account}
        )
    return profile


def _save(run: Run) -> list[LedgerEntry]:
    """Write what `run` recorded, one row at a time; returns the ledger entries."""
    for attempt in run.attempts:
        CardChargeAttempt.objects.create(**attempt)
    return [LedgerEntry.objects.create(**entry) for entry in run.entries]


def charge_refund_check(*, entry: LedgerEntry, reason: str) -> None:
    """Refuse a refund that can never be made: a prepayment (R5), a payment, an entry of a
    kind that is not a charge, a refund without a reason, a charge refunded already."""
    if entry.kind in PREPAYMENT_KINDS:
        raise BillingError(_(R5_REFUSAL))
    if entry.kind in (EntryKind.CARD_PAYMENT, EntryKind.PAYMENT):
        bought_prepayment = LedgerEntry.objects.filter(
            account_id=entry.account_id,
            kind=EntryKind.PREPAYMENT_PURCHASE,
            reference=entry.reference,
        ).exists()
        if entry.reference and bought_prepayment:
            raise BillingError(_(R5_REFUSAL))
        raise BillingError(_("refund the charge this payment paid for, not the payment itself"))
    if entry.kind not in REFUNDABLE_KINDS:
        raise BillingError(
            _("a %(kind)s cannot be refunded") % {"kind": entry.get_kind_display().lower()}
        )
    if not (reason or "").strip():
        raise BillingError(_("a refund needs a reason"))
    _refuse_refunded(entry)


def charge_refund(
    *,
    entry: LedgerEntry,
    by: Actor,
    now: datetime,
    reason: str,
    requested_by: Actor | None = None,
) -> LedgerEntry:
    """Refund a charge or pause fee in full, signing off what `requested_by` asked for (four
    eyes: another billing clerk). Prepayments never are (R5), whoever asks.

    The gateway is asked outside any lock of the account, with a key of the entry: asked twice
    (two staff members at once, or again after a crash) it gives back the same refund, and the
    record then takes the account's lock and writes the refund once. A charge of the account
    in flight meanwhile does not stop it: it refunds an earlier, recorded charge."""
    require_permission(by, "billing.refund_charge", _("refund charges"))
    charge_refund_check(entry=entry, reason=reason)
    try:
        second_person_check(
            by=by, requested_by=requested_by, permission="billing.refund_charge", what=_("a refund")
        )
    except SignOffRequired as exc:
        raise BillingError(str(exc)) from None
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
            raise BillingError(
                _("the gateway refused the refund: %(exc)s") % {"exc": exc}
            ) from None
    with transaction.atomic():
        lock_profile(entry.account)
        _refuse_refunded(entry)
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


def _refuse_refunded(entry: LedgerEntry) -> None:
    if LedgerEntry.objects.filter(refund_of=entry).exists():
        raise BillingError(
            _("this %(kind)s was already refunded") % {"kind": entry.get_kind_display().lower()}
        )


@dataclass(frozen=True)
class CardRetry:
    """What a card retry by staff came to: charged or not, in a sentence for the staff;
    `refused` when the gateway refused the request itself (nothing was charged)."""

    charged: bool
    message: str
    refused: bool = False

    def __str__(self) -> str:
        return self.message


def card_retry_check(*, account: Account, by: Actor, now: datetime) -> None:
    """Refuse (BillingError) a card retry that ``card_retry_claim`` would refuse before any
    charge: the permission, a charge at the gateway right now, nothing owed, no valid card.
    Staff actions over several accounts check them all before charging any."""
    require_permission(by, "billing.retry_card", _("retry cards"))
    profile = BillingProfile.objects.select_related("account").filter(account_id=account.pk).first()
    if profile is None:
        raise BillingError(_("%(account)s has no billing profile") % {"account": account})
    if _resumable_by_staff(profile, purpose_is_purchase=False, now=now):
        return
    _refuse_while_charging(profile, now=now)
    if not _outstanding(profile):
        raise BillingError(
            _("%(account)s has no declined or unpaid charge to retry")
            % {"account": profile.account}
        )
    card = Card.objects.filter(account_id=account.pk).first()
    if card is None or not card.is_valid_on(local_date(now, profile.account.zone)):
        raise BillingError(
            _("%(account)s has no valid card on file; attach a card first")
            % {"account": profile.account}
        )


@transaction.atomic
def card_retry_claim(*, account: Account, by: Actor, now: datetime) -> Charge | CardRetry:
    """The first step of trying the card on file at once for the outstanding period, outside
    the retry schedule (e.g. the customer updated the card): the charge is claimed on the
    profile and committed (billing.services.charging), to be sent with ``charge_send`` and
    recorded with ``card_retry_record`` (``workflows.payments.card_retry_now`` does all three).
    A CardRetry when nothing is to be charged. A retry whose record a crash lost is sent again
    as it was (same key: the gateway answers with the first charge)."""
    require_permission(by, "billing.retry_card", _("retry cards"))
    profile = lock_profile(account)
    account = profile.account
    card = Card.objects.filter(account_id=account.pk).first()
    if _resumable_by_staff(profile, purpose_is_purchase=False, now=now):
        charge = claimed_charge(profile)
        charge.token = card.token if card is not None else ""
        if profile.plan is None:
            raise BillingError(_("%(account)s has no plan to bill") % {"account": account})
        charge.description, charge.payment = charge_texts(
            charge.purpose, charge.period, profile.plan, _active_addons(account), profile
        )
    else:
        _refuse_while_charging(profile, now=now)
        if not _outstanding(profile):
            raise BillingError(
                _("%(account)s has no declined or unpaid charge to retry") % {"account": account}
            )
        if card is None or not card.is_valid_on(local_date(now, account.zone)):
            raise BillingError(
                _("%(account)s has no valid card on file; attach a card first")
                % {"account": account}
            )
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
        outcome = bill_account(profile=profile, card=card, addons=_active_addons(account), run=run)
        if outcome is None:
            raise BillingError(_("the account cannot be billed; see the log for the reason"))
        if not isinstance(outcome, Charge):
            # Nothing for the card to pay (and nothing written): say so.
            return CardRetry(charged=False, message=_("the card was not charged (not charged)"))
        charge = outcome
        _save(run)
    claim_write(profile, charge, token=claim_token(staff=True), until=now + CHARGE_LEASE)
    profile.save()
    return charge


def card_retry_record(*, account: Account, sent: Sent, by: Actor, now: datetime) -> CardRetry:
    """The last step of a card retry by staff, inside the caller's transaction (which locked
    `account`): the attempt, and on success the charge, with a restart of billing when the
    account was unpaid (a suspended account is then reactivated by ``workflows.payments``). A
    decline outside the schedule neither advances nor shortens the retries: only the attempt
    is recorded."""
    profile = _claimed_profile(account=account, charge=sent.charge)
    profile.account = account
    was_unpaid = profile.unpaid_since is not None or account.status == AccountStatus.SUSPENDED
    run = Run(as_of=now, by=by, gateway=get_gateway(), plans={})
    outcome = charge_record(profile=profile, sent=sent, run=run, retries=False)
    entries = _save(run)
    charged = outcome in PAID_OUTCOMES.values()
    if charged and was_unpaid:
        # As after a recorded payment: the months without service are not billed.
        _restart_billing(profile, now=now)
    profile.save()
    if sent.refused:
        return CardRetry(
            charged=False,
            message=_("the card could not be charged: %(problem)s") % {"problem": sent.refused},
            refused=True,
        )
    if not charged:
        reason = run.attempts[-1]["message"] if run.attempts else _("not charged")
        return CardRetry(
            charged=False, message=_("the card was not charged (%(reason)s)") % {"reason": reason}
        )
    total = sum((e.amount for e in entries if e.kind == EntryKind.CARD_PAYMENT), Decimal(0))
    return CardRetry(
        charged=True,
        message=_("the card was charged %(total)s %(currency)s")
        % {"total": total, "currency": sent.charge.currency},
    )
