"""Writes of the sign-offs: a request, its rejection, its approval's record, its expiry. Each
appends its timeline entry on the account in the same transaction (R12).

What an approval does (release the hold, record the opt-in, refund, purge) crosses apps: it is
``workflows.approvals``, which locks the request here (``approval_lock_for_decision``), runs the
action through its own service and records the decision here, in one transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from accounts.models import Account
from accounts.services import account_event_record, account_lock
from approvals import conf
from approvals.models import (
    KIND_PERMISSIONS,
    ApprovalDecision,
    ApprovalKind,
    ApprovalOutcome,
    ApprovalRequest,
)
from approvals.selectors import approval_pending_for
from core.actors import Actor
from core.localtime import local_moment

EXPIRY_JOB = "expire_signoffs"


class ApprovalError(ValueError):
    """A sign-off request or decision that cannot be made as asked; nothing was written. The
    message says why."""


def _when(moment: datetime, account: Account) -> str:
    return local_moment(moment, account.zone)


def approval_request(
    *,
    kind: str,
    account: Account,
    subject: str,
    payload: dict[str, Any],
    summary: str,
    reason: str,
    by: Actor,
    now: datetime,
) -> ApprovalRequest:
    """Ask for a second person's sign-off of `kind` on `account` with a reason: the request
    waits until another staff member holding the kind's permission approves or rejects it, or
    until it expires (APPROVAL_EXPIRY_DAYS). One pending request per kind and subject. The
    caller (``workflows.approvals``) has checked that the action could be done now."""
    if kind not in ApprovalKind.values:
        raise ApprovalError(_("unknown kind of sign-off %(kind)s") % {"kind": repr(kind)})
    label = ApprovalKind(kind).label
    if by.is_job:
        raise ApprovalError(_("a sign-off is asked for by a member of staff, not by a job"))
    if not by.may(KIND_PERMISSIONS[ApprovalKind(kind)]):
        raise ApprovalError(
            _("%(who)s may not ask for this: %(what)s") % {"who": by.label, "what": label}
        )
    if not (reason or "").strip():
        raise ApprovalError(_("say why (the reason goes on the account's timeline)"))
    with transaction.atomic():
        # The account's row serialises the requests about it: one pending per subject.
        locked = account_lock(account)
        pending = approval_pending_for(kind=kind, subject=subject, as_of=now)
        if pending is not None:
            raise ApprovalError(
                _(
                    "%(what)s was already asked for (request #%(id)s by %(who)s): it waits "
                    "for a second person's sign-off"
                )
                % {"what": label, "id": pending.pk, "who": pending.by}
            )
        request = ApprovalRequest.objects.create(
            account=locked,
            kind=kind,
            subject=subject,
            payload=payload,
            summary=summary,
            reason=reason.strip(),
            requested_at=now,
            expires_at=now + conf.request_valid_for(),
            **by.as_fields(),
        )
        account_event_record(
            account=locked,
            kind="approval_requested",
            by=by,
            now=now,
            reason=_(
                "Sign-off #%(id)s asked for: %(what)s: %(summary)s. Reason: %(reason)s. "
                "Expires %(expires)s unless another member of staff decides."
            )
            % {
                "id": request.pk,
                "what": label,
                "summary": summary,
                "reason": request.reason,
                "expires": _when(request.expires_at, locked),
            },
        )
    return request


def approval_lock_for_decision(
    *, request: ApprovalRequest, by: Actor, now: datetime
) -> ApprovalRequest:
    """Lock the request for a decision by `by` and refuse one they may not make: decided
    already, expired, their own request (four eyes, superusers too), or a kind whose
    permission they lack. Call inside a transaction."""
    if by.is_job:
        raise ApprovalError(_("a sign-off is given by a member of staff, not by a job"))
    locked = (
        ApprovalRequest.objects.select_for_update(of=("self",))
        .select_related("account", "by_user")
        .get(pk=request.pk)
    )
    decision = ApprovalDecision.objects.filter(request=locked).first()
    if decision is not None:
        raise ApprovalError(
            _("request #%(id)s was decided already: %(outcome)s by %(who)s")
            % {"id": locked.pk, "outcome": decision.get_outcome_display(), "who": decision.by}
        )
    if locked.expires_at <= now:
        raise ApprovalError(
            _("request #%(id)s expired %(when)s unanswered; ask again if it is still needed")
            % {"id": locked.pk, "when": _when(locked.expires_at, locked.account)}
        )
    if locked.by_user_id == by.user.pk:
        raise ApprovalError(
            _(
                "you asked for request #%(id)s yourself: another member of staff must sign it "
                "off (four eyes)"
            )
            % {"id": locked.pk}
        )
    if not by.may(KIND_PERMISSIONS[ApprovalKind(locked.kind)]):
        raise ApprovalError(
            _("%(who)s may not sign off this: %(what)s")
            % {"who": by.label, "what": locked.get_kind_display()}
        )
    return locked


def approval_decision_record(
    *,
    request: ApprovalRequest,
    outcome: str,
    by: Actor,
    now: datetime,
    note: str = "",
    result: str = "",
) -> ApprovalDecision:
    """The decision on a request locked by ``approval_lock_for_decision``, with its timeline
    entry. The database's one-to-one key makes a second decision fail whatever the caller."""
    decision = ApprovalDecision.objects.create(
        request=request,
        outcome=outcome,
        at=now,
        note=note.strip(),
        result=result,
        **by.as_fields(),
    )
    words = {
        ApprovalOutcome.APPROVED: _("Sign-off #%(id)s given: %(what)s (asked for by %(who)s)"),
        ApprovalOutcome.REJECTED: _("Sign-off #%(id)s refused: %(what)s (asked for by %(who)s)"),
    }[ApprovalOutcome(outcome)] % {
        "id": request.pk,
        "what": request.get_kind_display(),
        "who": request.by,
    }
    details = "; ".join(part for part in (result, note.strip()) if part)
    account_event_record(
        account=request.account,
        kind=f"approval_{outcome}",
        by=by,
        now=now,
        reason=f"{words}: {details}" if details else words,
    )
    return decision


def approval_reject(
    *, request: ApprovalRequest, by: Actor, now: datetime, note: str
) -> ApprovalDecision:
    """Refuse a request, saying why; nothing it asked for is done."""
    if not (note or "").strip():
        raise ApprovalError(_("say why the request is rejected"))
    with transaction.atomic():
        locked = approval_lock_for_decision(request=request, by=by, now=now)
        return approval_decision_record(
            request=locked, outcome=ApprovalOutcome.REJECTED, by=by, now=now, note=note
        )


def approvals_expire(*, requests: QuerySet[ApprovalRequest], now: datetime) -> dict[str, int]:
    """Record as expired the given requests that are still undecided and past their expiry
    (the job's items), each with its timeline entry. Safe to run twice and on several workers:
    a request another worker holds is skipped, a decided one left alone."""
    with transaction.atomic():
        locked = list(
            requests.filter(decision__isnull=True, expires_at__lte=now)
            .select_for_update(of=("self",), skip_locked=True)
            .select_related("account")
            .order_by("pk")
        )
        by = Actor.system(EXPIRY_JOB)
        ApprovalDecision.objects.bulk_create(
            ApprovalDecision(
                request=request,
                outcome=ApprovalOutcome.EXPIRED,
                at=now,
                note=_("Nobody signed it off in time"),
                **by.as_fields(),
            )
            for request in locked
        )
        for request in locked:
            account_event_record(
                account=request.account,
                kind="approval_expired",
                by=by,
                now=now,
                reason=_(
                    "Sign-off #%(id)s expired unanswered: %(what)s (asked for by %(who)s); "
                    "nothing was done"
                )
                % {"id": request.pk, "what": request.get_kind_display(), "who": request.by},
            )
    return {"expired": len(locked)}


__all__ = [
    "EXPIRY_JOB",
    "ApprovalError",
    "approval_decision_record",
    "approval_lock_for_decision",
    "approval_reject",
    "approval_request",
    "approvals_expire",
]
