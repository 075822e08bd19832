"""Non-payment (R11), billing's part: the suspension's own record (when, and the one notice),
and the notice itself. Suspending and cancelling the account cross into the account's
lifecycle: ``workflows.nonpayment`` calls these with the account's moves."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.core.mail import EmailMessage
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
    """Billing's record of the suspension: when, and that its one notice went out (R11). A
    second run (or a second worker) then finds nothing left to do. `profile` is locked."""
    profile.suspended_at = as_of
    profile.notice_sent_at = as_of
    profile.save(update_fields=["suspended_at", "notice_sent_at"])
