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
transaction; the next short transaction records each outcome on the profile it locks again,
if its claim is still there, and claims the next batch. What one account's period comes to is
billing.services.periods: a declined card is tried once per run at most, and each retry is
counted from the attempt before it, so a run catching up after days away keeps the spacing.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from datetime import datetime

from django.db import connection, transaction
from django.db.models import QuerySet

from accounts.models import Account, AccountStatus
from billing.gateway import PaymentGateway, get_gateway
from billing.models import (
    AccountAddOn,
    BillingProfile,
    Card,
    CardChargeAttempt,
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
    claim_token,
    claim_write,
)
from billing.services.periods import Run, bill_account, charge_record
from core.actors import Actor

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
# What the run reads of a profile and its account, and of a card: the account's name, zone
# and status, not the rest (a run reads thousands of them).
PROFILE_READ = [
    *(f.name for f in BillingProfile._meta.concrete_fields),
    "account__username",
    "account__time_zone",
    "account__status",
]
CARD_READ = ["account_id", "token", "brand", "last4", "exp_month", "exp_year"]


def plans_by_id() -> dict[int, Plan]:
    """All plans: a small catalogue, read once per run instead of once per account."""
    return {plan.pk: plan for plan in Plan.objects.all()}


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
                .only(*PROFILE_READ)
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
    cards = {
        c.account_id: c for c in Card.objects.filter(account_id__in=account_ids).only(*CARD_READ)
    }
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


# --- batch writes ----------------------------------------------------------------------------


def _insert(model, rows: list[dict]) -> None:
    """Append a batch of new rows (values by attname; the field's default for the others). On
    PostgreSQL through COPY, several times faster than bulk_create's INSERT; constraints and
    triggers apply the same (a duplicate period still fails the whole batch)."""
    if not rows:
        return
    if connection.vendor != "postgresql":
        model.objects.bulk_create([model(**row) for row in rows])
        return
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    defaults = {f.attname: f.get_default() for f in fields}
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    with connection.cursor() as cursor:
        with cursor.cursor.copy(f"COPY {model._meta.db_table} ({columns}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row([row.get(name, default) for name, default in defaults.items()])


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
