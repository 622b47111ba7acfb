"""The headline on the staff dashboard and the public page (issue 10 points 1 and 2): the
default method with its truthful neighbour, staff's per-budget choice (admins only, audited,
bad input refused), intervals that fill in, and locked lines that never move."""

from __future__ import annotations

import re
import time

import polars as pl
import pytest
from starlette.testclient import TestClient

from budget_sim.insights import METHODS
from budget_sim.web.app import create_app
from tests.web.conftest import SLUG
from tests.web.test_insight_exports import expected, seed
from tests.web.test_public_results import RESULTS, set_public
from tests.web.test_staff import csrf_of, make_staff, sign_in

DASHBOARD = f"/staff/b/{SLUG}"


@pytest.fixture
def fast(settings):
    """An app that resamples 20 times (intervals in a second or two), and its admin."""
    quick = settings.model_copy(update={"interval_resamples": 20})
    with TestClient(
        create_app(quick), base_url="https://testserver", follow_redirects=False
    ) as app:
        make_staff(settings.database_url, "ada@city.gov")
        sign_in(app, "ada@city.gov")
        yield app


def _seed(app, budget):
    seed(app, budget, [{"steps": n % 3, "answers": {"age-band": "25-34"}} for n in range(12)])


def _choose(app, method: str):
    csrf = csrf_of(app.get(DASHBOARD).text)
    return app.post(f"{DASHBOARD}/headline", data={"csrf": csrf, "method": method})


def _debt_row(html: str) -> str:
    return re.search(r"<tr><th scope=\"row\">Debt Service.*?</tr>", html, re.S).group(0)


def test_locked_lines_keep_the_citys_amount_on_the_dashboard_and_the_public_page(fast, budget):
    """Residents raise one line (so their spending grows): before, Debt Service "changed" by
    thousands on the public page; now it stays at the city's amount under every method."""
    _seed(fast, budget)
    whole = expected(fast, budget).tables["whole-budget"]
    city = dict(budget.lines.select("id", "amount").iter_rows())
    for line in budget.lines.filter(pl.col("locked") & (pl.col("kind") == "expense"))["id"]:
        row = whole.filter(pl.col("line_id") == line).row(0, named=True)
        assert all(row[m] == city[line] for m in METHODS), row
    dashboard = fast.get(DASHBOARD).text
    cells = re.search(r'<tr data-line="debt-service">.*?</tr>', dashboard, re.S).group(0)
    assert "(locked)" in cells and "$109,100,360" in cells and "fixed" in cells
    assert "+$" not in cells and "-$" not in cells
    set_public(fast, True)
    public = _debt_row(fast.get(RESULTS).text)
    assert "$109,100,360" in public and "(locked)" in public and "fixed" in public
    assert "change-inline" not in public  # no change shown
    spanish = fast.get(f"{RESULTS}?lang=es").text
    assert "(bloqueado)" in spanish and "fija" in spanish


def test_the_public_page_shows_the_headline_its_ranges_and_the_majority_view(fast, budget):
    _seed(fast, budget)
    set_public(fast, True)
    html = fast.get(RESULTS).text  # the first visit starts the resampling
    assert "Shown here: Average of residents' budgets." in html
    assert "Majority view" in html
    for _ in range(600):
        html = fast.get(RESULTS).text
        if "From 12 budgets:" in html:
            break
        assert "still being computed" in html
        time.sleep(0.1)
    assert "From 12 budgets:" in html and "by more than their 95% range" in html
    movable = budget.lines.filter((pl.col("kind") == "expense") & ~pl.col("locked")).height
    assert html.count(" to $") == movable
    spanish = fast.get(f"{RESULTS}?lang=es").text
    assert "Aquí se muestra: Promedio de los presupuestos de los residentes." in spanish
    assert "A partir de 12 presupuestos:" in spanish and "Opinión mayoritaria" in spanish
    assert "Rango del 95%" in spanish and "Shown here" not in spanish


def test_an_admin_chooses_the_headline_per_budget_and_it_is_audited(fast, budget, settings):
    _seed(fast, budget)
    page = fast.get(DASHBOARD).text
    assert "What residents want: Average of residents&#39; plans" in page
    assert 'id="all-methods"' in page
    for method in ("Independent Markets", "Piecewise uniform", "Middle plan (median, rescaled)"):
        assert f"<dt>{method}" in page  # each with its paragraph
    response = _choose(fast, "utilitarian")
    assert response.status_code == 303 and response.headers["location"].endswith("#headline")
    page = fast.get(response.headers["location"]).text
    assert "The headline is now Majority view (utilitarian, knapsack)" in page
    assert "What residents want: Majority view (utilitarian, knapsack)" in page
    assert "beside the Average of residents&#39; plans</caption>" in page  # the mean beside it
    set_public(fast, True)
    assert "Shown here: Majority view." in fast.get(RESULTS).text
    assert "Aquí se muestra: Opinión mayoritaria." in fast.get(f"{RESULTS}?lang=es").text
    again = _choose(fast, "utilitarian")
    assert "already was" in fast.get(again.headers["location"]).text
    log = fast.get("/staff/audit").text
    assert "chose the headline" in log and f"{SLUG} mean -&gt; utilitarian" in log
    assert log.count("chose the headline") == 1  # choosing the same again changes nothing

    bad = _choose(fast, "dictator")
    assert bad.status_code == 400 and "method must be one of mean" in bad.text
    assert "What residents want: Majority view" in fast.get(DASHBOARD).text  # unchanged
    assert _choose(fast, "mean").status_code == 303
    assert "Shown here: Average of residents' budgets." in fast.get(RESULTS).text

    make_staff(settings.database_url, "an@city.gov", role="analyst")
    with TestClient(fast.app, base_url="https://testserver", follow_redirects=False) as analyst:
        sign_in(analyst, "an@city.gov")
        page = analyst.get(DASHBOARD).text
        assert "What residents want" in page and "Use as headline" not in page
        csrf = csrf_of(analyst.get("/staff").text)
        denied = analyst.post(f"{DASHBOARD}/headline", data={"csrf": csrf, "method": "median"})
        assert denied.status_code == 403
    missing = fast.post(
        "/staff/b/no-such/headline", data={"csrf": csrf_of(fast.get(DASHBOARD).text)}
    )
    assert missing.status_code == 404
