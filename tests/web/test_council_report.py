"""The report for council: a page for print, its PDF (page count, pages that render) and its
charts as SVG, for the budget's staff only."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import polars as pl
import pypdfium2
import pytest
from click.testing import CliRunner

from budget_sim import cli
from budget_sim.insights import council
from tests.web.conftest import SLUG, https
from tests.web.test_staff import csrf_of, make_staff, sign_in

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
def settings(settings):
    """Intervals from 20 resamples: a second or two (the report computes them when asked)."""
    return settings.model_copy(update={"interval_resamples": 20})


@pytest.fixture
def with_demo(client, settings, admin):
    """300 demo submissions, seen by an admin of the budget."""
    add_demo(settings, 300)
    return admin


def _headline_row(html: str, line: str) -> tuple[str, ...]:
    """The dashboard's headline row of `line`: city, headline, change, interval, neighbour..."""
    row = re.search(rf'<tr data-line="{line}">(.*?)</tr>', html, re.S).group(1)
    return tuple(
        re.sub(r"<[^>]+>", "", cell).strip()
        for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
    )


def _thousands(money: str) -> str:
    """ "$1,234,567" -> "1,235" (the report's tables are in thousands)."""
    return f"{round(int(re.sub(r'[^0-9]', '', money)) / 1000):,}"


def test_the_report_shows_the_dashboards_headline_with_intervals_at_once(with_demo):
    # The report is opened before anyone opened the dashboard: it does not wait for the
    # dashboard to start the intervals, and it never goes without them.
    page = with_demo.get(f"{BASE}/report?synthetic=1")
    assert page.status_code == 200
    text = page.text
    for heading in (
        "In brief",
        "What residents want: Average of residents&#39; plans",
        "Who took part",
        "Department by department",
        "Where residents agree and disagree",
        "What residents wrote",
        "Appendix: every spending program",
    ):
        assert heading in text
    assert "300 submissions" in text and "per 1,000 residents" in text
    assert (
        "being computed" not in text and "Intervals: Percentile intervals from 20 bootstrap" in text
    )
    assert "Majority view (utilitarian, knapsack), a truthful rule" in text
    assert "picked at random" in text
    assert 'href="/staff/b/cambridge-fy2026/report.pdf?synthetic=1"' in text
    # The dashboard then shows the same intervals, already computed (one cache for both).
    dashboard = with_demo.get(f"{BASE}?synthetic=1").text
    assert 'href="/staff/b/cambridge-fy2026/report?synthetic=1"' in dashboard
    assert "being worked out in the background" not in dashboard
    row = _headline_row(dashboard, "school-organization-education")
    city, headline, _, interval, neighbour, neighbour_interval = row[:6]
    low, high = interval.split(" to ")
    n_low, n_high = neighbour_interval.split(" to ")
    expected = (
        f'<td class="num">{_thousands(city)}</td><td class="num">{_thousands(headline)}</td>'
        f'<td class="num">{_thousands(low)}–{_thousands(high)}</td>'
        f'<td class="num">{_thousands(neighbour)}</td>'
        f'<td class="num">{_thousands(n_low)}–{_thousands(n_high)}</td>'
    )
    assert expected in text


def test_the_report_follows_the_headline_staff_chose_for_the_budget(with_demo):
    csrf = csrf_of(with_demo.get(BASE).text)
    chosen = with_demo.post(f"{BASE}/headline", data={"csrf": csrf, "method": "utilitarian"})
    assert chosen.status_code == 303
    text = with_demo.get(f"{BASE}/report?synthetic=1").text
    assert "What residents want: Majority view (utilitarian, knapsack)" in text
    assert "Beside it, the Average of residents&#39; plans:" in text  # the mean beside it


def test_random_demo_answers_make_no_group_difference_and_the_tests_are_counted(with_demo):
    text = with_demo.get(f"{BASE}/report?synthetic=1").text
    assert "no clear difference" in text
    found = re.findall(
        r"(\d+) of ([\d,]+) differences between answers remain after controlling", text
    )
    assert len(found) == 3  # one family per question, each with its number of tests
    assert all(clear == "0" for clear, _ in found)
    assert any(int(tests.replace(",", "")) > 0 for _, tests in found)
    assert (
        "programs&#39; net support remain after controlling the false discovery rate at 5%" in text
    )


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
    # Making a PDF (importing WeasyPrint) leaves the dashboard's inline charts drawable.
    dashboard = with_demo.get(f"{BASE}?synthetic=1").text
    assert "<svg" in dashboard and "<ns0:" not in dashboard


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
