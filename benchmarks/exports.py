"""Exports and intervals at scale (issue 10, point 8): Cambridge (114 lines) with --residents
demo submissions, served by `budget-sim serve` (one process).

1. The XLSX of every submission, downloaded with a personal API token (`create-token`): its
   time, the server process's RSS growth (sampled every 50 ms) and that of the whole process
   tree (the child that writes the file included), --runs times, after one warm-up CSV (which
   reads the table into the server's cache, as any dashboard does).
2. A resident's page (`GET /b/<slug>`) timed back to back, before and during the XLSX export.
3. The headline's 95% intervals, in a fresh process on the same table, for every method.

    .venv/bin/python benchmarks/exports.py [--residents 100000] [--runs 3] [--port 9200]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import HOST, ROOT, VENV_BIN, free_port, running_server, temporary_instance  # noqa: E402

SLUG = "cambridge-fy2026"
EMAIL, PASSWORD = "bench@city.example", "benchmark passphrase 2026"


def _cli(env: dict[str, str], *args: str, stdin: str | None = None) -> str:
    done = subprocess.run(
        [str(VENV_BIN / "budget-sim"), *args],
        env=env,
        cwd=ROOT,
        input=stdin,
        text=True,
        check=True,
        capture_output=True,
    )
    return done.stdout


def _rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except (FileNotFoundError, ProcessLookupError):
        pass
    return 0.0


def _tree(pid: int) -> list[int]:
    found = [pid]
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            children = (task / "children").read_text().split()
        except FileNotFoundError:
            continue
        for child in children:
            found.extend(_tree(int(child)))
    return found


class Sampler(threading.Thread):
    """Peak RSS of a process alone and of its process tree, every 50 ms until stopped."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.done = pid, threading.Event()
        self.peak_own = self.peak_tree = 0.0

    def run(self) -> None:
        while not self.done.is_set():
            self.peak_own = max(self.peak_own, _rss_mb(self.pid))
            self.peak_tree = max(self.peak_tree, sum(_rss_mb(p) for p in _tree(self.pid)))
            time.sleep(0.05)


def _get(url: str, token: str | None = None) -> tuple[float, int]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    started = time.perf_counter()
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=900) as r:
        size = len(r.read())
    return time.perf_counter() - started, size


def _latencies(url: str, stop: threading.Event, out: list[float]) -> None:
    while not stop.is_set():
        out.append(_get(url)[0])


def _quantiles(values: list[float]) -> dict[str, float]:
    values = sorted(values)
    return {
        "n": len(values),
        "median_ms": round(statistics.median(values) * 1000, 1),
        "p90_ms": round(values[int(0.9 * (len(values) - 1))] * 1000, 1),
        "max_ms": round(values[-1] * 1000, 1),
    }


def intervals_child(database_url: str) -> None:
    """In a fresh process: the 100k table, then the headline intervals of every method."""
    from budget_sim.analysis import load_budget, load_submissions
    from budget_sim.insights import METHODS, dashboard

    budget = load_budget(SLUG, database_url=database_url)
    table = load_submissions(database_url, SLUG, include_synthetic=True)
    table = table.select(*[c for c in table.columns if c not in budget.line_ids], *budget.line_ids)
    timings = {}
    for method in METHODS:
        started = time.perf_counter()
        interval = dashboard.bootstrap_interval(table, budget.lines, method=method)
        timings[method] = round(time.perf_counter() - started, 2)
    print(json.dumps({"rows": table.height, "seconds": timings, "note": interval.note}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--residents", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--port", type=int, default=0, help="default: any free port")
    parser.add_argument("--intervals-child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.intervals_child:
        intervals_child(args.intervals_child)
        return
    with temporary_instance() as instance:
        env = instance.env
        started = time.perf_counter()
        _cli(env, "demo", SLUG, "--residents", str(args.residents), "--seed", "1")
        demo_s = time.perf_counter() - started
        _cli(env, "create-staff", EMAIL, "--password-stdin", stdin=PASSWORD)
        token = _cli(env, "create-token", EMAIL, "--name", "benchmark").strip()
        port = args.port or free_port()
        command = [str(VENV_BIN / "budget-sim"), "serve", "--host", HOST, "--port", str(port)]
        log = instance.folder / "server.log"
        with running_server(command, env, port, log, start_timeout=300) as server:
            export = f"{server.base}/staff/b/{SLUG}/submissions"
            csv_s, csv_bytes = _get(export + ".csv?synthetic=1", token)  # warms the table
            parquet_s, parquet_bytes = _get(export + ".parquet?synthetic=1", token)
            resident = f"{server.base}/b/{SLUG}"
            before: list[float] = []
            stop = threading.Event()
            probe = threading.Thread(target=_latencies, args=(resident, stop, before))
            probe.start()
            time.sleep(15)
            stop.set()
            probe.join()
            runs, during = [], []
            for _ in range(args.runs):
                rss0 = _rss_mb(server.pid)
                tree0 = sum(_rss_mb(p) for p in _tree(server.pid))
                sampler = Sampler(server.pid)
                sampler.start()
                stop = threading.Event()
                probe = threading.Thread(target=_latencies, args=(resident, stop, during))
                probe.start()
                seconds, size = _get(export + ".xlsx?synthetic=1", token)
                stop.set()
                probe.join()
                sampler.done.set()
                sampler.join()
                runs.append(
                    {
                        "seconds": round(seconds, 1),
                        "mb": round(size / 1e6, 1),
                        "server_rss_before_mb": round(rss0),
                        "server_growth_mb": round(sampler.peak_own - rss0),
                        "tree_growth_mb": round(sampler.peak_tree - tree0),
                    }
                )
                print(json.dumps(runs[-1]), file=sys.stderr)
            after_mb = round(_rss_mb(server.pid))
        intervals = subprocess.run(
            [sys.executable, __file__, "--intervals-child", env["BUDGET_SIM_DATABASE_URL"]],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
    result = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}",
        "python": platform.python_version(),
        "residents": args.residents,
        "demo_s": round(demo_s, 1),
        "csv": {"seconds": round(csv_s, 2), "mb": round(csv_bytes / 1e6, 1)},
        "parquet": {"seconds": round(parquet_s, 2), "mb": round(parquet_bytes / 1e6, 1)},
        "xlsx_runs": runs,
        "xlsx_median_s": statistics.median(r["seconds"] for r in runs),
        "server_growth_median_mb": statistics.median(r["server_growth_mb"] for r in runs),
        "tree_growth_median_mb": statistics.median(r["tree_growth_mb"] for r in runs),
        "server_rss_after_mb": after_mb,
        "resident_before": _quantiles(before),
        "resident_during_xlsx": _quantiles(during),
        "intervals": json.loads(intervals.stdout),
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
