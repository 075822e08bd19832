"""Purge records (R7): how far a purge has got (PurgeProgress, so a crashed purge resumes and
its receipt counts every row once) and the receipt of each purged account. The purge itself
(deleting the content, moving the account to purged) is ``workflows.purge``, which calls these
in the same transactions as the deletes."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from accounts.models import Account
from compliance.models import PurgeProgress, PurgeReceipt
from core.actors import Actor


def purge_progress_of(*, account_ids: list[int]) -> dict[int, PurgeProgress]:
    """The purges these accounts have begun and not finished, by account id."""
    return {p.account_id: p for p in PurgeProgress.objects.filter(account_id__in=account_ids)}


def purge_progress_save(
    *,
    totals: dict[int, dict[str, int]],
    begun: dict[int, PurgeProgress],
    now: datetime,
    walked: dict[int, dict[str, int]] | None = None,
) -> None:
    """Keep each account's counts so far (`totals`) and where its next batches start
    (`walked`, merged into what earlier steps kept), in the transaction of the deletes, so a
    crash after it loses nothing and counts nothing twice."""
    walked = walked or {}
    PurgeProgress.objects.bulk_create(
        [
            PurgeProgress(
                account_id=account_id,
                started_at=begun[account_id].started_at if account_id in begun else now,
                counts=counts,
                walked={
                    **(begun[account_id].walked if account_id in begun else {}),
                    **walked.get(account_id, {}),
                },
            )
            for account_id, counts in totals.items()
        ],
        update_conflicts=True,
        unique_fields=["account"],
        update_fields=["counts", "walked"],
    )


def purge_receipts_record(
    *,
    accounts: Sequence[Account],
    totals: dict[int, dict[str, int]],
    begun: dict[int, PurgeProgress],
    by: Actor,
    now: datetime,
    run: str,
) -> None:
    """The receipt of each finished purge (what it deleted, when, by which run), and the end
    of its progress record."""
    receipts = []
    for account in accounts:
        if account.inactive_since is None:
            raise ValueError(f"{account} is not inactive; it cannot have been purged")
        receipts.append(
            PurgeReceipt(
                account=account,
                at=now,
                started_at=begun[account.pk].started_at if account.pk in begun else now,
                inactive_since=account.inactive_since,
                counts=totals[account.pk],
                run=run,
                **by.as_fields(),
            )
        )
    PurgeReceipt.objects.bulk_create(receipts)
    # Only these accounts' progress ends: others of their group may still have rows left.
    ended = [account.pk for account in accounts if account.pk in begun]
    if ended:
        PurgeProgress.objects.filter(account_id__in=ended).delete()
