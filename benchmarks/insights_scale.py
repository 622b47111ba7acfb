"""The staff insights at scale (issue 4, point 6; DESIGN §9).

1. `dashboard`: Cambridge (114 real lines) with --residents demo submissions made by
   `budget-sim demo`, served by `budget-sim serve` (which computes the default views in the
   background as it starts); a signed-in analyst's `GET /staff/b/...` timed over HTTP: the
   first request right after start-up, repeated requests (cached), the first request after one
   more submission (the last figures, while the new one is added in the background), how long
   until the page counts it, and the first request of views nobody opened yet (weights, a
   comparison, a segment), computed on request; then, in a fresh process, the whole table's
   view computed from scratch: its insight tables, then its charts.
2. `scale`: --rows submissions of a 40-line budget (Cambridge's 40 largest spending lines, real
   amounts) written straight into a fresh SQLite database; in a fresh child process: reading them
   into the wide table, every insight table of the report (all methods side by side, per-line
   statistics, participation, weights, trade-offs), the bootstrap (subsampling) interval of the
   headline, the refresh after 1,000 more submissions, and the peak RSS of the process.

    .venv/bin/python benchmarks/insights_scale.py [--residents 100000] [--rows 1000000] [--runs 5]
        [--only dashboard|scale]
"""

from __future__ import annotations

import argparse
import dataclasses
import http.cookies
import json
import os
import platform
import resource
import secrets
import sqlite3
import statistics
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import HOST, ROOT, VENV_BIN, free_port, running_server, temporary_instance  # noqa: E402

SLUG = "cambridge-fy2026"
EMAIL, PASSWORD = "bench@city.example", "benchmark passphrase 2026"


def _cli(env: dict[str, str], *args: str, stdin: str | None = None) -> float:
    started = time.perf_counter()
    subprocess.run(
        [str(VENV_BIN / "budget-sim"), *args],
        env=env,
        cwd=ROOT,
        input=stdin,
        text=True,
        check=True,
        capture_output=True,
    )
    return time.perf_counter() - started


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # noqa: ANN002, ANN003, ANN201
        return None


def _sign_in(base: str) -> str:
    """The staff session cookie (sent by hand: urllib keeps no Secure cookie over http)."""
    body = urllib.parse.urlencode({"email": EMAIL, "password": PASSWORD, "next": "/staff"})
    request = urllib.request.Request(
        base + "/staff/login", data=body.encode(), headers={"Origin": base}, method="POST"
    )
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        opener.open(request, timeout=30)
    except urllib.error.HTTPError as redirect:
        cookie = http.cookies.SimpleCookie(redirect.headers["Set-Cookie"])
        return "; ".join(f"{k}={v.value}" for k, v in cookie.items())
    raise RuntimeError("sign-in did not redirect")


def _timed_get(url: str, cookie: str) -> tuple[float, str]:
    request = urllib.request.Request(url, headers={"Cookie": cookie})
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=600) as response:
        text = response.read().decode()
    return time.perf_counter() - started, text


def dashboard(args: argparse.Namespace) -> dict:
    with temporary_instance() as instance:
        env = instance.env
        made = _cli(env, "demo", SLUG, "--residents", str(args.residents), "--seed", "1")
        _cli(env, "create-staff", EMAIL, "--role", "analyst", "--password-stdin", stdin=PASSWORD)
        port = free_port()
        command = [str(VENV_BIN / "budget-sim"), "serve", "--host", HOST, "--port", str(port)]
        log = instance.folder / "server.log"
        with running_server(command, env, port, log) as server:
            cookie = _sign_in(server.base)
            url = f"{server.base}/staff/b/{SLUG}?synthetic=1"
            first, page = _timed_get(url, cookie)
            if f"{args.residents:,}</strong> submissions" not in page:
                raise RuntimeError(f"the dashboard does not show {args.residents:,} submissions")
            cached = [_timed_get(url, cookie)[0] for _ in range(args.runs)]
            _cli(env, "demo", SLUG, "--residents", "1", "--seed", "2")
            stored = time.perf_counter()
            after_one, page = _timed_get(url, cookie)
            if "1 newer submission is being added" not in page:
                raise RuntimeError("the dashboard did not say a new submission is being added")
            while f"{args.residents + 1:,}</strong> submissions" not in page:
                time.sleep(0.1)
                page = _timed_get(url, cookie)[1]
            up_to_date = time.perf_counter() - stored
            weighted, _ = _timed_get(url + "&weights=district", cookie)
            compared, _ = _timed_get(url + "&compare=age-band", cookie)
            segment, page = _timed_get(url + "&segment=neighborhood:east-cambridge", cookie)
            if "submissions in this segment" not in page:
                raise RuntimeError("the segment view does not say how many it counts")
        fresh = _child(instance.env, "--fresh", str(instance.folder / "bench.db"), args.runs)
    return {
        "demo_seconds": made,
        "first_request_s": first,  # right after start-up: waits for the warm-up, if still running
        "cached_median_s": statistics.median(cached),
        "after_one_more_s": after_one,  # the last figures, saying one is being added
        "up_to_date_after_s": up_to_date,  # from the new submission to a page counting it
        # Views nobody opened yet, computed on request. Cambridge gives no neighbourhood
        # populations, so the weighted view has the same figures and reuses the charts drawn;
        # the comparison adds a table per age band; a segment draws new charts for its rows.
        "weighted_first_s": weighted,
        "compare_first_s": compared,
        "segment_first_s": segment,
        # In a fresh process, the whole table: every insight table and all three charts drawn
        # anew (the drawing cache cleared before each run), medians of --runs.
        **fresh,
    }


def _forty_line_budget():  # noqa: ANN202
    """Cambridge with only its 40 largest spending lines (real amounts)."""
    import polars as pl

    from budget_sim.data import load_package

    budget = load_package(ROOT / "budget_data" / SLUG)
    lines = budget.lines.filter(pl.col("kind") == "expense").sort("amount", descending=True)
    lines = lines.head(40)
    return dataclasses.replace(budget, slug="bench-forty", lines=lines, variants={})


def _write_rows(path: Path, budget, rows: int, *, first: int = 0) -> None:  # noqa: ANN001
    """`rows` synthetic submissions, each line at 50-150% of the city's amount, a district
    drawn by population, spread over 30 days: written in one transaction."""
    import polars as pl
    import pyarrow as pa

    index = pl.int_range(first, first + rows, eager=True)
    amounts = [
        ((index.hash(seed=j) % 1_000_001 / 1_000_000 + 0.5) * amount)
        .round()
        .cast(pl.Int64)
        .alias(f"l{j}")
        for j, amount in enumerate(budget.lines["amount"].to_list())
    ]
    flat = pl.DataFrame(amounts).select(pl.concat_list(pl.all()).alias("a")).explode("a")["a"]
    buffer = flat.to_arrow().buffers()[1]
    width = 8 * budget.lines.height
    packed = pa.FixedSizeBinaryArray.from_buffers(pa.binary(width), rows, [None, buffer])
    district = next(q for q in budget.questions if q.kind == "district")
    options = [o.id for o in district.options]
    populations = [o.population or 1 for o in district.options]
    cumulative = [sum(populations[: k + 1]) / sum(populations) for k in range(len(options))]
    draws = (index.hash(seed=999) % 1_000_000 / 1_000_000).to_list()
    start = datetime(2026, 11, 1, tzinfo=UTC)
    connection = sqlite3.connect(path)
    with connection:
        connection.execute(
            "INSERT OR IGNORE INTO budget_versions (id, slug, digest, line_ids, created_at) "
            "VALUES (1, ?, 'bench', ?, ?)",
            (budget.slug, json.dumps(budget.line_ids), start.isoformat(" ")),
        )
        connection.executemany(
            "INSERT INTO submissions (budget_slug, budget_version_id, nonce, receipt, "
            "fingerprint, created_at, synthetic, flagged, locale, amounts, answers) "
            "VALUES (?, 1, ?, ?, '', ?, 1, 0, 'en', ?, ?)",
            (
                (
                    budget.slug,
                    f"bench-{first + i}",
                    secrets.token_urlsafe(16),
                    (start + timedelta(seconds=(first + i) * 2.6)).isoformat(" "),
                    blob,
                    json.dumps({district.id: options[_pick(cumulative, draw)]}),
                )
                for i, (blob, draw) in enumerate(zip(packed.to_pylist(), draws, strict=True))
            ),
        )
    connection.close()


def _pick(cumulative: list[float], draw: float) -> int:
    return next((k for k, edge in enumerate(cumulative) if draw < edge), len(cumulative) - 1)


def _child(env: dict[str, str], *args: object) -> dict:
    """Run this script with `args` in a fresh process; the JSON it prints last."""
    child = subprocess.run(
        [sys.executable, __file__, *map(str, args)],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(child.stdout.strip().splitlines()[-1])


def fresh_child(path: Path, runs: int) -> None:
    """In a fresh process: a whole-table view of the dashboard computed from scratch, its
    insight tables then its charts (prints JSON)."""
    from sqlalchemy import create_engine

    from budget_sim import charts
    from budget_sim.data import load_package
    from budget_sim.insights import report
    from budget_sim.storage.exports import SubmissionTables
    from budget_sim.web.dashboard_charts import draw_charts

    budget = load_package(ROOT / "budget_data" / SLUG)
    table, _ = SubmissionTables(create_engine(f"sqlite:///{path}")).get(
        budget.slug, budget.line_ids, include_synthetic=True
    )
    charts.warm_up()
    tables, drawn = [], []
    for _ in range(runs):
        charts._render.cache_clear()
        started = time.perf_counter()
        built = report.build(table, budget, report.Filters(include_synthetic=True))
        tables.append(time.perf_counter() - started)
        started = time.perf_counter()
        assert len(draw_charts(budget, built)) == 3
        drawn.append(time.perf_counter() - started)
    print(
        json.dumps(
            {
                "fresh_tables_median_s": statistics.median(tables),
                "fresh_charts_median_s": statistics.median(drawn),
            }
        )
    )


def scale_child(path: Path) -> None:
    """In a fresh process: what the scale benchmark measures (prints JSON)."""
    from sqlalchemy import create_engine

    from budget_sim.insights import dashboard as insights_dashboard
    from budget_sim.insights import report
    from budget_sim.storage.exports import SubmissionTables

    budget = _forty_line_budget()
    tables = SubmissionTables(create_engine(f"sqlite:///{path}"))
    timings = {}
    started = time.perf_counter()
    table, _ = tables.get(budget.slug, budget.line_ids, include_synthetic=True)
    timings["read_s"] = time.perf_counter() - started
    timings["rss_after_read_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    for name, filters in (
        ("report_s", report.Filters(include_synthetic=True)),
        ("report_weighted_s", report.Filters(include_synthetic=True, weighting="district")),
    ):
        started = time.perf_counter()
        built = report.build(table, budget, filters)
        timings[name] = time.perf_counter() - started
    timings["tables"] = sorted(built.tables)
    started = time.perf_counter()
    interval = insights_dashboard.bootstrap_interval(table, budget.lines)
    timings["interval_s"] = time.perf_counter() - started
    timings["interval"] = interval.note
    _write_rows(path, budget, 1_000, first=table.height)
    started = time.perf_counter()
    refreshed, _ = tables.get(budget.slug, budget.line_ids, include_synthetic=True)
    timings["refresh_after_1000_s"] = time.perf_counter() - started
    assert refreshed.height == table.height + 1_000
    timings["rows"] = table.height
    timings["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(timings))


def scale(args: argparse.Namespace) -> dict:
    with temporary_instance() as instance:
        path = instance.folder / "bench.db"
        started = time.perf_counter()
        _write_rows(path, _forty_line_budget(), args.rows)
        written = time.perf_counter() - started
        result = _child(instance.env, "--child", path)
    return {"write_s": written, **result}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--residents", type=int, default=100_000)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--only", choices=("dashboard", "scale"))
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--fresh", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        scale_child(args.child)
        return
    if args.fresh:
        fresh_child(Path(args.fresh[0]), int(args.fresh[1]))
        return
    print(f"python {platform.python_version()}, load average {os.getloadavg()}")
    if args.only != "scale":
        print("dashboard:", json.dumps(dashboard(args), indent=1))
    if args.only != "dashboard":
        print("scale:", json.dumps(scale(args), indent=1))
    print(f"load average {os.getloadavg()}")


if __name__ == "__main__":
    main()
