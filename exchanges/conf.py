"""Settings of the CSV exchanges, read from django.conf.settings with their defaults."""

from __future__ import annotations

from pathlib import Path

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


def import_inline_max_bytes() -> int:
    """Files up to this size are previewed and confirmed within the request; larger ones by a
    worker (exchanges.tasks), the preview page showing its progress."""
    return int(getattr(settings, "EXCHANGES_IMPORT_INLINE_MAX_BYTES", 256 * 1024))


def import_chunk_rows() -> int:
    """Rows read per round of a preview or confirmation: one bulk lookup of their keys, and
    the unit of progress."""
    return int(getattr(settings, "EXCHANGES_IMPORT_CHUNK_ROWS", 2000))


def preview_rows_kept() -> int:
    """The first rows of a file whose outcome the preview keeps to show, page by page; the
    counts cover every row, and every row error can be downloaded."""
    return int(getattr(settings, "EXCHANGES_PREVIEW_ROWS", 500))


def preview_page_size() -> int:
    """Rows per page of a preview."""
    return int(getattr(settings, "EXCHANGES_PREVIEW_PAGE_SIZE", 50))


def row_errors_kept() -> int:
    """Row errors kept (and downloadable) per import; a file of garbage is counted in full but
    not listed in full."""
    return int(getattr(settings, "EXCHANGES_ROW_ERRORS_KEPT", 10_000))


def import_dir() -> Path:
    """Where previewed files wait for their confirmation: shared by the web and the workers."""
    return Path(getattr(settings, "EXCHANGES_IMPORT_DIR", Path(settings.MEDIA_ROOT) / "exchanges"))
