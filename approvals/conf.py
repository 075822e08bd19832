"""Settings of the sign-offs, read where they are used."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings


def request_valid_for() -> timedelta:
    """How long a request waits for its sign-off before it expires (APPROVAL_EXPIRY_DAYS)."""
    return timedelta(days=int(settings.APPROVAL_EXPIRY_DAYS))
