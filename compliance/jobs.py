"""Scheduled jobs of the compliance app."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from backoffice.actors import Actor
from compliance.selectors import accounts_due_for_purge
from jobs.registry import register

logger = logging.getLogger(__name__)


@register(
    "purge_inactive",
    description="Purges accounts inactive for more than 120 days, keeping suppressions (R7, R9)",
    due=accounts_due_for_purge,
    # Accounts per batch: most are small; a large one takes several bounded transactions
    # (PURGE_BATCH_ROWS each), with a heartbeat after each group.
    batch_size=200,
)
def purge_inactive(
    *,
    as_of: datetime,
    dry_run: bool,
    within: tuple[int, int] | None = None,
    progress: Callable[[int], None] | None = None,
) -> dict[str, int]:
    from compliance.services.purge import (
        KIND_NAMES,
        accounts_purge_due,
        current_run_label,
        purge_preview,
    )

    if dry_run:
        totals = {"accounts": 0, **{name: 0 for name in KIND_NAMES}}
        for account, counts in purge_preview(as_of=as_of, within=within):
            totals["accounts"] += 1
            for name, value in counts.items():
                totals[name] += value
            logger.info("would purge %s: %s", account.username, counts)
            if progress:
                progress(1)
        return totals
    return accounts_purge_due(
        as_of=as_of,
        by=Actor.system("purge_inactive"),
        run=current_run_label("purge_inactive", as_of),
        progress=progress,
        within=within,
    )
