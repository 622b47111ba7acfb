"""How often does the trade-offs table list a pair in pure noise? (issue 10 point 4; results in
BENCHMARKS.md, "Trade-offs in noise").

Each table: `--residents` simulated submissions on 40 lines that residents move independently,
most of them rarely (`tests.insights.test_no_discoveries_in_noise.unrelated_lines`). A table
"flags" when any pair has a q-value at most 5% after the Benjamini-Hochberg control. The control
promises at most 5% of such all-noise tables flag something.

Run: `.venv/bin/python benchmarks/tradeoff_noise.py [--tables 400] [--residents 4000]`.
"""

from __future__ import annotations

import argparse
import math
import platform
import statistics
import sys
import time

import polars as pl

from budget_sim.insights import tradeoffs
from tests.insights.test_no_discoveries_in_noise import unrelated_lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tables", type=int, default=400)
    parser.add_argument("--residents", type=int, default=4000)
    parser.add_argument("--seed", type=int, default=1000)
    args = parser.parse_args()
    flagged, tests, seconds = 0, [], []
    for seed in range(args.seed, args.seed + args.tables):
        table, lines = unrelated_lines(args.residents, seed)
        started = time.perf_counter()
        pairs = tradeoffs.tested(table, lines)
        seconds.append(time.perf_counter() - started)
        tests.append(pairs.height)
        flagged += pairs.filter(pl.col("q_value") <= 0.05).height > 0
    rate = flagged / args.tables
    half = 1.96 * math.sqrt(rate * (1 - rate) / args.tables)
    print(f"python {sys.version.split()[0]}, polars {pl.__version__}, {platform.machine()}")
    print(
        f"{flagged} of {args.tables} all-noise tables listed a pair: {rate:.1%} "
        f"(95% interval {max(rate - half, 0):.1%} to {rate + half:.1%}); "
        f"pairs tested per table: median {statistics.median(tests):.0f}; "
        f"seconds per table: median {statistics.median(seconds):.3f}"
    )


if __name__ == "__main__":
    main()
