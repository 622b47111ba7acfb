"""An admin manages a colleague from the users page in Chromium: resets their password (a
one-time link; the colleague chooses a new password with it and signs in) and makes them an
admin through "Edit"."""

from __future__ import annotations

import re

from playwright.sync_api import Browser, expect

from tests.browser.conftest import Server, create_staff, sign_in

ADMIN = ("accounts.admin@city.gov", "keeps the staff list tidy")
COLLEAGUE = ("colleague@city.gov", "forgot this one already")
NEW_PASSWORD = "a brand new passphrase here"


def test_an_admin_resets_a_password_and_edits_a_role(browser: Browser, server: Server, tmp_path):
    create_staff(server, *ADMIN, role="admin", name="Ada Admin")
    server.cli(
        "create-staff", COLLEAGUE[0], "--name", "Cole League", "--role", "analyst",
        "--budget", "cambridge-fy2026", "--password-stdin", stdin=COLLEAGUE[1] + "\n",
    )  # fmt: skip
    admin_context, colleague_context = browser.new_context(), browser.new_context()
    admin, colleague = admin_context.new_page(), colleague_context.new_page()
    try:
        admin.goto(f"{server.url}/staff/login")
        sign_in(admin, *ADMIN)
        admin.goto(f"{server.url}/staff/users")
        row = admin.get_by_role("row").filter(has_text=COLLEAGUE[0])
        expect(row).to_contain_text("analyst")
        row.get_by_role("button", name=f"Reset password of {COLLEAGUE[0]}").click()
        notice = admin.get_by_role("status").filter(has_text="password is reset")
        expect(notice).to_contain_text("works once, for 24 hours")
        link = notice.locator("code").inner_text()
        assert re.fullmatch(rf"{re.escape(server.url)}/staff/invite/[A-Za-z0-9_-]+", link)
        admin.screenshot(path=str(tmp_path / "reset.png"), full_page=True)

        colleague.goto(link)
        expect(colleague.get_by_role("heading", level=1)).to_have_text(
            "Choose a new password, Cole League"
        )
        colleague.get_by_label("New password").fill(NEW_PASSWORD)
        colleague.get_by_label("The same password again").fill(NEW_PASSWORD)
        colleague.get_by_role("button", name="Set my password").click()
        colleague.wait_for_url(re.compile(r"/staff/login"))
        sign_in(colleague, COLLEAGUE[0], NEW_PASSWORD)
        colleague.wait_for_url(re.compile(r"/staff$"))

        admin.get_by_role("row").filter(has_text=COLLEAGUE[0]).get_by_role(
            "link", name=f"Edit {COLLEAGUE[0]}"
        ).click()
        expect(admin.get_by_role("heading", level=1)).to_have_text("Edit Cole League")
        admin.get_by_role("radio", name=re.compile(r"admin:")).check()
        admin.get_by_role("button", name="Save role and budgets").click()
        expect(admin.get_by_role("status").filter(has_text="Saved.")).to_be_visible()
        row = admin.get_by_role("row").filter(has_text=COLLEAGUE[0])
        expect(row.get_by_role("cell").nth(1)).to_have_text("admin")
        admin.screenshot(path=str(tmp_path / "edited.png"), full_page=True)
        colleague.goto(f"{server.url}/staff/users")  # an admin page, at once
        expect(colleague.get_by_role("heading", level=1)).to_have_text("Staff accounts")
    finally:
        admin_context.close()
        colleague_context.close()
