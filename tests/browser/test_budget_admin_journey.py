"""An admin publishes a budget in Chromium: signs in, uploads a CSV with two mistakes and sees
both listed by row and column, uploads the fixed file, publishes, and opens the resident page,
where a resident can submit."""

from __future__ import annotations

import re

from playwright.sync_api import Browser, expect

from tests.browser.conftest import Server, create_staff, sign_in, upload_file
from tests.browser.resident import assert_accessible, watching
from tests.web.test_staff_budgets import FIELDS, GOOD_CSV, SLUG, TWO_ERRORS_CSV

EMAIL = "budget.admin@springfield.gov"
PASSWORD = "a long passphrase for the budget office"


def test_an_admin_fixes_an_upload_publishes_it_and_opens_the_resident_page(
    browser: Browser, server: Server
):
    create_staff(server, EMAIL, PASSWORD, role="admin", name="Ada")
    with watching(browser) as watched:
        page = watched.page
        page.goto(f"{server.url}/staff/budgets")
        expect(page).to_have_url(f"{server.url}/staff/login?next=/staff/budgets")
        sign_in(page, EMAIL, PASSWORD)
        expect(page.get_by_role("heading", name="Budget files", level=1)).to_be_visible()
        assert_accessible(page, "budget files")

        for name in ("slug", "city", "fiscal_year", "title_en", "title_es", "intro_en", "source"):
            page.locator(f"[name={name}]").fill(FIELDS[name])
        page.locator("[name=tolerance]").fill(FIELDS["tolerance"])
        page.get_by_label("Lines file (.csv or .xlsx)").set_input_files(
            upload_file("springfield.csv", TWO_ERRORS_CSV)
        )
        page.get_by_role("button", name="Check the upload").click()

        expect(page.get_by_role("heading", name="The upload has 2 problems")).to_be_visible()
        expect(page.get_by_role("alert")).to_contain_text("Nothing was saved")
        rows = page.locator("table.upload-problems tbody tr")
        expect(rows).to_have_count(2)
        expect(rows.nth(0).locator("td")).to_have_text(
            [
                f"{SLUG}/lines.csv",
                "3",
                "amount",
                "amount '800,000' has thousands separators: write 800000",
            ]
        )
        expect(rows.nth(1).locator("td").nth(1)).to_have_text("5")
        expect(rows.nth(1).locator("td").nth(2)).to_have_text("kind")
        expect(rows.nth(1).locator("td").nth(3)).to_contain_text("'spending' is not a kind")
        assert_accessible(page, "upload problems")

        # The form comes back filled in: choose the fixed file and send it again.
        expect(page.locator("[name=title_en]")).to_have_value(FIELDS["title_en"])
        page.get_by_label("Lines file (.csv or .xlsx)").set_input_files(
            upload_file("springfield-fixed.csv", GOOD_CSV)
        )
        page.get_by_role("button", name="Check the upload").click()
        expect(page.get_by_role("heading", name="No problems found")).to_be_visible()
        expect(page.get_by_text("5 lines in 4 departments")).to_be_visible()
        assert_accessible(page, "preview")
        page.get_by_role("button", name="Publish revision 1").click()

        expect(page.get_by_role("status")).to_contain_text("Published.")
        page.get_by_role("link", name=f"/b/{SLUG}").first.click()
        expect(page.get_by_role("heading", name=FIELDS["title_en"], level=1)).to_be_visible()
        page.get_by_role("button", name="Submit my budget").click()
        expect(page).to_have_url(re.compile(rf"/b/{SLUG}/r/[A-Za-z0-9_-]{{22,}}$"))
        expect(page.get_by_role("status")).to_contain_text("your budget was received")
        assert watched.csp_violations() == [] and watched.errors == []
        assert {status for status in watched.statuses() if status >= 500} == set()
