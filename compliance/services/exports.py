"""CAN-SPAM hand-over exports of an account's unsubscribe list (R10).

The export streams in constant memory: on PostgreSQL the rows come out of `COPY ... TO STDOUT`
as CSV blocks the server formats; elsewhere a cursor is read in chunks. Every export is
recorded (who, account, purpose, format, rows), also one interrupted half-way.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

from django.db import connection, transaction
from django.utils.translation import gettext as _

from accounts.models import Account
from compliance.addresses import MD5_PREFIX, SHA256_PREFIX, is_hashed
from compliance.models import ExportFormat, SuppressionExport, SuppressionReason
from compliance.selectors import IN_FORCE_AT_USES, SUPPRESSIONS, in_force_sql
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
_REASON_SQL = (
    "CASE reason "
    + " ".join(f"WHEN '{code}' THEN '{word}'" for code, word in REASON_WORDS.items())
    + " END"
)


class ExportRefused(ValueError):
    """An export that may not be made as asked; the message says why."""


FORMULA_CODES = ", ".join(str(ord(c)) for c in FORMULA_STARTS)


# An erased address (an erasure request) is kept as "sha256:<hex>" (its key) and "md5:<hex>"
# (its address): the hashed formats hand over those hashes, the plain one its "sha256:" form.
_ERASED = f"substr(normalised, 1, {len(SHA256_PREFIX)}) = '{SHA256_PREFIX}'"


def _postgres_copy_sql(fmt: str) -> str:
    email = {
        ExportFormat.CSV: (
            # core.csvsafe.neutralise's rule, run inside COPY.
            f"CASE WHEN ascii(normalised) IN ({FORMULA_CODES}) "
            "THEN '''' || normalised ELSE normalised END"
        ),
        # The address column is read only for the few erased entries: the others come from
        # the index alone.
        ExportFormat.MD5: (
            f"CASE WHEN {_ERASED} THEN (SELECT substr(e.address, {len(MD5_PREFIX) + 1}) "
            f"FROM {SUPPRESSIONS} e WHERE e.id = current_list.id) ELSE md5(normalised) END"
        ),
        ExportFormat.SHA256: (
            f"CASE WHEN {_ERASED} THEN substr(normalised, {len(SHA256_PREFIX) + 1}) "
            "ELSE encode(sha256(convert_to(normalised, 'UTF8')), 'hex') END"
        ),
    }[ExportFormat(fmt)]
    # Per address, the earliest suppression event in force (R9, compliance.selectors).
    return f"""
        COPY (
            SELECT {email},
                   (at AT TIME ZONE 'UTC')::timestamp(0),
                   source,
                   {_REASON_SQL}
            FROM (
                SELECT DISTINCT ON (s.normalised) s.id, s.normalised, s.at, s.source, s.reason
                FROM {SUPPRESSIONS} s
                WHERE s.account_id = %(account)s AND {in_force_sql(event="s", at="%(now)s")}
                ORDER BY s.normalised, s.at, s.id
            ) current_list
        ) TO STDOUT WITH (FORMAT csv)
    """


def _generic_sql() -> str:
    return f"""
        SELECT normalised, at, source, reason, address FROM (
            SELECT s.normalised, s.at, s.source, s.reason, s.address,
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
    with cursor.cursor.copy(_postgres_copy_sql(fmt), {"account": account.pk, "now": now}) as copy:
        # The server sends a message per row: hand them on in chunks of about 64 KB, gathered
        # in one growing buffer (a copy and a list entry per row cost more than the row's own
        # reading).
        chunk = bytearray()
        for block in copy:
            chunk += block
            if len(chunk) >= EXPORT_CHUNK_BYTES:
                data = bytes(chunk)
                chunk.clear()
                # Cells never hold a line break (addresses are validated): lines are rows.
                counter[0] += data.count(b"\n")
                yield data
        if chunk:
            data = bytes(chunk)
            counter[0] += data.count(b"\n")
            yield data


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
                        source,
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
    upper = SHA256_PREFIX[:-1] + chr(ord(SHA256_PREFIX[-1]) + 1)
    moment = connection.ops.adapt_datetimefield_value(now)
    with connection.cursor() as cursor:
        cursor.execute(sql, [account.pk, SHA256_PREFIX, upper, *[moment] * IN_FORCE_AT_USES])
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
    try:
        yield HEADERS[ExportFormat(fmt)].encode("ascii")
        if connection.vendor == "postgresql":
            chunks = _stream_postgres(account, fmt, now, counter)
        else:
            chunks = _stream_generic(account, fmt, now, counter)
        reported = 0
        for chunk in chunks:
            yield chunk
            if progress:
                progress(counter[0] - reported)
                reported = counter[0]
        complete = True
    finally:
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
