"""An import as staff run it: the file is kept, previewed, then confirmed (in the request for
small files, in a Celery task with progress for large ones) and recorded."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from pathlib import Path

from django.db import transaction
from django.utils import timezone

from accounts.models import Account
from compliance import conf
from compliance.layouts import FileRefused
from compliance.models import SuppressionImport
from compliance.services.imports import ImportOutcome, suppressions_import
from core.actors import Actor

S = SuppressionImport.Status


def _actor(record: SuppressionImport) -> Actor:
    return Actor.staff(record.by_user) if record.by_user_id else Actor.system(record.by_job)


def suppression_import_start(
    *, account: Account, chunks, file_name: str, by: Actor, now: datetime
) -> SuppressionImport:
    """Keep an uploaded file (an iterable of byte chunks, written as it comes, never held
    whole) and record the import, before anything is read from it."""
    if not by.may("compliance.import_suppressions"):
        raise FileRefused(f"{by.label} may not import unsubscribe lists")
    folder = conf.import_dir()
    folder.mkdir(parents=True, exist_ok=True)
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(file_name).name)[-120:] or "upload.csv"
    path = folder / f"{uuid.uuid4().hex}-{safe}"
    size = 0
    with open(path, "wb") as out:
        for chunk in chunks:
            out.write(chunk)
            size += len(chunk)
    return SuppressionImport.objects.create(
        account=account,
        file_name=Path(file_name).name[:300],
        stored_path=str(path),
        size_bytes=size,
        created_at=now,
        **by.as_fields(),
    )


def _progress(record_id: int):
    def report(bytes_done: int, rows_done: int) -> None:
        SuppressionImport.objects.filter(pk=record_id).update(
            bytes_done=bytes_done, rows_done=rows_done
        )

    return report


def _run(record: SuppressionImport, *, now: datetime, dry_run: bool) -> ImportOutcome:
    with open(record.stored_path, "rb") as stream:
        return suppressions_import(
            account=record.account,
            stream=stream,
            file_name=record.file_name,
            by=_actor(record),
            now=now,
            dry_run=dry_run,
            record_id=record.pk,
            progress=_progress(record.pk) if record.in_background else None,
        )


def _finish(
    record_id: int,
    *,
    status: str,
    outcome: ImportOutcome | None = None,
    error: str = "",
    now: datetime | None = None,
) -> SuppressionImport:
    fields: dict = {"status": status, "error": error}
    if outcome is not None:
        fields.update(
            layout=outcome.layout,
            counts=outcome.counts(),
            problems=[list(p) for p in outcome.problems],
            rows_done=outcome.rows,
        )
    if status in (S.DONE, S.REFUSED, S.FAILED):
        fields["finished_at"] = now or timezone.now()
    SuppressionImport.objects.filter(pk=record_id).update(**fields)
    record = SuppressionImport.objects.get(pk=record_id)
    if status in (S.DONE, S.REFUSED) and record.stored_path:
        Path(record.stored_path).unlink(missing_ok=True)
    return record


def suppression_import_preview(*, record_id: int, now: datetime) -> SuppressionImport:
    """Read the kept file without writing anything and store what the import would do. Runs
    once: a second call (a task delivered twice) returns the record as it is."""
    if not SuppressionImport.objects.filter(pk=record_id, status=S.UPLOADED).update(
        status=S.PREVIEWING
    ):
        return SuppressionImport.objects.get(pk=record_id)
    record = SuppressionImport.objects.select_related("account", "by_user").get(pk=record_id)
    try:
        outcome = _run(record, now=now, dry_run=True)
    except FileRefused as exc:
        return _finish(record_id, status=S.REFUSED, error=str(exc), now=now)
    except Exception as exc:
        _finish(record_id, status=S.FAILED, error=f"{type(exc).__name__}: {exc}", now=now)
        raise
    return _finish(record_id, status=S.PREVIEWED, outcome=outcome)


def suppression_import_apply(*, record_id: int, now: datetime) -> SuppressionImport:
    """Import the previewed file for good (the staff confirmed the preview). Runs once."""
    if not SuppressionImport.objects.filter(pk=record_id, status=S.PREVIEWED).update(
        status=S.IMPORTING, bytes_done=0, rows_done=0
    ):
        return SuppressionImport.objects.get(pk=record_id)
    record = SuppressionImport.objects.select_related("account", "by_user").get(pk=record_id)
    try:
        outcome = _run(record, now=now, dry_run=False)
    except FileRefused as exc:
        return _finish(record_id, status=S.REFUSED, error=str(exc), now=now)
    except Exception as exc:
        _finish(record_id, status=S.FAILED, error=f"{type(exc).__name__}: {exc}", now=now)
        raise
    return _finish(record_id, status=S.DONE, outcome=outcome, now=now)


def suppression_import_summary(record: SuppressionImport) -> str:
    c = record.counts or {}
    outcome = ImportOutcome(
        dry_run=record.status != S.DONE,
        added=c.get("added", 0),
        already=c.get("already", 0),
        superseded=c.get("superseded", 0),
        rejected=c.get("rejected", 0),
        skipped=c.get("skipped", 0),
        repeated=c.get("repeated", 0),
    )
    return outcome.summary()


def suppression_import_file(
    *,
    account: Account,
    path: Path,
    by: Actor,
    now: datetime,
    dry_run: bool = False,
    progress=None,
) -> ImportOutcome:
    """Import a file on this machine (the command line's way, any size) in one transaction:
    the import is recorded and done, or, refused (FileRefused), leaves no trace. A dry run
    records nothing. `progress(bytes_read, rows)` is called as the file is read."""
    with transaction.atomic(), open(path, "rb") as stream:
        record = None
        if not dry_run:
            record = SuppressionImport.objects.create(
                account=account,
                file_name=path.name[:300],
                size_bytes=path.stat().st_size,
                created_at=now,
                status=S.IMPORTING,
                **by.as_fields(),
            )
        outcome = suppressions_import(
            account=account,
            stream=stream,
            file_name=path.name,
            by=by,
            now=now,
            dry_run=dry_run,
            record_id=record.pk if record else None,
            progress=progress,
        )
        if record:
            SuppressionImport.objects.filter(pk=record.pk).update(bytes_done=record.size_bytes)
            _finish(record.pk, status=S.DONE, outcome=outcome)
    return outcome
