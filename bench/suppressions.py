"""Benchmark of the compliance bulk paths on PostgreSQL, each beside its anchor:

- import of an unsubscribe list (1M rows) vs raw COPY of the same rows into the same table;
- the admin import (preview + confirm, 100k rows) vs django-import-export's default path
  (a ModelResource, dry run then import), measured on `--default-rows` and compared as rates;
- export of a 1M-address list vs COPY TO STDOUT of the same rows, with peak memory;
- purge of each `--purge-shapes` (accounts × contacts each) vs one raw DELETE of as many,
  in paired rounds, with the longest transaction (the longest any lock is held) of the purge;
- import, export and the purge of one account at two sizes ten times apart.

    DEBUG=1 DATABASE_URL=postgres://postgres@127.0.0.1:5432/bo_bench \
        .venv/bin/python -m bench.suppressions [--rows 1000000] [--admin-rows 100000] \
        [--default-rows 5000] [--purge-shapes 1x10000000,100x100000,1x1000000] [--runs 3]

Every measurement works on new accounts (suppressions cannot be deleted, so nothing is
cleaned up: use a database you can drop). Each step runs in its own process (bench.harness).
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backoffice.settings")

from bench.harness import median, step, write_section  # noqa: E402

MODULE = "bench.suppressions"
BASE = datetime(2025, 1, 1, tzinfo=UTC)


# --- Data (in the driving process, not measured) --------------------------------------------


def _address(i: int) -> str:
    digest = hashlib.blake2b(str(i).encode(), digest_size=4).hexdigest()
    return f"Person.{i}+{digest}@Example{i % 997}.com"


def make_list(path: str, rows: int) -> None:
    """A SendGrid-style list: email,created (Unix seconds)."""
    start = int(BASE.timestamp())
    with open(path, "w", newline="") as out:
        out.write("email,created\n")
        for i in range(rows):
            out.write(f"{_address(i)},{start + i}\n")


def make_copy_file(path: str, rows: int, account_id: int) -> None:
    """The same rows, normalised, in COPY text format for the raw anchor (the source as the
    table stores it: its letter)."""
    from compliance.models import SOURCE_CODES, SuppressionSource

    IMPORT_CODE = SOURCE_CODES[SuppressionSource.IMPORT]
    with open(path, "w") as out:
        for i in range(rows):
            address = _address(i)
            at = datetime.fromtimestamp(int(BASE.timestamp()) + i, tz=UTC).isoformat()
            out.write(
                f"{account_id}\t{address}\t{address.lower()}\t{IMPORT_CODE}\tu\t{at}\t"
                f"line {i + 2}\t\n"
            )


def new_account(prefix: str, **fields) -> int:
    from accounts.models import Account

    return Account.objects.create(
        username=f"{prefix}-{uuid.uuid4().hex[:10]}",
        primary_email="bench@example.com",
        **fields,
    ).pk


# --- Measured steps (each in its own process) -----------------------------------------------


def raw_copy(path: str) -> dict:
    from django.db import connection

    with connection.cursor() as cursor, open(path, "rb") as data:
        with cursor.cursor.copy(
            "COPY compliance_suppression (account_id, address, normalised, source, reason, at, "
            "evidence, by_job) FROM STDIN"
        ) as copy:
            while block := data.read(1 << 20):
                copy.write(block)
    return {}


def our_import(path: str, account_id: int) -> dict:
    from accounts.models import Account
    from compliance.services import suppressions_import
    from core.actors import Actor

    with open(path, "rb") as stream:
        outcome = suppressions_import(
            account=Account.objects.get(pk=account_id),
            stream=stream,
            file_name=Path(path).name,
            by=Actor.system("bench"),
            now=datetime.now(UTC),
            dry_run=False,
        )
    return {"added": outcome.added}


def admin_ours(path: str, account_id: int) -> dict:
    """What the admin does with an upload: keep it, preview, then import on confirm."""
    from accounts.models import Account
    from compliance.services import (
        suppression_import_apply,
        suppression_import_preview,
        suppression_import_start,
    )
    from core.actors import Actor

    now = datetime.now(UTC)
    with open(path, "rb") as upload:
        record = suppression_import_start(
            account=Account.objects.get(pk=account_id),
            chunks=iter(lambda: upload.read(64 * 1024), b""),
            file_name=Path(path).name,
            by=Actor.system("bench"),
            now=now,
        )
    suppression_import_preview(record_id=record.pk, now=now)
    record = suppression_import_apply(record_id=record.pk, now=now)
    return {"added": record.counts["added"]}


def admin_default(path: str, account_id: int) -> dict:
    """django-import-export's default path for the same rows: a ModelResource, a dry run
    (the preview) and then the import (the confirm), each parsing the whole file."""
    import tablib
    from import_export import fields, resources, widgets

    from compliance.models import Suppression

    class DefaultResource(resources.ModelResource):
        account = fields.Field(
            attribute="account",
            column_name="account",
            widget=widgets.ForeignKeyWidget(Suppression._meta.get_field("account").related_model),
        )

        class Meta:
            model = Suppression
            fields = ("account", "address", "normalised", "source", "reason", "at")
            import_id_fields = ("account", "normalised")

    for dry_run in (True, False):
        with open(path) as source:
            reader = csv.reader(source)
            next(reader)
            dataset = tablib.Dataset(
                headers=["account", "address", "normalised", "source", "reason", "at"]
            )
            for email, created in reader:
                at = datetime.fromtimestamp(int(created), tz=UTC).strftime("%Y-%m-%d %H:%M:%S")
                dataset.append([account_id, email, email.lower(), "import", "u", at])
        result = DefaultResource().import_data(dataset, dry_run=dry_run, raise_errors=True)
    return {"rows": result.totals.get("new", 0)}


def export_raw(account_id: int, reader: str = "psycopg") -> dict:
    from django.db import connection

    if reader == "libpq":
        return export_raw_libpq(account_id)
    size = 0
    with connection.cursor() as cursor, open(os.devnull, "wb") as sink:
        with cursor.cursor.copy(
            "COPY (SELECT normalised, at, source FROM compliance_suppression "
            f"WHERE account_id = {int(account_id)}) TO STDOUT WITH (FORMAT csv)"
        ) as copy:
            for block in copy:
                size += len(block)
                sink.write(block)
    return {"bytes": size}


def export_raw_libpq(account_id: int) -> dict:
    """The same COPY, its rows read the way the product's export reads them."""
    from django.db import connection

    from compliance.services.exports import copy_out

    size = 0
    with connection.cursor() as cursor, open(os.devnull, "wb") as sink:
        for block in copy_out(
            cursor.cursor.connection.pgconn,
            (
                "COPY (SELECT normalised, at, source FROM compliance_suppression "
                f"WHERE account_id = {int(account_id)}) TO STDOUT WITH (FORMAT csv)"
            ).encode(),
        ):
            size += len(block)
            sink.write(block)
    return {"bytes": size}


def export_ours(account_id: int, fmt: str = "csv") -> dict:
    from accounts.models import Account
    from compliance.services import suppression_export
    from core.actors import Actor

    size = 0
    with open(os.devnull, "wb") as sink:
        for block in suppression_export(
            account=Account.objects.get(pk=account_id),
            purpose="benchmark",
            fmt=fmt,
            by=Actor.system("bench"),
            now=datetime.now(UTC),
        ):
            size += len(block)
            sink.write(block)
    return {"bytes": size}


def purge_setup(accounts: int, contacts: int, status: str) -> dict:
    """`accounts` accounts, cancelled 200 days ago (or `status`), with `contacts` each."""
    import io

    from django.db import connection

    from accounts.models import Account

    tag = uuid.uuid4().hex[:8]
    created = Account.objects.bulk_create(
        [
            Account(
                username=f"bench-purge-{tag}-{i:05d}",
                primary_email="bench@example.com",
                status=status,
                inactive_since=datetime.now(UTC) - timedelta(days=200),
                time_zone=random.choice(["UTC", "Europe/Berlin", "America/New_York"]),
            )
            for i in range(accounts)
        ]
    )
    now = datetime.now(UTC).isoformat()
    with connection.cursor() as cursor:
        with cursor.cursor.copy(
            "COPY accounts_contact (account_id, email, name, created_at) FROM STDIN"
        ) as copy:
            for a in created:
                buffer = io.StringIO()
                for j in range(contacts):
                    buffer.write(f"{a.pk}\tc{j}-{a.pk}@example.com\t\t{now}\n")
                copy.write(buffer.getvalue())
        # Contacts of an account inactive for 120 days were written long ago: autovacuum has
        # marked their pages all-visible. Model that for both sides of the comparison.
        cursor.execute("VACUUM (ANALYZE) accounts_contact")
        # And autovacuum keeps the accounts' statistics current: without them (autovacuum is
        # off on the benchmark's server) the planner takes each purge step's look for the
        # group's due accounts through the retention index, over every account past retention
        # (tens of thousands after a few rounds), instead of by their ids.
        cursor.execute("ANALYZE accounts_account")
    return {"ids": [a.pk for a in created]}


def purge_raw(ids: list[int]) -> dict:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM accounts_contact WHERE account_id = ANY(%s)", [ids])
        return {"deleted": cursor.rowcount}


def purge_ours(ids: list[int]) -> dict:
    """The purge job's loop over the due accounts, timing every transaction."""
    from core.actors import Actor
    from workflows.purge import PURGE_GROUP_ACCOUNTS, accounts_purge_step

    by, now, times = Actor.system("purge_inactive"), datetime.now(UTC), []
    for start in range(0, len(ids), PURGE_GROUP_ACCOUNTS):
        group = ids[start : start + PURGE_GROUP_ACCOUNTS]
        while True:
            started = time.perf_counter()
            step = accounts_purge_step(account_ids=group, by=by, now=now, run="bench")
            times.append(time.perf_counter() - started)
            if not step.more:
                break
    longest = max(times)
    return {
        "longest_transaction_s": round(longest, 3),
        "transactions": len(times),
        # Which one (1 = the first), and the median: a single slow step (a cold start, a
        # checkpoint) reads differently from slow steps throughout.
        "longest_is": times.index(longest) + 1,
        "median_transaction_s": round(statistics.median(times), 3),
    }


# --- Driver -----------------------------------------------------------------------------------


def purge_pair(env: dict, *, accounts: int, contacts: int):
    """One paired round of a purge shape, each step in a fresh process: one raw DELETE of the
    contacts of `accounts` new active accounts, then our purge of as many cancelled ones."""
    shape = {"accounts": accounts, "contacts": contacts}
    ids = step(MODULE, "purge_setup", env, status="active", **shape).extra["ids"]
    raw = step(MODULE, "purge_raw", env, ids=ids)
    ids = step(MODULE, "purge_setup", env, status="cancelled", **shape).extra["ids"]
    return raw, step(MODULE, "purge_ours", env, ids=ids)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--admin-rows", type=int, default=100_000)
    parser.add_argument("--default-rows", type=int, default=5_000)
    parser.add_argument(
        "--purge-shapes",
        default="1x10000000,100x100000,1x1000000",
        help="accounts x contacts each, comma-separated",
    )
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    if connection.vendor != "postgresql":
        raise SystemExit("run the benchmarks on PostgreSQL (DATABASE_URL=postgres://…)")
    call_command("migrate", verbosity=0)
    connection.close()
    load = os.getloadavg()[0]
    work = Path(tempfile.mkdtemp(prefix="bench-suppressions-"))
    env = {"COMPLIANCE_IMPORT_DIR": str(work / "uploads")}
    rows: list[list[str]] = []

    def ratio(ours: float, anchor: float) -> str:
        return f"{ours / anchor:.2f}×"

    # Import: ours vs raw COPY of the same rows into the same table.
    big = str(work / "list.csv")
    make_list(big, args.rows)
    raw, ours, export_account = [], [], None
    for _ in range(args.runs):
        account_id = new_account("bench-import")
        copy_file = str(work / "copy.txt")
        make_copy_file(copy_file, args.rows, new_account("bench-copy"))
        raw.append(step(MODULE, "raw_copy", env, path=copy_file))
        ours.append(step(MODULE, "our_import", env, path=big, account_id=account_id))
        export_account = account_id
    ours_import = ours
    r, o = median(raw), median(ours)
    rows.append(
        [
            f"import {args.rows:,} rows",
            f"{o.rate(args.rows):,.0f} rows/s",
            f"raw COPY {r.rate(args.rows):,.0f} rows/s",
            ratio(o.rate(args.rows), r.rate(args.rows)),
            "≥ 0.5×",
            f"{o.peak_mb:.0f} MB",
        ]
    )

    # Admin import: ours (preview + confirm) vs django-import-export's default path.
    admin_file = str(work / "admin.csv")
    make_list(admin_file, args.admin_rows)
    small_file = str(work / "default.csv")
    make_list(small_file, args.default_rows)
    ours = [
        step(MODULE, "admin_ours", env, path=admin_file, account_id=new_account("bench-admin"))
        for _ in range(args.runs)
    ]
    default = step(
        MODULE, "admin_default", env, path=small_file, account_id=new_account("bench-default")
    )
    o = median(ours)
    rows.append(
        [
            f"admin import {args.admin_rows:,} rows (preview + confirm)",
            f"{o.rate(args.admin_rows):,.0f} rows/s",
            f"django-import-export default {default.rate(args.default_rows):,.0f} rows/s "
            f"(on {args.default_rows:,} rows)",
            ratio(o.rate(args.admin_rows), default.rate(args.default_rows)),
            "≥ 20×",
            f"{o.peak_mb:.0f} MB",
        ]
    )

    # Export: ours vs COPY TO STDOUT of the same rows, on the table as autovacuum leaves it
    # after an import (visibility map set: the covering index is read without the heap).
    with connection.cursor() as cursor:
        cursor.execute("VACUUM (ANALYZE) compliance_suppression")
    connection.close()
    # Paired rounds: the anchor and ours back to back in each round, the ratio taken per round
    # (a change in the machine's load moves both); the median and the range are printed.
    raw, raw_libpq, ours, hashed = [], [], [], []
    for _ in range(args.runs):
        raw.append(step(MODULE, "export_raw", env, account_id=export_account))
        raw_libpq.append(step(MODULE, "export_raw", env, account_id=export_account, reader="libpq"))
        ours.append(step(MODULE, "export_ours", env, account_id=export_account))
        hashed.append(step(MODULE, "export_ours", env, account_id=export_account, fmt="sha256"))
    r, o, h = median(raw), median(ours), median(hashed)
    for label, ms, m in (("export", ours, o), ("export sha256", hashed, h)):
        ratios = [a.seconds / b.seconds for a, b in zip(raw, ms, strict=True)]
        mid = statistics.median(ratios)
        rows.append(
            [
                f"{label} {args.rows:,} addresses",
                f"{m.rate(args.rows):,.0f} rows/s",
                f"COPY TO STDOUT {r.rate(args.rows):,.0f} rows/s",
                f"{mid:.2f}× ({min(ratios):.2f}–{max(ratios):.2f})"
                + ("" if mid >= 0.5 else " MISS"),
                "≥ 0.5×, < 150 MB",
                f"{m.peak_mb:.0f} MB",
            ]
        )

    # The anchor read as the product reads COPY (libpq directly): the server's share alone.
    r2 = median(raw_libpq)
    for label, ms, m in (("export", ours, o), ("export sha256", hashed, h)):
        ratios = [a.seconds / b.seconds for a, b in zip(raw_libpq, ms, strict=True)]
        rows.append(
            [
                f"{label}, anchor read as ours",
                f"{m.rate(args.rows):,.0f} rows/s",
                f"COPY TO STDOUT, libpq reader {r2.rate(args.rows):,.0f} rows/s",
                f"{statistics.median(ratios):.2f}× ({min(ratios):.2f}–{max(ratios):.2f})",
                "for reference",
                f"{m.peak_mb:.0f} MB",
            ]
        )

    # Memory stays flat: the same import and export at a tenth of the rows.
    tenth = max(1, args.rows // 10)
    tenth_file = str(work / "tenth.csv")
    make_list(tenth_file, tenth)
    tenth_account = new_account("bench-import-tenth")
    small_import = step(MODULE, "our_import", env, path=tenth_file, account_id=tenth_account)
    small_export = step(MODULE, "export_ours", env, account_id=tenth_account)
    big_import = median(ours_import)
    for label, small_m, big_m, goal in (
        ("import", small_import, big_import, "linear, < 200 MB, flat"),
        ("export", small_export, o, "linear, < 150 MB, the same"),
    ):
        rows.append(
            [
                f"{label} at {tenth:,} vs {args.rows:,} rows",
                f"{small_m.rate(tenth):,.0f} vs {big_m.rate(args.rows):,.0f} rows/s",
                f"{small_m.seconds:,.2f} s vs {big_m.seconds:,.2f} s",
                f"{big_m.seconds / small_m.seconds:.1f}× the time",
                goal,
                f"{small_m.peak_mb:.0f} MB vs {big_m.peak_mb:.0f} MB",
            ]
        )

    # Purge: ours vs one raw DELETE of as many contacts, in paired rounds, for each shape
    # (accounts × contacts each): one big account, many middling ones.
    purge_rates: dict[tuple[int, int], float] = {}
    for shape in args.purge_shapes.split(","):
        accounts, contacts = (int(n) for n in shape.lower().split("x"))
        total = accounts * contacts
        raw, ours = [], []
        for _ in range(args.runs):
            anchor, purged = purge_pair(env, accounts=accounts, contacts=contacts)
            raw.append(anchor)
            ours.append(purged)
        r, o = median(raw), median(ours)
        purge_rates[(accounts, contacts)] = o.rate(total)
        ratios = [a.seconds / b.seconds for a, b in zip(raw, ours, strict=True)]
        mid = statistics.median(ratios)
        longest = max(m.extra["longest_transaction_s"] for m in ours)
        steps = max(m.extra["transactions"] for m in ours)
        misses = []
        if mid < 0.5:
            misses.append("MISS ratio")
        if longest > 1.0:
            misses.append("MISS lock > 1 s")
        rows.append(
            [
                f"purge {accounts:,} × {contacts:,} contacts",
                f"{o.rate(total):,.0f} contacts/s",
                f"one raw DELETE {r.rate(total):,.0f} contacts/s",
                f"{mid:.2f}× ({min(ratios):.2f}–{max(ratios):.2f})",
                "≥ 0.5×, no lock > 1 s",
                f"longest transaction {longest:.2f} s of {steps:,}"
                + (f" ({', '.join(misses)})" if misses else ""),
            ]
        )
    singles = sorted(c for a, c in purge_rates if a == 1)
    if len(singles) >= 2:
        small_c, big_c = singles[0], singles[-1]
        rows.append(
            [
                f"purge of one account, {small_c:,} vs {big_c:,} contacts",
                f"{purge_rates[(1, small_c)]:,.0f} vs {purge_rates[(1, big_c)]:,.0f} contacts/s",
                "",
                f"{purge_rates[(1, big_c)] / purge_rates[(1, small_c)]:.2f}× the rate",
                "linear: the same rate",
                "",
            ]
        )

    write_section(
        "suppressions",
        "Compliance: import, admin import, export, purge",
        rows,
        ["what", "ours", "anchor", "ratio", "goal", "memory / locks"],
        notes=(
            f"Median of {args.runs} paired rounds (anchor and ours back to back; ratios are the "
            "median of the rounds' own ratios, their range in brackets), each step in a fresh "
            f"process; load average before the runs {load:.2f}; peak memory is the "
            "process's maximum resident set. The purge figure includes each account's "
            "receipt, its move to `purged` and its timeline event; each step takes the group's "
            "leading accounts whose content fits one batch of 100,000 rows by one plain DELETE "
            "per kind (counted first through the indexes), the rest take the bounded path: "
            "account by account, a big account's contacts in id ranges after the last one the "
            "previous step deleted (kept with its progress), other kinds by ctid, counted by the "
            "row count (no count of what is left). The contacts are vacuumed "
            "before both purges, as autovacuum leaves rows written months ago. The export "
            "reads COPY's rows straight from libpq; the anchor reads them through psycopg's COPY "
            "reader, as any client would, and the rows marked 'anchor read as ours' compare with "
            "the same COPY read the product's way (the server's share alone); the MD5 list is "
            "hashed in PostgreSQL, the SHA-256 list in the exporting process (the server's "
            "sha256() cost as much a row as the whole anchor), which leaves the server to spell "
            "the words. An account without opt-ins (the benchmark's) is read without R9's "
            "opt-in look-ups."
        ),
    )


if __name__ == "__main__":
    main()
