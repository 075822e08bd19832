"""Second-person sign-off of what cannot be undone or weakens compliance (SPEC "Compliance
details"): releasing a legal hold, a staff-entered opt-in, a refund, a purge by hand.

Asking is each app's flow (``workflows.compliance_signoffs``, ``workflows.billing_signoffs``):
it checks that the action could be done now and records the request (``approvals``). Signing
off is here: lock the request, run its action through its own service or workflow with the
requester as `requested_by` and the approver as `by`, record the decision; one transaction,
so an action its service refuses leaves the request pending and nothing written."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from django.db import transaction

from approvals.models import ApprovalKind, ApprovalOutcome, ApprovalRequest
from approvals.services import approval_decision_record, approval_lock_for_decision
from core.actors import Actor
from workflows.billing_signoffs import refund_signed_off
from workflows.compliance_signoffs import (
    legal_hold_release_signed_off,
    optin_signed_off,
    purge_signed_off,
)

# What signing off each kind does; each returns what it did, in the staff's words.
ACTIONS: dict[str, Callable[..., str]] = {
    ApprovalKind.LEGAL_HOLD_RELEASE: legal_hold_release_signed_off,
    ApprovalKind.OPTIN: optin_signed_off,
    ApprovalKind.REFUND: refund_signed_off,
    ApprovalKind.PURGE: purge_signed_off,
}


def approval_approve(
    *, request: ApprovalRequest, by: Actor, now: datetime, note: str = ""
) -> ApprovalRequest:
    """Sign off another staff member's request: its action runs through its own service, and
    the decision is recorded with it, in one transaction. A refusal (by the sign-off rules or
    by the action's service) writes nothing and leaves the request pending."""
    with transaction.atomic():
        locked = approval_lock_for_decision(request=request, by=by, now=now)
        requested_by = Actor.staff(locked.by_user)
        result = ACTIONS[locked.kind](locked, by=by, requested_by=requested_by, now=now)
        approval_decision_record(
            request=locked,
            outcome=ApprovalOutcome.APPROVED,
            by=by,
            now=now,
            note=note,
            result=result,
        )
    return locked
