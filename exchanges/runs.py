"""An import's preview and its confirmation, in the request for a small file and in a worker
(exchanges.tasks) for a large one.

The file is kept in EXCHANGES_IMPORT_DIR from the upload to the confirmation. It is read in
rounds of EXCHANGES_IMPORT_CHUNK_ROWS rows: each round looks its keys up in one query and
reports progress; only the counts, the first EXCHANGES_PREVIEW_ROWS rows' outcomes and up to
EXCHANGES_ROW_ERRORS_KEPT row errors are kept, so neither the page nor the record grows with
the file. The confirmation writes every round in one transaction, or nothing.

Only the staff member who uploaded a file confirms its preview, and only within
IMPORT_PREVIEW_EXPIRY_HOURS (core.previews); the expire_import_previews job closes the
previews left unconfirmed and removes their files.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import tablib
from django.core.cache import cache
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from core.actors import Actor
from core.previews import preview_expired, preview_valid_for
from core.problems import Problem
from exchanges import conf
from exchanges.files import remove_stored, stored_path
from exchanges.models import ImportRecord, ImportStatus
from exchanges.registry import resource_named
from exchanges.resources import ExchangeResource, row_errors
from exchanges.services import import_record_update
from exchanges.uploads import ParsedFile, UploadRefused, parse_csv, refused_rows_message


class NotConfirmable(Exception):
    """This preview cannot be confirmed (by this person, or any more); nothing was written.
    The message says why, in the staff's language."""


@dataclass
class Tally:
    counts: dict[str, int] = field(
        default_factory=lambda: {"total": 0, "new": 0, "updated": 0, "skipped": 0, "errors": 0}
    )
    errors: list[dict] = field(default_factory=list)
    rows: list[dict] = field(default_factory=list)


# --- reading in rounds ------------------------------------------------------------------------


def _progress_key(record_id: int) -> str:
    return f"exchanges:import:{record_id}:rows_done"


def rows_done(record: ImportRecord) -> int:
    """Rows read so far: the record's own count (the preview commits it as it goes), or the
    confirmation's, which cannot commit before its one transaction does and so is counted in
    the cache."""
    if record.status == ImportStatus.IMPORTING:
        return int(cache.get(_progress_key(record.pk)) or 0)
    return record.rows_done


def _resource(record: ImportRecord, now: datetime) -> ExchangeResource:
    return resource_named(record.model, record.resource)(user=record.by_user, now=now)


def _parse(record: ImportRecord, resource: ExchangeResource) -> ParsedFile:
    try:
        raw = stored_path(record.stored_file).read_bytes()
    except OSError:
        raise UploadRefused(
            Problem(
                gettext_noop(
                    "the uploaded file is no longer there (it expired or was removed); upload "
                    "it again"
                )
            )
        ) from None
    return parse_csv(raw=raw, name=record.file_name, key_column=resource.key_column())


def _file_refusal(problems: list[Problem], parsed: ParsedFile) -> list[Problem]:
    """The file-level problems and the rows refused while reading, in one message."""
    parts = list(problems)
    if parsed.refused_rows:
        parts.append(refused_rows_message(parsed.refused_rows))
    return parts


def _rounds(
    *,
    record: ImportRecord,
    parsed: ParsedFile,
    now: datetime,
    dry_run: bool,
    on_progress=None,
) -> Tally:
    """Run the file through its resource in rounds; the counts, the first rows' outcomes and
    the row errors (bounded)."""
    tally = Tally()
    headers = parsed.dataset.headers
    total = len(parsed.dataset)
    size = max(1, conf.import_chunk_rows())
    keep_rows, keep_errors = conf.preview_rows_kept(), conf.row_errors_kept()
    for start in range(0, total, size):
        chunk = tablib.Dataset(*parsed.dataset[start : start + size], headers=headers)
        resource = _resource(record, now)
        resource.row_offset = start
        resource.line_of = parsed.line_of
        resource.keep_rows = max(0, keep_rows - len(tally.rows))
        result = resource.import_data(
            chunk,
            dry_run=dry_run,
            raise_errors=False,
            use_transactions=True,
            file_name=record.file_name,
            user=record.by_user,
        )
        totals = result.totals
        tally.counts["total"] += result.total_rows
        tally.counts["new"] += totals.get("new", 0)
        tally.counts["updated"] += totals.get("update", 0)
        tally.counts["skipped"] += totals.get("skip", 0)
        tally.counts["errors"] += (
            totals.get("error", 0) + totals.get("invalid", 0) + len(result.base_errors)
        )
        tally.rows.extend(resource.preview_rows)
        if len(tally.errors) < keep_errors and (
            result.has_errors() or result.has_validation_errors()
        ):
            found = row_errors(result, parsed, resource, offset=start)
            tally.errors.extend(found[: keep_errors - len(tally.errors)])
        if on_progress is not None:
            on_progress(start + len(chunk))
    return tally


def errors_message(count: int) -> Problem:
    return Problem(
        gettext_noop(
            "%(count)s row(s) have errors; fix them and upload the file again (nothing was written)"
        ),
        count=count,
    )


# --- the preview ------------------------------------------------------------------------------


def preview_import(*, record_id: int, now: datetime) -> ImportRecord:
    """Read a kept file without writing anything and record what it would do. Runs once: a
    record no longer being previewed (a task delivered twice) is returned as it is."""
    record = ImportRecord.objects.select_related("by_user").get(pk=record_id)
    if record.status != ImportStatus.PREVIEWING:
        return record
    resource = _resource(record, now)
    try:
        parsed = _parse(record, resource)
    except UploadRefused as exc:
        remove_stored(record.stored_file)
        return import_record_update(
            record,
            expect=ImportStatus.PREVIEWING,
            status=ImportStatus.REFUSED,
            message=exc.problem,
            row_errors=exc.row_errors[: conf.row_errors_kept()],
            stored_file="",
        )
    problems = resource.check_file(parsed)
    ImportRecord.objects.filter(pk=record.pk).update(rows_total=len(parsed.dataset))

    def progress(done: int) -> None:
        if record.in_background:
            ImportRecord.objects.filter(pk=record.pk).update(rows_done=done)

    # The rows are read even when the file is refused as a whole, so that one upload shows
    # every problem: the file's, the rows refused while reading, and the rows' own errors.
    tally = _rounds(record=record, parsed=parsed, now=now, dry_run=True, on_progress=progress)
    counts = tally.counts
    counts["total"] += len(parsed.refused_rows)
    counts["errors"] += len(parsed.refused_rows)
    if counts["errors"] or problems:
        remove_stored(record.stored_file)
        errors = sorted(
            [*parsed.refused_rows, *tally.errors],
            key=lambda e: (e["line"] == "", e["line"] or 0),
        )[: conf.row_errors_kept()]
        parts = _file_refusal(problems, parsed)
        if counts["errors"]:
            parts.append(errors_message(counts["errors"]))
        return import_record_update(
            record,
            expect=ImportStatus.PREVIEWING,
            status=ImportStatus.REFUSED,
            counts=counts,
            message=Problem.joined(parts),
            row_errors=errors,
            preview_rows=tally.rows,
            rows_done=counts["total"],
            stored_file="",
        )
    return import_record_update(
        record,
        expect=ImportStatus.PREVIEWING,
        status=ImportStatus.PREVIEWED,
        counts=counts,
        preview_rows=tally.rows,
        rows_done=counts["total"],
        fingerprint=resource.fingerprint(parsed.keys),
    )


# --- the confirmation -------------------------------------------------------------------------


def refusal(record: ImportRecord | None, *, by: Actor, now: datetime) -> str:
    """Why `by` cannot confirm this preview now, in the staff's language; empty if they can."""
    if record is None:
        return _("Nothing was imported: that preview does not exist. Upload the file again.")
    if record.by_user_id != (by.user.pk if by.user is not None else None):
        return _(
            "Nothing was imported: only %(user)s, who uploaded %(file)s, can confirm its "
            "preview. Upload the file yourself for a preview of your own."
        ) % {"user": record.by_user.get_username(), "file": record.file_name}
    if record.status == ImportStatus.PREVIEWED and preview_expired(record.at, now=now):
        return _(
            "Nothing was imported: the preview of %(file)s expired (previews wait %(hours)s "
            "hours for their confirmation). Upload the file again for a new preview."
        ) % {
            "file": record.file_name,
            "hours": int(preview_valid_for().total_seconds() // 3600),
        }
    if record.status == ImportStatus.EXPIRED:
        return _(
            "Nothing was imported: the preview of %(file)s expired unconfirmed and its file "
            "was removed. Upload the file again for a new preview."
        ) % {"file": record.file_name}
    if record.status != ImportStatus.PREVIEWED:
        return _(
            "Nothing was imported: that preview is %(state)s. Upload the file again for a new "
            "preview."
        ) % {"state": record.get_status_display().lower()}
    return ""


def confirm_import(*, record_id: int, model: str, by: Actor, now: datetime) -> ImportRecord:
    """The requester confirms a preview. A small file is written now; a large one is marked
    "importing" for a worker to write (the caller queues exchanges.tasks.import_apply).
    Raises NotConfirmable, with nothing written, for anyone else, an expired preview, or a
    preview already confirmed or refused."""
    with transaction.atomic():
        record = (
            ImportRecord.objects.select_for_update(of=("self",))
            .select_related("by_user")
            .filter(pk=record_id, model=model)
            .first()
        )
        reason = refusal(record, by=by, now=now)
        if reason:
            raise NotConfirmable(reason)
        assert record is not None
        if record.in_background:
            cache.set(_progress_key(record.pk), 0, timeout=24 * 3600)
            return import_record_update(
                record, expect=ImportStatus.PREVIEWED, status=ImportStatus.IMPORTING
            )
        return _write(record, now=now)


def apply_import(*, record_id: int, now: datetime) -> ImportRecord:
    """The worker's part of a confirmation: write a file its requester confirmed. Runs once: a
    record no longer "importing" is returned as it is."""
    with transaction.atomic():
        record = (
            ImportRecord.objects.select_for_update(of=("self",))
            .select_related("by_user")
            .get(pk=record_id)
        )
        if record.status != ImportStatus.IMPORTING:
            return record
        return _write(record, now=now)


class _Rollback(Exception):
    pass


def _write(record: ImportRecord, *, now: datetime) -> ImportRecord:
    """Write the kept file (the caller holds the record's lock in its transaction): every
    row, or, at the first sign the data changed or a row fails, nothing."""
    expect = record.status
    resource = _resource(record, now)
    try:
        parsed = _parse(record, resource)
        problems = resource.check_file(parsed)
        if problems or parsed.refused_rows:
            raise UploadRefused(Problem.joined(_file_refusal(problems, parsed)))
    except UploadRefused as exc:
        remove_stored(record.stored_file)
        return import_record_update(
            record, expect=expect, status=ImportStatus.REFUSED, message=exc.problem, stored_file=""
        )

    def progress(done: int) -> None:
        if record.in_background:
            cache.set(_progress_key(record.pk), done, timeout=24 * 3600)

    tally = None
    changed = False
    try:
        with transaction.atomic():
            if resource.fingerprint(parsed.keys, lock=True) != record.fingerprint:
                changed = True
                raise _Rollback
            tally = _rounds(
                record=record, parsed=parsed, now=now, dry_run=False, on_progress=progress
            )
            if tally.counts["errors"]:
                raise _Rollback
    except _Rollback:
        pass
    remove_stored(record.stored_file)
    if changed:
        return import_record_update(
            record,
            expect=expect,
            status=ImportStatus.REFUSED,
            message=Problem(
                gettext_noop("the data changed after the preview; nothing was imported")
            ),
            stored_file="",
        )
    assert tally is not None
    failed = bool(tally.counts["errors"])
    return import_record_update(
        record,
        expect=expect,
        status=ImportStatus.REFUSED if failed else ImportStatus.CONFIRMED,
        counts=tally.counts,
        message=(
            Problem(gettext_noop("errors at confirmation; nothing was imported")) if failed else ""
        ),
        row_errors=tally.errors if failed else None,
        rows_done=tally.counts["total"],
        confirmed_at=None if failed else now,
        stored_file="",
    )
