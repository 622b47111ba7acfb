"""A new city in the browser: an admin uploads the finance system's own export (semicolons,
Windows-1252, a title row, decimal commas, a Typ column), maps its columns in the form, sees
what was detected and every line in the preview, publishes; a resident unbalances the budget,
balances it again and submits."""

from __future__ import annotations

import re

from playwright.sync_api import Browser, expect

from tests.browser.conftest import Server, create_staff, sign_in, upload_file
from tests.browser.resident import assert_accessible, open_every_department, watching
from tests.test_import import german_export

EMAIL = "onboarding.admin@muenster.example"
PASSWORD = "a long passphrase for the finance office"
SLUG = "munster-fy2025"


def test_an_admin_maps_a_city_export_publishes_it_and_a_resident_submits(
    browser: Browser, server: Server, tmp_path
):
    create_staff(server, EMAIL, PASSWORD, role="admin", name="Grete")
    data = german_export(tmp_path / "haushalt.csv").read_bytes()
    with watching(browser) as watched:
        page = watched.page
        page.goto(f"{server.url}/staff/budgets")
        sign_in(page, EMAIL, PASSWORD)
        page.get_by_label("Lines file (.csv or .xlsx)").set_input_files(
            upload_file("haushalt_2025.csv", data)
        )
        page.get_by_label("Slug").fill(SLUG)
        page.get_by_label("City").fill("Münster")
        page.get_by_label("Fiscal year (the year it ends in)").fill("2025")
        page.get_by_label("Column for department").fill("Fachbereich")
        page.get_by_label("Column for program (optional)").fill("Produkt")
        page.get_by_label("Column for amount").fill("Betrag")
        page.get_by_label("Column for kind (spending or revenue; optional)").fill("Typ")
        page.get_by_label("Text that means expense in the kind column (optional)").fill("Aufwand")
        page.get_by_label("Text that means revenue in the kind column (optional)").fill("Ertrag")
        page.get_by_role("button", name="Check the upload").click()

        # The decimal commas are not guessed: the problem names the box to tick.
        expect(page.get_by_role("heading", name=re.compile("The upload has"))).to_be_visible()
        expect(page.locator("table.upload-problems")).to_contain_text(
            'it looks like a decimal comma: give "Amounts use a decimal comma"'
        )
        expect(page.get_by_label("Column for amount")).to_have_value("Betrag")  # kept
        page.get_by_label("Lines file (.csv or .xlsx)").set_input_files(
            upload_file("haushalt_2025.csv", data)
        )
        page.get_by_label("Amounts use a decimal comma (1.234.567,89)").check()
        page.get_by_role("button", name="Check the upload").click()

        expect(page.get_by_role("heading", name="No problems found")).to_be_visible()
        notes = page.locator("ul.import-notes")
        expect(notes).to_contain_text("encoding Windows-1252 (detected")
        expect(notes).to_contain_text("delimiter ';' (detected)")
        expect(notes).to_contain_text("header on row 2 (detected; 1 title row above it skipped)")
        expect(notes).to_contain_text("summed 2 rows into 1 lines")
        mapped = page.locator("table.mapped-lines tbody tr")
        expect(mapped).to_have_count(5)
        expect(page.locator("table.mapped-lines")).to_contain_text("Straßenbau")
        assert_accessible(page, "mapped preview")
        page.screenshot(path=str(tmp_path / "mapped-preview.png"), full_page=True)
        page.get_by_role("button", name="Publish revision 1").click()
        expect(page.get_by_role("status")).to_contain_text("Published.")

        before = server.submissions()
        page.goto(f"{server.url}/b/{SLUG}")
        open_every_department(page)
        status = page.locator("#balance-status")
        # Brücken moves in steps of $12,000, Gewerbesteuer of $15,000; tolerance $7,500.
        page.get_by_role("textbox", name="Brücken", exact=True).fill("1270577.90")
        expect(status).to_contain_text("To submit, cut spending or raise revenue by")
        page.get_by_role("textbox", name="Gewerbesteuer", exact=True).fill("1530000")
        expect(status).to_contain_text("Balanced")
        page.screenshot(path=str(tmp_path / "resident-balanced.png"), full_page=True)
        page.get_by_role("button", name="Submit my budget").click()
        expect(page).to_have_url(re.compile(rf"/b/{SLUG}/r/[A-Za-z0-9_-]{{22,}}$"))
        assert server.submissions() == before + 1
        assert watched.csp_violations() == [] and watched.errors == []
        assert {status for status in watched.statuses() if status >= 500} == set()
