"""The council report's PDF at scale: time, size and page count (issue 10: Cambridge at 20,000
submissions fits in 12 pages or fewer).

    BUDGET_SIM_DATABASE_URL=sqlite:////tmp/cam.db budget-sim db upgrade
    BUDGET_SIM_DATABASE_URL=sqlite:////tmp/cam.db budget-sim demo cambridge-fy2026 --residents 20000
    .venv/bin/python benchmarks/council_report.py sqlite:////tmp/cam.db
"""

from __future__ import annotations

import contextlib
import sys
import tempfile
import time

import pypdfium2
from starlette.testclient import TestClient

from budget_sim.settings import Settings
from budget_sim.web import create_app
from tests.conftest import TEST_HOSTS
from tests.web.conftest import https
from tests.web.test_staff import make_staff, sign_in

SLUG = "cambridge-fy2026"


def main(url: str) -> None:
    with contextlib.suppress(Exception):  # made by an earlier run
        make_staff(url, "bench@city.gov")
    settings = Settings(
        database_url=url,
        instance_dir=tempfile.mkdtemp(),
        secret_key="benchmark-secret-key-not-for-production",
        warm_insights=False,
        allowed_hosts=TEST_HOSTS,
    )
    with TestClient(create_app(settings)) as client, https(client) as browser:
        sign_in(browser, "bench@city.gov")
        for run in ("first (intervals computed)", "second (cached tables)"):
            started = time.perf_counter()
            response = browser.get(f"/staff/b/{SLUG}/report.pdf?synthetic=1")
            seconds = time.perf_counter() - started
            assert response.status_code == 200, response.text[:300]
            document = pypdfium2.PdfDocument(response.content)
            print(f"{run}: {seconds:.1f} s, {len(response.content):,} bytes, {len(document)} pages")
            assert len(document) <= 12
            document.close()


if __name__ == "__main__":
    main(sys.argv[1])
