"""An import as staff run it: the file is kept, previewed, then confirmed (in the request for
small files, in a Celery task with progress for large ones) and recorded. A file no known
layout matches waits for the staff's column mapping (the mapping step), then is previewed.

The import's record of what it did is written in the transaction that writes the
suppressions (``suppressions_import``'s `record`): a crash leaves the record "importing" with
nothing written, never rows without their counts. On PostgreSQL each attempt holds a session
lock on the record while it works; the lock goes with its connection when the worker dies, so
the task's redelivery (or the staff confirming again) takes over a preview or an import left
half-way instead of leaving it stuck.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from django.db import DatabaseError, IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from accounts.models import Account
from compliance import conf
from compliance.layouts import NAMES, ColumnMapping, FileRefused, MappingNeeded
from compliance.models import SuppressionImport, SuppressionMapping, SuppressionReason
from compliance.selectors import (
    SUPPRESSION_IMPORTS_WAITING,
    suppression_imports_expired_unmarked,
)
from compliance.services.imports import ImportOutcome, import_summary, suppressions_import
from core.actors import Actor
from core.previews import preview_expired, preview_valid_for
from core.problems import Problem, shown

S = SuppressionImport.Status
# Session advisory lock namespace of an attempt at an import record (previewing, importing).
_ATTEMPT_LOCK_BASE = 0x5349_0000_0000


def _actor(record: SuppressionImport) -> Actor:
    return Actor.staff(record.by_user) if record.by_user_id else Actor.system(record.by_job)


def _may_import(by: Actor) -> None:
    if not by.may("compliance.import_suppressions"):
        raise FileRefused(_("%(label)s may not import unsubscribe lists") % {"label": by.label})


def suppression_import_start(
    *,
    account: Account,
    chunks,
    file_name: str,
    by: Actor,
    now: datetime,
    layout: str = "",
    mapping: ColumnMapping | None = None,
) -> SuppressionImport:
    """Keep an uploaded file (an iterable of byte chunks, written as it comes, never held
    whole) and record the import, before anything is read from it. `layout` (a layout's key)
    or `mapping` say how to read it when the staff chose; otherwise it is recognised."""
    _may_import(by)
    if layout and layout not in NAMES:
        raise FileRefused(_("unknown layout %(layout)s") % {"layout": repr(layout)})
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
        chosen_layout=layout,
        mapping=mapping.as_dict() if mapping is not None else None,
        **by.as_fields(),
    )


def _progress(record_id: int):
    def report(bytes_done: int, rows_done: int) -> None:
        SuppressionImport.objects.filter(pk=record_id).update(
            bytes_done=bytes_done, rows_done=rows_done
        )

    return report


def _run(
    record: SuppressionImport,
    *,
    now: datetime,
    dry_run: bool,
    record_outcome: Callable[[ImportOutcome], None] | None = None,
) -> ImportOutcome:
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
            layout=record.chosen_layout,
            mapping=ColumnMapping.from_dict(record.mapping) if record.mapping else None,
            record=record_outcome,
        )


def _outcome_fields(outcome: ImportOutcome) -> dict:
    return {
        "layout": outcome.layout,
        "because": [outcome.because, outcome.because_args],
        "counts": {**outcome.counts(), "reasons": outcome.reasons},
        "problems": [[line, problem.as_json()] for line, problem in outcome.problems],
        "notices": [[line, notice.as_json()] for line, notice in outcome.notices],
        "rows_done": outcome.rows,
    }


def _finish_fields(
    *,
    status: str,
    outcome: ImportOutcome | None = None,
    error: str = "",
    now: datetime | None = None,
    columns: list | None = None,
) -> dict:
    fields: dict = {"status": status, "error": error}
    if outcome is not None:
        fields.update(_outcome_fields(outcome))
    if columns is not None:
        fields["columns"] = columns
    if status in (S.DONE, S.REFUSED, S.FAILED):
        fields["finished_at"] = now or timezone.now()
    return fields


def _finish(
    record_id: int,
    *,
    status: str,
    outcome: ImportOutcome | None = None,
    error: str = "",
    now: datetime | None = None,
    columns: list | None = None,
) -> SuppressionImport:
    SuppressionImport.objects.filter(pk=record_id).update(
        **_finish_fields(status=status, outcome=outcome, error=error, now=now, columns=columns)
    )
    return _closed(record_id)


def _closed(record_id: int) -> SuppressionImport:
    """The record as it is now; its kept file goes once the import is done or refused."""
    record = SuppressionImport.objects.get(pk=record_id)
    if record.status in (S.DONE, S.REFUSED) and record.stored_path:
        Path(record.stored_path).unlink(missing_ok=True)
    return record


@contextmanager
def _attempt(record_id: int, *, waiting: str, working: str, **fields) -> Iterator[bool]:
    """Take the record from `waiting` to `working` for this attempt (True), or leave it as it
    is (False): finished, or in the hands of a live attempt. On PostgreSQL an attempt left
    `working` by a dead worker is taken over: a live attempt holds the record's session lock,
    which a dead worker's connection took with it."""
    statuses = [waiting]
    key = _ATTEMPT_LOCK_BASE + record_id
    locked = False
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s)", [key])
            locked = bool(cursor.fetchone()[0])
        if not locked:
            yield False
            return
        statuses.append(working)
    try:
        taken = SuppressionImport.objects.filter(pk=record_id, status__in=statuses).update(
            status=working, **fields
        )
        yield bool(taken)
    finally:
        if locked:
            try:
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_unlock(%s)", [key])
            except DatabaseError:
                pass  # the connection is gone, and its lock with it


def suppression_import_preview(*, record_id: int, now: datetime) -> SuppressionImport:
    """Read the kept file without writing anything and store what the import would do. Runs
    once: a second call (a task delivered twice) returns the record as it is. A file no known
    layout matches waits for a column mapping (status "mapping"); its file is kept."""
    with _attempt(record_id, waiting=S.UPLOADED, working=S.PREVIEWING) as mine:
        if not mine:
            return SuppressionImport.objects.get(pk=record_id)
        record = SuppressionImport.objects.select_related("account", "by_user").get(pk=record_id)
        try:
            outcome = _run(record, now=now, dry_run=True)
        except MappingNeeded as exc:
            return _finish(
                record_id, status=S.MAPPING, error=exc.problem.stored(), columns=exc.columns
            )
        except FileRefused as exc:
            return _finish(
                record_id,
                status=S.REFUSED,
                error=exc.problem.stored(),
                now=now,
                outcome=getattr(exc, "outcome", None),
            )
        except Exception as exc:
            _finish(record_id, status=S.FAILED, error=f"{type(exc).__name__}: {exc}", now=now)
            raise
        return _finish(record_id, status=S.PREVIEWED, outcome=outcome)


def suppression_mapping_save(
    *, name: str, mapping: ColumnMapping, by: Actor, now: datetime
) -> SuppressionMapping:
    """Save a column mapping under `name` for reuse; a name is taken once."""
    _may_import(by)
    name = name.strip()
    if not name:
        raise FileRefused(_("a saved column mapping needs a name"))
    try:
        with transaction.atomic():
            return SuppressionMapping.objects.create(
                name=name[:80],
                address_column=mapping.address_column.strip(),
                status_column=mapping.status_column.strip(),
                suppressed_values=[v.strip() for v in mapping.suppressed_values if v.strip()],
                date_column=mapping.date_column.strip(),
                reason=mapping.reason,
                created_at=now,
                **by.as_fields(),
            )
    except IntegrityError:
        raise FileRefused(
            _(
                "a column mapping named %(name)s exists already; choose it "
                "at upload or pick another name"
            )
            % {"name": repr(name)}
        ) from None


def suppression_import_map(
    *,
    record_id: int,
    mapping: ColumnMapping,
    by: Actor,
    now: datetime,
    save_as: str = "",
) -> SuppressionImport:
    """The mapping step: read the kept file of an import with the staff's column `mapping`
    (saved under `save_as` if given). The import goes back to "uploaded"; the caller previews
    it again (in the request or in a worker). Refused for an import past its preview."""
    _may_import(by)
    with transaction.atomic():
        record = SuppressionImport.objects.select_for_update().get(pk=record_id)
        if record.status not in (S.MAPPING, S.PREVIEWED):
            raise FileRefused(
                _("this import is %(status)s: its columns can no longer be mapped")
                % {"status": record.get_status_display().lower()}
            )
        if save_as.strip():
            saved = suppression_mapping_save(name=save_as, mapping=mapping, by=by, now=now)
            mapping = ColumnMapping.from_dict(saved.as_dict())
        SuppressionImport.objects.filter(pk=record_id).update(
            status=S.UPLOADED,
            chosen_layout="",
            mapping=mapping.as_dict(),
            error="",
            counts={},
            problems=[],
            notices=[],
            bytes_done=0,
            rows_done=0,
        )
    return SuppressionImport.objects.get(pk=record_id)


WAITING = SUPPRESSION_IMPORTS_WAITING
# Imports closed per transaction by the expiry job.
EXPIRE_BATCH = 200


def suppression_import_refusal(record: SuppressionImport, *, by: Actor, now: datetime) -> str:
    """Why `by` cannot confirm this import now, in the staff's language; empty if they can.
    Only the staff member who uploaded the file confirms it, within the preview's expiry."""
    if record.by_user_id is None or by.user is None or record.by_user_id != by.user.pk:
        uploader = record.by_user.get_username() if record.by_user else record.by_job
        return _(
            "Nothing was imported: only %(user)s, who uploaded %(file)s, can confirm its "
            "import. Upload the file yourself for a preview of your own."
        ) % {"user": uploader, "file": record.file_name}
    expired = record.status == S.EXPIRED or (
        record.status in WAITING and preview_expired(record.created_at, now=now)
    )
    if expired:
        return _(
            "Nothing was imported: the preview of %(file)s expired (previews wait %(hours)s "
            "hours for their confirmation). Upload the file again for a new preview."
        ) % {
            "file": record.file_name,
            "hours": int(preview_valid_for().total_seconds() // 3600),
        }
    if record.status != S.PREVIEWED:
        return _("Nothing was imported: this import is %(status)s.") % {
            "status": record.get_status_display().lower()
        }
    return ""


def suppression_import_confirm(*, record_id: int, by: Actor, now: datetime) -> SuppressionImport:
    """The staff confirmed a preview: refused (FileRefused, nothing written) for anyone but
    the uploader and once the preview expired. A small file is imported now; a large one is
    returned still "previewed" with `in_background`, for the caller to hand to a worker
    (compliance.tasks.import_apply)."""
    _may_import(by)
    record = SuppressionImport.objects.select_related("by_user").get(pk=record_id)
    reason = suppression_import_refusal(record, by=by, now=now)
    if reason:
        raise FileRefused(reason)
    if record.in_background:
        return record
    return suppression_import_apply(record_id=record.pk, now=now)


def suppression_imports_expire(*, now: datetime) -> int:
    """Close the imports left waiting past IMPORT_PREVIEW_EXPIRY_HOURS (a preview nobody
    confirmed, a mapping nobody gave): status "expired", their kept files removed. They wrote
    nothing; an expired import can never be confirmed."""
    hours = int(preview_valid_for().total_seconds() // 3600)
    expired = 0
    while True:
        with transaction.atomic():
            batch = list(
                suppression_imports_expired_unmarked(as_of=now)
                .select_for_update(skip_locked=True)
                .order_by("pk")[:EXPIRE_BATCH]
            )
            if not batch:
                return expired
            for record in batch:
                if record.stored_path:
                    Path(record.stored_path).unlink(missing_ok=True)
            SuppressionImport.objects.filter(pk__in=[r.pk for r in batch]).update(
                status=S.EXPIRED,
                stored_path="",
                finished_at=now,
                error=Problem(
                    gettext_noop(
                        "not confirmed within %(hours)s hours; nothing was imported and the "
                        "file was removed"
                    ),
                    hours=hours,
                ).stored(),
            )
            expired += len(batch)


def suppression_import_apply(*, record_id: int, now: datetime) -> SuppressionImport:
    """Import the previewed file for good (the staff confirmed the preview). Runs once; the
    suppressions and the record of what was imported commit together."""
    with _attempt(
        record_id, waiting=S.PREVIEWED, working=S.IMPORTING, bytes_done=0, rows_done=0
    ) as mine:
        if not mine:
            return SuppressionImport.objects.get(pk=record_id)
        record = SuppressionImport.objects.select_related("account", "by_user").get(pk=record_id)

        def done(outcome: ImportOutcome) -> None:
            SuppressionImport.objects.filter(pk=record_id).update(
                **_finish_fields(status=S.DONE, outcome=outcome, now=now)
            )

        try:
            _run(record, now=now, dry_run=False, record_outcome=done)
        except FileRefused as exc:
            return _finish(
                record_id,
                status=S.REFUSED,
                error=exc.problem.stored(),
                now=now,
                outcome=getattr(exc, "outcome", None),
            )
        except Exception as exc:
            _finish(record_id, status=S.FAILED, error=f"{type(exc).__name__}: {exc}", now=now)
            raise
        return _closed(record_id)


def suppression_import_summary(record: SuppressionImport) -> str:
    """What the import did or would do, in the staff's language."""
    return import_summary(record.counts or {}, done=record.status == S.DONE)


def suppression_import_error(record: SuppressionImport) -> str:
    """Why the import was refused or waits for a mapping, in the reader's language (kept in no
    language: a worker may have written it)."""
    return shown(record.error) if record.error else ""


def suppression_import_lines(entries: list) -> list[tuple[int, str]]:
    """An import's problems or notices by line ([line, problem] as stored), in the reader's
    language; older records' plain text as it is."""
    return [(line, shown(entry)) for line, entry in entries]


def suppression_import_layout(record: SuppressionImport) -> tuple[str, str]:
    """The layout an import was read with and why, in the staff's language."""
    if not record.layout:
        return "", ""
    name = str(NAMES.get(record.layout, record.layout))
    if record.layout == "mapping" and record.mapping and record.mapping.get("name"):
        name = f"{name} “{record.mapping['name']}”"
    because = ""
    if record.because:
        sentence, args = (list(record.because) + [{}])[:2]
        because = _(sentence) % (args or {}) if sentence else ""
    return name, because


def suppression_import_reasons(record: SuppressionImport) -> list[tuple[str, int]]:
    """Rows read as suppressed, by reason, in the staff's language."""
    counts = (record.counts or {}).get("reasons") or {}
    return [(str(r.label), counts[r.value]) for r in SuppressionReason if counts.get(r.value)]


def suppression_import_file(
    *,
    account: Account,
    path: Path,
    by: Actor,
    now: datetime,
    dry_run: bool = False,
    progress=None,
    layout: str = "",
    mapping: ColumnMapping | None = None,
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
                chosen_layout=layout,
                mapping=mapping.as_dict() if mapping is not None else None,
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
            layout=layout,
            mapping=mapping,
        )
        if record:
            SuppressionImport.objects.filter(pk=record.pk).update(
                bytes_done=record.size_bytes,
                **_finish_fields(status=S.DONE, outcome=outcome, now=now),
            )
    return outcome
