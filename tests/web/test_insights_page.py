"""The staff dashboard over HTTP: what residents sent, shown with its uncertainty, filtered."""

from __future__ import annotations

import time

import polars as pl
import pytest
from starlette.testclient import TestClient

from budget_sim.insights import dashboard, report
from budget_sim.storage import NewSubmission, save_many
from budget_sim.web import create_app
from tests.web.conftest import SLUG, adjustable_expense, ballot_of, units
from tests.web.test_staff import make_staff, sign_in


@pytest.fixture
def staff(admin):
    """A signed-in admin's browser."""
    return admin


def up_to_date(staff, path: str) -> str:
    """The dashboard once it counts every stored submission (new ones are added to it in the
    background while the last figures are shown)."""
    for _ in range(600):
        page = staff.get(path).text
        if "being added to these figures" not in page:
            return page
        time.sleep(0.05)
    raise AssertionError(f"{path} still adds new submissions after 30 s")


def resident_submits(client, budget, *, steps: int, age: str, comment: str) -> None:
    line = adjustable_expense(budget, max_step=budget.rules.tolerance)
    page = client.get(f"/b/{SLUG}").text
    form = {
        "ballot": ballot_of(page),
        f"line.{line['id']}": units(line["amount"] + steps * line["step"]),
        "answer.age-band": age,
        "comment": comment,
    }
    assert client.post(f"/b/{SLUG}/submit", data=form).status_code == 303


def test_the_dashboard_shows_results_segments_and_comments(client, budget, staff):
    resident_submits(client, budget, steps=1, age="25-34", comment="Fund the parks")
    resident_submits(client, budget, steps=0, age="65-plus", comment="Keep it as it is")
    database = client.app_state["database"]
    amounts = dict(budget.lines.select("id", "amount").iter_rows())
    with database.writing() as session:
        demo = NewSubmission(SLUG, budget.version, budget.line_ids, "d1", amounts, {}, True)
        save_many(session, [demo])

    page = staff.get(f"/staff/b/{SLUG}")
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    html = page.text
    assert "<strong>2</strong> submissions" in html and "demo submissions excluded" in html
    assert "What residents want: Average of residents&#39; plans" in html
    assert "a resident who exaggerates" in html  # the headline says how it can mislead
    assert "Majority view (utilitarian, knapsack)" in html  # its truthful neighbour
    assert "Raised (95% CI)" in html and "Fund the parks" in html

    with_demo = staff.get(f"/staff/b/{SLUG}?synthetic=1").text
    assert "<strong>3</strong> submissions" in with_demo

    older = staff.get(f"/staff/b/{SLUG}?segment=age-band:65-plus").text
    assert "<strong>1</strong> submission in this segment (of 2)" in older
    assert "Keep it as it is" in older and "Fund the parks" not in older

    searched = staff.get(f"/staff/b/{SLUG}?q=PARKS").text
    assert "Fund the parks" in searched and "Keep it as it is" not in searched


def test_weighting_by_ward_population_reports_the_effective_sample(client, staff, settings):
    chicago = client.app_state["budgets"]["chicago-fy2026"]
    amounts = dict(chicago.lines.select("id", "amount").iter_rows())
    # Balanced enough for storage (demo rows skip the rule check): 3 from ward 1, 1 from ward 2.
    batch = [
        NewSubmission(
            "chicago-fy2026", chicago.version, chicago.line_ids, f"n{i}", amounts, {"ward": ward}
        )
        for i, ward in enumerate(["ward-1", "ward-1", "ward-1", "ward-2"])
    ]
    with client.app_state["database"].writing() as session:
        save_many(session, batch)
    html = staff.get("/staff/b/chicago-fy2026?weights=district").text
    # Wards are equal in population: ward 1 (3 answers) weighs 2/3 each, ward 2 weighs 2;
    # n_eff = (3 * 2/3 + 2)^2 / (3 * 4/9 + 4) = 16 / (16/3) = 3.
    assert "Effective sample size (Kish): 3 of 4" in html
    assert "2 of 50 districts have submissions" in html


def test_the_headline_intervals_fill_in_once_computed(client, budget, settings):
    """The intervals are resampled in the background: the page says so and polls a fragment
    that, once they are ready, brings a 95% interval for every program."""
    fast = settings.model_copy(update={"interval_resamples": 20})
    with TestClient(create_app(fast), base_url="https://testserver", follow_redirects=False) as app:
        for steps, age in ((1, "25-34"), (0, "65-plus"), (0, "25-34")):
            resident_submits(app, budget, steps=steps, age=age, comment="")
        make_staff(settings.database_url, "ada@city.gov")
        sign_in(app, "ada@city.gov")
        page = app.get(f"/staff/b/{SLUG}?segment=age-band:25-34").text
        assert "being worked out in the background" in page
        poll = f"/staff/b/{SLUG}/headline-intervals?segment=age-band%3A25-34"
        assert f'hx-get="{poll}"' in page
        for _ in range(600):  # the 20 resamples take a few seconds on a busy machine
            fragment = app.get(poll)
            assert fragment.status_code == 200 and "<html" not in fragment.text
            if "hx-get" not in fragment.text:
                break
            time.sleep(0.1)
        assert "with its 95% interval, beside the Majority view" in fragment.text
        assert "20 bootstrap resamples of the 2 residents" in fragment.text
        movable = budget.lines.filter((pl.col("kind") == "expense") & ~pl.col("locked")).height
        assert fragment.text.count(" to $") == 2 * movable  # the headline's and its neighbour's
        again = app.get(f"/staff/b/{SLUG}?segment=age-band:25-34").text
        assert "with its 95% interval" in again and "being worked out" not in again
    signed_out = TestClient(create_app(fast), base_url="https://testserver")
    assert signed_out.get(poll, follow_redirects=False).status_code in (303, 307)


def test_new_submissions_do_not_make_the_dashboard_wait(client, budget, staff):
    """After a submission, the dashboard shows the last figures at once, says how many
    submissions are being added, and shows them all once the background update is done."""
    resident_submits(client, budget, steps=1, age="25-34", comment="")
    assert "<strong>1</strong> submission;" in staff.get(f"/staff/b/{SLUG}").text
    resident_submits(client, budget, steps=0, age="65-plus", comment="")
    page = staff.get(f"/staff/b/{SLUG}").text  # the first look after it starts the update
    assert "<strong>1</strong> submission;" in page
    assert "1 newer submission is being added to these figures" in page
    for _ in range(300):  # the update takes well under a second; allow a busy machine
        time.sleep(0.05)
        page = staff.get(f"/staff/b/{SLUG}").text
        if "<strong>2</strong> submissions" in page:
            break
    assert "being added" not in page and "<strong>2</strong> submissions" in page


def test_start_up_computes_the_default_views_before_anyone_asks(settings, budget):
    """With warm-up on, the report is ready when the first analyst arrives: a submission
    stored after start-up shows as "being added" to figures computed before."""
    warm = settings.model_copy(update={"warm_insights": True})
    with TestClient(create_app(warm), base_url="https://testserver", follow_redirects=False) as app:
        resident_submits(app, budget, steps=1, age="25-34", comment="")
    with TestClient(create_app(warm), base_url="https://testserver", follow_redirects=False) as app:
        app.app_state["insights"].settle()
        resident_submits(app, budget, steps=0, age="65-plus", comment="")
        make_staff(settings.database_url, "ada@city.gov")
        sign_in(app, "ada@city.gov")
        page = app.get(f"/staff/b/{SLUG}").text
        assert "<strong>1</strong> submission;" in page
        assert "1 newer submission is being added" in page
        assert "<strong>2</strong> submissions" in up_to_date(app, f"/staff/b/{SLUG}")


def test_resampling_waits_while_a_dashboard_is_answered(settings, budget, monkeypatch):
    """The headline's resampling runs in the background; while a dashboard request is being
    answered it waits between draws, so the request does not share the CPU with it."""
    draws = []
    counted = dashboard.aggregate

    def aggregate(*args, **kwargs):
        draws.append(1)
        return counted(*args, **kwargs)

    fast = settings.model_copy(update={"interval_resamples": 20})
    with TestClient(create_app(fast), base_url="https://testserver", follow_redirects=False) as app:
        for steps, age in ((1, "25-34"), (0, "65-plus"), (0, "25-34")):
            resident_submits(app, budget, steps=steps, age=age, comment="")
        cache, filters = app.app_state["insights"], report.Filters()
        cache.report(budget, filters)  # the tables, so that what follows only resamples
        monkeypatch.setattr(dashboard, "aggregate", aggregate)
        with cache.foreground():
            assert cache.intervals(budget, filters) is None  # started, and waiting
            time.sleep(0.5)
            assert draws == []
        for _ in range(600):
            if cache.intervals(budget, filters) is not None:
                break
            time.sleep(0.05)
        assert cache.intervals(budget, filters).resamples == 20 and len(draws) == 20
