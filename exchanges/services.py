"""Writes of the CSV exchanges: the record of every import (previewed, confirmed, refused).
What an import changes is written by the owning app's services, called from the resources."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from django.db import transaction
from django.utils.translation import gettext_noop

from core.actors import Actor
from core.previews import preview_valid_for
from core.problems import Problem, stored
from exchanges.files import remove_stored
from exchanges.models import ImportRecord, ImportStatus
from exchanges.selectors import import_previews_expired_unmarked

# Previews closed per transaction by the expiry job.
EXPIRE_BATCH = 500


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
    message: Problem | str = "",
    row_errors: list[dict] | None = None,
    fingerprint: str = "",
    stored_file: str = "",
    in_background: bool = False,
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
        message=stored(message),
        row_errors=row_errors or [],
        fingerprint=fingerprint,
        stored_file=stored_file,
        in_background=in_background,
    )


def import_record_update(
    record: ImportRecord,
    *,
    expect: str,
    status: str | None = None,
    counts: Mapping[str, int] | None = None,
    **fields,
) -> ImportRecord:
    """Move an import on from `expect` (previewing, previewed, importing): its status, counts
    and other fields. Refused if it is no longer in `expect` (someone else moved it on)."""
    if status is not None:
        fields["status"] = status
    if counts is not None:
        fields.update(
            rows_total=counts.get("total", record.rows_total),
            rows_new=counts.get("new", 0),
            rows_updated=counts.get("updated", 0),
            rows_skipped=counts.get("skipped", 0),
            rows_errors=counts.get("errors", 0),
        )
    fields = {k: v for k, v in fields.items() if v is not None or k == "confirmed_at"}
    if "message" in fields:
        # Kept in no language: shown in the reader's (core.problems).
        fields["message"] = stored(fields["message"])
    if "row_errors" in fields and fields["row_errors"] is None:
        del fields["row_errors"]
    moved = ImportRecord.objects.filter(pk=record.pk, status=expect).update(**fields)
    if not moved:
        current = ImportRecord.objects.get(pk=record.pk)
        raise ExchangeError(
            f"the import of {record.file_name} is already {current.get_status_display().lower()}"
        )
    for name, value in fields.items():
        setattr(record, name, value)
    return record


def expired_message() -> Problem:
    """Why an expired preview wrote nothing."""
    return Problem(
        gettext_noop(
            "not confirmed within %(hours)s hours; nothing was imported and the file was removed"
        ),
        hours=int(preview_valid_for().total_seconds() // 3600),
    )


def import_previews_expire(*, now: datetime) -> int:
    """Close the previews left unconfirmed past IMPORT_PREVIEW_EXPIRY_HOURS (and those a dead
    worker left half-read): status "expired", their kept files removed.
    Nothing was written by them; an expired preview can never be confirmed."""
    expired = 0
    while True:
        with transaction.atomic():
            batch = list(
                import_previews_expired_unmarked(as_of=now)
                .select_for_update(skip_locked=True)
                .order_by("pk")[:EXPIRE_BATCH]
            )
            if not batch:
                return expired
            for record in batch:
                remove_stored(record.stored_file)
            ImportRecord.objects.filter(pk__in=[r.pk for r in batch]).update(
                status=ImportStatus.EXPIRED,
                expired_at=now,
                stored_file="",
                message=expired_message().stored(),
            )
            expired += len(batch)
