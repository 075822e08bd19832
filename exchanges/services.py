"""Writes of the CSV exchanges: the record of every import (previewed, confirmed, refused).
What an import changes is written by the owning app's services, called from the resources."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from core.actors import Actor
from exchanges.models import ImportRecord, ImportStatus


class ExchangeError(ValueError):
    """An import that cannot be applied as asked; nothing was changed. The message says why."""


def import_record_open(
    *,
    by: Actor,
    now: datetime,
    model: str,
    resource: str,
    file_name: str,
    file_size: int,
    status: str,
    counts: Mapping[str, int] | None = None,
    message: str = "",
    row_errors: list[dict] | None = None,
    fingerprint: str = "",
    stored_file: str = "",
) -> ImportRecord:
    """Record an upload at its preview (or its refusal before one)."""
    counts = counts or {}
    return ImportRecord.objects.create(
        at=now,
        by_user=by.user,
        model=model,
        resource=resource,
        file_name=file_name[:255],
        file_size=file_size,
        status=status,
        rows_total=counts.get("total", 0),
        rows_new=counts.get("new", 0),
        rows_updated=counts.get("updated", 0),
        rows_skipped=counts.get("skipped", 0),
        rows_errors=counts.get("errors", 0),
        message=message,
        row_errors=row_errors or [],
        fingerprint=fingerprint,
        stored_file=stored_file,
    )


def import_record_close(
    *,
    record: ImportRecord,
    now: datetime,
    status: str,
    counts: Mapping[str, int] | None = None,
    message: str = "",
    row_errors: list[dict] | None = None,
) -> ImportRecord:
    """A previewed import was confirmed (written) or refused at its confirmation."""
    if record.status != ImportStatus.PREVIEWED:
        raise ExchangeError(
            f"the import of {record.file_name} is already {record.get_status_display().lower()}"
        )
    record.status = status
    if status == ImportStatus.CONFIRMED:
        record.confirmed_at = now
    if counts is not None:
        record.rows_total = counts.get("total", record.rows_total)
        record.rows_new = counts.get("new", 0)
        record.rows_updated = counts.get("updated", 0)
        record.rows_skipped = counts.get("skipped", 0)
        record.rows_errors = counts.get("errors", 0)
    if message:
        record.message = message
    if row_errors is not None:
        record.row_errors = row_errors
    record.stored_file = ""
    record.save()
    return record
