"""What cancelling and reactivating do to an account's content (R6, R7).

Filled in with the content models (contacts, campaigns, sign-up forms, integrations, hosted
files)."""

from __future__ import annotations

from datetime import datetime

from accounts.models import Account


def take_offline(*, account: Account, now: datetime) -> None:
    """R6: integrations disconnected, hosted files offline."""


def bring_online(*, account: Account, now: datetime) -> None:
    """R7: reactivation within the window restores everything."""
