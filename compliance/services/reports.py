"""Suppressions reported from outside, each event recorded once (R9): the sending platform's
record call (List-Unsubscribe mails, one-click posts it received) and the mail providers'
bounce and complaint webhooks. A retried delivery of the same event id records nothing new and
answers what the first one recorded."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.utils.translation import gettext as _

from accounts.models import Account
from compliance.addresses import InvalidAddress, address_key
from compliance.models import (
    Suppression,
    SuppressionReason,
    SuppressionReport,
    SuppressionSource,
)
from compliance.services.suppressions import suppression_record
from core.actors import Actor

# A reported event may carry a clock a little ahead of ours; beyond this it is refused.
CLOCK_SKEW = timedelta(minutes=5)


class ReportRefused(ValueError):
    """A report that cannot be recorded as given; the message says what is wrong."""


class ReportConflict(ReportRefused):
    """The event id was reported before, saying something else."""


@dataclass(frozen=True)
class Reported:
    """What a report did: the suppression in force for it, and whether this event was new
    (False: the same event id was reported before, nothing was added)."""

    suppression: Suppression
    new: bool


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def suppression_report(
    *,
    origin: str,
    event_id: str,
    account: Account,
    address: str,
    reason: str,
    source: str,
    at: datetime,
    evidence: str,
    by: Actor,
    now: datetime,
) -> Reported:
    """Record the suppression an outside event reports, once per (`origin`, `event_id`): the
    event id is kept only as its SHA-256. The same id reported again answers the first
    report's suppression; the same id saying something else (another account, address or
    reason) is refused. `address` that is not one raises compliance.addresses.InvalidAddress."""
    if reason not in SuppressionReason.values:
        raise ReportRefused(_("unknown reason %(reason)s") % {"reason": repr(reason)})
    event_id = event_id.strip()
    if not event_id:
        raise ReportRefused(_("an event id is needed, so that a retried delivery records once"))
    if at > now + CLOCK_SKEW:
        raise ReportRefused(_("the event's time %(at)s is in the future") % {"at": at.isoformat()})
    key = address_key(address)
    event_key = _sha256(event_id)
    fingerprint = _sha256(f"{account.pk}\n{key}\n{reason}")
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))",
                    [f"suppression-report:{origin}:{event_key}"],
                )
        earlier = (
            SuppressionReport.objects.filter(origin=origin, event_key=event_key)
            .select_related("suppression")
            .first()
        )
        if earlier is not None:
            if earlier.fingerprint != fingerprint:
                raise ReportConflict(
                    _(
                        "event id %(event_id)s was reported before with another "
                        "account, address or reason; each event needs its own id"
                    )
                    % {"event_id": repr(event_id[:80])}
                )
            return Reported(suppression=earlier.suppression, new=False)
        suppression = suppression_record(
            account=account,
            address=address,
            source=source,
            at=at,
            by=by,
            evidence=evidence,
            reason=reason,
        )
        SuppressionReport.objects.create(
            origin=origin,
            event_key=event_key,
            fingerprint=fingerprint,
            account=account,
            suppression=suppression,
            at=now,
        )
        return Reported(suppression=suppression, new=True)


# --- The mail providers' webhooks ---------------------------------------------------------


@dataclass(frozen=True)
class ProviderReport:
    """A hard bounce or a complaint a mail provider reported for one recipient of a message
    the account sent (api.webhooks reads it out of the provider's event)."""

    account_id: int | None
    address: str
    reason: str
    at: datetime
    event_id: str
    evidence: str


def provider_reports_record(
    *, provider: str, reports: list[ProviderReport], now: datetime
) -> dict[str, int]:
    """Record the suppressions a provider's webhook call reports, each event once: a hard
    bounce or a complaint suppresses the address for the account that sent (R9). Reports
    naming no known account, or no address, are counted and left: there is nobody to suppress
    it for."""
    counts = {"recorded": 0, "repeated": 0, "unknown_account": 0, "refused": 0}
    by = Actor.system(f"webhook {provider}")
    source = {
        SuppressionReason.HARD_BOUNCE: SuppressionSource.BOUNCE,
        SuppressionReason.COMPLAINT: SuppressionSource.COMPLAINT,
    }
    accounts = Account.objects.in_bulk({r.account_id for r in reports if r.account_id})
    for report in reports:
        account = accounts.get(report.account_id) if report.account_id else None
        if account is None:
            counts["unknown_account"] += 1
            continue
        try:
            reported = suppression_report(
                origin=provider,
                event_id=f"{report.event_id}\n{report.address.strip().lower()}",
                account=account,
                address=report.address,
                reason=report.reason,
                source=source[SuppressionReason(report.reason)],
                at=min(report.at, now),
                evidence=report.evidence,
                by=by,
                now=now,
            )
        except (InvalidAddress, ReportRefused):
            counts["refused"] += 1
            continue
        counts["recorded" if reported.new else "repeated"] += 1
    return counts
