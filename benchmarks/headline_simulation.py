"""Which whole-budget method can be the headline? Simulated residents on budgets of very unequal
lines (issue 10 point 1; results in BENCHMARKS.md, "Choosing the headline").

For each budget shape and method, with the dashboard's own bootstrap intervals
(`dashboard.bootstrap_interval`):

* symmetric: residents spread symmetrically around the city's plan (each nudges `MOVES` random
  lines by +-10%, each direction equally likely). Reported: lines whose 95% interval leaves out
  the city's amount (about 5% of lines by chance for a method centred on the city), and how far
  the largest line moved (% of its amount).
* shift: the same, plus 60% of residents raise one mid-sized line by 10% (the others on the
  line do not touch it). Reported: whether the target line's interval lies above the city's.

Run: `.venv/bin/python benchmarks/headline_simulation.py [--residents 1000] [--resamples 100]`.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time

import polars as pl

from budget_sim.insights import METHODS, dashboard
from tests.insights.simulated import city_amounts, lines_frame, residents


def run(shape_name: str, lines: int, count: int, resamples: int, seed: int) -> list[dict]:
    city = city_amounts(shape_name, lines, seed)
    frame = lines_frame(city)
    order = sorted(range(lines), key=city.__getitem__)
    target = order[len(order) // 2]  # a mid-sized line
    largest = order[-1]
    rows = []
    for scenario, table in (
        ("symmetric", residents(city, count, seed=seed)),
        ("shift", residents(city, count, seed=seed + 1, target=target)),
    ):
        whole = dashboard.whole_budget(table, frame)
        for method in METHODS:
            started = time.perf_counter()
            interval = dashboard.bootstrap_interval(
                table, frame, method=method, resamples=resamples, seed=seed
            )
            joined = whole.join(interval.bounds, on="line_id")
            outside = joined.filter(
                (pl.col("city") < pl.col("low")) | (pl.col("city") > pl.col("high"))
            )
            big = joined.row(largest, named=True)
            # how far beyond its interval the worst line sits, in half-widths of the interval
            reach = joined.select(
                (
                    (pl.col(method) - pl.col("city")).abs() / ((pl.col("high") - pl.col("low")) / 2)
                ).max()
            ).item()
            row = {
                "shape": shape_name,
                "lines": lines,
                "scenario": scenario,
                "method": method,
                "outside": outside.height,
                "reach": reach,
                "largest_moved_pct": 100 * (big[method] - big["city"]) / big["city"],
                "seconds": time.perf_counter() - started,
            }
            if scenario == "shift":
                t = joined.row(target, named=True)
                row["target_low_above_city"] = t["low"] > t["city"]
                row["target_moved_pct"] = 100 * (t[method] - t["city"]) / t["city"]
            rows.append(row)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--residents", type=int, default=1000)
    parser.add_argument("--resamples", type=int, default=100)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--lines", default="50,108,300")
    parser.add_argument("--shapes", default="lognormal,dominant,power")
    args = parser.parse_args()
    print(f"# {platform.processor() or platform.machine()}, Python {sys.version.split()[0]}")
    print(f"# residents={args.residents} resamples={args.resamples} seed={args.seed}")
    print(
        "shape | lines | method | symmetric: lines outside | worst line (half-widths) | "
        "largest line moved | shift: target moved | target interval above city"
    )
    for lines in map(int, args.lines.split(",")):
        for name in args.shapes.split(","):
            found = run(name, lines, args.residents, args.resamples, args.seed)
            sym = {r["method"]: r for r in found if r["scenario"] == "symmetric"}
            shift = {r["method"]: r for r in found if r["scenario"] == "shift"}
            for method in METHODS:
                s, t = sym[method], shift[method]
                print(
                    f"{name} | {lines} | {method} | {s['outside']} | {s['reach']:.1f} | "
                    f"{s['largest_moved_pct']:+.2f}% | {t['target_moved_pct']:+.2f}% | "
                    f"{'yes' if t['target_low_above_city'] else 'no'}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
