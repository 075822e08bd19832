"""The end of a pause with an end date (R8): the account resumes by itself on its local date
(the resume_paused job), with its timeline event, and the customer gets a notice; the pause
fee stops with it (the billing run charges a paused account only)."""

from __future__ import annotations

import logging
from datetime import date, datetime

from django.core.mail import EmailMessage
from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext as _

from accounts.models import Account, AccountStatus
from accounts.services.lifecycle import account_event_record, account_lock, account_resume
from core.actors import Actor
from core.simulation import mail_send

logger = logging.getLogger(__name__)
JOB = "resume_paused"


def pause_end_notice(*, account: Account, until: date) -> EmailMessage:
    """The notice of the pause's end, in the account's language."""
    with translation.override(account.language):
        subject = _("Your account %(username)s is active again") % {"username": account.username}
        body = _(
            "Your account %(username)s was paused until %(until)s. The pause has ended: the "
            "account is active again, can send, and is billed its plan from its next billing "
            "date; the pause fee no longer applies."
        ) % {"username": account.username, "until": until.isoformat()}
    return EmailMessage(subject=subject, body=body + "\n", to=[account.primary_email])


def account_pause_end(*, account: Account, now: datetime) -> str:
    """Resume a paused account whose end date has come (R8), then send the notice and record
    it. Returns "resumed", "notice_failed" (resumed, the notice refused by the mail server)
    or "skipped" (resumed or moved meanwhile by someone else)."""
    by = Actor.system(JOB)
    with transaction.atomic():
        locked = account_lock(account)
        if (
            locked.status != AccountStatus.PAUSED
            or locked.resumes_at is None
            or locked.resumes_at > now
            or locked.paused_until is None
        ):
            return "skipped"
        until = locked.paused_until
        account_resume(
            account=locked,
            by=by,
            now=now,
            reason=f"Pause ended: paused until {until:%Y-%m-%d} (R8)",
        )
    try:
        mail_send(pause_end_notice(account=locked, until=until))
    except Exception as exc:  # noqa: BLE001 — the resume stands; the notice is logged as failed
        logger.warning("notice of the pause's end of %s failed: %s", locked.username, exc)
        return "notice_failed"
    account_event_record(
        account=locked,
        kind="resume_notice",
        by=by,
        now=now,
        reason=f"Notice of the pause's end sent to {locked.primary_email} (R8)",
    )
    return "resumed"
