"""Reactivating a cancelled or expired account within the retention window (R7): the account
comes back with its content (accounts), and billing starts again from that day as a new month
(billing), in one transaction."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction

from accounts.models import Account
from accounts.services import account_reactivate_move
from billing.services import billing_reopen
from core.actors import Actor


@transaction.atomic
def account_reactivate(*, account: Account, by: Actor, now: datetime, reason: str) -> Account:
    """Cancelled or expired → active, only within the retention window (R7), restoring the
    content closing took offline. Days count on the account's local calendar: inactive since a
    Monday evening, the following Tuesday is day 1; day RETENTION_DAYS is the last day it can
    come back ("more than 120 days" is day 121). Without a billing restart a reactivated
    account would never be billed again."""
    locked, moved = account_reactivate_move(account=account, by=by, now=now, reason=reason)
    if moved:
        billing_reopen(account=locked, by=by, now=now)
    return locked
