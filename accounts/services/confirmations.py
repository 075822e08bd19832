"""Confirmation emails of cancellation requests: exactly one each, within 24 hours (R4).

A sender first claims a request with a conditional UPDATE (only an unsent request whose claim
is free or lapsed), so two workers running the job at once never both send it: the claim is
the record of the attempt, committed before the mail server is called. After the server
accepted the message, ``confirmation_sent_at`` and the ``confirmation_sent`` timeline event are
written in one transaction (R4, R12): a crash leaves both or neither, never a request marked
sent without its event. A refused send releases the claim and counts the attempt, and the next
run tries again. A worker that dies between the server's acceptance and the record leaves a
claim that lapses after CLAIM_LEASE: that one request may then be sent twice, the only case,
and rarer than losing it.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import F, Q
from django.template.loader import render_to_string
from django.utils import translation

from accounts.models import CancellationRequest
from accounts.services.lifecycle import account_event_record
from core.actors import Actor
from core.simulation import mail_send

logger = logging.getLogger(__name__)

# Longer than one SMTP conversation can take (EMAIL_TIMEOUT is 30 s), short enough that a
# request claimed by a crashed worker is retried by the next run or two.
CLAIM_LEASE = timedelta(minutes=10)


def confirmation_message(*, request: CancellationRequest) -> EmailMessage:
    """The confirmation email, in the account's language (templates accounts/email/)."""
    account = request.account
    context = {
        "outcome": request.outcome,
        "voluntary": request.voluntary,
        "username": account.username,
        "when": request.at.astimezone(account.zone).strftime("%Y-%m-%d %H:%M %Z"),
        "days": settings.RETENTION_DAYS,
        # R3: a cancellation before the next billing date spares that date.
        "spared": bool(request.next_billing_date and request.in_time),
        "date": request.next_billing_date.isoformat() if request.next_billing_date else "",
    }
    with translation.override(account.language):
        subject = render_to_string("accounts/email/confirmation_subject.txt", context)
        body = render_to_string("accounts/email/confirmation.txt", context)
    message = EmailMessage(
        subject=" ".join(subject.split()), body=body.rstrip("\n"), to=[account.primary_email]
    )
    # Lets the mail server and the customer's client recognise a resend of the same request.
    message.extra_headers["Message-ID"] = (
        f"<cancellation-request-{request.pk}@{settings.DEFAULT_FROM_EMAIL.split('@')[-1].strip('>')}>"
    )
    return message


def confirmation_claim(*, request_id: int, as_of: datetime, sender: str = "") -> str | None:
    """Claim an unsent request for sending; returns the claim token, or None when it is sent
    or another sender holds it.

    `sender` names a batch of the send_confirmations job (the same for every attempt of that
    batch): a batch run again after its worker died takes over the claims its dead attempt
    left, instead of leaving those requests for CLAIM_LEASE. The job's batch claim ensures no
    two attempts of one batch are alive at once."""
    prefix = sender[:15]
    token = f"{prefix}-{uuid.uuid4().hex[:24]}" if prefix else uuid.uuid4().hex
    free = Q(confirmation_claimed_until__isnull=True) | Q(confirmation_claimed_until__lt=as_of)
    if prefix:
        free |= Q(confirmation_claim__startswith=f"{prefix}-")
    claimed = (
        CancellationRequest.objects.filter(pk=request_id, confirmation_sent_at__isnull=True)
        .filter(free)
        .update(confirmation_claimed_until=as_of + CLAIM_LEASE, confirmation_claim=token)
    )
    return token if claimed else None


def confirmation_send(*, request_id: int, as_of: datetime, sender: str = "") -> str:
    """Send one request's confirmation if nobody has; returns "sent", "failed" or "skipped"."""
    token = confirmation_claim(request_id=request_id, as_of=as_of, sender=sender)
    if token is None:
        return "skipped"
    request = CancellationRequest.objects.select_related("account").get(pk=request_id)
    mine = CancellationRequest.objects.filter(pk=request_id, confirmation_claim=token)
    try:
        mail_send(confirmation_message(request=request))
    except Exception as exc:  # noqa: BLE001 — any refusal or outage is retried next run
        logger.warning("confirmation of cancellation request %s failed: %s", request_id, exc)
        mine.update(
            confirmation_claimed_until=None,
            confirmation_claim="",
            confirmation_attempts=F("confirmation_attempts") + 1,
            confirmation_last_error=f"{as_of:%Y-%m-%d %H:%M} UTC: {exc}"[:2000],
        )
        return "failed"
    if not confirmation_record_sent(request=request, token=token, as_of=as_of):
        return "skipped"
    return "sent"


@transaction.atomic
def confirmation_record_sent(*, request: CancellationRequest, token: str, as_of: datetime) -> bool:
    """Record that the mail server accepted `request`'s confirmation, with its timeline event,
    in one transaction. False when the claim `token` was no longer ours (it lapsed and another
    sender took the request over): that sender's record is the one that counts."""
    recorded = CancellationRequest.objects.filter(pk=request.pk, confirmation_claim=token).update(
        confirmation_sent_at=as_of,
        confirmation_claimed_until=None,
        confirmation_claim="",
        confirmation_attempts=F("confirmation_attempts") + 1,
        confirmation_last_error="",
    )
    if not recorded:
        logger.warning(
            "confirmation of cancellation request %s was sent after its claim lapsed; the "
            "sender that took it over records it",
            request.pk,
        )
        return False
    account_event_record(
        account=request.account,
        kind="confirmation_sent",
        by=Actor.system("send_confirmations"),
        now=as_of,
        reason=f"Cancellation confirmation of request #{request.pk} sent to "
        f"{request.account.primary_email} (R4)",
    )
    return True
