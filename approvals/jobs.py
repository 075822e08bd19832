"""Scheduled job of the sign-offs: requests left unanswered past their expiry are recorded as
expired, on the account's timeline (an expired request can never be approved anyway)."""

from __future__ import annotations

from datetime import datetime

from django.db.models import QuerySet

from approvals.models import ApprovalRequest
from approvals.selectors import approvals_expired_unmarked
from approvals.services import approvals_expire
from jobs.registry import register


@register(
    "expire_signoffs",
    description="Records sign-off requests left unanswered past their expiry as expired",
    due=approvals_expired_unmarked,
    # A handful a day at most; one batch, a few steps.
    batch_size=1000,
    step=200,
)
def expire_signoffs(
    *, items: QuerySet[ApprovalRequest], as_of: datetime, dry_run: bool
) -> dict[str, int]:
    if dry_run:
        return {"expired": items.count()}
    return approvals_expire(requests=items, now=as_of)
