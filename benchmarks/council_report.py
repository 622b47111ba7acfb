"""The council report's PDF at scale: time, size and page count (issue 10: Cambridge at 20,000
submissions fits in 12 pages or fewer), and where the time goes.

    BUDGET_SIM_DATABASE_URL=sqlite:////tmp/cam.db budget-sim db upgrade
    BUDGET_SIM_DATABASE_URL=sqlite:////tmp/cam.db budget-sim demo cambridge-fy2026 --residents 20000
    .venv/bin/python benchmarks/council_report.py sqlite:////tmp/cam.db [--runs 3]

Each run starts a new app on a database without stored intervals (as after a new submission):
"cold" asks for the PDF first (the report computes the headline's and the majority view's
intervals itself), "after the dashboard" opens the dashboard first and waits for its intervals
(the analyst's usual path), then asks for the PDF; "again" asks for the same PDF a second time
(kept with the cached tables). The stages are timed in process.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import os
import statistics
import tempfile
import time
from collections import defaultdict

import pypdfium2
import sqlalchemy
from starlette.testclient import TestClient

from budget_sim import pdf
from budget_sim.settings import Settings
from budget_sim.web import create_app, insight_cache
from budget_sim.web.staff import council_report
from tests.conftest import TEST_HOSTS
from tests.web.conftest import https
from tests.web.test_staff import make_staff, sign_in

SLUG = "cambridge-fy2026"
PDF = f"/staff/b/{SLUG}/report.pdf?synthetic=1"
stages: dict[str, list[float]] = defaultdict(list)


def timed(owner: object, name: str) -> None:
    """Record the seconds each call of owner.name takes (in `stages`)."""
    original = getattr(owner, name)

    @functools.wraps(original)
    def wrapper(*args, **kwargs):
        started = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            stages[name].append(time.perf_counter() - started)

    setattr(owner, name, wrapper)


for owner, name in (
    (insight_cache.InsightCache, "report"),
    (insight_cache.InsightCache, "intervals_now"),
    (council_report, "derive"),
    (council_report, "charts"),
    (pdf, "to_pdf"),
):
    timed(owner, name)


def fresh(url: str) -> Settings:
    """Settings for a new app, the database's stored intervals removed."""
    engine = sqlalchemy.create_engine(url)
    with engine.begin() as connection:
        connection.execute(sqlalchemy.text("DELETE FROM insight_intervals"))
    engine.dispose()
    return Settings(
        database_url=url,
        instance_dir=tempfile.mkdtemp(),
        secret_key="benchmark-secret-key-not-for-production",
        warm_insights=False,
        allowed_hosts=TEST_HOSTS,
    )


def fetch(browser: TestClient) -> tuple[float, bytes]:
    started = time.perf_counter()
    response = browser.get(PDF)
    seconds = time.perf_counter() - started
    assert response.status_code == 200, response.text[:300]
    return seconds, response.content


def run(url: str, dashboard_first: bool) -> dict[str, float]:
    with TestClient(create_app(fresh(url))) as client, https(client) as browser:
        sign_in(browser, "bench@city.gov")
        waited = 0.0
        if dashboard_first:
            started = time.perf_counter()
            browser.get(f"/staff/b/{SLUG}?synthetic=1")
            pending = "being worked out"
            while pending in browser.get(f"/staff/b/{SLUG}/headline-intervals?synthetic=1").text:
                time.sleep(0.5)
            waited = time.perf_counter() - started
        stages.clear()
        first, body = fetch(browser)
        split = {name: sum(values) for name, values in stages.items()}
        again, _ = fetch(browser)
        document = pypdfium2.PdfDocument(body)
        pages = len(document)
        document.close()
        assert pages <= 12, pages
        return {
            "dashboard": waited,
            "pdf": first,
            "again": again,
            "pages": pages,
            "bytes": len(body),
            **split,
        }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with contextlib.suppress(Exception):  # made by an earlier run
        make_staff(args.url, "bench@city.gov")
    print(f"load average at start: {os.getloadavg()[0]:.1f}")
    for dashboard_first in (False, True):
        results = [run(args.url, dashboard_first) for _ in range(args.runs)]
        label = "after the dashboard" if dashboard_first else "cold"
        keys = results[0].keys()
        medians = {k: statistics.median(r[k] for r in results) for k in keys}
        print(
            f"{label} ({args.runs} runs, medians): "
            + ", ".join(
                f"{k} {v:,.2f}" if isinstance(v, float) else f"{k} {v:,}"
                for k, v in medians.items()
            )
        )
    print(f"load average at end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
