"""`python -m bench`: generate the data set (if it is not there yet), then run every
benchmark in sequence, each rewriting its section of bench/README.md:

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bo_scale DEBUG=1 .venv/bin/python -m bench

    --quick         small sizes throughout (a check that everything runs, in a few minutes)
    --only NAME     run only these benchmarks (repeatable): admin_scale, metrics_scrape,
                    invariants, billing_run, suppressions, suppression_api
    --accounts/--contacts/--suppressions   the data set's size (default 1M/10M/5M)

admin_scale, metrics_scrape and invariants run first, on the data set as generated;
billing_run, suppressions and suppression_api then add their own accounts (named bench-…)
to the same database. Each benchmark runs in its own process; a failure stops the sequence.
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
    "metrics_scrape": [],
    "invariants": [],
    "billing_run": [],
    "suppressions": [],
    "suppression_api": [],
}
QUICK = {
    "admin_scale": ["--runs", "3"],
    "metrics_scrape": ["--runs", "3"],
    "invariants": ["--runs", "1"],
    "billing_run": ["--accounts", "10000", "--small", "2000", "--naive", "300"],
    "suppressions": [
        "--rows",
        "100000",
        "--admin-rows",
        "10000",
        "--default-rows",
        "1000",
        "--purge-accounts",
        "100",
        "--purge-contacts",
        "100",
        "--runs",
        "1",
    ],
    "suppression_api": ["--list", "50000", "--calls", "10", "--records", "500", "--runs", "1"],
}


def run(args: list[str]) -> None:
    print(f"\n$ python {' '.join(args)}", flush=True)
    started = time.perf_counter()
    result = subprocess.run([sys.executable, *args], cwd=ROOT, env=os.environ)
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
        run(["-m", f"bench.{name}", *options[name]])


if __name__ == "__main__":
    main()
