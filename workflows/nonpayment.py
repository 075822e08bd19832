"""Non-payment (R11): an account marked unpaid by the billing run is suspended once, with one
notice; one suspended for more than UNPAID_CANCEL_AFTER_DAYS local days is cancelled by the
system (day 91, not day 90). Each is the account's move (accounts) and billing's record
(billing) in one transaction. The notice goes out after the suspension committed: claimed
first, then sent, then recorded sent with its timeline event in one transaction, so a crash
or a refusing mail server leaves it to the next run instead of recording a notice that never
went out (billing.services.nonpayment)."""

from __future__ import annotations

import logging
from collections import Counter
from datetime import datetime

from django.db import transaction
from django.db.models import QuerySet

from accounts.models import AccountStatus
from accounts.services import LifecycleError, account_event_record, account_suspend
from billing import conf
from billing.models import BillingProfile
from billing.selectors import unpaid_cancel_is_due
from billing.services import (
    profile_suspension_record,
    suspension_notice,
    suspension_notice_claim,
    suspension_notice_record_sent,
    suspension_notice_release,
)
from core.actors import Actor
from core.localtime import local_date
from core.simulation import mail_send
from workflows.cancellation import account_cancel

logger = logging.getLogger(__name__)

# Suspensions and cancellations run the lifecycle services one account at a time (each writes
# events, effects, emails); a small batch keeps each transaction short.
BATCH_SIZE = 100


def _locked_batches(profiles: QuerySet[BillingProfile]):
    """The profiles with their accounts, BATCH_SIZE at a time, each batch locked in its own
    transaction (rows another worker holds are skipped: they are that worker's)."""
    last_id = 0
    while True:
        with transaction.atomic():
            batch = list(
                profiles.filter(id__gt=last_id)
                .select_for_update(skip_locked=True, of=("self", "account"))
                .select_related("account")
                .order_by("id")[:BATCH_SIZE]
            )
            if not batch:
                return
            last_id = batch[-1].id
            yield batch


def accounts_suspend_unpaid(
    *, profiles: QuerySet[BillingProfile], by: Actor, now: datetime
) -> dict[str, int]:
    """Suspend the accounts of these profiles marked unpaid (the suspend_unpaid job's items),
    then send each suspension's one notice (R11), also those an earlier run left unsent.
    `suspended_at` is set in the same transaction as the suspension, so a second run (or a
    second worker) finds no suspension left to do."""
    counts: Counter = Counter()
    for batch in _locked_batches(profiles.filter(suspended_at__isnull=True)):
        for profile in batch:
            _suspend(profile, by=by, now=now, counts=counts)
    unsent = profiles.filter(suspended_at__isnull=False, notice_sent_at__isnull=True)
    for profile_id in unsent.order_by("pk").values_list("pk", flat=True):
        outcome = suspension_notice_send(profile_id=profile_id, by=by, now=now)
        if outcome == "sent":
            counts["notices"] += 1
        elif outcome == "failed":
            counts["notices_failed"] += 1
    return dict(counts)


def _suspend(profile: BillingProfile, *, by: Actor, now: datetime, counts: Counter) -> None:
    account = profile.account
    reason = profile.unpaid_reason or "payment missing"
    if account.status != AccountStatus.SUSPENDED:
        account_suspend(account=account, by=by, now=now, reason=f"Unpaid: {reason} (R11)")
        counts["suspended"] += 1
    profile_suspension_record(profile=profile, as_of=now)


def suspension_notice_send(*, profile_id: int, by: Actor, now: datetime) -> str:
    """Send a suspension's notice if nobody has (R11); returns "sent", "failed" or
    "skipped"."""
    claim = suspension_notice_claim(profile_id=profile_id, as_of=now)
    if claim is None:
        return "skipped"
    profile = BillingProfile.objects.select_related("account").get(pk=profile_id)
    if profile.suspended_at is None:
        return "skipped"  # a payment cleared the suspension since the claim: nothing to say
    try:
        mail_send(suspension_notice(profile=profile, as_of=profile.suspended_at))
    except Exception as exc:  # noqa: BLE001 — any refusal or outage is retried next run
        logger.warning("suspension notice of %s failed: %s", profile.account, exc)
        suspension_notice_release(profile_id=profile_id, claim=claim)
        return "failed"
    with transaction.atomic():
        if not suspension_notice_record_sent(profile_id=profile_id, claim=claim, as_of=now):
            logger.warning(
                "suspension notice of %s was sent after its claim lapsed; the sender that "
                "took it over records it",
                profile.account,
            )
            return "skipped"
        account_event_record(
            account=profile.account,
            kind="suspension_notice",
            by=by,
            now=now,
            reason=f"Suspension notice sent to {profile.account.primary_email}",
        )
    return "sent"


def accounts_cancel_unpaid(
    *, profiles: QuerySet[BillingProfile], by: Actor, now: datetime
) -> dict[str, int]:
    """Cancel, as involuntary, the accounts of these profiles (the cancel_unpaid job's
    candidates) whose suspension for non-payment has reached its cancellation day on their
    local calendar (R11: ``billing.selectors.unpaid_cancel_day``). A payment recorded before
    then reactivated the account and cleared the suspension."""
    counts: Counter = Counter()
    for batch in _locked_batches(profiles):
        for profile in batch:
            if not unpaid_cancel_is_due(profile=profile, as_of=now):
                continue
            account = profile.account
            suspended_on = local_date(profile.suspended_at, account.zone)
            days = conf.unpaid_cancel_after_days()
            try:
                with transaction.atomic():
                    account_cancel(
                        account=account,
                        by=by,
                        now=now,
                        voluntary=False,
                        reason=f"Unpaid for more than {days} days: suspended on "
                        f"{suspended_on} (R11)",
                    )
            except LifecycleError as exc:
                logger.error("cancel_unpaid: %s", exc)
                counts["errors"] += 1
                continue
            counts["cancelled"] += 1
    return dict(counts)


def accounts_cancel_unpaid_preview(*, profiles: QuerySet[BillingProfile], now: datetime) -> int:
    """How many of these profiles' accounts a cancellation run as of `now` would cancel."""
    return sum(
        unpaid_cancel_is_due(profile=profile, as_of=now)
        for profile in profiles.select_related("account").iterator(chunk_size=1000)
    )
