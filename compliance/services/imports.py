"""Importing unsubscribe lists from other providers: imports only add (R9).

The file is read as a stream (the csv module over a text wrapper), each row normalised and
checked, and the good rows bulk-loaded in batches into a session-private staging table
(PostgreSQL COPY; executemany elsewhere). The merge into the suppression history is one
INSERT ... SELECT in one transaction: either the whole file's additions are written or none.

An import row is written only where it adds to the history: when the address was not already
suppressed at the row's date. So duplicates merge keeping the earliest date, and nothing an
import does can lift a suppression. Bad rows are reported with their line and reason; the good
rows are imported anyway.
"""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import BinaryIO

from django.db import connection, transaction

from accounts.models import Account
from compliance.addresses import InvalidAddress, normalise_address
from compliance.layouts import FileRefused, Layout, parse_date, recognise
from compliance.models import OptIn, SuppressionSource
from compliance.selectors import SUPPRESSIONS, in_force_sql
from core.actors import Actor

# Rows staged per COPY round: big enough that round trips do not count, small enough that a
# batch of rows stays a few MB in memory whatever the file size.
STAGE_BATCH_ROWS = 20_000
# Bad rows listed by line (all are counted); a file of garbage should not make a huge report.
MAX_PROBLEMS_LISTED = 1_000
# Advisory lock namespace for "one import per account at a time" (consistent counts).
_IMPORT_LOCK_BASE = 0x5350_0000_0000
_HEAD_BYTES = 64 * 1024

ProgressCallback = Callable[[int, int], None]


@dataclass
class ImportOutcome:
    """What an import did, or with a dry run would do."""

    layout: str = ""
    rows: int = 0
    added: int = 0
    already: int = 0
    superseded: int = 0
    rejected: int = 0
    skipped: int = 0
    repeated: int = 0
    # Rows the import wrote into the suppression history: the addresses it added, and the
    # earlier date of an address suppressed since (history, not a second suppression in
    # force). None for a dry run.
    written: int | None = None
    problems: list[tuple[int, str]] = field(default_factory=list)
    dry_run: bool = True

    def summary(self) -> str:
        verb = "would add" if self.dry_run else "added"
        text = (
            f"{verb} {self.added}, already suppressed {self.already}, lifted 0, "
            f"rejected {self.rejected}"
        )
        extras = []
        if self.skipped:
            extras.append(f"{self.skipped} rows not marked unsubscribed skipped")
        if self.repeated:
            extras.append(f"{self.repeated} repeated in the file")
        if self.superseded:
            extras.append(
                f"{self.superseded} older than a later opt-in (kept in the history, not in force)"
            )
        return text + (f" ({'; '.join(extras)})" if extras else "")

    def counts(self) -> dict[str, int]:
        counts = {
            "rows": self.rows,
            "added": self.added,
            "already": self.already,
            "superseded": self.superseded,
            "rejected": self.rejected,
            "skipped": self.skipped,
            "repeated": self.repeated,
        }
        if self.written is not None:
            counts["written"] = self.written
        return counts


def _check_head(head: bytes) -> None:
    if not head.strip(b" \t\r\n\xef\xbb\xbf"):
        raise FileRefused("the file is empty: no line with an address")
    if b"\x00" in head:
        raise FileRefused(
            "this is not a text file (it contains binary data); export the list as CSV"
        )
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A character cut at the end of the sample is fine; anything else is not UTF-8.
        if not (len(head) == _HEAD_BYTES and exc.start >= len(head) - 3):
            raise FileRefused(
                f"the file is not UTF-8 text (byte {exc.start + 1}); save it as CSV UTF-8"
            ) from None


def _delimiter(head: bytes) -> str:
    first = head.split(b"\n", 1)[0]
    if b"," not in first:
        if b";" in first:
            return ";"
        if b"\t" in first:
            return "\t"
    return ","


class _Stage:
    """A session-private staging table, dropped at the end."""

    def __init__(self) -> None:
        self.name = f"compliance_stage_{uuid.uuid4().hex[:12]}"
        self.postgres = connection.vendor == "postgresql"

    def create(self) -> None:
        # PostgreSQL stages Unix seconds (cheaper to write than ISO text), turned into
        # timestamps once per address in the merge.
        at_type = "double precision" if self.postgres else "text"
        with connection.cursor() as cursor:
            cursor.execute(
                f"CREATE TEMPORARY TABLE {self.name} "
                f"(line bigint, address text, normalised text, at {at_type})"
            )

    def load(self, rows: list[tuple[int, str, str, datetime]]) -> None:
        with connection.cursor() as cursor:
            if self.postgres:
                # Cells hold no tab, newline or backslash (validated), so the text format
                # needs no escaping.
                data = "".join(f"{n}\t{a}\t{k}\t{at.timestamp()!r}\n" for n, a, k, at in rows)
                with cursor.cursor.copy(
                    f"COPY {self.name} (line, address, normalised, at) FROM STDIN"
                ) as copy:
                    copy.write(data)
            else:
                adapt = connection.ops.adapt_datetimefield_value
                cursor.executemany(
                    f"INSERT INTO {self.name} (line, address, normalised, at) "
                    "VALUES (%s, %s, %s, %s)",
                    [(n, a, k, adapt(at)) for n, a, k, at in rows],
                )

    def drop(self) -> None:
        try:
            with connection.cursor() as cursor:
                cursor.execute(f"DROP TABLE IF EXISTS {self.name}_keys")
                cursor.execute(f"DROP TABLE IF EXISTS {self.name}")
        except Exception:  # noqa: BLE001 - a broken transaction drops temp tables with it
            pass


def _read(
    *,
    stream: BinaryIO,
    file_name: str,
    now: datetime,
    stage: _Stage,
    outcome: ImportOutcome,
    progress: ProgressCallback | None,
) -> None:
    head = stream.read(_HEAD_BYTES)
    _check_head(head)
    stream.seek(0)
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", newline="")
    reader = csv.reader(text, delimiter=_delimiter(head))
    line = 0
    try:
        header = next(reader, None)
        while header is not None and not any(cell.strip() for cell in header):
            header = next(reader, None)
        if header is None:
            raise FileRefused("the file is empty: no line with an address")
        layout: Layout = recognise(header, file_name)
        outcome.layout = layout.name
        batch: list[tuple[int, str, str, datetime]] = []
        problems = outcome.problems
        email_i, date_i, status_i, wanted = (
            layout.email_index,
            layout.date_index,
            layout.status_index,
            layout.wanted,
        )

        def rows():
            if not layout.has_header:
                yield reader.line_num, header
            last = reader.line_num
            for row in reader:
                yield last + 1, row
                last = reader.line_num

        for line, row in rows():
            outcome.rows += 1
            if wanted is not None and status_i is not None:
                status = row[status_i] if status_i < len(row) else ""
                if not wanted(status):
                    outcome.skipped += 1
                    continue
            cell = row[email_i] if email_i < len(row) else ""
            try:
                key = normalise_address(cell)
            except InvalidAddress as exc:
                outcome.rejected += 1
                if len(problems) < MAX_PROBLEMS_LISTED:
                    reason = str(exc)
                    problems.append((line, "empty: no address" if reason == "empty" else reason))
                continue
            at = now
            if date_i is not None and date_i < len(row):
                at = parse_date(row[date_i]) or now
                if at > now:
                    at = now
            batch.append((line, cell.strip(), key, at))
            if len(batch) >= STAGE_BATCH_ROWS:
                stage.load(batch)
                batch.clear()
                if progress:
                    progress(stream.tell(), outcome.rows)
        if batch:
            stage.load(batch)
        if progress:
            progress(stream.tell(), outcome.rows)
    except UnicodeDecodeError:
        raise FileRefused(
            f"the file is not UTF-8 text (near line {line + 1}); save it as CSV UTF-8"
        ) from None
    except csv.Error as exc:
        raise FileRefused(f"line {line + 1} cannot be read as CSV: {exc}") from None
    finally:
        text.detach()


def _merge(
    *,
    account: Account,
    stage: _Stage,
    outcome: ImportOutcome,
    by: Actor,
    now: datetime,
    dry_run: bool,
    record_id: int | None,
) -> None:
    optins = OptIn._meta.db_table
    keys = f"{stage.name}_keys"
    adapt = connection.ops.adapt_datetimefield_value
    a, now_p = account.pk, adapt(now)
    with connection.cursor() as cursor:
        if stage.postgres:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_IMPORT_LOCK_BASE + a])
            cursor.execute(
                f"CREATE TEMPORARY TABLE {keys} AS SELECT DISTINCT ON (normalised) "
                f"line, address, normalised, to_timestamp(at) AS at FROM {stage.name} "
                "ORDER BY normalised, at, line"
            )
        else:
            cursor.execute(
                f"CREATE TEMPORARY TABLE {keys} AS SELECT line, address, normalised, at FROM ("
                f"SELECT *, ROW_NUMBER() OVER (PARTITION BY normalised ORDER BY at, line) AS rn "
                f"FROM {stage.name}) ranked WHERE rn = 1"
            )
        cursor.execute(f"SELECT (SELECT COUNT(*) FROM {stage.name}), COUNT(*) FROM {keys}")
        staged, distinct = cursor.fetchone()
        outcome.repeated = staged - distinct
        # Suppressed now (R9): one of the address's events is in force now.
        suppressed_now = f"""EXISTS (
            SELECT 1 FROM {SUPPRESSIONS} s
            WHERE s.account_id = %s AND s.normalised = k.normalised
              AND {in_force_sql(event="s", at="%s")})"""
        lifted_since_row = f"""EXISTS (
            SELECT 1 FROM {optins} o WHERE o.account_id = %s AND o.normalised = k.normalised
              AND o.at >= k.at AND o.at <= %s)"""
        # Both conditions sit in WHERE clauses, where the planner turns them into (hash)
        # semi-joins against the account's existing rows instead of probing per address.
        cursor.execute(
            f"""SELECT
                  (SELECT COUNT(*) FROM {keys} k WHERE {suppressed_now}),
                  (SELECT COUNT(*) FROM {keys} k WHERE {lifted_since_row}
                     AND NOT {suppressed_now})""",
            [a, now_p, now_p, a, now_p, a, now_p, now_p],
        )
        already, superseded = cursor.fetchone()
        outcome.already, outcome.superseded = int(already), int(superseded)
        outcome.added = distinct - outcome.already - outcome.superseded
        if dry_run:
            return
        by_fields = by.as_fields()
        user_id = by_fields["by_user"].pk if by_fields["by_user"] is not None else None
        # Written only where it adds to the history (not suppressed at the row's date).
        cursor.execute(
            f"""INSERT INTO {SUPPRESSIONS}
                  (account_id, address, normalised, source, at, evidence, by_user_id, by_job,
                   imported_in_id)
                SELECT %s, k.address, k.normalised, %s, k.at, 'line ' || k.line, %s, %s, %s
                FROM {keys} k
                WHERE NOT EXISTS (
                  SELECT 1 FROM {SUPPRESSIONS} s
                  WHERE s.account_id = %s AND s.normalised = k.normalised
                    AND {in_force_sql(event="s", at="k.at")})""",
            [a, SuppressionSource.IMPORT, user_id, by_fields["by_job"], record_id, a],
        )
        outcome.written = cursor.rowcount


def suppressions_import(
    *,
    account: Account,
    stream: BinaryIO,
    file_name: str,
    by: Actor,
    now: datetime,
    dry_run: bool,
    record_id: int | None = None,
    progress: ProgressCallback | None = None,
    record: Callable[[ImportOutcome], None] | None = None,
) -> ImportOutcome:
    """Read an unsubscribe list (a seekable binary file) and add its addresses to the
    account's suppressions, or with `dry_run` only count what it would do. Raises FileRefused
    for a file that cannot be imported at all; then nothing is written.

    `record(outcome)` is called in the transaction that writes the suppressions, so the
    import's record of what it did commits with the rows it wrote, or neither does."""
    if not by.may("compliance.import_suppressions"):
        raise FileRefused(f"{by.label} may not import unsubscribe lists")
    outcome = ImportOutcome(dry_run=dry_run)
    stage = _Stage()
    stage.create()
    try:
        _read(
            stream=stream,
            file_name=file_name,
            now=now,
            stage=stage,
            outcome=outcome,
            progress=progress,
        )
        with transaction.atomic():
            _merge(
                account=account,
                stage=stage,
                outcome=outcome,
                by=by,
                now=now,
                dry_run=dry_run,
                record_id=record_id,
            )
            if record is not None:
                record(outcome)
    finally:
        stage.drop()
    return outcome
