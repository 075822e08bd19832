"""Compliance settings, read from django.conf.settings with defaults.

- RETENTION_DAYS (backoffice settings): an inactive account is purged on day N+1 (R7).
- COMPLIANCE_IMPORT_INLINE_MAX_BYTES: admin uploads up to this size are previewed and imported
  within the request; larger ones go to a Celery task that reports progress.
- ADMIN_UPLOAD_MAX_BYTES (backoffice settings): the admin refuses larger uploads; the
  `import_suppressions` command takes any size.
- OPTIN_CONFIRMATION_DAYS (backoffice settings): how long a double opt-in confirmation link
  stays valid.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings


def retention_days() -> int:
    return int(getattr(settings, "RETENTION_DAYS", 120))


def optin_confirmation_valid_for() -> timedelta:
    return timedelta(days=int(getattr(settings, "OPTIN_CONFIRMATION_DAYS", 30)))


def import_inline_max_bytes() -> int:
    return int(getattr(settings, "COMPLIANCE_IMPORT_INLINE_MAX_BYTES", 2 * 1024 * 1024))


def admin_upload_max_bytes() -> int:
    return int(getattr(settings, "ADMIN_UPLOAD_MAX_BYTES", 50 * 1024 * 1024))


def import_dir():
    from pathlib import Path

    return Path(getattr(settings, "COMPLIANCE_IMPORT_DIR", Path(settings.MEDIA_ROOT) / "imports"))
