"""Benchmark of the admin at scale: with the data set of bench.generate (1,000,000 accounts),
the account list, each of its filters, the billing and retention filters, a search by exact
username and by exact email, an account page with about 5,000 events and the admin index
(the dashboard), each requested through Django's test client against PostgreSQL, as a
logged-in superuser, DEBUG off. Goal: every page under 300 ms median.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bo_scale DEBUG=1 \
        .venv/bin/python -m bench.admin_scale [--runs 7] [--only SUBSTRING]

Each page is requested once untimed (its queries counted, the slowest printed), then `--runs`
times; the median is kept. The anchor is the goal itself (300 ms): the ratio is median/goal,
under 1.00× meets it. The slowest query's share shows where the rest of the time goes
(templates and Python).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backoffice.settings")

GOAL_MS = 300.0


def pages() -> list[tuple[str, str]]:
    """(label, url) of every page measured; needs the generated data set."""
    from accounts.models import Account, AccountStatus
    from bench.generate import TIMELINE_USERNAME

    accounts = "/admin/accounts/account/"
    profiles = "/admin/billing/billingprofile/"
    retention = "/admin/compliance/retentionaccount/"
    # A search for an account in the middle of the table (not the first row of an index).
    probe = Account.objects.filter(username__startswith="scale-05").order_by("username").first()
    probe = probe or Account.objects.order_by("-id").first()
    timeline = Account.objects.get(username=TIMELINE_USERNAME)
    rows = [
        ("admin index (dashboard)", "/admin/"),
        ("account list", accounts),
    ]
    rows += [
        (f"account list, status {label.lower()}", f"{accounts}?status__exact={value}")
        for value, label in AccountStatus.choices
    ]
    rows += [
        ("account list, trial ends within 7 days", f"{accounts}?trial_ends=7d"),
        ("account list, confirmation overdue", f"{accounts}?confirmation=overdue"),
        ("account search, exact username", f"{accounts}?q={probe.username}"),
        ("account search, exact email", f"{accounts}?q={probe.primary_email}"),
        ("account page, ~5,000 events", f"{accounts}{timeline.pk}/change/"),
        (
            "full timeline of that account",
            f"/admin/accounts/accountevent/?account__id__exact={timeline.pk}",
        ),
        ("billing profiles", profiles),
    ]
    rows += [
        (f"billing profiles, suspended {key} days unpaid", f"{profiles}?days_unpaid={key}")
        for key in ("0-30", "31-60", "61-90", "91+")
    ]
    rows += [
        ("billing profiles, cancels within 7 days", f"{profiles}?cancels_soon=7"),
        ("retention, purge within 7 days", f"{retention}?purge=7d"),
    ]
    return rows


def measure(client, url: str, runs: int) -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    if response.status_code != 200:
        raise SystemExit(f"{url} answered {response.status_code}")
    # Read now: every request clears the connection's query log when it starts.
    queries = list(captured.captured_queries)
    slowest = max(queries, key=lambda q: float(q["time"]), default=None)
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        response = client.get(url)
        response.content  # noqa: B018 - rendered in full, as a browser would receive it
        timings.append((time.perf_counter() - started) * 1000)
    return {
        "median_ms": statistics.median(timings),
        "queries": len(queries),
        "slowest_ms": float(slowest["time"]) * 1000 if slowest else 0.0,
        "slowest_sql": slowest["sql"] if slowest else "",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--only", default="", help="measure only pages whose label has this")
    parser.add_argument("--no-write", action="store_true", help="print, leave README alone")
    args = parser.parse_args()

    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client

    from bench.generate import PHASES
    from bench.harness import staff_login

    if connection.vendor != "postgresql":
        raise SystemExit("run the benchmarks on PostgreSQL (DATABASE_URL=postgres://…)")
    # As in production: DEBUG off (DEBUG keeps every query's text), templates cached.
    settings.DEBUG = False
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_class WHERE relname = 'bench_generated'")
        if not cursor.fetchone()[0]:
            raise SystemExit("no data set: run `python -m bench.generate` first")
        cursor.execute("SELECT size FROM bench_generated WHERE phase = 'accounts'")
        size = cursor.fetchone()[0]
        cursor.execute("SELECT phase, rows, seconds FROM bench_generated")
        generated = sorted(cursor.fetchall(), key=lambda row: PHASES.index(row[0]))
    user, _ = get_user_model().objects.get_or_create(
        username="scale-admin", defaults={"is_staff": True, "is_superuser": True}
    )
    client = Client()
    staff_login(client, user)
    rows, results = [], []
    for label, url in pages():
        if args.only and args.only not in label:
            continue
        result = measure(client, url, args.runs)
        results.append((label, result))
        ratio = result["median_ms"] / GOAL_MS
        print(
            f"{label:48} {result['median_ms']:8.1f} ms  {ratio:5.2f}×  "
            f"{result['queries']:3} queries, slowest {result['slowest_ms']:.1f} ms",
            flush=True,
        )
        if result["slowest_ms"] > 50:
            print(f"    slowest: {result['slowest_sql'][:400]}")
        rows.append(
            [
                label,
                f"{result['median_ms']:,.0f} ms",
                f"{GOAL_MS:.0f} ms",
                f"{ratio:.2f}×",
                str(result["queries"]),
                f"{result['slowest_ms']:,.0f} ms",
            ]
        )
    over = [label for label, r in results if r["median_ms"] >= GOAL_MS]
    print(f"{len(results) - len(over)} of {len(results)} pages under {GOAL_MS:.0f} ms")
    if args.no_write or args.only:
        return
    from bench.harness import write_section

    write_section(
        "admin_scale",
        f"Admin at scale: {size:,} accounts",
        rows,
        ["page", "median", "goal", "ratio", "queries", "slowest query"],
        notes=(
            f"Median of {args.runs} requests per page through Django's test client, in one "
            "process, DEBUG off, as a superuser, against the data set of `python -m "
            "bench.generate`; the anchor is the goal (ratio = median / 300 ms, under 1.00× "
            "meets it). Queries are counted on an untimed first request. "
            + ("Over the goal: " + ", ".join(over) + "." if over else "Every page meets the goal.")
            + " The data set, written with COPY by bench.generate: "
            + "; ".join(
                f"{phase} {rows:,} rows in {seconds:,.0f} s ({rows / max(seconds, 0.001):,.0f}/s)"
                for phase, rows, seconds in generated
            )
            + " (billing: profiles, cards, ledger entries and cancellation requests)."
        ),
    )


if __name__ == "__main__":
    main()
