"""Non-payment (R11), billing's part: the suspension's own record (when, and the one notice),
and the notice itself. Suspending and cancelling the account cross into the account's
lifecycle: ``workflows.nonpayment`` calls these with the account's moves.

The notice goes to the mail server after the suspension committed, as a confirmation does
(R4): a sender claims it (the record of the attempt, committed before the call), and records
it sent after the server accepted it; a refused send releases the claim and the next run
tries again. A crash therefore leaves the notice claimed or unsent, never recorded as sent
when it was not; a worker dying between the server's acceptance and the record may make the
next run send it a second time.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import EmailMessage
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import translation

from billing.models import BillingProfile
from billing.selectors import unpaid_cancel_day
from core.localtime import local_date


def suspension_notice(*, profile: BillingProfile, as_of: datetime) -> EmailMessage:
    """The suspension notice (R11), in the account's language: why, since when, and the day
    the account is cancelled unless paid before."""
    account = profile.account
    context = {
        "username": account.username,
        "reason": profile.unpaid_reason or "payment missing",
        "day": local_date(as_of, account.zone).isoformat(),
        "cancel_day": unpaid_cancel_day(suspended_at=as_of, zone=account.zone).isoformat(),
    }
    with translation.override(account.language):
        subject = render_to_string("billing/email/suspension_notice_subject.txt", context)
        body = render_to_string("billing/email/suspension_notice.txt", context)
    return EmailMessage(
        subject=" ".join(subject.split()),
        body=body.strip() + "\n",
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[account.primary_email],
    )


def profile_suspension_record(*, profile: BillingProfile, as_of: datetime) -> None:
    """Billing's record of the suspension (R11): when; its notice is still to be sent
    (``suspension_notice_claim``). A second run (or a second worker) then finds no suspension
    left to do. `profile` is locked."""
    profile.suspended_at = as_of
    profile.notice_sent_at = None
    profile.notice_claimed_until = None
    profile.save(update_fields=["suspended_at", "notice_sent_at", "notice_claimed_until"])


# Longer than one SMTP conversation can take (EMAIL_TIMEOUT is 30 s), short enough that a
# notice claimed by a crashed worker is sent by the next run.
NOTICE_CLAIM_LEASE = timedelta(minutes=10)


def suspension_notice_claim(*, profile_id: int, as_of: datetime) -> datetime | None:
    """Claim a suspension's unsent notice for sending; returns the claim (its end), or None
    when the notice is sent, the suspension cleared, or another sender holds it."""
    until = as_of + NOTICE_CLAIM_LEASE
    claimed = (
        BillingProfile.objects.filter(
            pk=profile_id, suspended_at__isnull=False, notice_sent_at__isnull=True
        )
        .filter(Q(notice_claimed_until__isnull=True) | Q(notice_claimed_until__lt=as_of))
        .update(notice_claimed_until=until)
    )
    return until if claimed else None


def suspension_notice_release(*, profile_id: int, claim: datetime) -> None:
    """The mail server refused the notice: free it for the next run."""
    BillingProfile.objects.filter(pk=profile_id, notice_claimed_until=claim).update(
        notice_claimed_until=None
    )


def suspension_notice_record_sent(*, profile_id: int, claim: datetime, as_of: datetime) -> bool:
    """The mail server accepted the notice: record it sent. False when the claim was no longer
    ours (it lapsed and a later run took the notice over; its record counts)."""
    return bool(
        BillingProfile.objects.filter(
            pk=profile_id, notice_claimed_until=claim, notice_sent_at__isnull=True
        ).update(notice_sent_at=as_of, notice_claimed_until=None)
    )
