"""Suppression storage and the R9 check at scale: what a suppression row costs on disk (the
heap and every index, each printed, beside the goal of 150 bytes a row), how often each index
has been used since the statistics were reset (after the other benchmarks ran: an index no
query uses shows 0), and the R9 check (compliance.selectors.suppressions_checked, 1,000
addresses, half of them on the list) for the biggest account of the data set and one with a
tenth of its suppressions, with the plan of the check (an index-only scan of
suppression_key_at_idx, and how many heap pages it had to visit).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bo_scale DEBUG=1 \
        .venv/bin/python -m bench.storage [--runs 5] [--no-write]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backoffice.settings")

GOAL_BYTES = 150
CHECK_KEYS = 1_000
# Which query reads each index (the staff's words), for the table.
USED_BY = {
    "compliance_suppression_pkey": "rows by id (a report's suppression, the admin's change page)",
    "suppression_key_at_idx": "the R9 check, the export, an account's list",
    "suppression_address_hash_idx": "is this address suppressed anywhere (search, erasure): "
    "equality only, a hash code a row",
    "suppression_erased_idx": "the erased keys of every account (the list of lifted events; "
    "partial: those rows only)",
    "suppression_by_user_idx": "the rows a staff member entered (a user's deletion check)",
    "suppression_rare_reason_idx": "the staff's lists of complaints, manual entries and "
    "erasures by date (partial: those rows only)",
}


def accounts_by_size() -> tuple[tuple[int, int], tuple[int, int]]:
    """(id, suppressions) of the biggest account and of the one nearest a tenth of it."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT account_id, suppressions FROM bench_accounts ORDER BY suppressions DESC"
        )
        rows = cursor.fetchall()
    if not rows:
        raise SystemExit("no bench_accounts table: generate the data set with bench.generate")
    big = rows[0]
    tenth = min(rows[1:] or rows, key=lambda row: abs(row[1] - big[1] / 10))
    return big, tenth


# The variable-length columns of a row, each measured over a sample of the table's pages.
SAMPLED_COLUMNS = ["address", "normalised", "source", "reason", "evidence", "by_job"]


def column_sizes() -> list[tuple[str, float, float]]:
    """(column, average bytes it takes in a row, share of rows where it is NULL or empty) over
    about 1% of the table's pages: the address as received is NULL where it is the key."""
    from django.db import connection

    parts = ", ".join(
        f"avg(coalesce(pg_column_size({c}), 0)), "
        f"avg(CASE WHEN coalesce({c}, '') = '' THEN 1.0 ELSE 0 END)"
        for c in SAMPLED_COLUMNS
    )
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {parts} FROM compliance_suppression TABLESAMPLE SYSTEM (1)")
        row = cursor.fetchone()
    return [
        (column, float(row[2 * i] or 0), float(row[2 * i + 1] or 0))
        for i, column in enumerate(SAMPLED_COLUMNS)
    ]


def keys_for(account_id: int) -> list[str]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT normalised FROM compliance_suppression WHERE account_id = %s "
            "ORDER BY normalised LIMIT %s",
            [account_id, CHECK_KEYS * 20],
        )
        listed = [row[0] for row in cursor.fetchall()]
        on_list = listed[:: max(1, len(listed) // (CHECK_KEYS // 2))][: CHECK_KEYS // 2]
    absent = [f"nobody{n}@example{n % 13}.org" for n in range(CHECK_KEYS - len(on_list))]
    return on_list + absent


def check_plan(account_id: int, keys: list[str]) -> dict:
    """EXPLAIN (ANALYZE, BUFFERS) of the R9 check: its index scans and heap visits."""
    from django.db import connection

    from compliance.addresses import hashed_key
    from compliance.selectors import ERASED_FROM, ERASED_TO, _check_sql_postgres, _moment

    params = {
        "account": account_id,
        "keys": "\n".join(keys),
        "hashed": "\n".join(hashed_key(k) for k in keys),
        "erased_from": ERASED_FROM,
        "erased_to": ERASED_TO,
        "at": _moment(datetime.now(UTC)),
    }
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + _check_sql_postgres(), params)
        plan = cursor.fetchone()[0]
    if isinstance(plan, str):
        plan = json.loads(plan)
    scans: list[dict] = []

    def walk(node: dict) -> None:
        if node.get("Relation Name") == "compliance_suppression":
            scans.append(
                {
                    "type": node["Node Type"],
                    "index": node.get("Index Name", ""),
                    "heap_fetches": node.get("Heap Fetches", 0),
                }
            )
        for child in node.get("Plans", []):
            walk(child)

    walk(plan[0]["Plan"])
    return {"scans": scans, "ms": plan[0]["Execution Time"]}


def check_ms(account_id: int, keys: list[str], runs: int) -> tuple[float, int]:
    from compliance.selectors import suppressions_checked

    found, timings = 0, []
    for _ in range(runs):
        started = time.perf_counter()
        found = len(suppressions_checked(account_id=account_id, keys=keys, at=datetime.now(UTC)))
        timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings), found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()

    import django

    django.setup()
    from django.db import connection

    if connection.vendor != "postgresql":
        raise SystemExit("run the benchmarks on PostgreSQL (DATABASE_URL=postgres://…)")
    load = os.getloadavg()[0]
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE compliance_suppression")
        cursor.execute(
            "SELECT reltuples::bigint, pg_relation_size(oid), "
            "pg_total_relation_size(oid) - pg_relation_size(oid) - pg_indexes_size(oid), "
            "pg_indexes_size(oid) FROM pg_class WHERE relname = 'compliance_suppression'"
        )
        rows, heap, toast, indexes = cursor.fetchone()
        cursor.execute(
            "SELECT indexrelname, pg_relation_size(indexrelid), idx_scan "
            "FROM pg_stat_user_indexes WHERE relname = 'compliance_suppression' "
            "ORDER BY pg_relation_size(indexrelid) DESC"
        )
        each = cursor.fetchall()
        cursor.execute(
            "SELECT stats_reset FROM pg_stat_database WHERE datname = current_database()"
        )
        since = cursor.fetchone()[0]
    total = heap + toast + indexes
    table = [
        [
            f"suppression row, all included ({rows:,} rows)",
            f"{total / rows:,.0f} B",
            f"≤ {GOAL_BYTES} B",
            f"{total / rows / GOAL_BYTES:.2f}×" + ("" if total / rows <= GOAL_BYTES else " MISS"),
            f"{total / 2**30:,.2f} GiB",
        ],
        ["· heap (and its TOAST, maps)", f"{(heap + toast) / rows:,.0f} B", "", "", ""],
    ]
    print(f"{rows:,} suppressions: {total / rows:.0f} B a row ({total / 2**30:.2f} GiB)")
    for name, size, scans in each:
        print(f"  {name:45} {size / rows:6.0f} B a row, {scans:,} scans")
        table.append(
            [
                f"· index {name}",
                f"{size / rows:,.0f} B",
                "",
                f"{scans:,} scans",
                USED_BY.get(name, "?"),
            ]
        )
    for column, average, empty in column_sizes():
        print(f"  column {column:38} {average:6.1f} B a row, {empty:.0%} NULL or empty")
        table.append(
            [
                f"· · column {column} (in the heap)",
                f"{average:,.1f} B",
                "",
                f"{empty:.0%} empty",
                "",
            ]
        )
    (big, big_n), (tenth, tenth_n) = accounts_by_size()
    results = []
    for account_id, n in ((tenth, tenth_n), (big, big_n)):
        keys = keys_for(account_id)
        check_ms(account_id, keys, 1)  # warm: the pages this account's checks read
        ms, found = check_ms(account_id, keys, args.runs)
        plan = check_plan(account_id, keys)
        index_only = all(
            s["type"] == "Index Only Scan" and s["index"] == "suppression_key_at_idx"
            for s in plan["scans"]
        )
        fetches = sum(s["heap_fetches"] for s in plan["scans"])
        print(
            f"R9 check of {len(keys):,} addresses, account with {n:,} suppressions: {ms:.1f} ms, "
            f"{found} found; plan {plan['scans']}"
        )
        results.append((n, ms, found, index_only, fetches, len(keys)))
    for n, ms, found, index_only, fetches, count in results:
        table.append(
            [
                f"R9 check, {count:,} addresses, account of {n:,} suppressions",
                f"{ms:,.1f} ms ({count / ms * 1000:,.0f} addresses/s)",
                "index-only lookup",
                ("index-only" if index_only else "MISS: not index-only")
                + f", {fetches} heap fetches",
                f"{found} on the list",
            ]
        )
    small, large = results
    table.append(
        [
            f"R9 check at {small[0]:,} vs {large[0]:,} suppressions (10×)",
            f"{small[1]:,.1f} ms vs {large[1]:,.1f} ms",
            "flat (a lookup per address)",
            f"{large[1] / small[1]:.2f}×",
            "",
        ]
    )
    if args.no_write:
        return
    from bench.harness import write_section

    write_section(
        "storage",
        "Suppressions: storage per row, index use, the R9 check",
        table,
        ["what", "ours", "goal", "ratio / use", "notes"],
        notes=(
            "`python -m bench.storage` after the other benchmarks. Bytes a row are the table's "
            "pages (heap, TOAST, free-space and visibility maps) and each index's pages over "
            "the planner's row count after ANALYZE. Scans are pg_stat_user_indexes.idx_scan "
            + (
                f"since the statistics were last reset ({since:%Y-%m-%d %H:%M} UTC), "
                if since
                else "since the database was created (never reset), "
            )
            + "i.e. the generator, every benchmark and check run on it. The R9 check is "
            "compliance.selectors.suppressions_checked (one set-based query), median of "
            f"{args.runs} calls after one warm call, with EXPLAIN (ANALYZE, BUFFERS) of the "
            f"same query for its plan. Load average before the run {load:.2f}."
        ),
    )


if __name__ == "__main__":
    main()
