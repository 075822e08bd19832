"""The purge of each shape (accounts × contacts each) beside one raw DELETE of as many rows, in
paired rounds, with the purge's longest transaction: bench.suppressions' purge steps alone.

    DEBUG=1 DATABASE_URL=postgres://postgres@127.0.0.1:5432/bo_bench \
        .venv/bin/python -m bench.purge_shapes [--shapes 100x10000,100x100000,1x1000000] [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backoffice.settings")

from bench.suppressions import purge_pair  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--shapes", default="100x10000,100x100000,1x1000000")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()[0]:.2f}", flush=True)
    for shape in args.shapes.split(","):
        accounts, contacts = (int(n) for n in shape.lower().split("x"))
        ratios, longest, steps = [], [], []
        for _ in range(args.runs):
            raw, ours = purge_pair({}, accounts=accounts, contacts=contacts)
            ratios.append(raw.seconds / ours.seconds)
            longest.append(ours.extra["longest_transaction_s"])
            steps.append(ours.extra["transactions"])
            print(
                f"  {shape}: raw {raw.seconds:.2f} s, ours {ours.seconds:.2f} s, "
                f"{ratios[-1]:.2f}×, longest transaction {longest[-1]:.2f} s of {steps[-1]} "
                f"(step {ours.extra['longest_is']}; median "
                f"{ours.extra['median_transaction_s']:.2f} s), "
                f"load {os.getloadavg()[0]:.2f}",
                flush=True,
            )
        print(
            f"{shape}: {statistics.median(ratios):.2f}× ({min(ratios):.2f}–{max(ratios):.2f}), "
            f"longest transaction {max(longest):.2f} s, load {os.getloadavg()[0]:.2f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
