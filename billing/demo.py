"""Demo billing: plans and add-ons, a profile for every paying account (monthly by card, prepaid
terms, some at zero without a card and suspended, declining and expiring cards, a few card
charges left in flight by a stopped run), and a few months of ledger history each. Everything
through bulk_create."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from decimal import Decimal

from django.utils.translation import gettext as _

from accounts.models import Account, AccountEvent, AccountStatus
from billing.calendar import add_months
from billing.models import (
    AccountAddOn,
    AddOn,
    BillingMode,
    BillingProfile,
    Card,
    CardChargeAttempt,
    EntryKind,
    LedgerEntry,
    Plan,
)
from core.localtime import local_date, start_of_day

S = AccountStatus
JOB = {"by_job": "seed_demo"}
PLANS = [
    ("starter", "Starter", "15.00", "USD"),
    ("growth", "Growth", "45.00", "USD"),
    ("pro", "Pro", "120.00", "USD"),
    ("wachstum-eur", "Wachstum (EUR)", "42.00", "EUR"),
]
ADDONS = [
    ("dedicated-ip", "Dedicated IP", "20.00", "USD"),
    ("extra-seats", "Extra seats (5)", "10.00", "USD"),
    ("advanced-reports", "Advanced reports", "15.00", "USD"),
    ("extra-seats-eur", "Zusätzliche Nutzer (5)", "9.00", "EUR"),
]
GOOD_TOKENS = ["tok_visa", "tok_mastercard", "tok_amex"]
CARD_DETAILS = {
    "tok_visa": ("Visa", "4242"),
    "tok_mastercard": ("Mastercard", "4444"),
    "tok_amex": ("Amex", "8431"),
    "tok_decline": ("Visa", "0002"),
}


def seed(*, rng: random.Random, now: datetime, count: int) -> str:
    plans = {
        code: Plan(code=code, name=name, monthly_price=Decimal(price), currency=currency)
        for code, name, price, currency in PLANS
    }
    Plan.objects.bulk_create(plans.values())
    addons = {
        code: AddOn(code=code, name=name, monthly_price=Decimal(price), currency=currency)
        for code, name, price, currency in ADDONS
    }
    AddOn.objects.bulk_create(addons.values())
    usd_plans = [plans["starter"], plans["growth"], plans["growth"], plans["pro"]]

    profiles, cards, subs, entries, attempts, notices = [], [], [], [], [], []
    paying = Account.objects.exclude(status__in=(S.TRIAL, S.EXPIRED)).order_by("id")
    unpaid_closures = set(
        AccountEvent.objects.filter(kind="cancelled_involuntary").values_list(
            "account_id", flat=True
        )
    )
    for i, account in enumerate(paying.iterator()):
        german = account.language == "de"
        plan = plans["wachstum-eur"] if german else rng.choice(usd_plans)
        zone = account.zone
        today = local_date(now, zone)
        prepaid = i % 4 == 0
        profile = BillingProfile(
            account=account,
            plan=plan,
            mode=BillingMode.PREPAID if prepaid else BillingMode.MONTHLY_CARD,
            prepaid_months=12,
        )
        # Next billing date: within the coming month, on a fixed day of the month.
        nxt = today + timedelta(days=rng.randint(0, 29))
        profile.anchor_day = nxt.day
        profile.next_billing_date = nxt
        profile.due_at = start_of_day(nxt, zone)

        token = rng.choice(GOOD_TOKENS)
        has_card = True
        expiry = (today.year + rng.randint(1, 4), rng.randint(1, 12))
        if account.status == S.SUSPENDED:
            # Half ran out of prepaid balance without a card, half had a card declined.
            has_card = i % 2 == 1
            token = "tok_decline"
            profile.mode = BillingMode.PREPAID if not has_card else BillingMode.MONTHLY_CARD
            suspended = now - timedelta(days=rng.choice([2, 12, 35, 60, 84, 86, 88, 89]))
            profile.unpaid_since = profile.suspended_at = profile.notice_sent_at = suspended
            notices.append(
                AccountEvent(
                    account=account,
                    at=suspended,
                    kind="suspension_notice",
                    reason=f"Suspension notice sent to {account.primary_email}",
                    by_job="suspend_unpaid",
                )
            )
            profile.unpaid_reason = (
                "no card on file" if not has_card else "card declined (card_declined), retries over"
            )
            profile.due_at = None
            profile.next_billing_date = local_date(suspended, zone)
        elif i % 23 == 5:
            token = "tok_decline"  # declined once, retry tomorrow
            profile.card_declines, profile.first_declined_on = 1, today
            profile.retry_on = today + timedelta(days=1)
            profile.next_billing_date = today
            profile.due_at = start_of_day(today + timedelta(days=1), zone)
            attempts.append(
                CardChargeAttempt(
                    account=account,
                    at=now,
                    purpose="charge",
                    period=today,
                    amount=plan.monthly_price,
                    currency=plan.currency,
                    outcome="declined",
                    idempotency_key=f"charge:{account.pk}:{today}:0",
                    message="card_declined",
                    **JOB,
                )
            )
        elif i % 31 == 11 and account.status == S.ACTIVE and not prepaid:
            # Today's charge was sent to the gateway by a run that stopped before recording
            # it: in flight until the next run sends the same key again and records the charge.
            profile.next_billing_date = today
            profile.due_at = start_of_day(today, zone)
            profile.charge_key = f"charge:{account.pk}:{today}:0"
            profile.charge_purpose, profile.charge_period = "charge", today
            profile.charge_amount, profile.charge_currency = plan.monthly_price, plan.currency
            profile.charge_claim = f"seed-demo-{account.pk}"
            profile.charge_claimed_until = now - timedelta(minutes=50)
        elif i % 17 == 3:
            expiry = (today.year, today.month)  # expires at the end of this month
        elif i % 29 == 7:
            expiry = (today.year - 1, 12)  # expired: the next charge marks the account unpaid
        if prepaid and account.status == S.ACTIVE and i % 3 == 0:
            has_card = False  # prepaid without a card: suspended when the balance runs out
        if account.status in (S.CANCELLED, S.PURGED):
            # Billing closed with the account (R3): the next billing date after the closing is
            # never charged, and the history ends before it.
            closed = local_date(account.inactive_since, zone)
            profile.closed_at = account.inactive_since
            profile.due_at = None
            profile.next_billing_date = closed + timedelta(days=1 + (account.pk * 7) % 27)
            if account.pk in unpaid_closures:
                # Cancelled for non-payment (R11): unpaid since its suspension 91 days before.
                suspended = account.inactive_since - timedelta(days=91)
                profile.unpaid_since = profile.suspended_at = profile.notice_sent_at = suspended
                profile.unpaid_reason = "card declined (card_declined), retries over"
                profile.next_billing_date = local_date(suspended, zone)
            profile.anchor_day = profile.next_billing_date.day
        if has_card:
            brand, last4 = CARD_DETAILS[token]
            cards.append(
                Card(
                    account=account,
                    token=token,
                    brand=brand,
                    last4=last4,
                    exp_year=expiry[0],
                    exp_month=expiry[1],
                    added_at=account.created_at,
                )
            )
        if account.status in (S.ACTIVE, S.PAUSED) and i % 3 == 0:
            choices = [a for a in addons.values() if a.currency == plan.currency]
            for addon in rng.sample(choices, k=min(len(choices), rng.randint(1, 2))):
                subs.append(
                    AccountAddOn(account=account, addon=addon, started_at=account.created_at)
                )
        profile.prepaid_balance = _history(account, profile, plan, now, rng, entries)
        profiles.append(profile)
    attempts += _gateway_successes(entries)

    Card.objects.bulk_create(cards, batch_size=500)
    AccountAddOn.objects.bulk_create(subs, batch_size=500)
    BillingProfile.objects.bulk_create(profiles, batch_size=500)
    LedgerEntry.objects.bulk_create(entries, batch_size=1000)
    CardChargeAttempt.objects.bulk_create(attempts, batch_size=500)
    AccountEvent.objects.bulk_create(notices, batch_size=500)
    return _(
        "%(plans)s plans, %(addons)s add-ons, %(profiles)s billing profiles, %(cards)s cards, "
        "%(entries)s ledger entries"
    ) % {
        "plans": len(plans),
        "addons": len(addons),
        "profiles": len(profiles),
        "cards": len(cards),
        "entries": len(entries),
    }


def _gateway_successes(entries: list[LedgerEntry]) -> list[CardChargeAttempt]:
    """The gateway's charge behind each card payment of the history (R12: every charge is
    recorded with what the gateway answered)."""
    purposes = {
        EntryKind.CHARGE: "charge",
        EntryKind.PAUSE_FEE: "pause_fee",
        EntryKind.PREPAYMENT_PURCHASE: "purchase",
    }
    billed = {
        e.reference: e for e in entries if e.kind in purposes and e.reference.startswith("ch_")
    }
    attempts = []
    for payment in entries:
        if payment.kind != EntryKind.CARD_PAYMENT:
            continue
        entry = billed[payment.reference]
        purpose = purposes[EntryKind(entry.kind)]
        day = entry.period or entry.at.date()
        attempts.append(
            CardChargeAttempt(
                account=payment.account,
                at=payment.at,
                purpose=purpose,
                period=entry.period,
                amount=payment.amount,
                currency=payment.currency,
                idempotency_key=f"{purpose}:{payment.account.pk}:{day}:0",
                outcome="succeeded",
                gateway_reference=payment.reference,
                **JOB,
            )
        )
    return attempts


def _history(account, profile, plan, now, rng, entries) -> Decimal:
    """A few months of ledger before `now`; returns the prepaid balance it leaves."""
    zone = account.zone
    months = rng.randint(2, 5)
    currency, price = plan.currency, plan.monthly_price
    last = profile.next_billing_date
    periods = [add_months(last, -m, profile.anchor_day) for m in range(months, 0, -1)]

    def entry(kind, amount, period=None, **extra):
        at = start_of_day(period, zone) + timedelta(minutes=5) if period else extra.pop("at")
        entries.append(
            LedgerEntry(
                account=account,
                at=min(at, now),
                kind=kind,
                amount=amount,
                currency=currency,
                period=period,
                **extra,
                **JOB,
            )
        )

    if profile.mode == BillingMode.MONTHLY_CARD:
        for n, period in enumerate(periods):
            paused = account.status == S.PAUSED and n >= len(periods) - 2
            kind, amount = (
                (EntryKind.PAUSE_FEE, Decimal("9.00")) if paused else (EntryKind.CHARGE, price)
            )
            ref = f"ch_test_demo_{account.pk}_{period:%Y%m}"
            entry(
                kind, amount, period, reference=ref, description=f"{plan.name}, month from {period}"
            )
            entries.append(
                LedgerEntry(
                    account=account,
                    at=min(start_of_day(period, zone) + timedelta(minutes=5), now),
                    kind=EntryKind.CARD_PAYMENT,
                    amount=amount,
                    currency=currency,
                    reference=ref,
                    description=f"Card payment of the month from {period}",
                    **JOB,
                )
            )
        return Decimal("0.00")

    term = price * 12
    if account.status == S.SUSPENDED:
        consumed = 12  # ran out on its billing date: every month consumed, no card
        bought = add_months(last, -12, profile.anchor_day)
    else:
        # One in five active prepaid accounts is down to its last month (balance below one).
        low = account.status == S.ACTIVE and rng.random() < 0.2
        consumed = 11 if low else rng.randint(1, 8)
        bought = add_months(last, -(consumed + 1), profile.anchor_day)
    ref = f"ch_test_demo_{account.pk}_term"
    entry(
        EntryKind.PREPAYMENT_PURCHASE,
        term,
        None,
        at=start_of_day(bought, zone),
        reference=ref,
        prepaid_balance_after=term,
        description="Prepaid term bought: 12 months",
    )
    entry(
        EntryKind.CARD_PAYMENT,
        term,
        None,
        at=start_of_day(bought, zone),
        reference=ref,
        description="Card payment of a prepaid term",
    )
    balance = term
    for m in range(1, consumed + 1):
        period = add_months(bought, m, profile.anchor_day)
        balance -= price
        entry(
            EntryKind.PREPAID_CONSUMPTION,
            price,
            period,
            prepaid_balance_after=balance,
            description=f"{plan.name}, month to {period}, from the prepaid balance",
        )
    if account.status in (S.CANCELLED, S.PURGED) and balance > 0:
        entry(
            EntryKind.FORFEITURE,
            balance,
            None,
            at=account.inactive_since or now,
            prepaid_balance_after=Decimal("0"),
            description="Prepaid balance forfeited on cancellation; prepayments are not "
            "refundable (R5)",
        )
        balance = Decimal("0")
    return balance
