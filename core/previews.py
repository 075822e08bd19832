"""How long an import's preview waits for its requester's confirmation: the same rule for the
managers' CSV imports (exchanges) and the unsubscribe-list imports (compliance)."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings


def preview_valid_for() -> timedelta:
    """IMPORT_PREVIEW_EXPIRY_HOURS: after it, a preview can no longer be confirmed, and the
    expire_import_previews job closes it and removes its file."""
    return timedelta(hours=settings.IMPORT_PREVIEW_EXPIRY_HOURS)


def preview_expires_at(started: datetime) -> datetime:
    """When a preview of an upload made at `started` expires."""
    return started + preview_valid_for()


def preview_expired(started: datetime, *, now: datetime) -> bool:
    return now >= preview_expires_at(started)
