"""Issue 10's analyst journey, in Chromium against one real server: an admin publishes a
revision of Cambridge's budget from the staff pages, with demo submissions made before and
after it; an analyst of that budget opens its dashboard, reads the headline and its truthful
neighbour (the majority view) once their intervals fill in, compares two segments, opens the
report for council and downloads its PDF, whose pages are counted and whose first pages are
rendered to PNG (kept in the test's folder, to look at)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pypdfium2
import pytest
from playwright.sync_api import Browser, expect

from tests.browser.conftest import Server, create_staff, running_server, sign_in

SLUG = "cambridge-fy2026"
ADMIN, ANALYST = "admin@cambridge.gov", "analyst@cambridge.gov"
PASSWORD = "a long passphrase for the budget office"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server of its own (this journey revises a shipped budget)."""
    folder = tmp_path_factory.mktemp("council")
    with running_server(folder, BUDGET_SIM_INTERVAL_RESAMPLES="50") as running:
        create_staff(running, ADMIN, PASSWORD, role="admin", name="Ada")
        running.cli(
            "create-staff",
            ANALYST,
            "--name",
            "Ann",
            "--role",
            "analyst",
            "--budget",
            SLUG,
            "--password-stdin",
            stdin=PASSWORD + "\n",
        )
        running.cli("demo", SLUG, "--residents", "150", "--seed", "1")
        yield running


def test_an_analyst_reads_a_revised_budget_and_downloads_the_council_pdf(
    browser: Browser, server: Server, tmp_path: Path
):
    admin = browser.new_context()
    page = admin.new_page()
    page.goto(f"{server.url}/staff/budgets/{SLUG}/revise")
    sign_in(page, ADMIN, PASSWORD)
    page.locator("[name=intro_en]").fill("Revised: move the money where you think it should go.")
    page.get_by_role("button", name="Check the upload").click()
    page.get_by_role("button", name=re.compile(r"Publish revision \d+")).click()
    expect(page.get_by_role("status")).to_contain_text("Published.")
    admin.close()
    server.cli("demo", SLUG, "--residents", "150", "--seed", "2")  # against the revision

    context = browser.new_context(accept_downloads=True)
    page = context.new_page()
    page.goto(f"{server.url}/staff/b/{SLUG}")
    sign_in(page, ANALYST, PASSWORD)
    page.get_by_label("Include demo (synthetic) submissions").check()
    page.get_by_role("button", name="Apply").click()
    expect(page.locator(".lead")).to_contain_text("300 submissions", timeout=60_000)
    expect(page.locator("#revisions-note")).to_contain_text("revised while residents were")
    headline = page.get_by_role("heading", name="What residents want: Average of residents' plans")
    expect(headline).to_be_visible()
    neighbour = page.locator("#headline-caption")
    expect(neighbour).to_contain_text("beside the Majority view (utilitarian, knapsack)")
    expect(neighbour).to_contain_text("a truthful rule")
    # The intervals fill in by themselves (htmx), with how many lines move beyond them.
    expect(page.locator("#headline-summary")).to_contain_text(
        "by more than the 95% interval", timeout=90_000
    )
    education = page.locator('#headline-table tr[data-line="school-organization-education"]')
    expect(education.locator("td").nth(3)).to_contain_text(" to ")  # the headline's interval
    majority = education.locator("td").nth(5)  # the majority view's, filled in next
    expect(majority).to_contain_text(" to ", timeout=90_000)

    page.get_by_label("Compare by").select_option(label="How old are you?")
    page.get_by_role("button", name="Apply").click()
    compared = page.get_by_role("heading", name="Segments side by side: How old are you?")
    expect(compared).to_be_visible(timeout=60_000)
    expect(page.get_by_text("false discovery rate at 5%").first).to_be_visible()

    page.get_by_role("link", name="Report for council").click()
    expect(page.get_by_role("heading", name=re.compile("1. What residents want"))).to_be_visible(
        timeout=120_000
    )
    expect(page.get_by_text("300 submissions", exact=False).first).to_be_visible()
    svg = page.get_by_role("link", name="Download as SVG").first
    with page.expect_download() as chart:
        svg.click()
    assert chart.value.suggested_filename == f"{SLUG}-headline.svg"
    with page.expect_download(timeout=120_000) as download:
        page.get_by_role("link", name="Download the PDF").click()
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    assert saved.name == f"{SLUG}-council-report.pdf"
    document = pypdfium2.PdfDocument(saved)
    count = len(document)
    assert 1 < count <= 12
    text = "".join(document[i].get_textpage().get_text_range() for i in range(count))
    assert f"Page 1 of {count}" in document[0].get_textpage().get_text_range()
    assert "Average of residents' plans" in text and "Majority view" in text
    assert "revised while residents were submitting" in text
    assert "being computed" not in text
    images = [document[number].render(scale=1.5).to_pil() for number in range(min(count, 3))]
    for number, image in enumerate(images):  # page 1 and the first charts, to look at
        image.save(tmp_path / f"council-report-page-{number + 1}.png")
    for image in images:  # never mostly blank: the body reaches the page's lower part
        assert _inked_rows(image) > 0.6 * image.height
    document.close()
    context.close()


def _inked_rows(image) -> int:
    """How far down the page its body goes: the lowest row with ink above the page number."""
    grey = image.convert("L")
    width, height = grey.size
    body = grey.crop((0, 0, width, int(height * 0.92)))  # the page number sits below
    box = body.point(lambda v: 255 if v < 200 else 0).getbbox()
    return box[3] if box else 0
