"""Asking for and signing off a refund (never of a prepayment, R5): asking checks that the
charge can be refunded; signing off refunds it through billing's service with the requester
and the approver (``workflows.approvals``)."""

from __future__ import annotations

from datetime import datetime

from django.utils.translation import gettext as _

from approvals.models import ApprovalKind, ApprovalRequest
from approvals.services import ApprovalError, approval_request
from billing.models import LedgerEntry
from billing.services import BillingError, charge_refund, charge_refund_check
from core.actors import Actor
from core.localtime import local_moment


def refund_request(*, entry: LedgerEntry, reason: str, by: Actor, now: datetime) -> ApprovalRequest:
    """Ask for a charge to be refunded in full (never a prepayment, R5)."""
    if not by.may("billing.refund_charge"):
        raise ApprovalError(_("%(who)s may not refund charges") % {"who": by.label})
    try:
        charge_refund_check(entry=entry, reason=reason or "")
    except BillingError as exc:
        raise ApprovalError(str(exc)) from None
    return approval_request(
        kind=ApprovalKind.REFUND,
        account=entry.account,
        subject=f"ledgerentry:{entry.pk}",
        payload={"entry_id": entry.pk},
        summary=_("refund %(amount)s %(currency)s: %(kind)s of %(when)s (%(description)s)")
        % {
            "amount": entry.amount,
            "currency": entry.currency,
            "kind": entry.get_kind_display(),
            "when": local_moment(entry.at, entry.account.zone),
            "description": entry.description or "-",
        },
        reason=reason,
        by=by,
        now=now,
    )


def refund_signed_off(
    request: ApprovalRequest, *, by: Actor, requested_by: Actor, now: datetime
) -> str:
    entry = LedgerEntry.objects.select_related("account").get(pk=request.payload["entry_id"])
    try:
        refund = charge_refund(
            entry=entry,
            by=by,
            requested_by=requested_by,
            now=now,
            reason=f"{request.reason} (sign-off #{request.pk})",
        )
    except BillingError as exc:
        raise ApprovalError(str(exc)) from None
    return _("refunded %(amount)s %(currency)s") % {
        "amount": refund.amount,
        "currency": refund.currency,
    }
