"""Scheduled jobs of the account lifecycle: expire_trials (R1), send_confirmations (R4).
Each takes its due items from the jobs framework and calls one service per item."""

from __future__ import annotations

import logging
from datetime import datetime

from django.db.models import QuerySet

from accounts import selectors
from accounts.models import Account, CancellationRequest
from accounts.services import LifecycleError, account_expire_trial, confirmation_send
from accounts.services.pauses import account_pause_end
from core.actors import Actor
from jobs.registry import batch_sender, register

logger = logging.getLogger(__name__)


@register(
    "expire_trials",
    description="Trials past their end (local midnight) expire (R1)",
    due=selectors.trials_due_to_expire,
    account_field="pk",
    batch_size=2000,
    # Each expiry is its own short transaction; a step bounds one query's result.
    step=500,
)
def expire_trials(*, items: QuerySet[Account], as_of: datetime, dry_run: bool) -> dict[str, int]:
    if dry_run:
        return {"would_expire": items.count()}
    by = Actor.system("expire_trials")
    expired = refused = 0
    for account in items.order_by("pk"):
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
    return {"expired": expired, "skipped": refused}


@register(
    "send_confirmations",
    description="Send due cancellation confirmations (R4)",
    due=selectors.confirmations_due,
    batch_size=1000,
    # One SMTP conversation per step: the step is also the batch's heartbeat, and one
    # conversation can take up to EMAIL_TIMEOUT.
    step=1,
)
def send_confirmations(
    *, items: QuerySet[CancellationRequest], as_of: datetime, dry_run: bool
) -> dict[str, int]:
    if dry_run:
        return {
            "would_send": items.count(),
            "overdue": items.filter(pk__in=selectors.confirmations_overdue(as_of=as_of)).count(),
        }
    # The same for every attempt of this batch of the run: see confirmation_claim.
    sender = batch_sender()
    counts = {"sent": 0, "failed": 0, "skipped": 0, "overdue": 0}
    for request in items.order_by("pk"):
        if selectors.confirmation_is_overdue(request=request, as_of=as_of):
            counts["overdue"] += 1
        counts[confirmation_send(request_id=request.pk, as_of=as_of, sender=sender)] += 1
    if counts["overdue"]:
        logger.warning(
            "send_confirmations: %s confirmation(s) past the SLA (R4)", counts["overdue"]
        )
    return counts


@register(
    "resume_paused",
    description="Pauses with an end date end on that local date: the account resumes (R8)",
    due=selectors.accounts_due_to_resume,
    account_field="pk",
    # One short transaction and one notice per account.
    batch_size=1000,
    step=100,
)
def resume_paused(*, items: QuerySet[Account], as_of: datetime, dry_run: bool) -> dict[str, int]:
    if dry_run:
        return {"would_resume": items.count()}
    counts = {"resumed": 0, "notice_failed": 0, "skipped": 0}
    for account in items.order_by("pk"):
        counts[account_pause_end(account=account, now=as_of)] += 1
    return counts
