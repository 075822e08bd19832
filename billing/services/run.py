"""The billing run (R3, R5, R8, R11): every account whose billing date has come in its time zone.

- active, monthly by card: the plan and active add-ons are charged to the card;
- active, prepaid: the month that ended is consumed from the prepaid balance; when the balance
  reaches zero the same prepaid term is bought again with the card on file (R11);
- paused: the pause fee is charged (R8), to the card, or from the prepaid balance without one;
- no valid card (none, expired, or declined on every retry of CARD_RETRY_DAYS): the account is
  marked unpaid, and the suspension job takes it from there (R11);
- cancelled, expired or suspended accounts are never billed, so a cancellation before the
  billing date means that date is never charged (R3).

Each period is billed at most once: the ledger has a unique constraint per account and period,
each card charge carries an idempotency key derived from the account, period and attempt, and
the run claims accounts with ``select_for_update(skip_locked=True)`` in batches by id, so two
workers never bill the same account at once and a crashed run can simply run again.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import QuerySet

from accounts.models import Account, AccountStatus
from billing import conf
from billing.calendar import next_billing_after
from billing.gateway import GatewayError, GatewayUnavailable, PaymentGateway, get_gateway
from billing.models import (
    AccountAddOn,
    BillingMode,
    BillingProfile,
    Card,
    CardChargeAttempt,
    EntryKind,
    LedgerEntry,
    Plan,
)
from billing.selectors import profiles_due_for_billing
from billing.services.common import BillingError
from core.actors import Actor
from core.localtime import local_date, start_of_day

logger = logging.getLogger(__name__)

# Accounts claimed per transaction. Row locks and the gateway calls of a batch are held for the
# whole transaction: 500 keeps it around a second with a fast gateway, and small enough that
# a second worker finds the next batch free instead of waiting.
BATCH_SIZE = 500
BILLABLE_STATUSES = (AccountStatus.ACTIVE, AccountStatus.PAUSED)
PROFILE_FIELDS = [
    "next_billing_date",
    "anchor_day",
    "due_at",
    "prepaid_balance",
    "card_declines",
    "first_declined_on",
    "unpaid_since",
    "unpaid_reason",
]
# PostgreSQL types of PROFILE_FIELDS, for the one-statement batch update.
_PROFILE_SQL_TYPES = [
    "date",
    "smallint",
    "timestamptz",
    "numeric",
    "smallint",
    "date",
    "timestamptz",
    "varchar",
]


@dataclass
class Run:
    """One billing run's context and what it writes, one batch at a time."""

    as_of: datetime
    by: Actor
    gateway: PaymentGateway
    plans: dict[int, Plan]
    # Set for a charge outside the schedule (a retry by staff): a fresh key per such attempt.
    key_suffix: str = ""
    entries: list[LedgerEntry] = field(default_factory=list)
    attempts: list[CardChargeAttempt] = field(default_factory=list)
    counts: Counter = field(default_factory=Counter)

    def entry(self, account: Account, kind: str, amount: Decimal, currency: str, **extra):
        self.entries.append(
            LedgerEntry(
                account_id=account.pk,
                at=self.as_of,
                kind=kind,
                amount=amount,
                currency=currency,
                **extra,
                **self.by.as_fields(),
            )
        )


def plans_by_id() -> dict[int, Plan]:
    """All plans: a small catalogue, read once per run instead of once per account."""
    return {plan.pk: plan for plan in Plan.objects.all()}


def monthly_total(*, plan: Plan, addons: list[AccountAddOn]) -> Decimal:
    """The plan's monthly price plus its active add-ons, all in the plan's currency."""
    total = plan.monthly_price
    for sub in addons:
        if sub.addon.currency != plan.currency:
            raise BillingError(
                f"add-on {sub.addon.name} is priced in {sub.addon.currency} but the plan "
                f"{plan.name} in {plan.currency}; the account cannot be billed until they match"
            )
        total += sub.addon.monthly_price
    return total


def billing_run(
    *,
    profiles: QuerySet[BillingProfile],
    as_of: datetime,
    by: Actor,
    batch_size: int = BATCH_SIZE,
    gateway: PaymentGateway | None = None,
) -> dict[str, int]:
    """Bill the due `profiles` (the run_billing job's items, or any due selection) as of
    `as_of`, in transactions of `batch_size`; returns counts of what was done. Each transaction
    claims its profiles with skip_locked, so a second worker billing an overlapping selection
    takes the others."""
    run = Run(as_of=as_of, by=by, gateway=gateway or get_gateway(), plans=plans_by_id())
    last = 0
    while True:
        with transaction.atomic():
            batch = list(
                profiles.filter(id__gt=last)
                .select_for_update(skip_locked=True, of=("self", "account"))
                .select_related("account")
                .order_by("id")[:batch_size]
            )
            if batch:
                _bill_batch(batch, run)
        if len(batch) < batch_size:
            return dict(run.counts)
        last = batch[-1].id


def billing_run_preview(*, profiles: QuerySet[BillingProfile]) -> dict[str, int]:
    """What billing_run would do with `profiles`, by kind of account; nothing changes."""
    counts: Counter = Counter()
    for status, mode in profiles.values_list("account__status", "mode"):
        counts["would_bill_paused" if status == AccountStatus.PAUSED else f"would_bill_{mode}"] += 1
    return dict(counts)


def _bill_batch(profiles: list[BillingProfile], run: Run) -> None:
    """Bill a batch of locked profiles with a handful of queries: cards and add-ons read per
    batch, ledger entries and charge attempts bulk-inserted, profiles bulk-updated."""
    account_ids = [p.account_id for p in profiles]
    cards = {c.account_id: c for c in Card.objects.filter(account_id__in=account_ids)}
    addons: dict[int, list[AccountAddOn]] = defaultdict(list)
    for sub in AccountAddOn.objects.filter(
        account_id__in=account_ids, cancelled_at__isnull=True
    ).select_related("addon"):
        addons[sub.account_id].append(sub)
    changed = []
    for profile in profiles:
        if bill_account(
            profile=profile,
            card=cards.get(profile.account_id),
            addons=addons[profile.account_id],
            run=run,
        ):
            changed.append(profile)
    _insert(LedgerEntry, run.entries)
    _insert(CardChargeAttempt, run.attempts)
    if changed:
        _update_profiles(changed)
    run.entries, run.attempts = [], []


def _insert(model, rows: list) -> None:
    """Append a batch of new rows. On PostgreSQL through COPY, several times faster than
    bulk_create's INSERT; constraints and triggers apply the same (a duplicate period still
    fails the whole batch)."""
    if not rows:
        return
    if connection.vendor != "postgresql":
        model.objects.bulk_create(rows)
        return
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    with connection.cursor() as cursor:
        with cursor.cursor.copy(f"COPY {model._meta.db_table} ({columns}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row([getattr(row, f.attname) for f in fields])


def _update_profiles(profiles: list[BillingProfile]) -> None:
    """Write the billing fields of a batch of profiles. On PostgreSQL one UPDATE … FROM
    (VALUES …): Django's bulk_update builds a CASE per field and row, which costs more than
    the whole rest of the batch."""
    if connection.vendor != "postgresql":
        BillingProfile.objects.bulk_update(profiles, PROFILE_FIELDS)
        return
    row = "(" + ", ".join(["%s::bigint"] + [f"%s::{t}" for t in _PROFILE_SQL_TYPES]) + ")"
    params: list = []
    for profile in profiles:
        params.append(profile.pk)
        params.extend(getattr(profile, name) for name in PROFILE_FIELDS)
    assignments = ", ".join(f"{name} = v.{name}" for name in PROFILE_FIELDS)
    table = BillingProfile._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} AS p SET {assignments} "
            f"FROM (VALUES {', '.join([row] * len(profiles))}) "
            f"AS v(id, {', '.join(PROFILE_FIELDS)}) WHERE p.id = v.id",
            params,
        )


def billing_account_run(
    *, account: Account, as_of: datetime, by: Actor, gateway: PaymentGateway | None = None
) -> dict[str, int]:
    """Bill one account if it is due, in its own transaction, one row at a time. The plain
    path for a single account (and the benchmark's baseline); the run uses batches."""
    run = Run(as_of=as_of, by=by, gateway=gateway or get_gateway(), plans={})
    with transaction.atomic():
        profile = (
            profiles_due_for_billing(as_of=as_of)
            .select_for_update(of=("self", "account"))
            .select_related("account", "plan")
            .filter(account_id=account.pk)
            .first()
        )
        if profile is None or profile.plan is None:
            return {}
        run.plans[profile.plan.pk] = profile.plan
        card = Card.objects.filter(account_id=account.pk).first()
        addons = list(
            AccountAddOn.objects.filter(
                account_id=account.pk, cancelled_at__isnull=True
            ).select_related("addon")
        )
        if bill_account(profile=profile, card=card, addons=addons, run=run):
            for entry in run.entries:
                entry.save()
            for attempt in run.attempts:
                attempt.save()
            profile.save(update_fields=PROFILE_FIELDS)
    return dict(run.counts)


def bill_account(
    *,
    profile: BillingProfile,
    card: Card | None,
    addons: list[AccountAddOn],
    run: Run,
) -> bool:
    """Bill one locked, due profile into `run` (nothing is written here). Returns whether the
    profile changed. An account that cannot be billed (a configuration error) is counted as
    an error, logged, and left due; the rest of the batch goes on."""
    entries_before, attempts_before = len(run.entries), len(run.attempts)
    try:
        outcome = _bill(profile=profile, card=card, addons=addons, run=run)
    except (BillingError, GatewayError) as exc:
        # Nothing of this account is written: drop what it added to the batch.
        del run.entries[entries_before:]
        del run.attempts[attempts_before:]
        logger.error("billing %s failed: %s", profile.account, exc)
        run.counts["errors"] += 1
        return False
    run.counts[outcome] += 1
    return True


def _bill(
    *, profile: BillingProfile, card: Card | None, addons: list[AccountAddOn], run: Run
) -> str:
    account = profile.account
    plan = run.plans.get(profile.plan_id) if profile.plan_id is not None else None
    if plan is None:
        raise BillingError(f"{account} has no plan to bill")
    currency = plan.currency
    period = profile.next_billing_date
    today = local_date(run.as_of, account.zone)
    paused = account.status == AccountStatus.PAUSED

    if paused:
        fee = conf.pause_fees().get(currency)
        if fee is None:
            raise BillingError(f"no pause fee is set for {currency} (setting PAUSE_FEES)")
        if (card is None or not card.is_valid_on(today)) and profile.prepaid_balance >= fee:
            profile.prepaid_balance -= fee
            run.entry(
                account,
                EntryKind.PAUSE_FEE,
                fee,
                currency,
                period=period,
                description=f"Pause fee, month from {period}, from the prepaid balance",
                prepaid_balance_after=profile.prepaid_balance,
            )
            _advance(profile, today)
            return "pause_fees"
        return _pay_by_card(
            profile=profile,
            card=card,
            run=run,
            today=today,
            amount=fee,
            currency=currency,
            purpose="pause_fee",
            outcome="pause_fees",
            kind=EntryKind.PAUSE_FEE,
            description=f"Pause fee, month from {period}",
            payment=f"Card payment of the pause fee, month from {period}",
        )

    monthly = monthly_total(plan=plan, addons=addons)
    if profile.mode == BillingMode.MONTHLY_CARD:
        extras = f" and {len(addons)} add-on(s)" if addons else ""
        return _pay_by_card(
            profile=profile,
            card=card,
            run=run,
            today=today,
            amount=monthly,
            currency=currency,
            purpose="charge",
            outcome="charged",
            kind=EntryKind.CHARGE,
            description=f"{plan.name}{extras}, month from {period}",
            payment=f"Card payment of the month from {period}",
        )

    # Prepaid: the month that ended on the billing date is consumed (in arrears, so the term
    # bought covers exactly its months); once the balance is zero the term renews by card.
    if profile.prepaid_balance > 0:
        take = min(profile.prepaid_balance, monthly)
        profile.prepaid_balance -= take
        run.entry(
            account,
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
    return _pay_by_card(
        profile=profile,
        card=card,
        run=run,
        today=today,
        amount=monthly * profile.prepaid_months,
        currency=currency,
        purpose="renewal",
        outcome="prepaid_renewed",
        kind=EntryKind.PREPAYMENT_PURCHASE,
        credits_prepaid_balance=True,
        description=f"Prepaid term renewed: {profile.prepaid_months} months of {monthly}",
        payment=f"Card payment of the prepaid renewal of {period}",
    )


def _pay_by_card(
    *,
    profile: BillingProfile,
    card: Card | None,
    run: Run,
    today: date,
    amount: Decimal,
    currency: str,
    purpose: str,
    outcome: str,
    kind: str,
    description: str,
    payment: str,
    credits_prepaid_balance: bool = False,
) -> str:
    """Charge `amount` for the period to the card on file; once paid, the ledger gets the
    entry of `kind` and its card payment (and a prepaid term its balance), and billing moves
    to the next date. Returns `outcome`, or what kept the period unpaid."""
    reference = _card_pay(
        profile=profile,
        card=card,
        amount=amount,
        currency=currency,
        purpose=purpose,
        today=today,
        run=run,
    )
    if reference is None:
        return _unpaid_outcome(profile)
    extra = {}
    if credits_prepaid_balance:
        profile.prepaid_balance += amount
        extra["prepaid_balance_after"] = profile.prepaid_balance
    account, period = profile.account, profile.next_billing_date
    run.entry(
        account,
        kind,
        amount,
        currency,
        period=period,
        reference=reference,
        description=description,
        **extra,
    )
    run.entry(
        account,
        EntryKind.CARD_PAYMENT,
        amount,
        currency,
        reference=reference,
        description=payment,
    )
    _advance(profile, today)
    return outcome


def _unpaid_outcome(profile: BillingProfile) -> str:
    if profile.unpaid_since is not None:
        return "marked_unpaid"
    if profile.card_declines:
        return "card_declined"
    return "gateway_unavailable"


def _card_pay(
    *,
    profile: BillingProfile,
    card: Card | None,
    amount: Decimal,
    currency: str,
    purpose: str,
    today: date,
    run: Run,
) -> str | None:
    """Charge the card on file once for this period and attempt. Returns the gateway's
    reference, or None after marking the profile (declined, unpaid) or leaving it due
    (gateway unavailable)."""
    account = profile.account
    if card is None:
        _mark_unpaid(profile, run, "no card on file")
        return None
    if not card.is_valid_on(today):
        _mark_unpaid(profile, run, f"card {card.brand} •••• {card.last4} expired")
        return None
    # The same account, period, purpose and attempt always give the same key: a run retried
    # after a crash asks the gateway again with it and gets the first charge back.
    attempt_label = run.key_suffix or profile.card_declines
    key = f"{purpose}:{account.pk}:{profile.next_billing_date}:{attempt_label}"
    attempt = CardChargeAttempt(
        account_id=account.pk,
        at=run.as_of,
        purpose=purpose,
        period=profile.next_billing_date,
        amount=amount,
        currency=currency,
        idempotency_key=key,
        **run.by.as_fields(),
    )
    try:
        result = run.gateway.charge(
            token=card.token, amount=amount, currency=currency, idempotency_key=key
        )
    except GatewayUnavailable as exc:
        attempt.outcome, attempt.message = CardChargeAttempt.Outcome.FAILED, str(exc)[:200]
        run.attempts.append(attempt)
        return None
    run.attempts.append(attempt)
    if result.succeeded:
        attempt.outcome, attempt.gateway_reference = "succeeded", result.reference
        return result.reference
    attempt.outcome, attempt.message = CardChargeAttempt.Outcome.DECLINED, result.decline_code
    _declined(profile, run, today, result.decline_code)
    return None


def _declined(profile: BillingProfile, run: Run, today: date, code: str) -> None:
    """Schedule the next retry of CARD_RETRY_DAYS, or mark unpaid after the last one (R11)."""
    retry_days = conf.card_retry_days()
    profile.card_declines += 1
    if profile.first_declined_on is None:
        profile.first_declined_on = today
    if profile.unpaid_since is not None or profile.card_declines > len(retry_days):
        _mark_unpaid(
            profile, run, f"card declined ({code}) {profile.card_declines} time(s), retries over"
        )
        return
    retry_on = profile.first_declined_on + timedelta(days=retry_days[profile.card_declines - 1])
    profile.due_at = start_of_day(retry_on, profile.account.zone)


def _mark_unpaid(profile: BillingProfile, run: Run, reason: str) -> None:
    if profile.unpaid_since is None:
        profile.unpaid_since = run.as_of
    profile.unpaid_reason = reason[:200]
    profile.due_at = None


def _advance(profile: BillingProfile, today: date) -> None:
    """The period is paid: move to the next billing date and clear the retries."""
    if profile.next_billing_date is None:
        raise BillingError(f"{profile.account} has no billing date to move on from")
    nxt = next_billing_after(profile.next_billing_date, today, profile.anchor_day)
    profile.next_billing_date = nxt
    profile.due_at = start_of_day(nxt, profile.account.zone)
    profile.card_declines = 0
    profile.first_declined_on = None
