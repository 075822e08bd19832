"""Settings of the CSV exchanges, read from django.conf.settings with their defaults."""

from __future__ import annotations

from django.conf import settings


def upload_max_bytes() -> int:
    """The largest file the admin accepts for an import; bigger files go through commands."""
    return int(getattr(settings, "ADMIN_UPLOAD_MAX_BYTES", 50 * 1024 * 1024))


def export_chunk_size() -> int:
    """Rows fetched per round trip by a streaming export: large enough to keep the database
    busy, small enough that a worker's memory stays flat on a million accounts."""
    return int(getattr(settings, "EXCHANGES_EXPORT_CHUNK_SIZE", 2000))


def import_batch_size() -> int:
    """Rows written per bulk statement when an import is confirmed."""
    return int(getattr(settings, "EXCHANGES_IMPORT_BATCH_SIZE", 1000))
