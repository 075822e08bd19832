"""Billing services."""

from __future__ import annotations

from datetime import datetime

from accounts.models import Account
from backoffice.actors import Actor


def billing_close_for_cancellation(*, account: Account, by: Actor, now: datetime) -> None:
    """R5, R6: on cancellation every add-on is cancelled and the remaining prepaid balance is
    forfeited as a ledger entry. Called inside the cancellation's transaction."""
