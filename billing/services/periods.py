"""Billing one account's period (R3, R5, R8, R11): what it owes, the card charge it puts in
flight, how the gateway's answer is recorded, and the retry schedule of a declined card.
Nothing is written here: the billing run (billing.services.run) writes a batch at a time, a
staff action (billing.services.payments) one account.

A declined card is retried on CARD_RETRY_DAYS, each retry counted from the attempt before it:
days 1, 3 and 5 after the first decline when the run comes daily, and the same gaps (1, then
2, then 2 days) after a run that comes late, so catching up never uses the retries at once.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.utils.translation import gettext as _

from accounts.models import AccountStatus
from billing import conf
from billing.calendar import next_billing_after
from billing.gateway import PaymentGateway
from billing.models import (
    AccountAddOn,
    BillingMode,
    BillingProfile,
    Card,
    CardChargeAttempt,
    ChargePurpose,
    EntryKind,
    Plan,
)
from billing.services.charging import Charge, Sent, claim_clear, claimed_charge
from billing.services.common import BillingError
from core.actors import Actor
from core.localtime import local_date, start_of_day

logger = logging.getLogger(__name__)

# What a paid charge is booked as, by purpose, and the count it adds to the run's report.
PAID_KINDS: dict[str, EntryKind] = {
    ChargePurpose.CHARGE: EntryKind.CHARGE,
    ChargePurpose.PAUSE_FEE: EntryKind.PAUSE_FEE,
    ChargePurpose.RENEWAL: EntryKind.PREPAYMENT_PURCHASE,
    ChargePurpose.PURCHASE: EntryKind.PREPAYMENT_PURCHASE,
}
PAID_OUTCOMES: dict[str, str] = {
    ChargePurpose.CHARGE: "charged",
    ChargePurpose.PAUSE_FEE: "pause_fees",
    ChargePurpose.RENEWAL: "prepaid_renewed",
    ChargePurpose.PURCHASE: "prepaid_bought",
}
# Purposes whose payment buys prepaid balance.
PREPAYMENT_PURPOSES = (ChargePurpose.RENEWAL, ChargePurpose.PURCHASE)


@dataclass
class Run:
    """One billing run's context and what it writes, one batch at a time."""

    as_of: datetime
    by: Actor
    gateway: PaymentGateway
    plans: dict[int, Plan]
    # Set for a charge outside the schedule (a retry by staff): a fresh key per such attempt.
    key_suffix: str = ""
    # The claim token of this run's card charges in flight (charging.claim_token).
    claim: str = ""
    # The rows of ledger entries and charge attempts to write, by field (attname): the run
    # copies them in without making a model instance of each.
    entries: list[dict] = field(default_factory=list)
    attempts: list[dict] = field(default_factory=list)
    counts: Counter = field(default_factory=Counter)
    # The profiles of the charges this batch put in flight, as the claim left them.
    claimed: dict[int, BillingProfile] = field(default_factory=dict)

    def __post_init__(self) -> None:
        user = self.by.as_fields()["by_user"]
        self.by_row = {"by_user_id": user.pk if user else None, "by_job": self.by.job}

    def entry(self, account_id: int, kind: str, amount: Decimal, currency: str, **extra):
        self.entries.append(
            {
                "account_id": account_id,
                "at": self.as_of,
                "kind": kind,
                "amount": amount,
                "currency": currency,
                **extra,
                **self.by_row,
            }
        )


def monthly_total(*, plan: Plan, addons: list[AccountAddOn]) -> Decimal:
    """The plan's monthly price plus its active add-ons, all in the plan's currency."""
    total = plan.monthly_price
    for sub in addons:
        if sub.addon.currency != plan.currency:
            raise BillingError(
                _(
                    "add-on %(name)s is priced in %(currency)s but the plan "
                    "%(name2)s in %(currency2)s; the account cannot be billed "
                    "until they match"
                )
                % {
                    "name": sub.addon.name,
                    "currency": sub.addon.currency,
                    "name2": plan.name,
                    "currency2": plan.currency,
                }
            )
        total += sub.addon.monthly_price
    return total


def bill_account(
    *,
    profile: BillingProfile,
    card: Card | None,
    addons: list[AccountAddOn],
    run: Run,
) -> str | Charge | None:
    """Bill one locked, due profile into `run` up to its card charge (nothing is written here):
    the outcome when no card is charged, the Charge to put in flight, or None when the account
    cannot be billed (a configuration error): it is counted as an error, logged, and left due;
    the rest of the batch goes on. A charge already in flight (left by a crash) is sent again
    as it was."""
    entries_before = len(run.entries)
    try:
        if profile.charge_key:
            return _resumed(profile=profile, card=card, addons=addons, run=run)
        return _bill(profile=profile, card=card, addons=addons, run=run)
    except BillingError as exc:
        # Nothing of this account is written: drop what it added to the batch.
        del run.entries[entries_before:]
        logger.error("billing %s failed: %s", profile.account, exc)
        run.counts["errors"] += 1
        return None


def _plan_of(profile: BillingProfile, run: Run) -> Plan:
    plan = run.plans.get(profile.plan_id) if profile.plan_id is not None else None
    if plan is None:
        raise BillingError(_("%(account)s has no plan to bill") % {"account": profile.account})
    return plan


def _bill(
    *, profile: BillingProfile, card: Card | None, addons: list[AccountAddOn], run: Run
) -> str | Charge:
    account = profile.account
    plan = _plan_of(profile, run)
    currency = plan.currency
    period = profile.next_billing_date
    today = local_date(run.as_of, account.zone)
    paused = account.status == AccountStatus.PAUSED

    if paused:
        fee = conf.pause_fees().get(currency)
        if fee is None:
            raise BillingError(
                _("no pause fee is set for %(currency)s (setting PAUSE_FEES)")
                % {"currency": currency}
            )
        if (card is None or not card.is_valid_on(today)) and profile.prepaid_balance >= fee:
            profile.prepaid_balance -= fee
            run.entry(
                account.pk,
                EntryKind.PAUSE_FEE,
                fee,
                currency,
                period=period,
                description=f"Pause fee, month from {period}, from the prepaid balance",
                prepaid_balance_after=profile.prepaid_balance,
            )
            _advance(profile, today)
            return "pause_fees"
        return _card_charge(
            profile=profile,
            card=card,
            run=run,
            today=today,
            purpose="pause_fee",
            amount=fee,
            currency=currency,
            texts=charge_texts("pause_fee", period, plan, addons, profile),
        )

    monthly = monthly_total(plan=plan, addons=addons)
    if profile.mode == BillingMode.MONTHLY_CARD:
        return _card_charge(
            profile=profile,
            card=card,
            run=run,
            today=today,
            purpose="charge",
            amount=monthly,
            currency=currency,
            texts=charge_texts("charge", period, plan, addons, profile),
        )

    # Prepaid: the month that ended on the billing date is consumed (in arrears, so the term
    # bought covers exactly its months); once the balance is zero the term renews by card.
    if profile.prepaid_balance > 0:
        take = min(profile.prepaid_balance, monthly)
        profile.prepaid_balance -= take
        run.entry(
            account.pk,
            EntryKind.PREPAID_CONSUMPTION,
            take,
            currency,
            period=period,
            description=f"{plan.name}, month to {period}, from the prepaid balance",
            prepaid_balance_after=profile.prepaid_balance,
        )
        if profile.prepaid_balance > 0:
            _advance(profile, today)
            return "prepaid_consumed"
    if not profile.auto_renew:
        _mark_unpaid(profile, run, "prepaid balance at zero and automatic renewal is off")
        return "marked_unpaid"
    return _card_charge(
        profile=profile,
        card=card,
        run=run,
        today=today,
        purpose="renewal",
        amount=monthly * profile.prepaid_months,
        currency=currency,
        texts=charge_texts("renewal", period, plan, addons, profile),
    )


def charge_texts(
    purpose: str,
    period: date | None,
    plan: Plan,
    addons: list[AccountAddOn],
    profile: BillingProfile,
) -> tuple[str, str]:
    """The ledger texts of a card charge: what it pays, and the card payment."""
    if purpose == "pause_fee":
        return (
            f"Pause fee, month from {period}",
            f"Card payment of the pause fee, month from {period}",
        )
    if purpose == "renewal":
        monthly = monthly_total(plan=plan, addons=addons)
        return (
            f"Prepaid term renewed: {profile.prepaid_months} months of {monthly}",
            f"Card payment of the prepaid renewal of {period}",
        )
    if purpose == "purchase":
        return (
            f"Prepaid term bought: {profile.prepaid_months} months",
            "Card payment of a prepaid term",
        )
    extras = f" and {len(addons)} add-on(s)" if addons else ""
    return (f"{plan.name}{extras}, month from {period}", f"Card payment of the month from {period}")


def _card_charge(
    *,
    profile: BillingProfile,
    card: Card | None,
    run: Run,
    today: date,
    purpose: str,
    amount: Decimal,
    currency: str,
    texts: tuple[str, str],
) -> str | Charge:
    """The card charge of the period, to put in flight; or, without a valid card, the profile
    marked unpaid (R11)."""
    account = profile.account
    if card is None:
        _mark_unpaid(profile, run, "no card on file")
        return "marked_unpaid"
    if not card.is_valid_on(today):
        _mark_unpaid(profile, run, f"card {card.brand} •••• {card.last4} expired")
        return "marked_unpaid"
    # The same account, period, purpose and attempt always give the same key: a charge sent
    # again after a crash gets the first charge back from the gateway.
    attempt_label = run.key_suffix or profile.card_declines
    period = profile.next_billing_date
    return Charge(
        profile_id=profile.pk,
        account_id=account.pk,
        key=f"{purpose}:{account.pk}:{period}:{attempt_label}",
        purpose=purpose,
        period=period,
        amount=amount,
        currency=currency,
        token=card.token,
        description=texts[0],
        payment=texts[1],
    )


def _resumed(
    *, profile: BillingProfile, card: Card | None, addons: list[AccountAddOn], run: Run
) -> Charge:
    """The charge a crashed run (or a dead attempt of this batch) left in flight, to send
    again as it was first sent: same key, same amount."""
    charge = claimed_charge(profile)
    plan = _plan_of(profile, run)
    charge.description, charge.payment = charge_texts(
        charge.purpose, charge.period, plan, addons, profile
    )
    charge.token = card.token if card is not None else ""
    run.counts["resumed"] += 1
    return charge


def charge_record(*, profile: BillingProfile, sent: Sent, run: Run, retries: bool = True) -> str:
    """Record the gateway's answer to a charge on its profile, locked and read again in the
    recording transaction (nothing is written here; the caller saves): the attempt, and once
    paid the ledger entries and the next billing date; a decline schedules the next retry
    (`retries`, the run's schedule) or marks the account unpaid after the last (R11). Returns
    the outcome for the counts."""
    charge = sent.charge
    account = profile.account
    today = local_date(run.as_of, account.zone)
    claim_clear(profile)
    if sent.refused:
        logger.error("billing %s failed: %s", account, sent.refused)
        return "errors"
    attempt = {
        "account_id": charge.account_id,
        "at": run.as_of,
        "purpose": charge.purpose,
        "period": charge.period,
        "amount": charge.amount,
        "currency": charge.currency,
        "idempotency_key": charge.key,
        **run.by_row,
    }
    run.attempts.append(attempt)
    if sent.unavailable:
        # Neither paid nor declined: the period stays due, and the next run asks again.
        attempt["outcome"] = CardChargeAttempt.Outcome.FAILED
        attempt["message"] = sent.unavailable
        return "gateway_unavailable"
    result = sent.result
    assert result is not None
    # Only what the charge was for moves on: a billing date staff rescheduled meanwhile stays.
    same_period = charge.period is not None and profile.next_billing_date == charge.period
    if not result.succeeded:
        attempt["outcome"] = CardChargeAttempt.Outcome.DECLINED
        attempt["message"] = result.decline_code
        if retries and same_period:
            _declined(profile, run, today, result.decline_code)
        return _unpaid_outcome(profile)
    attempt["outcome"] = CardChargeAttempt.Outcome.SUCCEEDED
    attempt["gateway_reference"] = result.reference
    extra: dict = {}
    if charge.purpose in PREPAYMENT_PURPOSES:
        profile.prepaid_balance += charge.amount
        extra["prepaid_balance_after"] = profile.prepaid_balance
    run.entry(
        charge.account_id,
        PAID_KINDS[charge.purpose],
        charge.amount,
        charge.currency,
        period=charge.period,
        reference=result.reference,
        description=charge.description,
        **extra,
    )
    run.entry(
        charge.account_id,
        EntryKind.CARD_PAYMENT,
        charge.amount,
        charge.currency,
        reference=result.reference,
        description=charge.payment,
    )
    if charge.purpose in PREPAYMENT_PURPOSES and profile.closed_at is not None:
        # The account was cancelled while its renewal was at the gateway: the renewal came
        # due before, and the cancellation forfeits the balance (R5), as it would have.
        run.entry(
            charge.account_id,
            EntryKind.FORFEITURE,
            profile.prepaid_balance,
            charge.currency,
            prepaid_balance_after=0,
            description="Prepaid balance forfeited on cancellation; prepayments are not "
            "refundable (R5)",
        )
        profile.prepaid_balance = Decimal("0.00")
    if same_period:
        _advance(profile, today)
    return PAID_OUTCOMES[charge.purpose]


def _unpaid_outcome(profile: BillingProfile) -> str:
    if profile.unpaid_since is not None:
        return "marked_unpaid"
    return "card_declined"


def _declined(profile: BillingProfile, run: Run, today: date, code: str) -> None:
    """Schedule the next retry of CARD_RETRY_DAYS, or mark unpaid after the last one (R11).
    The next retry is counted from this attempt, by the gap the schedule leaves between the two
    (days 1, 3, 5 after the first decline: 1, then 2, then 2 days later), so a run that comes
    late, or several runs at one moment, never try the card twice without that gap."""
    retry_days = conf.card_retry_days()
    profile.card_declines += 1
    if profile.first_declined_on is None:
        profile.first_declined_on = today
    declines = profile.card_declines
    if profile.unpaid_since is not None or declines > len(retry_days):
        _mark_unpaid(profile, run, f"card declined ({code}) {declines} time(s), retries over")
        return
    before = retry_days[declines - 2] if declines >= 2 else 0
    profile.retry_on = today + timedelta(days=max(1, retry_days[declines - 1] - before))
    profile.due_at = start_of_day(profile.retry_on, profile.account.zone)


def _mark_unpaid(profile: BillingProfile, run: Run, reason: str) -> None:
    if profile.unpaid_since is None:
        profile.unpaid_since = run.as_of
    profile.unpaid_reason = reason[:200]
    profile.due_at = None
    profile.retry_on = None


def _advance(profile: BillingProfile, today: date) -> None:
    """The period is paid: move to the next billing date and clear the retries."""
    if profile.next_billing_date is None:
        raise BillingError(
            _("%(account)s has no billing date to move on from") % {"account": profile.account}
        )
    nxt = next_billing_after(profile.next_billing_date, today, profile.anchor_day)
    profile.next_billing_date = nxt
    profile.due_at = start_of_day(nxt, profile.account.zone)
    profile.card_declines = 0
    profile.first_declined_on = None
    profile.retry_on = None
