"""Purge of accounts inactive for more than the retention period (R7), keeping every
suppression (R9).

Due accounts are purged in groups, each step one short transaction: lock the group's account
rows (skipping those another worker holds), check again that each is still due (no legal hold
set, not reactivated meanwhile), delete a bounded batch of their content (rows picked under a
LIMIT, by id; by row address on PostgreSQL), and either finish them (receipts, move to
`purged`) or, when rows are left, keep the counts so far in PurgeProgress rows written in the
same transaction as the deletes. A run that crashes half-way
therefore leaves a state the next run finishes, and each receipt counts every row once. The
account stays as a tombstone with its events, its ledger and its suppressions.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from django.db import connection, transaction

from accounts.models import (
    Account,
    Campaign,
    CampaignReport,
    Contact,
    HostedFile,
    Integration,
    SignupForm,
    SignupSubmission,
)
from accounts.services import accounts_mark_purged
from backoffice.actors import Actor
from compliance.models import PurgeProgress, PurgeReceipt
from compliance.selectors import account_is_due_for_purge, accounts_due_for_purge
from jobs.models import JobBatch
from jobs.registry import current_batch, in_range

logger = logging.getLogger(__name__)

# Rows of each kind deleted per transaction, whatever the number of accounts in it: bounds
# the work under the account locks (well under a second) and lets a group of small accounts
# go in one transaction.
PURGE_BATCH_ROWS = 50_000
# Accounts purged together in one transaction when they are small; a large one makes the group
# take several steps, each bounded by PURGE_BATCH_ROWS.
PURGE_GROUP_ACCOUNTS = 40
# Due accounts fetched per round from the selector.
PURGE_ACCOUNTS_PER_ROUND = 500


@dataclass(frozen=True)
class Kind:
    name: str
    model: type
    # SQL selecting a column ({col}: id, or ctid on PostgreSQL) of this kind's rows for a set
    # of accounts ({accounts}: a list of placeholders).
    rows_sql: str
    # The deleted row's account id, in a RETURNING clause.
    returning: str = "account_id"
    # Kinds whose rows point at this one: it is deleted only in a batch that deletes the last
    # of them, so every foreign key holds when the transaction commits.
    children: tuple[str, ...] = ()


def _kinds() -> list[Kind]:
    def own(model) -> str:
        return f"SELECT {{col}} FROM {model._meta.db_table} WHERE account_id IN ({{accounts}})"

    campaigns = Campaign._meta.db_table
    reports = (
        f"SELECT r.{{col}} FROM {CampaignReport._meta.db_table} r "
        f"JOIN {campaigns} c ON c.id = r.campaign_id WHERE c.account_id IN ({{accounts}})"
    )
    # Children before parents, so every delete is a plain DELETE by id, no cascade.
    return [
        Kind(
            "campaign_reports",
            CampaignReport,
            reports,
            returning=f"(SELECT c.account_id FROM {campaigns} c WHERE c.id = campaign_id)",
        ),
        Kind("campaigns", Campaign, own(Campaign), children=("campaign_reports",)),
        Kind("signup_submissions", SignupSubmission, own(SignupSubmission)),
        Kind("contacts", Contact, own(Contact)),
        Kind(
            "signup_forms",
            SignupForm,
            own(SignupForm),
            children=("signup_submissions", "contacts"),
        ),
        Kind("integrations", Integration, own(Integration)),
        Kind("hosted_files", HostedFile, own(HostedFile)),
    ]


KIND_NAMES = [k.name for k in _kinds()]


def purge_counts(*, account: Account) -> dict[str, int]:
    """What a purge of `account` would delete, per kind."""
    counts = {}
    with connection.cursor() as cursor:
        for kind in _kinds():
            cursor.execute(
                f"SELECT COUNT(*) FROM ({kind.rows_sql.format(col='id', accounts='%s')}) ids",
                [account.pk],
            )
            counts[kind.name] = cursor.fetchone()[0]
    return counts


@dataclass
class _Deleted:
    per_kind: dict[str, int] = field(default_factory=dict)
    per_account: dict[int, dict[str, int]] = field(default_factory=dict)

    def add(self, kind: str, account_id: int, count: int) -> None:
        self.per_kind[kind] = self.per_kind.get(kind, 0) + count
        counts = self.per_account.setdefault(account_id, {})
        counts[kind] = counts.get(kind, 0) + count


def _group_sql(kind: Kind) -> tuple[str, str]:
    """(count per account, delete) statements for all of a kind's rows of a set of accounts,
    given as one array parameter."""
    table = kind.model._meta.db_table
    if kind.name == "campaign_reports":
        campaigns = Campaign._meta.db_table
        return (
            f"SELECT c.account_id, COUNT(*) FROM {table} r JOIN {campaigns} c "
            f"ON c.id = r.campaign_id WHERE c.account_id = ANY(%s) GROUP BY c.account_id",
            f"DELETE FROM {table} r USING {campaigns} c "
            f"WHERE c.id = r.campaign_id AND c.account_id = ANY(%s)",
        )
    return (
        f"SELECT account_id, COUNT(*) FROM {table} WHERE account_id = ANY(%s) GROUP BY 1",
        f"DELETE FROM {table} WHERE account_id = ANY(%s)",
    )


def _delete_group_at_once(cursor, kinds: list[Kind], account_ids: list[int], limit: int):
    """The common case, on PostgreSQL: the group's content fits in one batch of every kind.
    Counted first through the indexes, then deleted with one plain DELETE per kind (children
    first), as fast as a raw DELETE. Returns None when some kind is over the limit (the
    bounded path takes over). A count that a DELETE does not match (rows arrived meanwhile)
    rolls the step back; the next run counts again."""
    counted: list[dict[int, int]] = []
    for kind in kinds:
        count_sql, _ = _group_sql(kind)
        cursor.execute(count_sql, [account_ids])
        per_account = dict(cursor.fetchall())
        if sum(per_account.values()) >= limit:
            return None
        counted.append(per_account)
    deleted = _Deleted(per_kind={k.name: 0 for k in kinds})
    for kind, per_account in zip(kinds, counted, strict=True):
        if not per_account:
            continue
        _, delete_sql = _group_sql(kind)
        cursor.execute(delete_sql, [account_ids])
        if cursor.rowcount != sum(per_account.values()):
            raise RuntimeError(
                f"purge: {kind.name} changed while purging accounts {account_ids[:5]}…; "
                "nothing of this step was kept, the next run does it again"
            )
        for account_id, count in per_account.items():
            deleted.add(kind.name, account_id, count)
    return deleted


def _delete_batch(account_ids: list[int], limit: int) -> _Deleted:
    """Delete up to `limit` rows of each kind of these accounts' content. A parent kind waits
    for a batch in which its children kinds come back short of the limit (all gone)."""
    kinds = _kinds()
    index = {k.name: i for i, k in enumerate(kinds)}
    holes = ", ".join(["%s"] * len(account_ids))
    deleted = _Deleted(per_kind={k.name: 0 for k in kinds})
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            fast = _delete_group_at_once(cursor, kinds, account_ids, limit)
            if fast is not None:
                return fast
            # One round trip: each kind's DELETE is a data-modifying CTE; a parent's condition
            # reads its children's CTEs (all run once, on the same snapshot). Rows are picked
            # by their address (ctid) under a LIMIT: a TID scan deletes a batch several times
            # faster than probing the primary key for each id.
            ctes, params = [], []
            for i, k in enumerate(kinds):
                waits = "".join(f" AND (SELECT COUNT(*) FROM d{index[c]}) < %s" for c in k.children)
                ctes.append(
                    f"d{i} AS (DELETE FROM {k.model._meta.db_table} WHERE ctid = ANY(ARRAY("
                    f"{k.rows_sql.format(col='ctid', accounts=holes)} LIMIT %s)){waits} "
                    f"RETURNING {k.returning} AS account_id)"
                )
                params += [*account_ids, limit] + [limit] * len(k.children)
            counts = " UNION ALL ".join(
                f"SELECT {i}, account_id, COUNT(*) FROM d{i} GROUP BY account_id"
                for i in range(len(kinds))
            )
            cursor.execute(f"WITH {', '.join(ctes)} {counts}", params)
            for i, account_id, count in cursor.fetchall():
                deleted.add(kinds[i].name, account_id, count)
            return deleted
        for kind in kinds:
            if any(deleted.per_kind[c] >= limit for c in kind.children):
                continue
            table = kind.model._meta.db_table
            cursor.execute(
                f"SELECT id FROM ({kind.rows_sql.format(col='id', accounts=holes)} LIMIT %s) ids",
                [*account_ids, limit],
            )
            ids = [row[0] for row in cursor.fetchall()]
            if not ids:
                continue
            id_holes = ", ".join(["%s"] * len(ids))
            cursor.execute(
                f"SELECT {kind.returning}, COUNT(*) FROM {table} WHERE id IN ({id_holes}) "
                f"GROUP BY 1",
                ids,
            )
            for account_id, count in cursor.fetchall():
                deleted.add(kind.name, account_id, count)
            cursor.execute(f"DELETE FROM {table} WHERE id IN ({id_holes})", ids)
        return deleted


def current_run_label(job: str, as_of: datetime) -> str:
    """The job run whose batch this process is executing, for the receipts."""
    batch = current_batch.get()
    run_id = JobBatch.objects.filter(pk=batch).values_list("run_id", flat=True).first()
    if run_id:
        return f"job run #{run_id} ({job}, as of {as_of:%Y-%m-%d %H:%M} UTC)"
    return f"{job} as of {as_of:%Y-%m-%d %H:%M} UTC"


@dataclass
class GroupStep:
    """One transaction of a group's purge: the accounts it finished (with their receipts'
    counts), whether rows are left (call again), and how many it skipped (held by another
    worker, or no longer due: a legal hold, a reactivation, purged already)."""

    purged: dict[int, dict[str, int]] = field(default_factory=dict)
    more: bool = False
    skipped: int = 0


def accounts_purge_step(
    *, account_ids: list[int], by: Actor, now: datetime, run: str, batch: int = PURGE_BATCH_ROWS
) -> GroupStep:
    """One short transaction of the purge of a group of accounts."""
    with transaction.atomic():
        locked = list(
            Account.objects.select_for_update(skip_locked=True).filter(pk__in=account_ids)
        )
        due = [a for a in locked if account_is_due_for_purge(a, as_of=now)]
        step = GroupStep(skipped=len(account_ids) - len(due))
        if not due:
            return step
        ids = [a.pk for a in due]
        progress = {p.account_id: p for p in PurgeProgress.objects.filter(account_id__in=ids)}
        deleted = _delete_batch(ids, batch)
        totals = {
            a.pk: {
                name: deleted.per_account.get(a.pk, {}).get(name, 0)
                + int(progress[a.pk].counts.get(name, 0) if a.pk in progress else 0)
                for name in KIND_NAMES
            }
            for a in due
        }
        if any(n >= batch for n in deleted.per_kind.values()):
            # Rows may be left: keep the counts so far with the deletes, in this transaction,
            # so a crash after it loses nothing and counts nothing twice.
            PurgeProgress.objects.bulk_create(
                [
                    PurgeProgress(
                        account_id=a.pk,
                        started_at=progress[a.pk].started_at if a.pk in progress else now,
                        counts=totals[a.pk],
                    )
                    for a in due
                ],
                update_conflicts=True,
                unique_fields=["account"],
                update_fields=["counts"],
            )
            step.more = True
            return step
        # Every kind came back short of its limit: nothing is left, finish in this transaction.
        PurgeReceipt.objects.bulk_create(
            [
                PurgeReceipt(
                    account=a,
                    at=now,
                    started_at=progress[a.pk].started_at if a.pk in progress else now,
                    inactive_since=a.inactive_since,
                    counts=totals[a.pk],
                    run=run,
                    **by.as_fields(),
                )
                for a in due
            ]
        )
        if progress:
            PurgeProgress.objects.filter(account_id__in=list(progress)).delete()
        reasons = {
            account.pk: (
                "Purged after the retention period (R7): "
                + ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in totals[account.pk].items())
                + "; suppressions kept (R9)"
            )
            for account in due
        }
        accounts_mark_purged(accounts=list(due), by=by, now=now, reasons=reasons)
        for account in due:
            step.purged[account.pk] = totals[account.pk]
        return step


@dataclass(frozen=True)
class PurgeStep:
    """One transaction of one account's purge: "purged" (counts are the receipt's), "more",
    or "skipped" (held by another worker, or no longer due)."""

    state: str
    counts: dict[str, int]


def account_purge_step(
    *, account_id: int, by: Actor, now: datetime, run: str, batch: int = PURGE_BATCH_ROWS
) -> PurgeStep:
    """One short transaction of one account's purge."""
    step = accounts_purge_step(account_ids=[account_id], by=by, now=now, run=run, batch=batch)
    if step.purged:
        return PurgeStep("purged", step.purged[account_id])
    return PurgeStep("more" if step.more else "skipped", {})


def accounts_purge(*, account_ids: list[int], by: Actor, now: datetime, run: str) -> GroupStep:
    """Purge these accounts to the end, in groups of short transactions."""
    result = GroupStep()
    for start in range(0, len(account_ids), PURGE_GROUP_ACCOUNTS):
        group = account_ids[start : start + PURGE_GROUP_ACCOUNTS]
        while True:
            step = accounts_purge_step(account_ids=group, by=by, now=now, run=run)
            result.purged.update(step.purged)
            if not step.more:
                result.skipped += step.skipped
                break
    return result


def account_purge(*, account: Account, by: Actor, now: datetime, run: str) -> bool:
    """Purge one due account to the end; False when it was not purged (not due, or held by
    another worker)."""
    return bool(accounts_purge(account_ids=[account.pk], by=by, now=now, run=run).purged)


def accounts_purge_due(
    *,
    as_of: datetime,
    by: Actor,
    run: str,
    progress: Callable[[int], None] | None = None,
    within: tuple[int, int] | None = None,
) -> dict[str, int]:
    """Purge every account due as of `as_of` (with ids in `within`, (low, high], when given).
    Safe to run twice and on several workers at once: an account another worker holds is
    skipped, a half-purged one is finished. `progress`, if given, is called with the number of
    accounts after each group of PURGE_GROUP_ACCOUNTS."""
    totals = {"accounts_purged": 0, "accounts_skipped": 0, **{name: 0 for name in KIND_NAMES}}
    last_id = 0
    while True:
        ids = list(
            in_range(accounts_due_for_purge(as_of=as_of), within)
            .filter(pk__gt=last_id)
            .order_by("pk")
            .values_list("pk", flat=True)[:PURGE_ACCOUNTS_PER_ROUND]
        )
        if not ids:
            return totals
        for start in range(0, len(ids), PURGE_GROUP_ACCOUNTS):
            group = ids[start : start + PURGE_GROUP_ACCOUNTS]
            result = accounts_purge(account_ids=group, by=by, now=as_of, run=run)
            totals["accounts_purged"] += len(result.purged)
            totals["accounts_skipped"] += result.skipped
            for counts in result.purged.values():
                for name, value in counts.items():
                    totals[name] += value
            if progress:
                progress(len(group))
        last_id = ids[-1]


def purge_preview(*, as_of: datetime, within: tuple[int, int] | None = None):
    """(account, counts) of every account a purge as of `as_of` would purge; nothing changes."""
    due = in_range(accounts_due_for_purge(as_of=as_of), within)
    for account in due.order_by("pk").iterator(chunk_size=500):
        yield account, purge_counts(account=account)
