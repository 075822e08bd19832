"""What must hold after any crash: a worker killed, a database connection dropped, a timeout.

Every effect and its record are written in one transaction (a status and its event, a sent
confirmation and its event, a charge and its ledger rows, a purge and its receipt, an import
and its counts), so whatever stops a process, these rules still hold. ``check_invariants``
(the management command) checks them over the whole database, nightly; a violation names the
rows by id so an engineer can look at them.

Each check walks its table in bounded batches of ids (ACCOUNTS_PER_BATCH accounts, or as many
rows of a smaller table), one or two indexed queries per batch, so memory and each query stay
small whatever the database's size. A batch whose rule needs two queries reads them in one
snapshot (a short read-only transaction), so the jobs and the staff working meanwhile cause no
false alarm: a move committed between the two reads is seen by both or by neither. The checks
read every app, which is why they live here at the top of the project and not in one of the
apps.

The rules about the payment gateway's charges are written against the billing run's data
model as it is (``CardChargeAttempt`` and ``LedgerEntry``) and kept together in
``billing_gateway_checks``, to be adjusted with that model.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, Max
from django.utils.translation import gettext, gettext_noop

from accounts.models import (
    INACTIVE_STATUSES,
    Account,
    AccountEvent,
    AccountStatus,
    Campaign,
    CancellationRequest,
    Contact,
    HostedFile,
    Integration,
    SignupForm,
    SignupSubmission,
)
from backoffice.models import StateSnapshot
from billing.models import AccountAddOn, BillingProfile, CardChargeAttempt, EntryKind, LedgerEntry
from compliance.models import PurgeProgress, PurgeReceipt, Suppression, SuppressionImport
from jobs.selectors import batches_to_resend, runs_left_open

# Accounts per batch: each batch's queries read those accounts' rows of one or two tables
# through their account index (a few rows each), which takes well under a second and holds
# no lock; at a million accounts a check is 50 batches.
ACCOUNTS_PER_BATCH = 20_000
# Suppression imports per batch: each is counted through its account's suppressions.
IMPORTS_PER_BATCH = 200
# Ids of a violation listed in its line; the rest are counted.
IDS_LISTED = 10
# Money is shown in cents, as billing stores it.
CENT = Decimal("0.01")

S = AccountStatus


@dataclass(frozen=True)
class Violation:
    """One broken rule, with the ids of the rows that break it."""

    invariant: str
    ids: str
    problem: str

    def __str__(self) -> str:
        return f"{self.invariant}: {self.ids}: {self.problem}"


@dataclass(frozen=True)
class Scope:
    """What a check looks at: the moment it judges time-based rules by, and the batch size in
    accounts."""

    now: datetime
    batch: int = ACCOUNTS_PER_BATCH


CheckFunction = Callable[[Scope], Iterator[Violation]]


@dataclass(frozen=True)
class Invariant:
    name: str
    rule: str
    description: str
    check: CheckFunction


INVARIANTS: dict[str, Invariant] = {}


def invariant(
    name: str, *, rule: str, description: str
) -> Callable[[CheckFunction], CheckFunction]:
    def register(check: CheckFunction) -> CheckFunction:
        INVARIANTS[name] = Invariant(name=name, rule=rule, description=description, check=check)
        return check

    return register


def _table(model) -> str:
    return model._meta.db_table


def _rows(sql: str, params: list) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


@contextmanager
def snapshot() -> Iterator[None]:
    """The queries inside read one snapshot of the database (PostgreSQL: a repeatable-read,
    read-only transaction; it takes no lock). Inside a caller's transaction they share its."""
    outermost = not connection.in_atomic_block
    with transaction.atomic():
        if connection.vendor == "postgresql" and outermost:
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        yield


def _listed(ids: list) -> str:
    shown = ", ".join(f"#{i}" for i in ids[:IDS_LISTED])
    more = len(ids) - IDS_LISTED
    return shown + (f" and {more} more" if more > 0 else "")


def account_ranges(scope: Scope) -> Iterator[tuple[int, int]]:
    """(low, high] ranges of account ids, `scope.batch` ids each, over every account."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT MIN(id), MAX(id) FROM {_table(Account)}")
        first, last = cursor.fetchone()
    if first is None:
        return
    low = first - 1
    while low < last:
        yield low, low + scope.batch
        low += scope.batch


# --- The account's timeline (R12) ----------------------------------------------------------


@invariant(
    "status_history",
    rule="R12",
    description="each account's status is the one its last status event moved it to (a trial "
    "with none), and each status event starts where the one before it ended",
)
def _status_history(scope: Scope) -> Iterator[Violation]:
    events_sql = (
        f"SELECT account_id, id, from_status, to_status FROM {_table(AccountEvent)} "
        "WHERE account_id > %s AND account_id <= %s AND to_status <> '' "
        "ORDER BY account_id, at, id"
    )
    accounts_sql = f"SELECT id, status FROM {_table(Account)} WHERE id > %s AND id <= %s"
    for low, high in account_ranges(scope):
        with snapshot():
            events = _rows(events_sql, [low, high])
            statuses = _rows(accounts_sql, [low, high])
        last: dict[int, tuple[int, str]] = {}
        for account_id, event_id, source, target in events:
            before = last.get(account_id)
            if before is not None and source != before[1]:
                yield Violation(
                    "status_history",
                    f"account {account_id}, events #{before[0]} and #{event_id}",
                    gettext(
                        "event #%(event)s moves the account from %(source)s, but the event before "
                        "it left it %(before)s"
                    )
                    % {
                        "event": event_id,
                        "source": source or gettext("(nothing)"),
                        "before": before[1],
                    },
                )
            last[account_id] = (event_id, target)
        for account_id, status in statuses:
            event_id, target = last.get(account_id, (None, S.TRIAL))
            if status != target:
                said = (
                    gettext(
                        "status is %(status)s, but its last status event #%(event)s says %(target)s"
                    )
                    if event_id
                    else gettext(
                        "status is %(status)s, but it has no status event (it never left its trial)"
                    )
                )
                yield Violation(
                    "status_history",
                    f"account {account_id}",
                    said % {"status": status, "event": event_id, "target": target},
                )


@invariant(
    "inactive_since",
    rule="R7",
    description="cancelled, expired and purged accounts have the moment they became inactive "
    "(the retention clock); open accounts have none",
)
def _inactive_since(scope: Scope) -> Iterator[Violation]:
    closed = [*INACTIVE_STATUSES, S.PURGED]
    holes = ", ".join(["%s"] * len(closed))
    sql = (
        f"SELECT id, status FROM {_table(Account)} WHERE id > %s AND id <= %s AND ("
        f"(status IN ({holes}) AND inactive_since IS NULL) OR "
        f"(status NOT IN ({holes}) AND inactive_since IS NOT NULL)) ORDER BY id"
    )
    for low, high in account_ranges(scope):
        for account_id, status in _rows(sql, [low, high, *closed, *closed]):
            problem = (
                gettext("%(status)s, but has no inactive since")
                if status in closed
                else gettext("%(status)s, but has an inactive since")
            )
            yield Violation("inactive_since", f"account {account_id}", problem % {"status": status})


@invariant(
    "closed_content_offline",
    rule="R6",
    description="a cancelled or expired account has no hosted file online and no integration "
    "connected",
)
def _closed_content_offline(scope: Scope) -> Iterator[Violation]:
    closed = list(INACTIVE_STATUSES)
    holes = ", ".join(["%s"] * len(closed))
    sql = f"""
        SELECT a.id, a.status,
          (SELECT COUNT(*) FROM {_table(HostedFile)} f WHERE f.account_id = a.id AND f.online),
          (SELECT COUNT(*) FROM {_table(Integration)} i
            WHERE i.account_id = a.id AND i.connected)
        FROM {_table(Account)} a
        WHERE a.id > %s AND a.id <= %s AND a.status IN ({holes})
          AND (EXISTS (SELECT 1 FROM {_table(HostedFile)} f
                        WHERE f.account_id = a.id AND f.online)
            OR EXISTS (SELECT 1 FROM {_table(Integration)} i
                        WHERE i.account_id = a.id AND i.connected))
        ORDER BY a.id"""
    for low, high in account_ranges(scope):
        for account_id, status, files, integrations in _rows(sql, [low, high, *closed]):
            yield Violation(
                "closed_content_offline",
                f"account {account_id}",
                gettext(
                    "%(status)s, but %(files)s hosted file(s) online and %(integrations)s "
                    "integration(s) connected"
                )
                % {"status": status, "files": files, "integrations": integrations},
            )


# --- Cancellation confirmations (R4) -------------------------------------------------------


@invariant(
    "confirmation_events",
    rule="R4, R12",
    description="each confirmation recorded sent has exactly one confirmation_sent event",
)
def _confirmation_events(scope: Scope) -> Iterator[Violation]:
    requests, events = _table(CancellationRequest), _table(AccountEvent)
    sql = f"""
        SELECT account_id, SUM(sent), SUM(events) FROM (
          SELECT account_id, 1 AS sent, 0 AS events FROM {requests}
           WHERE account_id > %s AND account_id <= %s AND confirmation_sent_at IS NOT NULL
          UNION ALL
          SELECT account_id, 0 AS sent, 1 AS events FROM {events}
           WHERE account_id > %s AND account_id <= %s AND kind = 'confirmation_sent'
        ) per_account
        GROUP BY account_id HAVING SUM(sent) <> SUM(events) ORDER BY account_id"""
    for low, high in account_ranges(scope):
        for account_id, sent, events_found in _rows(sql, [low, high, low, high]):
            ids = list(
                CancellationRequest.objects.filter(
                    account_id=account_id, confirmation_sent_at__isnull=False
                )
                .order_by("pk")
                .values_list("pk", flat=True)
            )
            yield Violation(
                "confirmation_events",
                f"account {account_id}, requests {_listed(ids) or '(none)'}",
                gettext(
                    "%(sent)s confirmation(s) recorded sent, %(events)s confirmation_sent event(s)"
                )
                % {"sent": sent, "events": events_found},
            )


# --- Non-payment and billing's record of closing (R5, R6, R11) ----------------------------


@invariant(
    "suspension_recorded",
    rule="R11",
    description="a suspended account has its suspension recorded by billing, and each "
    "suspension notice recorded sent has its suspension_notice event",
)
def _suspension_recorded(scope: Scope) -> Iterator[Violation]:
    accounts, profiles, events = _table(Account), _table(BillingProfile), _table(AccountEvent)
    unrecorded = f"""
        SELECT a.id FROM {accounts} a LEFT JOIN {profiles} p ON p.account_id = a.id
        WHERE a.id > %s AND a.id <= %s AND a.status = %s AND p.suspended_at IS NULL
        ORDER BY a.id"""
    no_event = f"""
        SELECT p.account_id, p.id FROM {profiles} p
        WHERE p.account_id > %s AND p.account_id <= %s AND p.notice_sent_at IS NOT NULL
          AND NOT EXISTS (SELECT 1 FROM {events} e WHERE e.account_id = p.account_id
                          AND e.kind = 'suspension_notice' AND e.at = p.notice_sent_at)
        ORDER BY p.account_id"""
    for low, high in account_ranges(scope):
        for (account_id,) in _rows(unrecorded, [low, high, S.SUSPENDED]):
            yield Violation(
                "suspension_recorded",
                f"account {account_id}",
                gettext("suspended, but billing has no suspension for non-payment recorded"),
            )
        for account_id, profile_id in _rows(no_event, [low, high]):
            yield Violation(
                "suspension_recorded",
                f"account {account_id}, billing profile {profile_id}",
                gettext(
                    "its suspension notice is recorded sent, but no suspension_notice event says so"
                ),
            )


@invariant(
    "billing_closed",
    rule="R5, R6",
    description="a cancelled or purged account's billing is closed: no add-on active, no "
    "prepaid balance left",
)
def _billing_closed(scope: Scope) -> Iterator[Violation]:
    accounts, profiles, addons = _table(Account), _table(BillingProfile), _table(AccountAddOn)
    sql = f"""
        SELECT a.id, a.status, p.id, p.closed_at IS NULL, p.prepaid_balance,
          (SELECT COUNT(*) FROM {addons} s WHERE s.account_id = a.id AND s.cancelled_at IS NULL)
        FROM {accounts} a LEFT JOIN {profiles} p ON p.account_id = a.id
        WHERE a.id > %s AND a.id <= %s AND a.status IN (%s, %s)
          AND ((p.id IS NOT NULL AND p.closed_at IS NULL) OR p.prepaid_balance <> 0
               OR EXISTS (SELECT 1 FROM {addons} s
                          WHERE s.account_id = a.id AND s.cancelled_at IS NULL))
        ORDER BY a.id"""
    for low, high in account_ranges(scope):
        for account_id, status, profile_id, open_, balance, active in _rows(
            sql, [low, high, S.CANCELLED, S.PURGED]
        ):
            problems = []
            if profile_id is not None and open_:
                problems.append(gettext("billing was not closed"))
            if balance:
                # Read raw: SQLite gives back 12 (an int) or a float for a stored 12.00, so the
                # amount is put back in cents as billing shows it.
                amount = Decimal(str(balance)).quantize(CENT)
                problems.append(gettext("prepaid balance %(balance)s left") % {"balance": amount})
            if active:
                problems.append(gettext("%(count)s add-on(s) active") % {"count": active})
            yield Violation(
                "billing_closed",
                f"account {account_id}" + (f", billing profile {profile_id}" if profile_id else ""),
                gettext("%(status)s, but %(problems)s")
                % {"status": status, "problems": ", ".join(problems)},
            )


# --- Purge (R7, R9) ------------------------------------------------------------------------

_CONTENT = [
    (gettext_noop("%(count)s contacts left"), Contact),
    (gettext_noop("%(count)s campaigns left"), Campaign),
    (gettext_noop("%(count)s sign-up forms left"), SignupForm),
    (gettext_noop("%(count)s sign-up submissions left"), SignupSubmission),
    (gettext_noop("%(count)s integrations left"), Integration),
    (gettext_noop("%(count)s hosted files left"), HostedFile),
]


@invariant(
    "purged_accounts",
    rule="R7",
    description="each purged account has exactly one purge receipt, no purge left in progress "
    "and no content; each receipt is of a purged account",
)
def _purged_accounts(scope: Scope) -> Iterator[Violation]:
    accounts, receipts = _table(Account), _table(PurgeReceipt)
    left = ", ".join(
        f"(SELECT COUNT(*) FROM {_table(model)} c WHERE c.account_id = a.id)"
        for _, model in _CONTENT
    )
    sql = f"""
        SELECT a.id,
          (SELECT COUNT(*) FROM {receipts} r WHERE r.account_id = a.id),
          (SELECT COUNT(*) FROM {_table(PurgeProgress)} p WHERE p.account_id = a.id),
          {left}
        FROM {accounts} a WHERE a.id > %s AND a.id <= %s AND a.status = %s ORDER BY a.id"""
    stray = f"""
        SELECT r.id, r.account_id, a.status FROM {receipts} r
        JOIN {accounts} a ON a.id = r.account_id
        WHERE r.account_id > %s AND r.account_id <= %s AND a.status <> %s ORDER BY r.id"""
    for low, high in account_ranges(scope):
        for account_id, receipts_found, in_progress, *content in _rows(sql, [low, high, S.PURGED]):
            problems = []
            if receipts_found != 1:
                problems.append(
                    gettext("%(count)s purge receipts instead of one") % {"count": receipts_found}
                )
            if in_progress:
                problems.append(gettext("a purge still in progress"))
            for (left_over, _), count in zip(_CONTENT, content, strict=True):
                if count:
                    problems.append(gettext(left_over) % {"count": count})
            if problems:
                yield Violation(
                    "purged_accounts",
                    f"account {account_id}",
                    gettext("purged, but %(problems)s") % {"problems": ", ".join(problems)},
                )
        for receipt_id, account_id, status in _rows(stray, [low, high, S.PURGED]):
            yield Violation(
                "purged_accounts",
                f"account {account_id}, purge receipt #{receipt_id}",
                gettext("a purge receipt, but the account is %(status)s") % {"status": status},
            )


# --- Suppression imports (R9) --------------------------------------------------------------


@invariant(
    "import_counts",
    rule="R9, R12",
    description="each suppression import's counts equal the rows it wrote; an import not "
    "done wrote none",
)
def _import_counts(scope: Scope) -> Iterator[Violation]:
    # Counted through the account's suppressions (their index leads with the account): the
    # table has no index on the import, and an import of a million rows should not pay one.
    sql = (
        f"SELECT COUNT(*) FROM {_table(Suppression)} WHERE account_id = %s AND imported_in_id = %s"
    )
    last = 0
    while True:
        with snapshot():
            batch = [
                (*record, _rows(sql, [record[1], record[0]])[0][0])
                for record in SuppressionImport.objects.filter(pk__gt=last)
                .order_by("pk")
                .values_list("pk", "account_id", "status", "counts")[:IMPORTS_PER_BATCH]
            ]
        if not batch:
            return
        last = batch[-1][0]
        for import_id, account_id, status, counts, written in batch:
            counts = counts or {}
            where = f"account {account_id}, suppression import #{import_id}"
            if status != SuppressionImport.Status.DONE:
                if written:
                    yield Violation(
                        "import_counts",
                        where,
                        gettext("%(status)s, but it wrote %(written)s suppression(s)")
                        % {"status": status, "written": written},
                    )
            elif "written" in counts:
                if written != counts["written"]:
                    yield Violation(
                        "import_counts",
                        where,
                        gettext(
                            "its counts say %(counted)s row(s) written, the suppressions show "
                            "%(written)s"
                        )
                        % {"counted": counts["written"], "written": written},
                    )
            elif written < counts.get("added", 0):
                # Recorded before imports counted the rows they wrote: at least those added.
                yield Violation(
                    "import_counts",
                    where,
                    gettext("its counts say %(added)s added, the suppressions show %(written)s")
                    % {"added": counts.get("added", 0), "written": written},
                )


# --- Scheduled jobs ------------------------------------------------------------------------


@invariant(
    "job_batches",
    rule="Jobs",
    description="no batch is left unfinished with nobody on it after the sweep, and no run is "
    "left running after its last batch finished",
)
def _job_batches(scope: Scope) -> Iterator[Violation]:
    for batch in batches_to_resend(now=scope.now).select_related("run").order_by("pk"):
        when = batch.heartbeat_at or batch.dispatched_at or batch.run.started_at
        yield Violation(
            "job_batches",
            f"job run #{batch.run_id} ({batch.run.job}), batch #{batch.pk}",
            gettext(
                "%(state)s since %(when)s UTC with nobody on it; the sweep has not sent it again "
                "(is beat running jobs.sweep?)"
            )
            % {"state": batch.state, "when": f"{when:%Y-%m-%d %H:%M:%S}"},
        )
    # The sweep closes these every minute; one whose last batch finished more than a lease ago
    # was not.
    settled = scope.now - timedelta(seconds=settings.JOB_BATCH_LEASE)
    runs = runs_left_open().annotate(last_batch=Max("batch_set__finished_at"))
    for run in runs.order_by("pk"):
        if (run.last_batch or run.started_at) < settled:
            yield Violation(
                "job_batches",
                f"job run #{run.pk} ({run.job})",
                gettext("running, but none of its batches is; the sweep has not closed it"),
            )


@invariant(
    "state_snapshots",
    rule="Dashboard",
    description="each month's snapshot of the accounts' states counts every state",
)
def _state_snapshots(scope: Scope) -> Iterator[Violation]:
    wanted = len(AccountStatus.values)
    months = StateSnapshot.objects.order_by("month").values("month").annotate(states=Count("id"))
    for row in months:
        if row["states"] != wanted:
            yield Violation(
                "state_snapshots",
                f"month {row['month']:%Y-%m}",
                gettext("%(counted)s of %(wanted)s states counted")
                % {"counted": row["states"], "wanted": wanted},
            )


# --- The payment gateway's charges (R3, R12) -----------------------------------------------
#
# Written against the billing run's current data model: each call to the gateway is a
# CardChargeAttempt (outcome "succeeded" with the gateway's reference); a paid period is a
# ledger entry of the kind its purpose bills, plus a CARD_PAYMENT entry, both carrying that
# reference; a charge paid otherwise carries the reference of a recorded PAYMENT. Adjust these
# with that model.

# The ledger entry a successful charge of each purpose writes beside its card payment.
PURPOSE_KINDS = {
    "charge": EntryKind.CHARGE,
    "pause_fee": EntryKind.PAUSE_FEE,
    "renewal": EntryKind.PREPAYMENT_PURCHASE,
    "purchase": EntryKind.PREPAYMENT_PURCHASE,
}


def billing_gateway_checks(scope: Scope) -> Iterator[Violation]:
    """Each gateway success has its ledger rows; each card payment its gateway success; each
    charge is paid (by a card payment or a recorded payment)."""
    attempts, ledger = _table(CardChargeAttempt), _table(LedgerEntry)
    kinds = (
        "CASE t.purpose "
        + " ".join(f"WHEN '{purpose}' THEN '{kind}'" for purpose, kind in PURPOSE_KINDS.items())
        + " END"
    )
    # Each query joins the batch's rows of both tables (their account index gives the range),
    # so the planner matches them in one pass instead of probing once per row.
    paid = (
        "CASE WHEN e.kind = %s AND e.amount = t.amount AND e.currency = t.currency "
        "THEN 1 ELSE 0 END"
    )
    billed = f"CASE WHEN e.kind = {kinds} THEN 1 ELSE 0 END"
    successes = f"""
        SELECT t.id, t.account_id, t.gateway_reference, t.purpose, SUM({paid}), SUM({billed})
        FROM {attempts} t
        LEFT JOIN {ledger} e ON e.account_id = t.account_id
          AND e.reference = t.gateway_reference AND e.account_id > %s AND e.account_id <= %s
        WHERE t.account_id > %s AND t.account_id <= %s AND t.outcome = 'succeeded'
        GROUP BY t.id, t.account_id, t.gateway_reference, t.purpose
        HAVING SUM({paid}) <> 1 OR SUM({billed}) <> 1
        ORDER BY t.id"""
    payments = f"""
        SELECT e.id, e.account_id, e.reference, COUNT(t.id)
        FROM {ledger} e
        LEFT JOIN {attempts} t ON t.account_id = e.account_id
          AND t.gateway_reference = e.reference AND t.outcome = 'succeeded'
          AND t.account_id > %s AND t.account_id <= %s
        WHERE e.account_id > %s AND e.account_id <= %s AND e.kind = %s
        GROUP BY e.id, e.account_id, e.reference HAVING COUNT(t.id) <> 1
        ORDER BY e.id"""
    # A pause fee taken from the prepaid balance says so (the balance after it).
    unpaid = f"""
        SELECT e.id, e.account_id, e.kind, e.reference FROM {ledger} e
        WHERE e.account_id > %s AND e.account_id <= %s
          AND (e.kind = %s OR e.kind = %s AND e.prepaid_balance_after IS NULL)
          AND NOT EXISTS (SELECT 1 FROM {ledger} p WHERE p.account_id = e.account_id
                          AND p.account_id > %s AND p.account_id <= %s
                          AND p.kind IN (%s, %s) AND p.reference = e.reference
                          AND e.reference <> '')
        ORDER BY e.id"""
    card, charge, fee, payment = (
        EntryKind.CARD_PAYMENT,
        EntryKind.CHARGE,
        EntryKind.PAUSE_FEE,
        EntryKind.PAYMENT,
    )
    for low, high in account_ranges(scope):
        for attempt_id, account_id, reference, purpose, paid_by, billed_by in _rows(
            successes, [card, low, high, low, high, card]
        ):
            yield Violation(
                "billing_gateway",
                f"account {account_id}, charge attempt #{attempt_id} ({reference})",
                gettext(
                    "the gateway charged the card (%(purpose)s), but the ledger has %(paid)s card "
                    "payment(s) and %(billed)s %(kind)s entr(y/ies) for it instead of one each"
                )
                % {
                    "purpose": purpose,
                    "paid": paid_by,
                    "billed": billed_by,
                    "kind": PURPOSE_KINDS.get(purpose, purpose),
                },
            )
        for entry_id, account_id, reference, charged in _rows(
            payments, [low, high, low, high, card]
        ):
            yield Violation(
                "billing_gateway",
                f"account {account_id}, ledger entry #{entry_id} ({reference or 'no reference'})",
                gettext("a card payment, but %(count)s gateway success(es) for it instead of one")
                % {"count": charged},
            )
        for entry_id, account_id, kind, reference in _rows(
            unpaid, [low, high, charge, fee, low, high, card, payment]
        ):
            yield Violation(
                "billing_gateway",
                f"account {account_id}, ledger entry #{entry_id} ({reference or 'no reference'})",
                gettext("a %(kind)s paid neither by a card payment nor by a recorded payment")
                % {"kind": kind},
            )


invariant(
    "billing_gateway",
    rule="R3, R12",
    description="each gateway success has its ledger rows, each card payment its gateway "
    "success, each charge its payment",
)(billing_gateway_checks)


def invariants_check(
    *, now: datetime, only: list[str] | None = None, batch: int = ACCOUNTS_PER_BATCH
) -> Iterator[tuple[Invariant, Iterator[Violation]]]:
    """(invariant, its violations) of each invariant, or of those named in `only`."""
    scope = Scope(now=now, batch=batch)
    for name, entry in INVARIANTS.items():
        if only and name not in only:
            continue
        yield entry, entry.check(scope)
