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
each card charge carries an idempotency key derived from the account, period, purpose and
attempt, and the run claims accounts with ``select_for_update(skip_locked=True)`` in batches by
id, so two workers never bill the same account at once and a crashed run can simply run again.

No gateway call is made under a lock (billing.services.charging): a batch is billed in a short
transaction that writes what needs no card (prepaid consumption, marking unpaid) and claims
each card charge on its profile, and commits; the gateway is then asked outside any
transaction; a second short transaction records each outcome on the profile it locks again,
if its claim is still there. A declined card is tried once per run at most, and each retry is
counted from the attempt before it (CARD_RETRY_DAYS: days 1, 3 and 5 after the first decline
when the run comes daily), so a run catching up after days away spaces them all the same.
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
from billing.gateway import PaymentGateway, get_gateway
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
from billing.services.charging import (
    CHARGE_LEASE,
    CLAIM_FIELDS,
    Charge,
    Sent,
    charge_send,
    claim_clear,
    claim_token,
    claim_write,
    claimed_charge,
)
from billing.services.common import BillingError
from core.actors import Actor
from core.localtime import local_date, start_of_day

logger = logging.getLogger(__name__)

# Accounts claimed per transaction. No lock is held while the gateway is called, so the size
# bounds the two short transactions of a batch (each well under a second) and how many
# charges a crash can leave in flight for the next run to take up.
BATCH_SIZE = 500
BILLABLE_STATUSES = (AccountStatus.ACTIVE, AccountStatus.PAUSED)
# The billing fields the run writes, and the claim of a charge in flight, with their
# PostgreSQL types for the one-statement batch updates.
SQL_TYPES = {
    "next_billing_date": "date",
    "anchor_day": "smallint",
    "due_at": "timestamptz",
    "prepaid_balance": "numeric",
    "card_declines": "smallint",
    "first_declined_on": "date",
    "retry_on": "date",
    "unpaid_since": "timestamptz",
    "unpaid_reason": "varchar",
    "charge_key": "varchar",
    "charge_purpose": "varchar",
    "charge_period": "date",
    "charge_amount": "numeric",
    "charge_currency": "varchar",
    "charge_claim": "varchar",
    "charge_claimed_until": "timestamptz",
}
BILLING_FIELDS = [name for name in SQL_TYPES if name not in CLAIM_FIELDS]
# A charge put in flight: what differs per account (a renewal's balance after the month
# consumed, the charge), the claim itself is the batch's.
CHARGE_FIELDS = ["prepaid_balance", "charge_key", "charge_purpose", "charge_period"]
CHARGE_FIELDS += ["charge_amount", "charge_currency"]
# What the record reads again under the lock: what other writers may have changed since the
# claim (a cancellation, a new time zone, a reactivation).
REREAD_FIELDS = [*BILLING_FIELDS, "closed_at"]
# What a paid charge is booked as, by purpose, and the count it adds to the run's report.
PAID_KINDS = {
    "charge": EntryKind.CHARGE,
    "pause_fee": EntryKind.PAUSE_FEE,
    "renewal": EntryKind.PREPAYMENT_PURCHASE,
    "purchase": EntryKind.PREPAYMENT_PURCHASE,
}
PAID_OUTCOMES = {
    "charge": "charged",
    "pause_fee": "pause_fees",
    "renewal": "prepaid_renewed",
    "purchase": "prepaid_bought",
}
# Purposes whose payment buys prepaid balance.
PREPAYMENT_PURPOSES = ("renewal", "purchase")


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
    entries: list[LedgerEntry] = field(default_factory=list)
    attempts: list[CardChargeAttempt] = field(default_factory=list)
    counts: Counter = field(default_factory=Counter)
    # The profiles of the charges this batch put in flight, as the claim left them.
    claimed: dict[int, BillingProfile] = field(default_factory=dict)

    def entry(self, account_id: int, kind: str, amount: Decimal, currency: str, **extra):
        self.entries.append(
            LedgerEntry(
                account_id=account_id,
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
    sender: str = "",
) -> dict[str, int]:
    """Bill the due `profiles` (the run_billing job's items, or any due selection) as of
    `as_of`, `batch_size` accounts at a time; returns counts of what was done. Each batch
    claims its profiles with skip_locked, so a second worker billing an overlapping selection
    takes the others; its card charges are claimed and committed, sent, then recorded.
    `sender` names the job's batch (jobs.registry.batch_sender), whose attempt run again takes
    back the charges a dead one left in flight."""
    run = Run(
        as_of=as_of,
        by=by,
        gateway=gateway or get_gateway(),
        plans=plans_by_id(),
        claim=claim_token(sender=sender),
    )
    last = 0
    sent: list[Sent] = []
    while True:
        with transaction.atomic():
            # One short transaction records what the gateway answered for the batch before
            # and claims the next one: as many commits as batches.
            if sent:
                _record_batch(sent, run)
            # The profiles only: a pause or a cancellation that comes while the charge is in
            # flight is for the record to find (it reads the profile again); a profile
            # another transaction holds (a payment being recorded) is left for the next run.
            batch = list(
                profiles.filter(id__gt=last)
                .select_for_update(skip_locked=True, of=("self",))
                .select_related("account")
                .order_by("id")[:batch_size]
            )
            charges = _claim_batch(batch, run) if batch else []
        # No transaction is open here: the claims are committed, no row is locked.
        sent = [charge_send(charge=charge, gateway=run.gateway) for charge in charges]
        if len(batch) < batch_size:
            if sent:
                with transaction.atomic():
                    _record_batch(sent, run)
            return dict(run.counts)
        last = batch[-1].id


def billing_run_preview(*, profiles: QuerySet[BillingProfile]) -> dict[str, int]:
    """What billing_run would do with `profiles`, by kind of account; nothing changes."""
    counts: Counter = Counter()
    for status, mode in profiles.values_list("account__status", "mode"):
        counts["would_bill_paused" if status == AccountStatus.PAUSED else f"would_bill_{mode}"] += 1
    return dict(counts)


def billing_account_run(
    *, account: Account, as_of: datetime, by: Actor, gateway: PaymentGateway | None = None
) -> dict[str, int]:
    """Bill one account if it is due: the run over that one account, in batches of one. The
    plain path for a single account (and the benchmark's baseline); the run uses batches."""
    return billing_run(
        profiles=profiles_due_for_billing(as_of=as_of).filter(account_id=account.pk),
        as_of=as_of,
        by=by,
        batch_size=1,
        gateway=gateway,
    )


# --- the claim: what needs no card is written, card charges are put in flight --------------


def _claim_batch(profiles: list[BillingProfile], run: Run) -> list[Charge]:
    """Bill a batch of locked profiles up to their card charges, with a handful of queries:
    cards and add-ons read per batch, ledger entries copied in, profiles (with the charges
    they put in flight) updated in one statement. Returns the charges to send."""
    account_ids = [p.account_id for p in profiles]
    cards = {c.account_id: c for c in Card.objects.filter(account_id__in=account_ids)}
    addons: dict[int, list[AccountAddOn]] = defaultdict(list)
    for sub in AccountAddOn.objects.filter(
        account_id__in=account_ids, cancelled_at__isnull=True
    ).select_related("addon"):
        addons[sub.account_id].append(sub)
    changed, charges = [], []
    for profile in profiles:
        card = cards.get(profile.account_id)
        outcome = bill_account(
            profile=profile, card=card, addons=addons[profile.account_id], run=run
        )
        if outcome is None:
            continue
        changed.append(profile)
        if isinstance(outcome, Charge):
            claim_write(profile, outcome, token=run.claim, until=run.as_of + CHARGE_LEASE)
            charges.append(outcome)
            run.claimed[profile.pk] = profile
        else:
            run.counts[outcome] += 1
    _insert(LedgerEntry, run.entries)
    in_flight = [run.claimed[c.profile_id] for c in charges]
    if in_flight:
        claim = {"charge_claim": run.claim, "charge_claimed_until": run.as_of + CHARGE_LEASE}
        _update_profiles(in_flight, CHARGE_FIELDS, same=claim)
    billed = [p for p in changed if p.pk not in run.claimed]
    if billed:
        _update_profiles(billed, BILLING_FIELDS)
    run.entries = []
    return charges


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
        raise BillingError(f"{profile.account} has no plan to bill")
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
            raise BillingError(f"no pause fee is set for {currency} (setting PAUSE_FEES)")
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


# --- the record: each outcome on its profile, locked again ------------------------------------


def _record_batch(sent: list[Sent], run: Run) -> None:
    """Record what the gateway answered, on the profiles still claimed by this run (another
    run that took a lapsed claim over records it instead): each is locked and its billing
    fields read again, attempts and ledger entries are copied in, profiles updated in one
    statement."""
    by_profile = {s.charge.profile_id: s for s in sent}
    rows = (
        BillingProfile.objects.select_for_update(of=("self",))
        .filter(pk__in=list(by_profile), charge_claim=run.claim)
        .order_by("pk")
        .values_list("pk", "account__time_zone", *REREAD_FIELDS)
    )
    recorded = []
    for pk, time_zone, *values in rows:
        # The profile as the claim left it, brought up to date with what is locked now.
        profile = run.claimed[pk]
        profile.account.time_zone = time_zone
        for name, value in zip(REREAD_FIELDS, values, strict=True):
            setattr(profile, name, value)
        run.counts[charge_record(profile=profile, sent=by_profile[pk], run=run)] += 1
        recorded.append(profile)
    if len(recorded) < len(by_profile):
        run.counts["taken_over"] += len(by_profile) - len(recorded)
    _insert(LedgerEntry, run.entries)
    _insert(CardChargeAttempt, run.attempts)
    if recorded:
        cleared = {name: getattr(recorded[0], name) for name in CLAIM_FIELDS}
        _update_profiles(recorded, BILLING_FIELDS, same=cleared)
    run.entries, run.attempts, run.claimed = [], [], {}


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
    attempt = CardChargeAttempt(
        account_id=charge.account_id,
        at=run.as_of,
        purpose=charge.purpose,
        period=charge.period,
        amount=charge.amount,
        currency=charge.currency,
        idempotency_key=charge.key,
        **run.by.as_fields(),
    )
    run.attempts.append(attempt)
    if sent.unavailable:
        # Neither paid nor declined: the period stays due, and the next run asks again.
        attempt.outcome, attempt.message = CardChargeAttempt.Outcome.FAILED, sent.unavailable
        return "gateway_unavailable"
    result = sent.result
    assert result is not None
    # Only what the charge was for moves on: a billing date staff rescheduled meanwhile stays.
    same_period = charge.period is not None and profile.next_billing_date == charge.period
    if not result.succeeded:
        attempt.outcome = CardChargeAttempt.Outcome.DECLINED
        attempt.message = result.decline_code
        if retries and same_period:
            _declined(profile, run, today, result.decline_code)
        return _unpaid_outcome(profile)
    attempt.outcome = CardChargeAttempt.Outcome.SUCCEEDED
    attempt.gateway_reference = result.reference
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
        raise BillingError(f"{profile.account} has no billing date to move on from")
    nxt = next_billing_after(profile.next_billing_date, today, profile.anchor_day)
    profile.next_billing_date = nxt
    profile.due_at = start_of_day(nxt, profile.account.zone)
    profile.card_declines = 0
    profile.first_declined_on = None
    profile.retry_on = None


# --- batch writes ----------------------------------------------------------------------------


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


def _update_profiles(
    profiles: list[BillingProfile], fields: list[str], *, same: dict | None = None
) -> None:
    """Write `fields` of a batch of profiles, and the values in `same` to all of them. On
    PostgreSQL one UPDATE … FROM unnest(an array per field): Django's bulk_update builds a
    CASE per field and row, and a VALUES list with a placeholder per field and row costs more
    to build than the whole rest of the batch."""
    same = same or {}
    if connection.vendor != "postgresql":
        BillingProfile.objects.bulk_update(profiles, [*fields, *same])
        return
    arrays: list = [[p.pk for p in profiles]]
    arrays += [[getattr(p, name) for p in profiles] for name in fields]
    casts = ", ".join(["%s::bigint[]"] + [f"%s::{SQL_TYPES[name]}[]" for name in fields])
    assignments = [f"{name} = v.{name}" for name in fields]
    assignments += [f"{name} = %s::{SQL_TYPES[name]}" for name in same]
    table = BillingProfile._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} AS p SET {', '.join(assignments)} FROM unnest({casts}) "
            f"AS v(id, {', '.join(fields)}) WHERE p.id = v.id",
            [*same.values(), *arrays],
        )
