"""The review's smaller slips (staff.md D9/D10): a view computed before any submission said
"0 submissions" once there were some; demo submissions were announced as "newer submissions
being added" to a view that leaves them out; the staff home counted demo submissions next to a
download without them; parts rounded cell by cell did not add up to their total."""

from __future__ import annotations

import csv
import io
from types import SimpleNamespace

import polars as pl
import pytest
from starlette.testclient import TestClient

from budget_sim.insights import dashboard
from budget_sim.insights.headline import HeadlineFigures
from budget_sim.money import format_money, largest_remainder
from budget_sim.storage import Database, NewSubmission, save_many
from budget_sim.web import create_app
from budget_sim.web.export_columns import export_frame
from budget_sim.web.resident.public_results import _headline
from tests.web.conftest import SLUG
from tests.web.test_insights_page import resident_submits
from tests.web.test_staff import make_staff, sign_in


def demo_submissions(settings, budget, count: int) -> None:
    database = Database(settings.database_url)
    amounts = dict(budget.lines.select("id", "amount").iter_rows())
    batch = [
        NewSubmission(
            budget_slug=SLUG,
            budget_digest=budget.version,
            line_ids=budget.line_ids,
            nonce=f"demo-{i}",
            amounts=amounts,
            answers={},
            synthetic=True,
        )
        for i in range(count)
    ]
    try:
        with database.writing() as session:
            save_many(session, batch)
    finally:
        database.dispose()


def test_a_view_computed_before_any_submission_never_says_zero_once_there_are_some(
    settings, budget
):
    warm = settings.model_copy(update={"warm_insights": True})
    make_staff(settings.database_url, "ada@city.gov")
    with TestClient(create_app(warm), base_url="https://testserver", follow_redirects=False) as app:
        app.app_state["insights"].settle()  # the views, computed with no submission at all
        resident_submits(app, budget, steps=1, age="25-34", comment="")
        sign_in(app, "ada@city.gov")
        page = app.get(f"/staff/b/{SLUG}").text
        assert "No submissions to show yet" not in page
        assert "<strong>1</strong> submission;" in page and "being added" not in page


def test_demo_submissions_are_not_announced_to_a_view_without_them(settings, budget, admin):
    resident_submits(admin, budget, steps=1, age="25-34", comment="")
    assert "<strong>1</strong> submission;" in admin.get(f"/staff/b/{SLUG}").text
    demo_submissions(settings, budget, 3)
    page = admin.get(f"/staff/b/{SLUG}").text
    assert "<strong>1</strong> submission;" in page
    assert "being added" not in page  # before: "3 newer submissions are being added"
    with_demo = admin.get(f"/staff/b/{SLUG}?synthetic=1").text
    assert "<strong>4</strong> submissions" in with_demo


def test_the_staff_home_counts_what_its_download_holds(settings, budget, admin):
    resident_submits(admin, budget, steps=1, age="25-34", comment="")
    demo_submissions(settings, budget, 3)
    home = admin.get("/staff").text
    row = home[home.index(f"/staff/b/{SLUG}") :]
    row = row[: row.index("</tr>")]
    assert '<td class="num">1</td><td class="num">3</td>' in row  # residents', then demo
    download = admin.get(f"/staff/b/{SLUG}/submissions.csv").content.decode("utf-8-sig")
    assert len(list(csv.DictReader(io.StringIO(download)))) == 1


def test_largest_remainder_keeps_the_total():
    assert largest_remainder([33.5, 33.5, 33.0]) == [34, 33, 33]
    assert largest_remainder([1 / 3] * 3, 1) == [1, 0, 0]
    assert sum(largest_remainder([0.4] * 10)) == 4
    with pytest.raises(ValueError):
        largest_remainder([0.5, 0.5], 5)


LINES = pl.DataFrame(
    {
        "id": ["a", "b", "c", "tax"],
        "department": ["D", "D", "D", "Taxes"],
        "program": ["A", "B", "C", "Tax"],
        "kind": ["expense", "expense", "expense", "revenue"],
        "amount": [33_34, 33_33, 33_33, 100_00],
        "locked": [False] * 4,
    }
)


def test_whole_budget_amounts_add_up_to_the_total_in_exports():
    # Every resident splits $100.00 in three equal parts: $33.333... each.
    votes = pl.DataFrame({"a": [50_00] * 4, "b": [50_00] * 4, "c": [50_00] * 4})
    whole = dashboard.whole_budget(votes, LINES)
    exported = export_frame("whole-budget", whole)
    for column in ("independent_markets_amount", "mean_amount", "median_rescaled_amount"):
        assert sum(exported[column].to_list()) == exported["city_amount"].sum()  # $100.00


def test_public_headline_programs_add_up_to_their_department():
    # The headline in cents: $33.50 + $33.50 + $33.00 = $100.00; rounded cell by cell the page
    # said $34 + $34 + $33 under a department of $100.
    rows = pl.DataFrame(
        {
            "line_id": ["a", "b", "c"],
            "department": ["D"] * 3,
            "program": ["A", "B", "C"],
            "locked": [False] * 3,
            "city": [33_34, 33_33, 33_33],
            "headline": [33_50.0, 33_50.0, 33_00.0],
            "low": [None, None, None],
            "high": [None, None, None],
            "truthful": [33_50.0, 33_50.0, 33_00.0],
        }
    )
    figures = HeadlineFigures("mean", "utilitarian", 4, rows)
    (department,) = _headline(SimpleNamespace(lines=LINES), figures)
    shown = [int(format_money(p.residents).lstrip("$")) for p in department.programs]
    assert sum(shown) == int(format_money(department.residents).lstrip("$")) == 100


def test_a_recalculation_the_browser_cancelled_is_no_error(client, caplog):
    """htmx cancels a recalculation when a newer one starts: the body never arrives. That is
    answered quietly, not logged as a crash (nginx passes the cancellation on)."""
    sent: list[dict] = []

    async def receive() -> dict:
        return {"type": "http.disconnect"}

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": f"/b/{SLUG}",
        "raw_path": f"/b/{SLUG}".encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [
            (b"host", b"testserver"),
            (b"content-type", b"application/x-www-form-urlencoded"),
            (b"content-length", b"200"),
            (b"hx-request", b"true"),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
        "state": dict(client.app_state),
    }
    with caplog.at_level("INFO", logger="budget_sim"):
        client.portal.call(client.app, scope, receive, send)
    assert sent[0]["type"] == "http.response.start" and sent[0]["status"] == 400
    assert not [r for r in caplog.records if r.levelname in ("ERROR", "CRITICAL")]
    assert any("client left" in r.getMessage() for r in caplog.records)
