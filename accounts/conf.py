"""Settings of the accounts app, with defaults; override in the environment via settings."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings


def unsubscribe_link_max_age() -> timedelta:
    """How long an unsubscribe link stays valid. The law asks for at least 30 days after a
    send; every mail carries a fresh link, so a year covers old mail read late."""
    return timedelta(days=getattr(settings, "UNSUBSCRIBE_LINK_MAX_AGE_DAYS", 365))
