"""The staff header on a 360 px phone: the navigation wraps instead of scrolling the page
sideways, and every link and the sign-out button stay on screen and are reached by Tab."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Browser, expect

from tests.browser.conftest import Server, create_staff, sign_in
from tests.browser.resident import PHONE, horizontal_overflow, watching

ADMIN = ("phone.admin@example.gov", "a long enough staff password")
# A dashboard no other journey submits to: with nothing to tabulate, only the header could
# make it scroll sideways.
DASHBOARD = "/staff/b/oakland-fy2023"
SHOT = Path("/tmp/staff-nav-360.png")


def test_staff_navigation_fits_a_360_px_phone(browser: Browser, server: Server) -> None:
    # An admin, whose header has the most links, with a long name beside "Sign out".
    create_staff(server, *ADMIN, role="admin", name="Alexandra Montgomery-Featherstonehaugh")
    with watching(browser, viewport=PHONE, is_mobile=True, has_touch=True) as watched:
        page = watched.page
        page.goto(f"{server.url}/staff/login?next={DASHBOARD}")
        sign_in(page, *ADMIN)
        expect(page.get_by_role("heading", level=1)).to_contain_text("what residents said")
        page.screenshot(path=str(SHOT))
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        assert horizontal_overflow(page) == []

        nav = page.get_by_role("navigation", name="Staff")
        targets = [*nav.get_by_role("link").all(), page.get_by_role("button", name="Sign out")]
        names = [target.inner_text() for target in targets]
        assert names == [
            "Budgets",
            "Budget files",
            "Staff accounts",
            "Audit log",
            "API tokens",
            "Sign out",
        ]
        for target in targets:  # whole on screen, and big enough to tap (WCAG 2.5.8)
            box = target.bounding_box()
            assert box and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], box
            assert box["width"] >= 24 and box["height"] >= 24, box
        reached = []  # Tab from the top of the page reaches them all, in reading order
        for _ in range(len(names) + 3):
            page.keyboard.press("Tab")
            reached.append(page.evaluate("document.activeElement.innerText.trim()"))
        assert [name for name in reached if name in names] == names, reached
        assert watched.csp_violations() == [] and watched.errors == []
