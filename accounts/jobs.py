"""Scheduled jobs of the account lifecycle: expire_trials (R1), send_confirmations (R4)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from accounts import selectors
from accounts.services import LifecycleError, account_expire_trial, confirmation_send
from backoffice.actors import Actor
from jobs.registry import current_batch, in_range, register

logger = logging.getLogger(__name__)

# Each expiry is its own short transaction; a batch bounds one query's result and lets several
# workers share the backlog after a long outage.
EXPIRE_BATCH = 500
# One SMTP conversation each; bounds one query's result, not the run.
CONFIRMATION_BATCH = 200


@register(
    "expire_trials",
    description="Trials past their end (local midnight) expire (R1)",
    due=selectors.trials_due_to_expire,
    batch_size=2000,
)
def expire_trials(
    *,
    as_of: datetime,
    dry_run: bool,
    within: tuple[int, int] | None = None,
    progress: Callable[[int], None] | None = None,
) -> dict[str, int]:
    due = in_range(selectors.trials_due_to_expire(as_of=as_of), within).order_by("pk")
    if dry_run:
        return {"would_expire": due.count()}
    by = Actor.system("expire_trials")
    expired = refused = 0
    last = 0
    # Keyset batches by id: each pass reads the next EXPIRE_BATCH due trials, one query.
    while batch := list(due.filter(pk__gt=last)[:EXPIRE_BATCH]):
        last = batch[-1].pk
        for account in batch:
            end = account.trial_ends_at.astimezone(account.zone)
            try:
                account_expire_trial(
                    account=account,
                    by=by,
                    now=as_of,
                    reason=f"Trial ended {end:%Y-%m-%d %H:%M %Z} without a paid plan",
                )
            except LifecycleError as exc:
                # Moved by someone else between the query and the lock: not ours any more.
                logger.info("expire_trials: %s", exc)
                refused += 1
            else:
                expired += 1
        if progress:
            progress(len(batch))
    return {"expired": expired, "skipped": refused}


@register(
    "send_confirmations",
    description="Send due cancellation confirmations (R4)",
    due=selectors.confirmations_due,
    batch_size=1000,
)
def send_confirmations(
    *,
    as_of: datetime,
    dry_run: bool,
    within: tuple[int, int] | None = None,
    progress: Callable[[int], None] | None = None,
) -> dict[str, int]:
    # The same for every attempt of this batch of the run: see confirmation_claim.
    batch = current_batch.get()
    sender = f"b{batch}" if batch else ""
    overdue = in_range(selectors.confirmations_overdue(as_of=as_of), within).count()
    due = in_range(selectors.confirmations_due(as_of=as_of, sender=sender), within).order_by("pk")
    if dry_run:
        return {"would_send": due.count(), "overdue": overdue}
    counts = {"sent": 0, "failed": 0, "skipped": 0}
    last = 0
    # Walks by id so a request whose send failed is tried once per run, not again at once.
    while ids := list(due.filter(pk__gt=last).values_list("pk", flat=True)[:CONFIRMATION_BATCH]):
        for request_id in ids:
            counts[confirmation_send(request_id=request_id, as_of=as_of, sender=sender)] += 1
            # Per email: one SMTP conversation can take up to EMAIL_TIMEOUT, and the progress
            # call is also the batch's heartbeat.
            if progress:
                progress(1)
        last = ids[-1]
    if overdue:
        logger.warning("send_confirmations: %s confirmations are past the SLA (R4)", overdue)
    return {**counts, "overdue": overdue}
