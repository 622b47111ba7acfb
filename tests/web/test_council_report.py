"""The report for council: a page for print, its PDF (page count, pages that render) and its
charts as SVG, for the budget's staff only."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import polars as pl
import pypdfium2
import pytest
from click.testing import CliRunner

from budget_sim import cli
from budget_sim.insights import council
from budget_sim.web import council_report
from tests.web.conftest import SLUG, https
from tests.web.test_staff import make_staff, sign_in

BASE = f"/staff/b/{SLUG}"


def add_demo(settings, residents: int) -> None:
    result = CliRunner().invoke(
        cli.main, ["demo", SLUG, "--residents", str(residents), "--seed", "7"], obj=settings
    )
    assert result.exit_code == 0, result.output


def pages(pdf: bytes) -> int:
    document = pypdfium2.PdfDocument(pdf)
    try:
        return len(document)
    finally:
        document.close()


@pytest.fixture
def with_demo(client, settings, admin, monkeypatch):
    """300 demo submissions; the report does not wait for the headline's intervals."""
    monkeypatch.setattr(council_report, "INTERVAL_WAIT", 0.0)
    add_demo(settings, 300)
    return admin


def test_the_report_page_shows_each_section_with_n_and_intervals(with_demo):
    page = with_demo.get(f"{BASE}/report?synthetic=1")
    assert page.status_code == 200
    text = page.text
    for heading in (
        "What residents want",
        "Who took part",
        "Department by department",
        "Where residents agree and disagree",
        "What residents wrote",
    ):
        assert heading in text
    assert "300 submissions" in text
    assert "95% interval" in text and "per 1,000 residents" in text
    assert "picked at random" in text
    assert 'href="/staff/b/cambridge-fy2026/report.pdf?synthetic=1"' in text
    dashboard = with_demo.get(f"{BASE}?synthetic=1").text
    assert 'href="/staff/b/cambridge-fy2026/report?synthetic=1"' in dashboard


def test_the_pdf_has_numbered_pages_and_its_charts_download_as_svg(with_demo):
    response = with_demo.get(f"{BASE}/report.pdf?synthetic=1")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    assert "council-report.pdf" in response.headers["content-disposition"]
    document = pypdfium2.PdfDocument(response.content)
    count = len(document)
    first = document[0].get_textpage().get_text_range()
    width, height = document[0].get_size()
    document.close()
    assert 1 < count <= 12
    assert f"Page 1 of {count}" in first
    assert (round(width), round(height)) == (612, 792)  # a US budget: Letter
    a4 = with_demo.get(f"{BASE}/report.pdf?synthetic=1&paper=a4").content
    document = pypdfium2.PdfDocument(a4)
    assert tuple(round(v) for v in document[0].get_size()) == (595, 842)
    document.close()
    svg = with_demo.get(f"{BASE}/report/departments.svg?synthetic=1")
    assert svg.status_code == 200 and svg.headers["content-type"].startswith("image/svg+xml")
    root = ET.fromstring(svg.content)
    assert root.tag.endswith("svg") and float(root.get("width")) > 500
    missing = with_demo.get(f"{BASE}/report/nothing.svg?synthetic=1")
    assert missing.status_code == 404 and "departments" in missing.text


def test_a_bad_paper_size_is_refused(admin):
    response = admin.get(f"{BASE}/report.pdf?paper=a3")
    assert response.status_code == 400 and "a4 or letter" in response.text


def test_only_the_budgets_staff_see_its_report(client, settings):
    make_staff(settings.database_url, "other@city.gov", role="analyst", budgets=["nowhere"])
    with https(client) as browser:
        assert browser.get(f"{BASE}/report").status_code in (302, 303)  # signed out
        sign_in(browser, "other@city.gov")
        for path in ("report", "report.pdf", "report/departments.svg"):
            assert browser.get(f"{BASE}/{path}").status_code == 404


def test_comments_are_picked_at_random_once_per_program_and_the_same_each_time():
    table = pl.DataFrame(
        {
            "receipt": [f"r{i}" for i in range(40)],
            "submitted_at": [None] * 40,
            "comment": ["Too short"] * 10 + [f"An overall comment number {i}" for i in range(30)],
            "comment.a": [f"A comment on line a, number {i}" for i in range(40)],
        },
        schema_overrides={"submitted_at": pl.Datetime},
    )
    lines = pl.DataFrame({"id": ["a"], "department": ["Parks"], "program": ["Trees"]})
    picked, how = council.comment_selection(table, lines, seed="x")
    again, _ = council.comment_selection(table, lines, seed="x")
    assert picked.equals(again)
    assert sorted(picked["line_id"].to_list()) == ["", "a"]  # one per program, one overall
    assert "Too short" not in picked["text"].to_list()
    assert "2 of 80 comments" in how and "not chosen for what" in how
