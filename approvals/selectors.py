"""Reads about sign-off requests: where each stands (derived from its decision and its expiry),
what waits, what expired unanswered."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.db.models import Case, CharField, F, Q, QuerySet, Value, When

from approvals.models import KIND_PERMISSIONS, ApprovalKind, ApprovalRequest, ApprovalState


def approvals_with_state(*, as_of: datetime) -> QuerySet[ApprovalRequest]:
    """Every request, annotated with `state` (an ApprovalState) as of `as_of`: its decision's
    outcome, else expired once `expires_at` is reached, else pending."""
    return ApprovalRequest.objects.annotate(
        state=Case(
            When(decision__isnull=False, then=F("decision__outcome")),
            When(expires_at__lte=as_of, then=Value(ApprovalState.EXPIRED.value)),
            default=Value(ApprovalState.PENDING.value),
            output_field=CharField(),
        )
    )


def approvals_pending(*, as_of: datetime) -> QuerySet[ApprovalRequest]:
    """Requests waiting for a sign-off: undecided and not yet expired."""
    return ApprovalRequest.objects.filter(decision__isnull=True, expires_at__gt=as_of)


def approvals_expired_unmarked(*, as_of: datetime) -> QuerySet[ApprovalRequest]:
    """Requests that expired unanswered and have no decision yet: what the expiry job records
    as expired."""
    return ApprovalRequest.objects.filter(decision__isnull=True, expires_at__lte=as_of)


def approval_pending_for(*, kind: str, subject: str, as_of: datetime) -> ApprovalRequest | None:
    """The pending request of this kind about this subject, if any (one at a time)."""
    return approvals_pending(as_of=as_of).filter(kind=kind, subject=subject).first()


def approval_state(*, request: ApprovalRequest, as_of: datetime) -> ApprovalState:
    decision = getattr(request, "decision", None)
    if decision is not None:
        return ApprovalState(decision.outcome)
    if request.expires_at <= as_of:
        return ApprovalState.EXPIRED
    return ApprovalState.PENDING


def approval_kinds_for(user) -> list[str]:
    """The kinds of request `user` may ask for and approve (their permissions)."""
    return [kind for kind, permission in KIND_PERMISSIONS.items() if user.has_perm(permission)]


def approvals_visible_to(
    user, queryset: QuerySet[ApprovalRequest] | None = None
) -> QuerySet[ApprovalRequest]:
    """The requests `user` sees: those of the kinds they may decide, and their own."""
    qs = ApprovalRequest.objects.all() if queryset is None else queryset
    return qs.filter(Q(kind__in=approval_kinds_for(user)) | Q(by_user=user.pk))


def kinds_label(kinds: Iterable[str]) -> str:
    return ", ".join(str(ApprovalKind(k).label) for k in kinds)
