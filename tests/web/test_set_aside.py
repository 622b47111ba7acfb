"""Submissions set aside by staff (a duplicate, a test, an abuse): admins set one aside by its
receipt or count it again, audited; the dashboard, the exports and the API leave it out unless
asked to include it, at once, and the public results never count it. Analysts cannot."""

from __future__ import annotations

import io

import polars as pl
import pytest
from starlette.testclient import TestClient

from budget_sim.storage.exports import SubmissionTables
from tests.web.conftest import SLUG, https
from tests.web.test_insight_exports import seed
from tests.web.test_staff import csrf_of, make_staff, sign_in, sql

DASHBOARD = f"/staff/b/{SLUG}"


@pytest.fixture
def receipts(client, budget, settings) -> list[str]:
    seed(client, budget, [{"steps": n % 2, "comments": {"": f"comment {n}"}} for n in range(3)])
    rows = sql(settings.database_url, "SELECT receipt FROM submissions ORDER BY id")
    return [row[0] for row in rows]  # in the order stored: receipts[n] wrote "comment n"


def set_aside(admin: TestClient, receipt: str, aside: str = "1"):
    page = admin.get(DASHBOARD).text
    return admin.post(
        f"{DASHBOARD}/set-aside",
        data={"csrf": csrf_of(page), "receipt": receipt, "aside": aside},
    )


def csv_rows(admin: TestClient, query: str = "") -> int:
    response = admin.get(f"{DASHBOARD}/submissions.csv{query}")
    assert response.status_code == 200, response.status_code
    return pl.read_csv(io.BytesIO(response.content)).height


def test_an_admin_sets_a_submission_aside_and_counts_it_again(admin, receipts):
    first = admin.get(DASHBOARD).text
    assert "<strong>3</strong> submissions" in first
    assert "Include submissions set aside by staff (0)" in first

    response = set_aside(admin, receipts[0])
    assert response.status_code == 303 and response.headers["location"].startswith(DASHBOARD)
    page = admin.get(response.headers["location"]).text
    assert f"Submission {receipts[0]!r} is set aside" in page.replace("&#39;", "'")
    assert "<strong>2</strong> submissions" in page  # at once: no stale figures
    assert "Include submissions set aside by staff (1)" in page
    assert f"<code>{receipts[0]}</code>" in page
    assert "comment 0" not in page and "comment 1" in page
    assert csv_rows(admin) == 2

    included = admin.get(f"{DASHBOARD}?set_aside=1").text
    assert "<strong>3</strong> submissions" in included and "comment 0" in included
    assert "Include submissions set aside by staff (1)" in included
    assert csv_rows(admin, "?set_aside=1") == 3
    api = admin.get(f"/api/v1/budgets/{SLUG}/submissions").json()
    assert api["total"] == 2
    assert admin.get(f"/api/v1/budgets/{SLUG}/submissions?set_aside=1").json()["total"] == 3

    again = admin.get(set_aside(admin, receipts[0]).headers["location"]).text
    assert "already was as you asked: nothing changed" in again

    restored = admin.get(set_aside(admin, receipts[0], aside="0").headers["location"]).text
    assert "is counted again" in restored and "<strong>3</strong> submissions" in restored
    with_aside = admin.get(f"{DASHBOARD}?set_aside=1").text  # its table was read before
    assert "Include submissions set aside by staff (0)" in with_aside

    log = admin.get("/staff/audit").text
    assert "set a submission aside" in log and "counted a submission again" in log
    assert f"receipt={receipts[0]}" in log


def test_an_unknown_receipt_changes_nothing_and_says_why(admin, receipts):
    response = set_aside(admin, "no-such-receipt")
    page = admin.get(response.headers["location"]).text
    assert "There is no submission with receipt" in page and "no-such-receipt" in page
    assert "<strong>3</strong> submissions" in page
    assert "set a submission aside" not in admin.get("/staff/audit").text


def test_analysts_cannot_set_submissions_aside(client, settings, receipts):
    make_staff(settings.database_url, "an@city.gov", role="analyst")
    with https(client) as analyst:
        sign_in(analyst, "an@city.gov")
        page = analyst.get(DASHBOARD).text
        assert "Set a submission aside" not in page
        refused = analyst.post(
            f"{DASHBOARD}/set-aside", data={"csrf": csrf_of(page), "receipt": receipts[0]}
        )
        assert refused.status_code == 403
        assert "<strong>3</strong> submissions" in analyst.get(DASHBOARD).text


def test_setting_aside_needs_the_csrf_token(admin, receipts):
    refused = admin.post(f"{DASHBOARD}/set-aside", data={"receipt": receipts[0]})
    assert refused.status_code == 403
    assert "<strong>3</strong> submissions" in admin.get(DASHBOARD).text


def test_the_public_results_never_count_a_submission_set_aside(admin, client, receipts):
    page = admin.get("/staff/budgets")
    admin.post(f"/staff/budgets/{SLUG}/results", data={"csrf": csrf_of(page.text), "publish": "1"})
    set_aside(admin, receipts[0])
    results = client.get(f"/b/{SLUG}/results").text
    assert "Budgets submitted by residents: 2" in results


def test_the_cached_table_follows_a_swap_of_which_submission_is_set_aside(
    client, settings, receipts
):
    """Setting one aside and counting another again leaves every count the same: the cache
    must still notice."""
    tables = SubmissionTables(client.app_state["database"].read_engine)
    line_ids = client.app_state["budgets"][SLUG].line_ids

    def counted() -> set[str]:
        table, _ = tables.get(SLUG, line_ids, include_synthetic=True)
        return set(table["receipt"])

    flag = "UPDATE submissions SET flagged = :f WHERE receipt = :r"
    sql(settings.database_url, flag, f=True, r=receipts[0])
    assert counted() == set(receipts[1:])
    sql(settings.database_url, flag, f=False, r=receipts[0])
    sql(settings.database_url, flag, f=True, r=receipts[1])
    assert counted() == {receipts[0], receipts[2]}
    with_aside, stamp = tables.get(SLUG, line_ids, include_synthetic=True, include_set_aside=True)
    assert set(with_aside["receipt"]) == set(receipts) and stamp.flagged == 1
