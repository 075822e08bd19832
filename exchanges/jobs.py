"""Scheduled job of the imports: previews nobody confirmed in time are closed and their kept
files removed, for the managers' CSV imports and the unsubscribe-list imports alike."""

from __future__ import annotations

from datetime import datetime

from compliance.selectors import suppression_imports_expired_unmarked
from compliance.services import suppression_imports_expire
from exchanges.selectors import import_previews_expired_unmarked
from exchanges.services import import_previews_expire
from jobs.registry import register


@register(
    "expire_import_previews",
    description="Closes import previews left unconfirmed past IMPORT_PREVIEW_EXPIRY_HOURS and "
    "removes their files",
)
def expire_import_previews(*, as_of: datetime, dry_run: bool) -> dict[str, int]:
    if dry_run:
        return {
            "csv_imports": import_previews_expired_unmarked(as_of=as_of).count(),
            "unsubscribe_list_imports": suppression_imports_expired_unmarked(as_of=as_of).count(),
        }
    return {
        "csv_imports": import_previews_expire(now=as_of),
        "unsubscribe_list_imports": suppression_imports_expire(now=as_of),
    }
