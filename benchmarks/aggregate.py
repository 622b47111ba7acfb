"""`budget_sim.insights.aggregate` on synthetic votes: seconds and peak memory per method.

DESIGN §9: insights for 1,000,000 submissions x 40 lines (every method + 200 bootstrap
resamples of the headline) under 5 s and 3 GB; 100,000 submissions under 1 s.

The votes are Dirichlet(1) splits of a total of 1,000,000 (from Polars hashes, so no NumPy),
Float64, 8 bytes a cell: 1M x 40 is 320 MB. Each (size, method) runs in a fresh child process
that builds them (column by column, so the build's peak is about the frame's size), records its
peak RSS (`resource.getrusage(RUSAGE_SELF).ru_maxrss`), then runs the method --runs times; the
table gives the median time, the peak RSS with the votes built, and the peak after the runs.

    .venv/bin/python benchmarks/aggregate.py [--sizes 100000,1000000] [--lines 40]
        [--runs 3] [--weighted] [--methods independent_markets,mean]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TOTAL = 1_000_000.0


def synthetic_votes(rows: int, lines: int, seed: int = 7):  # noqa: ANN201 (polars imported late)
    """Each row splits TOTAL over `lines` uniformly at random (normalised exponentials). Built
    and normalised one column at a time, so that the peak memory is about the frame's size."""
    import polars as pl

    index = pl.int_range(rows, eager=True)
    columns = []
    for j in range(lines):
        uniform = ((index.hash(seed=seed * 1000 + j) % 1_000_003).cast(pl.Float64) + 1) / 1_000_004
        columns.append((-uniform.log()).alias(f"line{j:02}"))
    draws = pl.DataFrame(columns)
    del columns
    scale = TOTAL / draws.select(pl.sum_horizontal(pl.all())).to_series()
    for c in draws.columns:
        draws = draws.with_columns(pl.col(c) * scale)
    return draws


def weights_for(rows: int):  # noqa: ANN201
    """Post-stratification-like weights: 8 strata, weights 0.5..2.25, summing to about rows."""
    import polars as pl

    stratum = pl.int_range(rows, eager=True).hash(seed=99) % 8
    w = 0.5 + stratum.cast(pl.Float64) / 4
    return w * (rows / w.sum())


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


def child(rows: int, lines: int, method: str, runs: int, weighted: bool) -> None:
    import polars as pl

    sys.path.insert(0, str(ROOT))
    from budget_sim.insights import aggregate

    votes = synthetic_votes(rows, lines)
    weights = weights_for(rows) if weighted else None
    loaded = rss_mb()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        result = aggregate(votes, total=TOTAL, method=method, weights=weights)
        times.append(time.perf_counter() - start)
    assert abs(sum(result) - TOTAL) <= 1e-6 * TOTAL
    print(
        json.dumps(
            {
                "seconds": statistics.median(times),
                "all": times,
                "loaded_mb": loaded,
                "peak_mb": rss_mb(),
                "threads": pl.thread_pool_size(),
            }
        )
    )


def main() -> None:
    from budget_sim.insights import METHODS

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--lines", type=int, default=40)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--weighted", action="store_true")
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--child", nargs=2, metavar=("ROWS", "METHOD"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(int(args.child[0]), args.lines, args.child[1], args.runs, args.weighted)
        return

    import polars as pl

    print(
        f"# {platform.node()} {platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}, Polars {pl.__version__}, "
        f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}"
    )
    print(f"# {args.lines} lines, median of {args.runs} runs, weighted={args.weighted}")
    print(f"{'rows':>9} {'method':<20} {'median s':>9} {'runs s':<24} {'RSS data':>9} {'peak':>9}")
    for rows in (int(s) for s in args.sizes.split(",")):
        total_seconds = 0.0
        for method in args.methods.split(","):
            command = [sys.executable, __file__, "--child", str(rows), method]
            command += ["--lines", str(args.lines), "--runs", str(args.runs)]
            command += ["--weighted"] if args.weighted else []
            out = subprocess.run(command, check=True, capture_output=True, text=True, cwd=ROOT)
            r = json.loads(out.stdout.strip().splitlines()[-1])
            total_seconds += r["seconds"]
            runs = " ".join(f"{t:.3f}" for t in r["all"])
            print(
                f"{rows:>9} {method:<20} {r['seconds']:>9.3f} {runs:<24} "
                f"{r['loaded_mb']:>7.0f}MB {r['peak_mb']:>7.0f}MB"
            )
        print(f"{rows:>9} {'(all methods)':<20} {total_seconds:>9.3f}")


if __name__ == "__main__":
    main()
