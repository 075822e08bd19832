"""The crash-consistency soak: the kill-anywhere test (tests/jobs/test_crash_consistency.py)
again and again, each time with a new seed, more data and longer faults than CI gives it,
until the time is up or a seed fails. Each seed is printed before it runs; a failure prints
the command that replays it and stops.

    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/NAME
    export CELERY_BROKER_URL=redis://127.0.0.1:6379/N
    .venv/bin/python -m bench.soak [--minutes 60] [--scale 3] [--chaos 120] [--seed S ...]

With `--seed` (repeatable) it runs just those seeds: a replay. The test creates its own test
database next to DATABASE_URL's and starts its own Celery workers on a queue of its own;
PostgreSQL and Redis must run on this machine. Logs of each seed are kept under var/soak/.
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TEST = "tests/jobs/test_crash_consistency.py"


def replay(seed: int, scale: int, chaos: float) -> str:
    return (
        f"FAULT_SEED={seed} FAULT_SCALE={scale} FAULT_CHAOS_SECONDS={chaos:g} "
        f"python3 dev.py test {TEST} -s"
    )


def run_seed(seed: int, *, scale: int, chaos: float, logs: Path) -> bool:
    env = {
        **os.environ,
        "FAULT_SEED": str(seed),
        "FAULT_SCALE": str(scale),
        "FAULT_CHAOS_SECONDS": str(chaos),
        "DEBUG": os.environ.get("DEBUG", "1"),
    }
    log = logs / f"seed-{seed}.log"
    started = time.monotonic()
    with log.open("wb") as out:
        result = subprocess.run(
            [sys.executable, "-m", "pytest", TEST, "-q", "-s", "-p", "no:cacheprovider"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    seconds = time.monotonic() - started
    summary = [
        line
        for line in log.read_text(errors="replace").splitlines()
        if line.startswith("seed ") or "violation" in line or line.startswith("E ")
    ]
    verdict = "passed" if result.returncode == 0 else "FAILED"
    faults = summary[0].removeprefix(f"seed {seed}: ") if summary else ""
    print(f"seed {seed}: {verdict} in {seconds:.0f} s; {faults}")
    if result.returncode:
        for line in summary[1:12]:
            print(f"    {line}")
        print(f"    log: {log}")
    return result.returncode == 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=60, help="stop starting seeds after")
    parser.add_argument("--scale", type=int, default=3, help="data per job, times CI's")
    parser.add_argument("--chaos", type=float, default=120, help="seconds of faults per seed")
    parser.add_argument("--seed", type=int, action="append", help="run this seed (replay)")
    args = parser.parse_args()

    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        raise SystemExit("the soak needs PostgreSQL: set DATABASE_URL=postgres://…")
    if not os.environ.get("CELERY_BROKER_URL", "").startswith("redis"):
        raise SystemExit("the soak needs Redis: set CELERY_BROKER_URL=redis://…")
    logs = ROOT / "var" / "soak"
    logs.mkdir(parents=True, exist_ok=True)
    fresh = random.SystemRandom()
    seeds = iter(args.seed) if args.seed else iter(lambda: fresh.randrange(10**9), None)
    deadline = time.monotonic() + args.minutes * 60
    passed = 0
    for seed in seeds:
        print(f"seed {seed}: running (scale {args.scale}, {args.chaos:g} s of faults)", flush=True)
        if not run_seed(seed, scale=args.scale, chaos=args.chaos, logs=logs):
            print(f"replay: {replay(seed, args.scale, args.chaos)}")
            raise SystemExit(1)
        passed += 1
        if not args.seed and time.monotonic() > deadline:
            break
    print(f"{passed} seed(s) passed")


if __name__ == "__main__":
    main()
