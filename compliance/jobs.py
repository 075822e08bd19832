"""Scheduled jobs of the compliance app: purge_inactive (R7, R9)."""

from __future__ import annotations

import logging
from datetime import datetime

from django.db.models import QuerySet

from accounts.models import Account
from accounts.selectors import accounts_due_for_purge
from accounts.services.purge import KIND_NAMES
from core.actors import Actor
from jobs.registry import current_run_label, register
from workflows.purge import PURGE_GROUP_ACCOUNTS, accounts_purge_due, purge_preview

logger = logging.getLogger(__name__)


@register(
    "purge_inactive",
    description="Purges accounts inactive for more than 120 days, keeping suppressions (R7, R9)",
    due=accounts_due_for_purge,
    account_field="pk",
    # Accounts per batch: most are small; a large one takes several bounded transactions
    # (PURGE_BATCH_ROWS each). A step is one group purged together.
    batch_size=200,
    step=PURGE_GROUP_ACCOUNTS,
)
def purge_inactive(*, items: QuerySet[Account], as_of: datetime, dry_run: bool) -> dict[str, int]:
    if dry_run:
        totals = {"accounts": 0, **{name: 0 for name in KIND_NAMES}}
        for account, counts in purge_preview(accounts=items):
            totals["accounts"] += 1
            for name, value in counts.items():
                totals[name] += value
            logger.info("would purge %s: %s", account.username, counts)
        return totals
    run = current_run_label() or f"purge_inactive as of {as_of:%Y-%m-%d %H:%M} UTC"
    return accounts_purge_due(accounts=items, by=Actor.system("purge_inactive"), now=as_of, run=run)
