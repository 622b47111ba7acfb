"""Issue 10's analyst journey, in Chromium against one real server: an admin publishes a
revision of Cambridge's budget from the staff pages, with demo submissions made before and
after it; an analyst of that budget opens its dashboard, reads the headline, compares two
segments, opens the report for council and downloads its PDF, whose pages are counted and
whose first page is rendered to PNG (kept in the test's folder, to look at)."""

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
    with running_server(tmp_path_factory.mktemp("council")) as running:
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
    headline = page.get_by_role("heading", name=re.compile("What residents want"))
    expect(headline).to_be_visible()
    expect(page.locator("#whole-caption")).to_contain_text("residents' budget")

    page.get_by_label("Compare by").select_option(label="How old are you?")
    page.get_by_role("button", name="Apply").click()
    compared = page.get_by_role("heading", name="Segments side by side: How old are you?")
    expect(compared).to_be_visible(timeout=60_000)

    page.get_by_role("link", name="Report for council").click()
    expect(page.get_by_role("heading", name="1. What residents want")).to_be_visible(
        timeout=120_000
    )
    expect(page.get_by_text("300 submissions", exact=False).first).to_be_visible()
    with page.expect_download(timeout=120_000) as download:
        page.get_by_role("link", name="Download the PDF").click()
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    assert saved.name == f"{SLUG}-council-report.pdf"
    document = pypdfium2.PdfDocument(saved)
    count = len(document)
    assert 1 < count <= 12
    first = document[0]
    assert f"Page 1 of {count}" in first.get_textpage().get_text_range()
    first.render(scale=1.5).to_pil().save(tmp_path / "council-report-page-1.png")
    document.close()
    context.close()
