"""Importing unsubscribe lists from other providers: imports only add (R9).

The file is read as a stream (compliance.layouts: the provider's layout says which rows are
suppressed, with which date, reason and words), each row normalised and checked, and the good
rows bulk-loaded in batches into a session-private staging table
(PostgreSQL COPY; executemany elsewhere). The merge into the suppression history is one
INSERT ... SELECT in one transaction: either the whole file's additions are written or none.

An import row is written only where it adds to the history: when the address was not already
suppressed at the row's date. So duplicates merge keeping the earliest date, and nothing an
import does can lift a suppression. Bad rows are reported with their line and reason; the good
rows are imported anyway.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import BinaryIO

from django.db import connection, transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop, ngettext

from accounts.models import Account
from compliance.addresses import EMPTY, InvalidAddress, normalise_address
from compliance.layouts import (
    ColumnMapping,
    FileRefused,
    ListFile,
    MappingNeeded,
    parse_seconds,
)
from compliance.models import SOURCE_CODES, OptIn, SuppressionSource, received_to_store_sql
from compliance.selectors import IN_FORCE_AT_USES, SUPPRESSIONS, in_force_sql
from core.actors import Actor
from core.csvsafe import restore
from core.problems import Problem, problem_of

# Rows staged per COPY round: big enough that round trips do not count, small enough that a
# batch of rows stays a few MB in memory whatever the file size.
STAGE_BATCH_ROWS = 20_000
# Bad rows listed by line (all are counted); a file of garbage should not make a huge report.
MAX_PROBLEMS_LISTED = 1_000
# Advisory lock namespace for "one import per account at a time" (consistent counts).
_IMPORT_LOCK_BASE = 0x5350_0000_0000

ProgressCallback = Callable[[int, int], None]
# line, address as received, normalised, date (Unix seconds), reason code, the provider's
# words ("" for none; the evidence "line N: words" is spelt by the merge's INSERT, for the
# rows it writes)
StagedRow = tuple[int, str, str, float, str, str]


@dataclass
class ImportOutcome:
    """What an import did, or with a dry run would do."""

    layout: str = ""
    # Why the layout was recognised: an English sentence with %(name)s fields and its values.
    because: str = ""
    because_args: dict[str, str] = field(default_factory=dict)
    mapping: dict | None = None
    rows: int = 0
    added: int = 0
    already: int = 0
    superseded: int = 0
    rejected: int = 0
    skipped: int = 0
    repeated: int = 0
    # Rows imported dated at the import: their date was missing, unreadable or in the future.
    undated: int = 0
    # Rows read as suppressed, by reason code (before merging with what is already there).
    reasons: dict[str, int] = field(default_factory=dict)
    # Rows the import wrote into the suppression history: the addresses it added, and the
    # earlier date of an address suppressed since (history, not a second suppression in
    # force). None for a dry run.
    written: int | None = None
    # Rows rejected, and rows dated at the import, by line: kept in no language (Problem).
    problems: list[tuple[int, Problem]] = field(default_factory=list)
    notices: list[tuple[int, Problem]] = field(default_factory=list)
    dry_run: bool = True

    def summary(self) -> str:
        """What the import did or would do, in the active language."""
        return import_summary(self.counts(), done=not self.dry_run)

    def counts(self) -> dict[str, int]:
        counts = {
            "rows": self.rows,
            "added": self.added,
            "already": self.already,
            "superseded": self.superseded,
            "rejected": self.rejected,
            "skipped": self.skipped,
            "repeated": self.repeated,
            "undated": self.undated,
        }
        if self.written is not None:
            counts["written"] = self.written
        return counts


def import_summary(counts: dict, *, done: bool) -> str:
    """What an import did (`done`) or would do, from its counts, in the active language."""
    values = {
        "added": counts.get("added", 0),
        "already": counts.get("already", 0),
        "rejected": counts.get("rejected", 0),
    }
    text = (
        _("added %(added)s, already suppressed %(already)s, lifted 0, rejected %(rejected)s")
        if done
        else _(
            "would add %(added)s, already suppressed %(already)s, lifted 0, rejected %(rejected)s"
        )
    ) % values
    extras = []
    if counts.get("skipped"):
        extras.append(
            ngettext(
                "%(count)s row the provider does not mark as suppressed skipped",
                "%(count)s rows the provider does not mark as suppressed skipped",
                counts["skipped"],
            )
            % {"count": counts["skipped"]}
        )
    if counts.get("repeated"):
        extras.append(_("%(count)s repeated in the file") % {"count": counts["repeated"]})
    if counts.get("superseded"):
        extras.append(
            _("%(count)s older than a later opt-in (kept in the history, not in force)")
            % {"count": counts["superseded"]}
        )
    if counts.get("undated"):
        extras.append(
            _("%(count)s dated at the import (no readable date)") % {"count": counts["undated"]}
        )
    return text + (f" ({'; '.join(extras)})" if extras else "")


_COPY_SPECIAL = re.compile(r"[\\\t\n\r]")


def _copy_text(value: str) -> str:
    """A cell for COPY's text format: provider words may hold tabs, line breaks, backslashes."""
    if not _COPY_SPECIAL.search(value):
        return value
    return value.replace("\\", "\\\\").replace("\t", " ").replace("\n", " ").replace("\r", " ")


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
                f"(line bigint, address text, normalised text, at {at_type}, reason text, "
                "evidence text)"
            )

    def load(self, rows: list[StagedRow]) -> None:
        columns = "line, address, normalised, at, reason, evidence"
        with connection.cursor() as cursor:
            if self.postgres:
                # Addresses hold no tab, newline or backslash (validated); the provider's
                # words are escaped for the text format.
                data = "".join(
                    f"{n}\t{a}\t{k}\t{at!r}\t{r}\t{_copy_text(e) if e else ''}\n"
                    for n, a, k, at, r, e in rows
                )
                with cursor.cursor.copy(f"COPY {self.name} ({columns}) FROM STDIN") as copy:
                    copy.write(data)
            else:
                adapt = connection.ops.adapt_datetimefield_value
                cursor.executemany(
                    f"INSERT INTO {self.name} ({columns}) VALUES (%s, %s, %s, %s, %s, %s)",
                    [
                        (n, a, k, adapt(datetime.fromtimestamp(at, tz=UTC)), r, e)
                        for n, a, k, at, r, e in rows
                    ],
                )

    def drop(self) -> None:
        try:
            with connection.cursor() as cursor:
                cursor.execute(f"DROP TABLE IF EXISTS {self.name}_keys")
                cursor.execute(f"DROP TABLE IF EXISTS {self.name}")
        except Exception:  # noqa: BLE001 - a broken transaction drops temp tables with it
            pass


def _undated(raw: str, moment: float | None, *, line: int, outcome: ImportOutcome) -> None:
    """A row whose date is missing, unreadable or in the future is dated at the import, and
    listed by line so that nobody takes that date for the provider's."""
    if moment is None and not raw:
        note = Problem(gettext_noop("no date: suppressed as of the import"))
    elif moment is None:
        note = Problem(
            gettext_noop("date %(date)s cannot be read: suppressed as of the import"),
            date=repr(raw[:40]),
        )
    else:
        note = Problem(
            gettext_noop("date %(date)s is in the future: suppressed as of the import"),
            date=repr(raw[:40]),
        )
    outcome.undated += 1
    if len(outcome.notices) < MAX_PROBLEMS_LISTED:
        outcome.notices.append((line, note))


class ListRefused(FileRefused):
    """A file refused part way through: the refusal, and what was read before it (`outcome`:
    its rejected rows with their lines), so that both are reported together."""

    def __init__(self, message: Problem, outcome: ImportOutcome):
        super().__init__(
            Problem(
                gettext_noop(
                    "%(refusal)s; besides, %(rows)s row(s) before it were rejected (listed by line)"
                ),
                refusal=message,
                rows=outcome.rejected,
            )
        )
        self.outcome = outcome


def _read(
    *,
    stream: BinaryIO,
    file_name: str,
    now: datetime,
    stage: _Stage,
    outcome: ImportOutcome,
    progress: ProgressCallback | None,
    layout: str = "",
    mapping: ColumnMapping | None = None,
) -> None:
    with ListFile(stream, file_name=file_name, layout=layout, mapping=mapping) as source:
        chosen = source.layout
        outcome.layout = chosen.key
        outcome.because, outcome.because_args = chosen.because, dict(chosen.because_args)
        outcome.mapping = mapping.as_dict() if mapping is not None else None
        batch: list[StagedRow] = []
        problems, reasons = outcome.problems, outcome.reasons
        email_i, date_i = chosen.email, chosen.date
        now_seconds = now.timestamp()
        for line, row in source.rows():
            outcome.rows += 1
            verdict = chosen.judge(row)
            if verdict.problem:
                outcome.rejected += 1
                if len(problems) < MAX_PROBLEMS_LISTED:
                    problems.append((line, verdict.problem))
                continue
            if verdict.reason is None:
                outcome.skipped += 1
                continue
            address = row[email_i].strip() if email_i < len(row) else ""
            if address.startswith("'"):
                # Our own exports neutralise a cell a spreadsheet would run ('=1+1@example.com).
                address = restore(address).strip()
            try:
                key = normalise_address(address)
            except InvalidAddress as exc:
                outcome.rejected += 1
                if len(problems) < MAX_PROBLEMS_LISTED:
                    reason = problem_of(exc)
                    if reason.msgid == EMPTY:
                        reason = Problem(gettext_noop("empty: no address"))
                    problems.append((line, reason))
                continue
            at = now_seconds
            if date_i is not None:
                raw = row[date_i] if date_i < len(row) else ""
                moment = parse_seconds(raw)
                if moment is not None and moment <= now_seconds:
                    at = moment
                else:
                    _undated(raw.strip(), moment, line=line, outcome=outcome)
            reasons[verdict.reason] = reasons.get(verdict.reason, 0) + 1
            batch.append((line, address, key, at, verdict.reason, verdict.evidence))
            if len(batch) >= STAGE_BATCH_ROWS:
                stage.load(batch)
                batch.clear()
                if progress:
                    progress(stream.tell(), outcome.rows)
        if batch:
            stage.load(batch)
        if progress:
            progress(stream.tell(), outcome.rows)


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
    # The evidence of an imported row: its line, and the provider's words where there are any
    # (spelt as it is written, once per row written, rather than in Python for every row read).
    evidence = "'line ' || k.line || CASE WHEN k.evidence = '' THEN '' ELSE ': ' || k.evidence END"
    with connection.cursor() as cursor:
        if stage.postgres:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_IMPORT_LOCK_BASE + a])
            cursor.execute(
                f"CREATE TEMPORARY TABLE {keys} AS SELECT DISTINCT ON (normalised) "
                f"line, address, normalised, to_timestamp(at) AS at, reason, evidence "
                f"FROM {stage.name} ORDER BY normalised, at, line"
            )
        else:
            cursor.execute(
                f"CREATE TEMPORARY TABLE {keys} AS SELECT line, address, normalised, at, reason, "
                "evidence FROM ("
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
            [a, *[now_p] * IN_FORCE_AT_USES, a, now_p, a, *[now_p] * IN_FORCE_AT_USES],
        )
        already, superseded = cursor.fetchone()
        outcome.already, outcome.superseded = int(already), int(superseded)
        outcome.added = distinct - outcome.already - outcome.superseded
        if dry_run:
            return
        by_fields = by.as_fields()
        user_id = by_fields["by_user"].pk if by_fields["by_user"] is not None else None
        # Written only where it adds to the history (not suppressed at the row's date); the
        # address as received only where it is not its key.
        received = received_to_store_sql("k.address", "k.normalised")
        cursor.execute(
            f"""INSERT INTO {SUPPRESSIONS}
                  (account_id, address, normalised, source, reason, at, evidence, by_user_id,
                   by_job, imported_in_id)
                SELECT %s, {received}, k.normalised, %s, k.reason, k.at, {evidence}, %s, %s, %s
                FROM {keys} k
                WHERE NOT EXISTS (
                  SELECT 1 FROM {SUPPRESSIONS} s
                  WHERE s.account_id = %s AND s.normalised = k.normalised
                    AND {in_force_sql(event="s", at="k.at")})""",
            [a, SOURCE_CODES[SuppressionSource.IMPORT], user_id, by_fields["by_job"], record_id, a],
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
    layout: str = "",
    mapping: ColumnMapping | None = None,
    record: Callable[[ImportOutcome], None] | None = None,
) -> ImportOutcome:
    """Read an unsubscribe list (a seekable binary file) and add its addresses to the
    account's suppressions, each with its date, reason and the provider's words, or with
    `dry_run` only count what it would do. The layout is recognised from the file unless
    `layout` (a key of compliance.layouts.NAMES) or a column `mapping` is given. Raises
    FileRefused (MappingNeeded when no layout matches) for a file that cannot be imported
    as it is; then nothing is written.

    `record(outcome)` is called in the transaction that writes the suppressions, so the
    import's record of what it did commits with the rows it wrote, or neither does."""
    if not by.may("compliance.import_suppressions"):
        raise FileRefused(
            Problem(gettext_noop("%(label)s may not import unsubscribe lists"), label=by.label)
        )
    outcome = ImportOutcome(dry_run=dry_run)
    stage = _Stage()
    stage.create()
    try:
        try:
            _read(
                stream=stream,
                file_name=file_name,
                now=now,
                stage=stage,
                outcome=outcome,
                progress=progress,
                layout=layout,
                mapping=mapping,
            )
        except MappingNeeded:
            raise
        except FileRefused as exc:
            # A file refused part way (a line that cannot be read) is reported with the rows
            # rejected before it, by line: one upload shows every problem found.
            if outcome.rejected:
                raise ListRefused(exc.problem, outcome) from None
            raise
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
