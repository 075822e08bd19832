"""Benchmark of `check_invariants` at scale: every invariant over the data set of
bench.generate (1,000,000 accounts), as the nightly check runs it. Goal: the whole check in
well under a nightly window, 15 minutes, with flat memory.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bo_scale DEBUG=1 \
        .venv/bin/python -m bench.invariants [--runs 3] [--batch 20000]

The anchor, measured in the same run: one sequential read of every row of the tables the
checks walk (`SELECT count(column)` of a column no index holds, so every row is read from the
table), the least a check of every row can cost. The ratio is
ours / anchor. Each measurement runs in a fresh process (bench.step); check and anchor take
turns, so both meet the same cache; the median of `--runs` is kept. The data set must keep
every invariant (bench.generate writes it so): a violation found is printed and fails the
benchmark.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backoffice.settings")

GOAL_SECONDS = 15 * 60
# The tables the checks walk row by row (the others they only probe through an index), each
# with a column no index holds: counting its values reads every row from the table itself.
WALKED = {
    "accounts_account": "company",
    "accounts_accountevent": "reason",
    "accounts_cancellationrequest": "callers_words",
    "billing_billingprofile": "unpaid_reason",
    "billing_ledgerentry": "description",
    "billing_cardchargeattempt": "message",
    "compliance_purgereceipt": "run",
    "compliance_suppressionimport": "file_name",
}


def check(batch: int) -> dict:
    """Run every invariant (in this process); seconds and violations of each."""
    from django.utils import timezone

    from backoffice.invariants import invariants_check

    per, shown = {}, 0
    for entry, violations in invariants_check(now=timezone.now(), batch=batch):
        started, found = time.perf_counter(), 0
        for violation in violations:
            found += 1
            if shown < 20:
                print(violation, file=sys.stderr)
                shown += 1
        per[entry.name] = [time.perf_counter() - started, found]
    return {"per": per}


def scan() -> dict:
    """Read every row of the walked tables once."""
    from django.db import connection

    rows = {}
    with connection.cursor() as cursor:
        for table, column in WALKED.items():
            cursor.execute(f"SELECT count({column}) FROM {table}")
            rows[table] = cursor.fetchone()[0]
    return {"rows": rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--batch", type=int, default=0, help="accounts per batch")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()

    import django

    django.setup()
    from django.db import connection

    from backoffice.invariants import ACCOUNTS_PER_BATCH
    from bench.harness import median, step, write_section

    if connection.vendor != "postgresql":
        raise SystemExit("the benchmarks run on PostgreSQL: set DATABASE_URL=postgres://…")
    batch = args.batch or ACCOUNTS_PER_BATCH
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM accounts_account")
        size = cursor.fetchone()[0]
        cursor.execute("SELECT pg_size_pretty(pg_database_size(current_database()))")
        db_size = cursor.fetchone()[0]
    connection.close()
    print(f"{size:,} accounts, database {db_size}; {args.runs} run(s), batches of {batch:,}")

    load = os.getloadavg()[0]
    checks, scans = [], []
    for n in range(args.runs):
        scans.append(step("bench.invariants", "scan"))
        checks.append(step("bench.invariants", "check", batch=batch))
        print(
            f"run {n + 1}: check {checks[-1].seconds:.1f} s ({checks[-1].peak_mb:.0f} MB), "
            f"anchor scan {scans[-1].seconds:.1f} s",
            flush=True,
        )
    ours, anchor = median(checks), median(scans)
    violations = sum(found for _, found in ours.extra["per"].values())
    rows_read = sum(anchor.extra["rows"].values())
    ratio = ours.seconds / anchor.seconds
    rows = [
        [
            f"check_invariants, {len(ours.extra['per'])} invariants, {size:,} accounts",
            f"{ours.seconds:,.1f} s",
            f"sequential read of {rows_read:,} rows {anchor.seconds:,.1f} s",
            f"{ratio:.2f}×",
            f"≤ {GOAL_SECONDS // 60} min ({ours.seconds / GOAL_SECONDS:.2f}× of it)",
            f"{ours.peak_mb:.0f} MB",
        ]
    ]
    for name, (seconds, found) in ours.extra["per"].items():
        rows.append(
            [
                f"· {name}",
                f"{seconds:,.1f} s",
                "",
                f"{seconds / ours.seconds:.0%} of the check",
                "",
                f"{found} violation(s)",
            ]
        )
    for row in rows:
        print(" | ".join(row))
    if violations:
        raise SystemExit(f"{violations} violation(s) in the data set: see above")
    if args.no_write:
        return
    write_section(
        "invariants",
        f"check_invariants at scale: {size:,} accounts",
        rows,
        ["what", "ours", "anchor", "ratio", "goal", "memory / found"],
        notes=(
            f"Median of {args.runs} runs (`python -m bench.invariants`), each in a fresh "
            f"process, taking turns with the anchor; batches of {batch:,} accounts; database "
            f"{db_size}; load average before the runs {load:.2f} (the machine is shared). "
            "The anchor reads every row of the tables the checks walk once "
            f"(`SELECT count(column)` of a column outside every index, of {', '.join(WALKED)}); "
            "the checks also probe contacts, add-ons, hosted files and the other content "
            "tables through their account index. "
            "Memory is the checking process's peak resident set: it stays the same whatever "
            "the size, as each batch is read and dropped."
        ),
    )


if __name__ == "__main__":
    main()
