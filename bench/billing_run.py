"""Benchmark of the billing run on PostgreSQL: accounts/second and peak memory for one worker
and for two, beside a naive one-account-at-a-time loop, at 10k and 100k due accounts.

    DEBUG=1 DATABASE_URL=postgres://postgres@127.0.0.1:5432/bo_bench \
        .venv/bin/python bench/billing_run.py [--accounts 100000] [--small 10000] [--naive 3000]

The database is migrated and filled on first use (accounts named bench-…, kept between runs).
Each measurement bills a new month, so nothing has to be deleted (the ledger refuses it).
Workers are separate processes, started together; throughput is accounts billed divided by
the time from the first worker's start of billing to the last one's end (Django start-up not
counted). Peak memory is each worker's maximum resident set size. The naive loop bills
`--naive` accounts with `billing_account_run`, one account at a time through the same claim,
gateway call and record (two short transactions and a handful of queries per account), and
is extrapolated as a rate. The mix: 70% monthly by card, 25% prepaid consuming a
month, 5% paused paying the pause fee; the test gateway answers in memory.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.harness import peak_mb  # noqa: E402 - importable once ROOT is on the path

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backoffice.settings")

ZONES = ["America/Los_Angeles", "America/New_York", "Europe/Berlin", "Asia/Tokyo", "UTC"]
FIRST_PERIOD = date(2030, 1, 1)


def setup() -> None:
    import django

    django.setup()


def ensure_data(total: int) -> None:
    from django.core.management import call_command

    from accounts.models import Account, AccountStatus
    from billing.models import BillingMode, BillingProfile, Card, Plan

    call_command("migrate", verbosity=0)
    plan, _ = Plan.objects.get_or_create(
        code="bench-growth",
        defaults={"name": "Growth", "monthly_price": Decimal("45.00"), "currency": "USD"},
    )
    have = Account.objects.filter(username__startswith="bench-").count()
    created = datetime(2029, 1, 1, tzinfo=UTC)
    chunk = 10_000
    for start in range(have, total, chunk):
        stop = min(start + chunk, total)
        accounts = Account.objects.bulk_create(
            [
                Account(
                    username=f"bench-{i:07d}",
                    primary_email=f"bench-{i:07d}@example.com",
                    time_zone=ZONES[i % len(ZONES)],
                    status=AccountStatus.PAUSED if i % 20 == 19 else AccountStatus.ACTIVE,
                    created_at=created,
                )
                for i in range(start, stop)
            ]
        )
        BillingProfile.objects.bulk_create(
            [
                BillingProfile(
                    account=a,
                    plan=plan,
                    mode=BillingMode.PREPAID if i % 4 == 1 else BillingMode.MONTHLY_CARD,
                    anchor_day=1,
                )
                for i, a in enumerate(accounts, start)
            ]
        )
        Card.objects.bulk_create(
            [
                Card(
                    account=a,
                    token="tok_ok_bench",
                    brand="Visa",
                    last4="1111",
                    exp_month=12,
                    exp_year=2099,
                    added_at=created,
                )
                for a in accounts
            ]
        )
        print(f"  created accounts {start}..{stop}", flush=True)


def prepare(month: int, due: int) -> datetime:
    """Make the first `due` bench accounts due on the month's billing date; returns as_of."""
    from django.db import connection

    period = date(FIRST_PERIOD.year + (month - 1) // 12, (month - 1) % 12 + 1, 1)
    with connection.cursor() as cursor:
        cursor.execute(
            """
            UPDATE billing_billingprofile p SET
                next_billing_date = %(period)s,
                due_at = CASE WHEN a.username < %(limit)s
                    THEN (%(period)s::timestamp AT TIME ZONE a.time_zone) END,
                prepaid_balance = CASE WHEN p.mode = 'prepaid' THEN 540 ELSE 0 END,
                card_declines = 0, first_declined_on = NULL, retry_on = NULL, unpaid_since = NULL
            FROM accounts_account a
            WHERE a.id = p.account_id AND a.username LIKE 'bench-%%'
            """,
            {"period": period, "limit": f"bench-{due:07d}"},
        )
        # As autovacuum would after such a change: the planner sees how much is due.
        cursor.execute("ANALYZE billing_billingprofile")
    # Late enough in UTC that the date has begun in every zone of the mix.
    return datetime(period.year, period.month, period.day, 16, tzinfo=UTC)


def next_month() -> int:
    """The month after the last one billed: each measurement bills a month never billed."""
    from django.db.models import Max

    from billing.models import BillingProfile

    last = BillingProfile.objects.filter(account__username__startswith="bench-").aggregate(
        last=Max("next_billing_date")
    )["last"]
    if last is None or last < FIRST_PERIOD:
        return 1
    return (last.year - FIRST_PERIOD.year) * 12 + last.month + 1


def worker(as_of: str, naive: int, run_id: int = 0) -> None:
    setup()
    from django.db import connection
    from django.utils.dateparse import parse_datetime

    from billing.models import BillingProfile
    from billing.selectors import profiles_due_for_billing
    from billing.services import billing_account_run, billing_run
    from core.actors import Actor

    moment = parse_datetime(as_of)
    by = Actor.system("bench")
    connection.ensure_connection()
    started, cpu_started = time.time(), time.process_time()
    if naive:
        # The straightforward loop: one account at a time, one row at a time.
        ids = list(
            BillingProfile.objects.filter(due_at__lte=moment)
            .order_by("id")
            .values_list("account_id", flat=True)[:naive]
        )
        from accounts.models import Account

        counts: dict[str, int] = {}
        for account_id in ids:
            for key, value in billing_account_run(
                account=Account.objects.get(pk=account_id), as_of=moment, by=by
            ).items():
                counts[key] = counts.get(key, 0) + value
    elif run_id:
        # As a Celery worker does with the run's jobs.run_batch tasks: claim each batch that
        # is still free and run it (the broker only carries the batch ids).
        from jobs.models import JobBatch
        from jobs.services import job_batch_run

        counts = {}
        batches = JobBatch.objects.filter(run_id=run_id).order_by("number")
        for batch_id in batches.values_list("pk", flat=True):
            if job_batch_run(batch_id=batch_id) == "done":
                for key, value in JobBatch.objects.get(pk=batch_id).counts.items():
                    counts[key] = counts.get(key, 0) + value
    else:
        counts = billing_run(profiles=profiles_due_for_billing(as_of=moment), as_of=moment, by=by)
    finished, cpu = time.time(), time.process_time() - cpu_started
    print(
        json.dumps(
            {"start": started, "end": finished, "cpu": cpu, "counts": counts, "peak_mb": peak_mb()}
        )
    )


def measure(as_of: datetime, workers: int, naive: int = 0) -> dict:
    args = [sys.executable, __file__, "--worker", as_of.isoformat()]
    if naive:
        args += ["--naive-worker", str(naive)]
    else:
        # The product's path: the run is planned into batches (timed with the rest), and the
        # workers share them.
        from jobs.services import job_run_plan

        planned = time.time()
        run = job_run_plan(name="run_billing", as_of=as_of, dry_run=False, trigger="command")
        args += ["--run", str(run.pk)]
    # Workers run as in production: DEBUG off (DEBUG keeps every query's text in memory).
    env = {**os.environ, "DEBUG": "0", "SECRET_KEY": os.environ.get("SECRET_KEY", "bench-only")}
    procs = [
        subprocess.Popen(args, stdout=subprocess.PIPE, cwd=ROOT, env=env) for _ in range(workers)
    ]
    results = []
    for proc in procs:
        out, _ = proc.communicate()
        if proc.returncode:
            raise SystemExit(f"worker failed ({proc.returncode})")
        results.append(json.loads(out.decode().strip().splitlines()[-1]))
    billed = sum(sum(r["counts"].values()) for r in results)
    started = min(r["start"] for r in results) if naive else planned
    seconds = max(r["end"] for r in results) - started
    return {
        "billed": billed,
        "seconds": seconds,
        "rate": billed / seconds if seconds else 0.0,
        "peak_mb": max(r["peak_mb"] for r in results),
        "per_worker": [sum(r["counts"].values()) for r in results],
        # Share of the wall time each worker was on a CPU: well below 1 with two workers
        # means they waited for a core (or for PostgreSQL), not for each other's locks.
        "cpu_share": [round(r["cpu"] / (r["end"] - r["start"]), 2) for r in results],
        "counts": results[0]["counts"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--naive", type=int, default=3_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--worker")
    parser.add_argument("--naive-worker", type=int, default=0)
    parser.add_argument("--run", type=int, default=0)
    options = parser.parse_args()
    if options.worker:
        return worker(options.worker, options.naive_worker, options.run)

    setup()
    from django.db import connection

    if connection.vendor != "postgresql":
        raise SystemExit("the benchmark runs on PostgreSQL: set DATABASE_URL=postgres://…")
    print(f"preparing {options.accounts} accounts…", flush=True)
    ensure_data(options.accounts)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    load_before = os.getloadavg()[0]
    month = next_month()
    rows = []

    def others_due(as_of: datetime) -> int:
        """Profiles outside the benchmark's own accounts that a run at `as_of` would bill."""
        from billing.selectors import profiles_due_for_billing

        return (
            profiles_due_for_billing(as_of=as_of)
            .exclude(account__username__startswith="bench-")
            .count()
        )

    def run(label: str, due: int, workers: int, naive: int = 0) -> dict:
        nonlocal month
        as_of = prepare(month, due)
        month += 1
        extra = others_due(as_of)
        if extra:
            raise SystemExit(
                f"{extra:,} other accounts are due at {as_of:%Y-%m-%d}: the run would bill them "
                "too. Run the billing benchmark in a database of its own (python -m bench does)."
            )
        result = measure(as_of, workers, naive)
        expected = min(naive, due) if naive else due
        result["expected"] = expected
        rows.append((label, due, workers, result))
        print(
            f"{label:28} due={due:>7} workers={workers} billed={result['billed']:>7} "
            f"{result['seconds']:8.2f}s {result['rate']:9.0f} accounts/s "
            f"peak {result['peak_mb']:6.1f} MB  split={result['per_worker']} "
            f"cpu share={result['cpu_share']}",
            flush=True,
        )
        return result

    # Paired rounds: each round measures the anchor (the naive loop) and ours back to back, so
    # a change in the machine's load between them moves both; the ratios' median and spread
    # are printed.
    rounds = []
    for _ in range(options.rounds):
        naive = run("naive loop (one at a time)", options.accounts, 1, options.naive)
        small = run("run_billing, 1 worker", options.small, 1)
        one = run("run_billing, 1 worker", options.accounts, 1)
        two = run("run_billing, 2 workers", options.accounts, 2)
        rounds.append((naive, small, one, two))

    def med(values: list[float]) -> float:
        import statistics

        return statistics.median(values)

    def spread(values: list[float]) -> str:
        return f"{min(values):.2f}–{max(values):.2f}"

    vs_naive = [one["rate"] / naive["rate"] for naive, _s, one, _t in rounds]
    vs_one = [two["rate"] / one["rate"] for _n, _s, one, two in rounds]
    print()
    print(f"1 worker vs naive loop: {med(vs_naive):.1f}× ({spread(vs_naive)}; goal ≥ 10×)")
    print(f"2 workers vs 1 worker: {med(vs_one):.2f}× ({spread(vs_one)}; goal ≥ 1.6×)")
    print(f"CPU cores: {os.cpu_count()}, load average before the runs: {load_before:.2f}")
    from bench.harness import write_section

    table = []
    for n, (label, due, workers) in enumerate(
        [
            ("naive loop (one at a time)", options.accounts, 1),
            ("run_billing, 1 worker", options.small, 1),
            ("run_billing, 1 worker", options.accounts, 1),
            ("run_billing, 2 workers", options.accounts, 2),
        ]
    ):
        results = [r[n] for r in rounds]
        billed = [r["billed"] for r in results]
        expected = results[0]["expected"]
        rates = [r["rate"] for r in results]
        shown = f"{expected:,} due" + (f", {due:,} in the set" if label.startswith("naive") else "")
        ok = all(b == r["expected"] for b, r in zip(billed, results, strict=True))
        table.append(
            [
                label,
                shown,
                ", ".join(f"{b:,}" for b in billed) + ("" if ok else " (MISS: billed ≠ due)"),
                str(workers),
                f"{med(rates):,.0f} ({min(rates):,.0f}–{max(rates):,.0f})",
                f"{max(r['peak_mb'] for r in results):.0f} MB",
            ]
        )
    table.append(
        [
            "1 worker vs naive loop",
            "",
            "",
            "",
            f"{med(vs_naive):.1f}× ({spread(vs_naive)})",
            "goal ≥ 10×" + ("" if med(vs_naive) >= 10 else " (MISS)"),
        ]
    )
    table.append(
        [
            "2 workers vs 1 worker",
            "",
            "",
            "",
            f"{med(vs_one):.2f}× ({spread(vs_one)})",
            "goal ≥ 1.6×" + ("" if med(vs_one) >= 1.6 else " (MISS)"),
        ]
    )
    write_section(
        "billing_run",
        "Billing: run_billing over due accounts",
        table,
        ["measurement", "due", "billed (each round)", "workers", "accounts/s", "peak memory"],
        notes=(
            f"{options.rounds} paired rounds (`python -m bench.billing_run`): each round runs the "
            "naive loop, then run_billing at both sizes and with two workers, back to back; "
            "accounts/s is the median with the rounds' range, each ratio the median of the "
            "rounds' own ratios with their range. The benchmark's accounts are the only ones due "
            "(it refuses a database where others are: `python -m bench` gives it a database of "
            f"its own), and every row's billed count is checked against its due count. Load "
            f"average before the runs {load_before:.2f} on {os.cpu_count()} cores. The "
            "run_billing rows go the product's way: the run is planned into batches of 2,000 "
            "(the planning is in the time), and each worker process claims and runs the batches "
            "still free, as Celery workers do with the run's `jobs.run_batch` tasks. Memory is "
            "each worker process's maximum resident set; it stays the same at "
            f"{options.small:,} and {options.accounts:,} accounts because the run works in "
            "bounded batches. The naive loop bills one account at a time with the same service "
            "(its claim, gateway call and record) and is extrapolated as a rate."
        ),
    )


if __name__ == "__main__":
    main()
