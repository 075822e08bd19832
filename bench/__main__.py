"""`python -m bench`: generate the data set (if it is not there yet), then run every
benchmark in sequence, each rewriting its section of bench/README.md:

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bo_scale DEBUG=1 .venv/bin/python -m bench

    --quick         small sizes throughout (a check that everything runs, in a few minutes)
    --only NAME     run only these benchmarks (repeatable): admin_scale, admin_walk,
                    metrics_scrape, invariants, billing_run, suppressions, suppression_api,
                    storage, forecast
    --accounts/--contacts/--suppressions   the data set's size (default 1M/60M/50M, skewed:
                    see bench.generate)

admin_scale, metrics_scrape and invariants run first, on the data set as generated;
suppressions, suppression_api and forecast then add their own accounts (named bench-…) to the
same database; billing_run runs in a database of its own (DATABASE_URL's name + "_billing"),
where only its accounts are due. Each benchmark runs in its own process; a failure stops the
sequence.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

FULL = {
    "admin_scale": [],
    "admin_walk": [],
    "metrics_scrape": [],
    "invariants": [],
    "billing_run": [],
    "suppressions": [],
    "suppression_api": [],
    "storage": [],
    "forecast": [],
}
QUICK = {
    "admin_scale": ["--runs", "3"],
    "admin_walk": ["--runs", "1"],
    "metrics_scrape": ["--runs", "3"],
    "invariants": ["--runs", "1"],
    "billing_run": ["--accounts", "10000", "--small", "1000", "--naive", "300", "--rounds", "1"],
    "suppressions": [
        "--rows",
        "100000",
        "--admin-rows",
        "10000",
        "--default-rows",
        "1000",
        "--purge-shapes",
        "1x100000,100x1000,1x10000",
        "--runs",
        "1",
    ],
    "suppression_api": ["--list", "50000", "--calls", "10", "--records", "500", "--runs", "1"],
    "storage": ["--runs", "3"],
    "forecast": ["--runs", "3"],
}


# Benchmarks that need a database of their own: the billing run bills every due account, and
# the generated data set's accounts are due too.
OWN_DATABASE = {"billing_run": "_billing"}


def own_database(suffix: str) -> dict[str, str]:
    """The environment for a benchmark in its own database (DATABASE_URL's name + suffix),
    created if missing."""
    import psycopg

    url = os.environ["DATABASE_URL"]
    base, _, name = url.rpartition("/")
    name = name.split("?")[0]
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        exists = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [name + suffix]
        ).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name + suffix}"')
    return {**os.environ, "DATABASE_URL": f"{base}/{name + suffix}"}


def run(args: list[str], env: dict[str, str] | None = None) -> None:
    print(f"\n$ python {' '.join(args)}", flush=True)
    started = time.perf_counter()
    result = subprocess.run([sys.executable, *args], cwd=ROOT, env=env or os.environ)
    if result.returncode:
        raise SystemExit(f"{' '.join(args)} failed ({result.returncode})")
    print(f"({time.perf_counter() - started:.0f}s)", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--only", action="append", choices=sorted(FULL))
    parser.add_argument("--accounts", type=int)
    parser.add_argument("--contacts", type=int)
    parser.add_argument("--suppressions", type=int)
    args = parser.parse_args()

    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        raise SystemExit("the benchmarks run on PostgreSQL: set DATABASE_URL=postgres://…")
    sizes = (20_000, 200_000, 100_000) if args.quick else (1_000_000, 60_000_000, 50_000_000)
    accounts = args.accounts or sizes[0]
    contacts = args.contacts or sizes[1]
    suppressions = args.suppressions or sizes[2]
    run(
        [
            "-m",
            "bench.generate",
            "--accounts",
            str(accounts),
            "--contacts",
            str(contacts),
            "--suppressions",
            str(suppressions),
        ]
    )
    options = QUICK if args.quick else FULL
    for name in FULL:
        if args.only and name not in args.only:
            continue
        env = own_database(OWN_DATABASE[name]) if name in OWN_DATABASE else None
        run(["-m", f"bench.{name}", *options[name]], env)


if __name__ == "__main__":
    main()
