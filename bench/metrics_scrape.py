"""Benchmark of the operations endpoints at scale: with the data set of bench.generate
(1,000,000 accounts), a Prometheus scrape of /metrics (the business gauges are computed from
the database at every scrape), and the health endpoints a probe calls every few seconds.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bo_scale DEBUG=1 \\
        .venv/bin/python -m bench.metrics_scrape [--runs 15]

Each endpoint is requested once untimed (its queries counted, the slowest printed), then
`--runs` times, in turns with the others; the median is kept. The anchor is the admin index
(the dashboard, which shows the same figures to staff), measured in the same run; the goal is
a scrape under one second, a fifteenth of a 15-second scrape interval (Prometheus gives up
after 10 s by default).
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

SCRAPE_GOAL_MS = 1000.0
PROBE_GOAL_MS = 100.0
TOKEN = "bench-scrape-token"


def first(client, url: str, **headers) -> dict:
    """An untimed request: its queries counted, its slowest query kept."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, **headers)
    if response.status_code != 200:
        raise SystemExit(f"{url} answered {response.status_code}")
    queries = list(captured.captured_queries)
    slowest = max(queries, key=lambda q: float(q["time"]), default=None)
    return {
        "queries": len(queries),
        "slowest_ms": float(slowest["time"]) * 1000 if slowest else 0.0,
        "slowest_sql": slowest["sql"] if slowest else "",
        "body": response.content.decode(),
        "timings": [],
    }


def timed(client, url: str, result: dict, **headers) -> str:
    started = time.perf_counter()
    response = client.get(url, **headers)
    body = response.content.decode()  # read in full, as the scraper does
    result["timings"].append((time.perf_counter() - started) * 1000)
    return body


def collect_seconds(page: str) -> float:
    for line in page.splitlines():
        if line.startswith("backoffice_metrics_collect_seconds "):
            return float(line.split()[1])
    raise SystemExit("the page has no backoffice_metrics_collect_seconds")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--no-write", action="store_true", help="print, leave README alone")
    args = parser.parse_args()

    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client

    from bench.harness import staff_login

    if connection.vendor != "postgresql":
        raise SystemExit("run the benchmarks on PostgreSQL (DATABASE_URL=postgres://…)")
    settings.DEBUG = False
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    settings.METRICS_TOKEN = TOKEN
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_class WHERE relname = 'bench_generated'")
        if not cursor.fetchone()[0]:
            raise SystemExit("no data set: run `python -m bench.generate` first")
        cursor.execute("SELECT phase, rows FROM bench_generated")
        generated = dict(cursor.fetchall())
    from accounts.models import Account

    accounts = Account.objects.count()
    user, _ = get_user_model().objects.get_or_create(
        username="scale-admin", defaults={"is_staff": True, "is_superuser": True}
    )
    staff = Client()
    staff_login(staff, user)
    scraper, probe = Client(), Client()
    # Beat heard just now, as in a running system: /readyz answers 200 (and its log is quiet).
    from django.utils import timezone

    from ops.services import BEAT, heartbeat_record

    heartbeat_record(name=BEAT, now=timezone.now())
    load = os.getloadavg()[0]

    # Each warmed by an untimed request; then the anchor and the scrape in turns, so that
    # both see the same load on a shared machine.
    auth = {"HTTP_AUTHORIZATION": f"Bearer {TOKEN}"}
    dashboard, scrape = first(staff, "/admin/"), first(scraper, "/metrics", **auth)
    healthz, readyz = first(probe, "/healthz"), first(probe, "/readyz")
    gauges = []
    for _ in range(args.runs):
        timed(staff, "/admin/", dashboard)
        gauges.append(collect_seconds(timed(scraper, "/metrics", scrape, **auth)) * 1000)
        timed(probe, "/readyz", readyz)
        timed(probe, "/healthz", healthz)
    for result in (dashboard, scrape, healthz, readyz):
        result["median_ms"] = statistics.median(result["timings"])
    gauges_ms = statistics.median(gauges)
    lines = sum(1 for line in scrape["body"].splitlines() if not line.startswith("#"))

    def row(label, result, anchor_label, anchor_ms, goal_ms):
        return [
            label,
            f"{result['median_ms']:,.0f} ms"
            if result["median_ms"] >= 10
            else f"{result['median_ms']:,.1f} ms",
            f"{anchor_label} {anchor_ms:,.0f} ms" if anchor_label else "",
            f"{result['median_ms'] / anchor_ms:.2f}×" if anchor_label else "",
            f"≤ {goal_ms:,.0f} ms ({result['median_ms'] / goal_ms:.2f}×)",
            str(result["queries"]),
            f"{result['slowest_ms']:,.0f} ms",
        ]

    rows = [
        row(
            "/metrics scrape",
            scrape,
            "admin index (dashboard)",
            dashboard["median_ms"],
            SCRAPE_GOAL_MS,
        ),
        [
            "of which business gauges and queue lengths",
            f"{gauges_ms:,.0f} ms",
            "",
            "",
            "",
            "",
            "",
        ],
        row("/readyz (database, migrations, broker, beat)", readyz, "", 0, PROBE_GOAL_MS),
        row("/healthz", healthz, "", 0, PROBE_GOAL_MS),
    ]
    for label, result in (
        ("dashboard", dashboard),
        ("metrics", scrape),
        ("readyz", readyz),
        ("healthz", healthz),
    ):
        print(
            f"{label:10} {result['median_ms']:8.1f} ms  {result['queries']:3} queries, "
            f"slowest {result['slowest_ms']:.1f} ms",
            flush=True,
        )
        if result["slowest_ms"] > 50:
            print(f"    slowest: {result['slowest_sql'][:400]}")
    print(f"business gauges {gauges_ms:.1f} ms; {lines} samples on the page")
    if args.no_write:
        return
    from bench.harness import write_section

    write_section(
        "metrics_scrape",
        f"Operations: metrics scrape and health probes at {accounts:,} accounts",
        rows,
        ["endpoint", "median", "anchor", "ratio", "goal", "queries", "slowest query"],
        notes=(
            f"Median of {args.runs} requests each through Django's test client, in turns, in "
            "one process, DEBUG off, against the data set of `python -m bench.generate`, with "
            "the broker on Redis. The anchor of the scrape is the admin index (the "
            "dashboard), measured in the same run: staff see the same figures there. The "
            "scrape's goal is one second, a fifteenth of a 15-second scrape interval; the "
            "probes' is 100 ms. The data set: "
            + ", ".join(f"{phase} {rows:,}" for phase, rows in sorted(generated.items()))
            + " rows (billing: profiles, cards, ledger entries and cancellation requests). "
            "Queries are counted on an untimed first request; the "
            f"scrape's page had {lines} samples. The business gauges are aggregates over "
            "indexes (`ops/gauges.py`): accounts by state is an index-only count of the "
            "status index, the others read small partial ranges. Load average before the "
            f"run {load:.2f} (the machine was shared)."
        ),
    )


if __name__ == "__main__":
    main()
