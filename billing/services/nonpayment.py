"""Non-payment (R11): accounts marked unpaid are suspended once, with one notice; accounts
suspended for more than UNPAID_CANCEL_AFTER_DAYS local days are cancelled by the system."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction

from accounts.models import AccountStatus
from accounts.services import LifecycleError, account_cancel, account_event_record, account_suspend
from backoffice.actors import Actor
from backoffice.localtime import days_between, local_date
from billing import conf
from billing.models import BillingProfile
from billing.selectors import profiles_candidates_for_unpaid_cancel, profiles_due_for_suspension
from jobs.registry import in_range

logger = logging.getLogger(__name__)

# Suspensions and cancellations run the lifecycle services one account at a time (each writes
# events, effects, emails); a small batch keeps each transaction short.
BATCH_SIZE = 100

NOTICE_SUBJECT = {
    "en": "Your account {username} is suspended until payment",
    "de": "Ihr Konto {username} ist bis zur Zahlung gesperrt",
}
NOTICE_BODY = {
    "en": (
        "Hello,\n\nwe could not collect the payment for your account {username} ({reason}), "
        "so it is suspended as of {day}. Your contacts, campaigns and files are kept.\n\n"
        "Pay or update your card before {cancel_day} to reactivate it; after that date the "
        "account is cancelled.\n\nCustomer Care"
    ),
    "de": (
        "Guten Tag,\n\nwir konnten die Zahlung für Ihr Konto {username} nicht einziehen "
        "({reason}); es ist deshalb seit {day} gesperrt. Ihre Kontakte, Kampagnen und Dateien "
        "bleiben erhalten.\n\nBitte zahlen Sie oder aktualisieren Sie Ihre Karte vor dem "
        "{cancel_day}; danach wird das Konto gekündigt.\n\nIhr Kundenservice"
    ),
}


def _send_notice(*, to: str, subject: str, body: str) -> None:
    send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [to], fail_silently=False)


def unpaid_suspend_due(
    *,
    as_of: datetime,
    by: Actor,
    dry_run: bool = False,
    within: tuple[int, int] | None = None,
    progress: Callable[[int], None] | None = None,
) -> dict[str, int]:
    """Suspend every account marked unpaid and not yet suspended for it (R11), and send its
    one notice. `suspended_at` is set in the same transaction as the suspension, so a second
    run (or a second worker) finds nothing left to do. `within`: profile ids (low, high]."""
    counts: Counter = Counter()
    due = in_range(profiles_due_for_suspension(as_of=as_of), within)
    if dry_run:
        return {"would_suspend": due.count()}
    last_id = 0
    while True:
        with transaction.atomic():
            batch = list(
                due.filter(id__gt=last_id)
                .select_for_update(skip_locked=True, of=("self", "account"))
                .select_related("account")
                .order_by("id")[:BATCH_SIZE]
            )
            if not batch:
                break
            last_id = batch[-1].id
            for profile in batch:
                _suspend(profile, as_of=as_of, by=by, counts=counts)
        if progress:
            progress(len(batch))
    return dict(counts)


def _suspend(profile: BillingProfile, *, as_of: datetime, by: Actor, counts: Counter) -> None:
    account = profile.account
    reason = profile.unpaid_reason or "payment missing"
    if account.status != AccountStatus.SUSPENDED:
        account_suspend(account=account, by=by, now=as_of, reason=f"Unpaid: {reason} (R11)")
        counts["suspended"] += 1
    profile.suspended_at = as_of
    profile.notice_sent_at = as_of
    profile.save(update_fields=["suspended_at", "notice_sent_at"])
    day = local_date(as_of, account.zone)
    cancel_day = day + timedelta(days=conf.unpaid_cancel_after_days() + 1)
    language = account.language if account.language in NOTICE_BODY else "en"
    subject = NOTICE_SUBJECT[language].format(username=account.username)
    body = NOTICE_BODY[language].format(
        username=account.username, reason=reason, day=day, cancel_day=cancel_day
    )
    account_event_record(
        account=account,
        kind="suspension_notice",
        by=by,
        now=as_of,
        reason=f"Suspension notice sent to {account.primary_email}",
    )
    # robust: a mail server failure is logged, it does not undo the committed suspension.
    transaction.on_commit(
        lambda: _send_notice(to=account.primary_email, subject=subject, body=body), robust=True
    )
    counts["notices"] += 1


def unpaid_cancel_due(
    *,
    as_of: datetime,
    by: Actor,
    dry_run: bool = False,
    within: tuple[int, int] | None = None,
    progress: Callable[[int], None] | None = None,
) -> dict[str, int]:
    """Cancel, as involuntary, every account suspended for non-payment for more than
    UNPAID_CANCEL_AFTER_DAYS days on its local calendar (R11): day 91, not day 90. A payment
    recorded before then reactivated the account and cleared `suspended_at`."""
    days = conf.unpaid_cancel_after_days()
    counts: Counter = Counter()
    # A coarse UTC bound selects the candidates; the exact local-calendar count decides.
    candidates = in_range(profiles_candidates_for_unpaid_cancel(as_of=as_of), within)
    last_id = 0
    while True:
        with transaction.atomic():
            query = candidates.filter(id__gt=last_id).select_related("account").order_by("id")
            if not dry_run:
                query = query.select_for_update(skip_locked=True, of=("self", "account"))
            batch = list(query[:BATCH_SIZE])
            if not batch:
                break
            last_id = batch[-1].id
            for profile in batch:
                account = profile.account
                elapsed = days_between(profile.suspended_at, as_of, account.zone)
                if elapsed <= days:
                    continue
                if dry_run:
                    counts["would_cancel"] += 1
                    continue
                try:
                    with transaction.atomic():
                        account_cancel(
                            account=account,
                            by=by,
                            now=as_of,
                            voluntary=False,
                            reason=f"Unpaid for more than {days} days: suspended on "
                            f"{local_date(profile.suspended_at, account.zone)} (R11)",
                        )
                except LifecycleError as exc:
                    logger.error("cancel_unpaid: %s", exc)
                    counts["errors"] += 1
                    continue
                counts["cancelled"] += 1
        if progress:
            progress(len(batch))
    return dict(counts)
