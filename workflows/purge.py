"""Purge of accounts inactive for more than the retention period (R7), keeping every
suppression (R9): accounts deletes the content, compliance keeps the progress and the receipt,
accounts records the move to ``purged``.

Due accounts are purged in groups, each step one short transaction: lock the group's account
rows that are still due (skipping those another worker holds; the check that each is still
due, no legal hold set, not reactivated meanwhile, is R7's one definition,
``accounts_due_for_purge``, made in the same statement as the lock), delete a bounded batch of
their content, finish the accounts of which nothing is left (receipts, move to ``purged``)
and, for one with rows left, keep the counts so far, all in the same transaction as the
deletes. A run that crashes half-way therefore leaves a state the next run finishes, and each
receipt counts every row once. The account stays as a tombstone with its events, its ledger
and its suppressions.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime

from django.db import transaction
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from accounts.models import Account
from accounts.selectors import accounts_due_for_purge
from accounts.services import accounts_mark_purged
from accounts.services.purge import (
    KIND_NAMES,
    PURGE_BATCH_ROWS,
    content_counts,
    content_delete_batch,
)
from compliance.services.purge import (
    purge_progress_of,
    purge_progress_save,
    purge_receipts_record,
)
from core.actors import Actor
from core.signoff import second_person_check

# Accounts purged together in one transaction when they are small (a hundred accounts of up to
# a thousand contacts fill one batch); a large one makes the group take several steps, each
# bounded by PURGE_BATCH_ROWS. Each step's fixed work (locks, the retention check, receipts,
# events, the commit) is shared by the group's accounts: with 40, it cost as much as the
# deletes for accounts of a thousand contacts.
PURGE_GROUP_ACCOUNTS = 100


@dataclass
class GroupStep:
    """One transaction of a group's purge: the accounts it finished (with their receipts'
    counts), whether rows of others are left (call again), and how many it skipped (held by another
    worker, or no longer due: a legal hold, a reactivation, purged already)."""

    purged: dict[int, dict[str, int]] = field(default_factory=dict)
    more: bool = False
    skipped: int = 0


def accounts_purge_step(
    *, account_ids: list[int], by: Actor, now: datetime, run: str, batch: int = PURGE_BATCH_ROWS
) -> GroupStep:
    """One short transaction of the purge of a group of accounts."""
    with transaction.atomic():
        # One statement locks the group's accounts that are still due (R7's one definition:
        # no legal hold set, not reactivated, not purged) and skips those another worker
        # holds. The check is made under the lock: PostgreSQL evaluates the conditions again on
        # the newest version of a row changed since the statement began, before locking it.
        # Only what the step reads of them: the receipt's and the move's columns.
        due = list(
            accounts_due_for_purge(as_of=now, among=account_ids)
            .select_for_update(skip_locked=True)
            .only("username", "status", "inactive_since")
            .order_by("pk")
        )
        step = GroupStep(skipped=len(account_ids) - len(due))
        if not due:
            return step
        ids = [a.pk for a in due]
        begun = purge_progress_of(account_ids=ids)
        # A group with a purge under way is big: its next batch goes the bounded way at once.
        deleted = content_delete_batch(
            account_ids=ids,
            limit=batch,
            at_once=not begun,
            walked={pk: p.walked for pk, p in begun.items() if p.walked},
        )
        totals = {
            a.pk: {
                name: deleted.per_account.get(a.pk, {}).get(name, 0)
                + int(begun[a.pk].counts.get(name, 0) if a.pk in begun else 0)
                for name in KIND_NAMES
            }
            for a in due
        }
        # Accounts with rows left keep their counts so far with the deletes; those untouched
        # by this step keep what they had.
        left = {
            pk: totals[pk] for pk in deleted.per_account if pk in totals and pk not in deleted.done
        }
        if left:
            purge_progress_save(totals=left, begun=begun, now=now, walked=deleted.walked)
        step.more = not deleted.finished
        # Nothing is left of these: finish them in this transaction.
        done = [a for a in due if a.pk in deleted.done]
        if not done:
            return step
        purge_receipts_record(accounts=done, totals=totals, begun=begun, by=by, now=now, run=run)
        reasons = {
            account.pk: (
                "Purged after the retention period (R7): "
                + ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in totals[account.pk].items())
                + "; suppressions kept (R9)"
            )
            for account in done
        }
        accounts_mark_purged(accounts=done, by=by, now=now, reasons=reasons, read_under_lock=True)
        for account in done:
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
            # A step may finish some of the group's accounts and leave the others to the next.
            group = [pk for pk in group if pk not in step.purged]
            if not step.more:
                result.skipped += step.skipped
                break
    return result


PURGE_BY_HAND = "approvals.purge_account"


def account_purge(
    *, account: Account, by: Actor, now: datetime, run: str, requested_by: Actor | None = None
) -> bool:
    """Purge one due account to the end; False when it was not purged (not due: a legal hold, a
    reactivation, not yet past retention; or held by another worker). A staff member purges by
    hand only by signing off what another asked for (`requested_by`, four eyes); R7 holds for
    them as for the job."""
    second_person_check(
        by=by, requested_by=requested_by, permission=PURGE_BY_HAND, what=_("a purge by hand")
    )
    return bool(accounts_purge(account_ids=[account.pk], by=by, now=now, run=run).purged)


def accounts_purge_due(
    *, accounts: QuerySet[Account], by: Actor, now: datetime, run: str
) -> dict[str, int]:
    """Purge the given due accounts (the purge job's items). Safe to run twice and on several
    workers at once: an account another worker holds is skipped, a half-purged one is
    finished."""
    totals = {"accounts_purged": 0, "accounts_skipped": 0, **{name: 0 for name in KIND_NAMES}}
    ids = list(accounts.order_by("pk").values_list("pk", flat=True))
    result = accounts_purge(account_ids=ids, by=by, now=now, run=run)
    totals["accounts_purged"] = len(result.purged)
    totals["accounts_skipped"] = result.skipped
    for counts in result.purged.values():
        for name, value in counts.items():
            totals[name] += value
    return totals


def purge_preview(*, accounts: QuerySet[Account]) -> Iterator[tuple[Account, dict[str, int]]]:
    """(account, counts) of each account a purge would purge; nothing changes."""
    for account in accounts.order_by("pk").iterator(chunk_size=500):
        yield account, content_counts(account=account)
