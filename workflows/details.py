"""Changing an account's details (R12): accounts records each change with its event; a new
time zone moves the account's local calendar, so billing's next due moment (the R3 cut-off)
moves with it, and the timeline says so."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django.db import transaction

from accounts.models import Account
from accounts.services import account_details_change as accounts_details_change
from accounts.services import account_event_record, accounts_update_details
from billing.services import billing_rezone
from core.actors import Actor
from core.localtime import local_moment


def _rezone(*, account: Account, by: Actor, now: datetime) -> None:
    due_at = billing_rezone(account=account)
    if due_at is not None:
        account_event_record(
            account=account,
            kind="billing_rescheduled",
            by=by,
            now=now,
            reason=f"New time zone: the next billing date now begins "
            f"{local_moment(due_at, account.zone)} (R3)",
        )


@transaction.atomic
def account_details_change(
    *, account: Account, changes: Mapping[str, Any], by: Actor, now: datetime, reason: str
) -> list[str]:
    """Change one account's details as staff entered them, with the reason; returns the fields
    that changed."""
    changed = accounts_details_change(
        account=account, changes=changes, by=by, now=now, reason=reason
    )
    if "time_zone" in changed:
        _rezone(account=account, by=by, now=now)
    return changed


@transaction.atomic
def accounts_details_update(
    *,
    changes: Mapping[str, Mapping[str, Any]],
    by: Actor,
    now: datetime,
    source: str,
    batch_size: int = 1000,
) -> dict[str, int]:
    """A manager's bulk update of account details (username → {field: value}), all or
    nothing (accounts.services.accounts_update_details); accounts whose time zone changed
    have their billing moved with it."""
    moving = {
        username: wanted["time_zone"]
        for username, wanted in changes.items()
        if "time_zone" in wanted
    }
    before = dict(
        Account.objects.filter(username__in=list(moving)).values_list("username", "time_zone")
    )
    counts = accounts_update_details(
        changes=changes, by=by, now=now, source=source, batch_size=batch_size
    )
    for account in Account.objects.filter(username__in=list(moving)).order_by("pk"):
        if before.get(account.username) != account.time_zone:
            _rezone(account=account, by=by, now=now)
    return counts
