"""CAN-SPAM hand-over exports of an account's unsubscribe list (R10).

The export streams in constant memory: on PostgreSQL the rows come out of `COPY ... TO STDOUT`
as CSV blocks the server formats (the SHA-256 list as text blocks whose first cell this
process digests); elsewhere a cursor is read in chunks. Every export is
recorded (who, account, purpose, format, rows), also one interrupted half-way.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import select
from binascii import hexlify
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import psycopg
from django.db import connection, transaction
from django.utils.translation import gettext as _
from psycopg import ClientCursor
from psycopg.pq import ExecStatus
from psycopg.pq.abc import PGconn

from accounts.models import Account
from compliance.addresses import MD5_PREFIX, SHA256_PREFIX, is_hashed
from compliance.models import (
    SOURCE_CODES,
    SOURCE_WORDS,
    ExportFormat,
    SuppressionExport,
    SuppressionReason,
    SuppressionSource,
    address_sql,
)
from compliance.selectors import (
    ERASED_FROM,
    ERASED_TO,
    IN_FORCE_AT_USES,
    SUPPRESSIONS,
    in_force_sql,
    optins_recorded_sql,
)
from core.actors import Actor
from core.csvsafe import FORMULA_STARTS, neutralise

# Rows fetched per round trip on the generic path; memory stays at one chunk.
EXPORT_CHUNK_ROWS = 5_000
# Bytes handed to the response at a time on PostgreSQL.
EXPORT_CHUNK_BYTES = 64 * 1024

HEADERS = {
    ExportFormat.CSV: "email,suppressed_at_utc,source,reason\n",
    ExportFormat.MD5: "email_md5,suppressed_at_utc,source,reason\n",
    ExportFormat.SHA256: "email_sha256,suppressed_at_utc,source,reason\n",
}
# The reason as the word the next provider reads (unsubscribe, hard_bounce, ...).
REASON_WORDS = {reason.value: reason.token for reason in SuppressionReason}
# On PostgreSQL the rows leave the server with the source's and the reason's one-letter codes
# as their last two cells, and the codes become their words here, a chunk at a time, in one
# pass (a CASE per row costs the server more than the rest of the row's formatting; a
# replace per pair of codes, twenty passes over each chunk, took three times as long).
_ENDINGS = {
    f",{SOURCE_CODES[source]},{code}\n".encode(): f",{source},{word}\n".encode()
    for source in SuppressionSource
    for code, word in REASON_WORDS.items()
}
# A row's last two cells: nothing else in a row ends in a letter and a line break (the date
# sits between the address and them).
_ENDING = re.compile(rb",([a-z_]+),([a-z])\n")


def _ending_words(match: re.Match) -> bytes:
    words = _ENDINGS.get(match.group())
    if words is None:
        # A row written before the source codes (migration 0017): its source's word.
        words = b",%s,%s\n" % (match[1], REASON_WORDS[match[2].decode()].encode())
    return words


class ExportRefused(ValueError):
    """An export that may not be made as asked; the message says why."""


FORMULA_CODES = ", ".join(str(ord(c)) for c in FORMULA_STARTS)


# An erased address (an erasure request) is kept as "sha256:<hex>" (its key) and "md5:<hex>"
# (its address): the hashed formats hand over those hashes, the plain one its "sha256:" form.
_ERASED = f"substr(s.normalised, 1, {len(SHA256_PREFIX)}) = '{SHA256_PREFIX}'"


def _postgres_copy_sql(fmt: str) -> str:
    email = {
        ExportFormat.CSV: (
            # core.csvsafe.neutralise's rule, run inside COPY.
            f"CASE WHEN ascii(s.normalised) IN ({FORMULA_CODES}) "
            "THEN '''' || s.normalised ELSE s.normalised END"
        ),
        # The address column is read only for the few erased entries: the others come from
        # the index alone.
        ExportFormat.MD5: (
            f"CASE WHEN {_ERASED} THEN (SELECT substr({address_sql('e')}, {len(MD5_PREFIX) + 1}) "
            f"FROM {SUPPRESSIONS} e WHERE e.id = s.id) ELSE md5(s.normalised) END"
        ),
        # The key itself: the exporting process takes its digest (``_sha256_block``), as the
        # server's sha256() costs about as much a row as the whole read of the list.
        ExportFormat.SHA256: "s.normalised",
    }[ExportFormat(fmt)]
    # The hashed SHA-256 list is digested in this process, which leaves the server a core
    # to spare: it spells the source and reason as words (a CASE a row), which here would
    # cost a Python call a row.
    source, reason = (
        (_words_sql("s.source", SOURCE_WORDS), _words_sql("s.reason", REASON_WORDS))
        if fmt == ExportFormat.SHA256
        else ("s.source", "s.reason")
    )
    # Text, not CSV, for the digested list: its first cell ends at the first tab whatever
    # the address holds (text format escapes tabs inside a value).
    copy_format = "text" if fmt == ExportFormat.SHA256 else "csv"

    # Per address, the earliest suppression event in force (R9, compliance.selectors), in
    # one pass over the covering index, each row formatted as it is read (no subquery: a
    # plan node less per row).
    def current_list(lifting: bool, optins: str) -> str:
        return f"""
            SELECT DISTINCT ON (s.normalised) {email},
                   (s.at AT TIME ZONE 'UTC')::timestamp(0),
                   {source},
                   {reason}
            FROM {SUPPRESSIONS} s
            WHERE s.account_id = %(account)s
              AND {in_force_sql(event="s", at="%(now)s", lifting=lifting)}
              AND {optins}
            ORDER BY s.normalised, s.at, s.id"""

    # Most accounts have no opt-in: nothing can lift their suppressions, and the list is the
    # index read once. The check is an init plan of the same statement (one snapshot), so
    # PostgreSQL runs exactly one of the two branches.
    recorded = optins_recorded_sql(account="%(account)s", at="%(now)s")
    return f"""
        COPY (
            ({current_list(False, f"NOT {recorded}")})
            UNION ALL
            ({current_list(True, recorded)})
        ) TO STDOUT WITH (FORMAT {copy_format})
    """


def _words_sql(column: str, words: dict[str, str]) -> str:
    """The column's one-letter codes as their words, in SQL (a value already spelled as a
    word, written before migration 0017, stays as it is)."""
    whens = " ".join(f"WHEN '{code}' THEN '{word}'" for code, word in words.items())
    return f"CASE {column} {whens} ELSE {column} END"


_SHA256_PREFIX = SHA256_PREFIX.encode()
_TEXT_ESCAPES = re.compile(rb"\\(.)")
_TEXT_ESCAPED = {b"\\": b"\\", b"t": b"\t", b"n": b"\n", b"r": b"\r"}


def _sha256_cell(cell: bytes) -> bytes:
    """One row's first cell of the text-format COPY as its digest: the key's SHA-256 in
    lower-case hex, or for an erased entry the hash it is kept as."""
    if cell.startswith(_SHA256_PREFIX):
        return cell[len(_SHA256_PREFIX) :].lower()
    if b"\\" in cell:
        cell = _TEXT_ESCAPES.sub(lambda m: _TEXT_ESCAPED.get(m[1], m[1]), cell)
    return hexlify(hashlib.sha256(cell).digest())


def _sha256_block(lines: bytes) -> bytes:
    """Whole rows of the text-format COPY (tab-separated, each ending in a line break) as the
    CSV rows of the SHA-256 list. One comprehension over the rows, without a test a row
    (which cost as much again): a chunk holding an erased entry or an escaped character,
    which the look for them finds at C speed, goes the careful way."""
    rows = [line.partition(b"\t") for line in lines[:-1].split(b"\n")]
    if _SHA256_PREFIX in lines or b"\\" in lines:
        cells = [_sha256_cell(cell) + b"," + rest for cell, _tab, rest in rows]
    else:
        sha256 = hashlib.sha256
        cells = [hexlify(sha256(cell).digest()) + b"," + rest for cell, _tab, rest in rows]
    # The other cells (a date, two words) hold no tab, comma or quote.
    return b"\n".join(cells).replace(b"\t", b",") + b"\n"


def _generic_sql() -> str:
    return f"""
        SELECT normalised, at, source, reason, address FROM (
            SELECT s.normalised, s.at, s.source, s.reason, {address_sql("s")} AS address,
                   ROW_NUMBER() OVER (PARTITION BY s.normalised ORDER BY s.at, s.id) AS rn
            FROM {SUPPRESSIONS} s
            WHERE s.account_id = %s AND {in_force_sql(event="s", at="%s")}
        ) ranked WHERE rn = 1 ORDER BY normalised
    """


def hashed(normalised: str, fmt: str, address: str = "") -> str:
    if is_hashed(normalised):
        if fmt == ExportFormat.MD5:
            return address.removeprefix(MD5_PREFIX)
        return normalised.removeprefix(SHA256_PREFIX)
    data = normalised.encode("utf-8")
    return (
        hashlib.md5(data).hexdigest()
        if fmt == ExportFormat.MD5
        else hashlib.sha256(data).hexdigest()
    )


def _stream_postgres(account: Account, fmt: str, now: datetime, counter: list[int]):
    # R9's subqueries make the planner's cost estimate of a big list huge, so PostgreSQL
    # would compile the query to machine code first: about 0.35 s before the first row, more
    # than a third of a million-row export, for a plan that is one index scan. SET LOCAL ends
    # with this read-only transaction.
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL jit = off")
        yield from _copy_blocks(cursor, account, fmt, now, counter)


def _copy_blocks(cursor, account: Account, fmt: str, now: datetime, counter: list[int]):
    connection_ = cursor.cursor.connection
    statement = ClientCursor(connection_).mogrify(
        _postgres_copy_sql(fmt), {"account": account.pk, "now": now}
    )
    if fmt == ExportFormat.SHA256:
        # Rows are digested whole: a chunk's last, cut row waits for the next chunk.
        rest = b""
        for chunk in copy_out(connection_.pgconn, statement.encode()):
            chunk = rest + chunk
            cut = chunk.rfind(b"\n") + 1
            rest = chunk[cut:]
            if cut:
                counter[0] += chunk.count(b"\n", 0, cut)
                yield _sha256_block(chunk[:cut])
        return
    for chunk in copy_out(connection_.pgconn, statement.encode()):
        # Cells never hold a line break (addresses are validated): lines are rows.
        counter[0] += chunk.count(b"\n")
        yield _ENDING.sub(_ending_words, chunk)


def copy_out(pgconn: PGconn, statement: bytes) -> Iterator[bytes]:
    """The rows of `statement`, a ``COPY ... TO STDOUT``, in chunks of about 64 KB, read
    straight from libpq. psycopg's own COPY reader takes one row per call through its waiting
    machinery, about a microsecond a row, as much as the server spends making the row: here
    the rows libpq already holds are taken in a plain loop, and the socket is waited on only
    when it holds none. Runs in the caller's transaction; a reader that stops early (a
    download cancelled) cancels the statement, so the connection is left usable and the
    transaction rolls back."""
    pgconn.send_query(statement)
    _wait_for_result(pgconn)
    result = pgconn.get_result()
    if result is None or result.status != ExecStatus.COPY_OUT:
        _raise_result(pgconn, result)
    get = pgconn.get_copy_data
    chunk = bytearray()
    finished = False
    try:
        while True:
            nbytes, row = get(1)  # 1: never block; 0 when no whole row is buffered yet
            if nbytes > 0:
                # A copy and a list entry per row would cost more than the row's reading.
                chunk += row
                if len(chunk) >= EXPORT_CHUNK_BYTES:
                    data = bytes(chunk)
                    chunk.clear()
                    yield data
            elif nbytes == 0:
                select.select([pgconn.socket], [], [])
                pgconn.consume_input()
            else:
                break
        finished = True
    finally:
        if not finished:
            pgconn.get_cancel().cancel()
            while get(0)[0] > 0:
                pass
        # The statement's outcome: an error (also the cancel's) is raised here.
        outcome = None
        while (result := pgconn.get_result()) is not None:
            if result.status != ExecStatus.COMMAND_OK:
                outcome = result
        if outcome is not None and finished:
            _raise_result(pgconn, outcome)
    if chunk:
        yield bytes(chunk)


def _wait_for_result(pgconn: PGconn) -> None:
    while pgconn.flush():
        select.select([], [pgconn.socket], [])
    pgconn.consume_input()
    while pgconn.is_busy():
        select.select([pgconn.socket], [], [])
        pgconn.consume_input()


def _raise_result(pgconn: PGconn, result) -> None:
    if result is None:
        raise psycopg.OperationalError(pgconn.error_message.decode(errors="replace"))
    raise psycopg.errors.error_from_result(result)


def _stream_generic(account: Account, fmt: str, now: datetime, counter: list[int]):
    at_param = connection.ops.adapt_datetimefield_value(now)
    with connection.cursor() as cursor:
        cursor.execute(_generic_sql(), [account.pk, *[at_param] * IN_FORCE_AT_USES])
        while rows := cursor.fetchmany(EXPORT_CHUNK_ROWS):
            buffer = io.StringIO()
            # CRLF (RFC 4180): Python's csv quotes only the line terminator's characters, so
            # with a bare LF a carriage return in a cell would split the row in a spreadsheet
            # and leave what follows it at the start of a cell of its own.
            writer = csv.writer(buffer, lineterminator="\r\n")
            for normalised, at, source, reason, address in rows:
                if isinstance(at, str):
                    at = datetime.fromisoformat(at)
                if at.tzinfo is None:
                    at = at.replace(tzinfo=UTC)
                email = (
                    neutralise(normalised)
                    if fmt == ExportFormat.CSV
                    else hashed(normalised, fmt, address)
                )
                writer.writerow(
                    [
                        email,
                        at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S"),
                        SOURCE_WORDS.get(source, source),
                        REASON_WORDS[reason],
                    ]
                )
            counter[0] += len(rows)
            yield buffer.getvalue().encode("utf-8")


def suppressions_hash_only(*, account: Account, now: datetime) -> int:
    """How many entries of the account's list as of `now` are of erased addresses: handed
    over as hashes only. A range of the (account, normalised) index: erased keys sort
    together under their prefix."""
    sql = f"""
        SELECT COUNT(DISTINCT s.normalised) FROM {SUPPRESSIONS} s
        WHERE s.account_id = %s AND s.normalised >= %s AND s.normalised < %s
          AND {in_force_sql(event="s", at="%s")}
    """
    moment = connection.ops.adapt_datetimefield_value(now)
    with connection.cursor() as cursor:
        cursor.execute(sql, [account.pk, ERASED_FROM, ERASED_TO, *[moment] * IN_FORCE_AT_USES])
        return int(cursor.fetchone()[0])


def suppression_export(
    *,
    account: Account,
    purpose: str,
    fmt: str,
    by: Actor,
    now: datetime,
    progress: Callable[[int], None] | None = None,
) -> Iterator[bytes]:
    """Every address suppressed for `account` as of `now`, with its date, source and reason
    (unsubscribe, hard_bounce, complaint, manual, erasure), as CSV bytes (also for a cancelled
    or purged account, R10). Hashed formats give the lower-case hex digest of the normalised
    address; an erased address (an erasure request) is kept as its hashes only, so the plain
    format gives it as "sha256:<hex>", and the export record counts those entries
    (``hash_only``). Checked here, before the first byte; recorded when
    the stream ends, with the rows actually handed out. `progress`, if given, is called with
    the number of rows in each chunk once the chunk has been taken."""
    if fmt not in ExportFormat.values:
        raise ExportRefused(
            _("unknown export format %(fmt)s; one of: %(values)s")
            % {"fmt": repr(fmt), "values": ", ".join(ExportFormat.values)}
        )
    if not purpose or not purpose.strip():
        raise ExportRefused(
            _(
                "state the purpose of the export: CAN-SPAM allows handing an "
                "unsubscribe list over for compliance only (R10)"
            )
        )
    if not by.may("compliance.export_suppressions"):
        raise ExportRefused(
            _("%(label)s may not export unsubscribe lists (Compliance only)") % {"label": by.label}
        )
    return _export_stream(
        account=account, purpose=purpose.strip(), fmt=fmt, by=by, now=now, progress=progress
    )


def _export_stream(
    *,
    account: Account,
    purpose: str,
    fmt: str,
    by: Actor,
    now: datetime,
    progress: Callable[[int], None] | None,
):
    counter = [0]
    complete = False
    hash_only = suppressions_hash_only(account=account, now=now)
    if connection.vendor == "postgresql":
        chunks = _stream_postgres(account, fmt, now, counter)
    else:
        chunks = _stream_generic(account, fmt, now, counter)
    try:
        yield HEADERS[ExportFormat(fmt)].encode("ascii")
        reported = 0
        for chunk in chunks:
            yield chunk
            if progress:
                progress(counter[0] - reported)
                reported = counter[0]
        complete = True
    finally:
        # A download stopped half-way: end the reading (a COPY still running is cancelled and
        # its transaction rolled back) before the connection records the export.
        chunks.close()
        SuppressionExport.objects.create(
            account=account,
            at=now,
            purpose=purpose,
            format=fmt,
            rows=counter[0],
            complete=complete,
            hash_only=hash_only,
            **by.as_fields(),
        )
