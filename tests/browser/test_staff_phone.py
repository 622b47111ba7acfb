"""The staff pages on a 360 px phone: the navigation wraps instead of scrolling the page
sideways, and every link and the sign-out button stay on screen and are reached by Tab; wide
tables scroll inside their own region, which the keyboard can reach, not the page."""

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


STAFF_PAGES = ("/staff", "/staff/users", "/staff/audit", "/staff/budgets", "/staff/tokens")
TABLES_ADMIN = ("phone.tables@example.gov", "another long enough staff password")


def test_wide_staff_tables_scroll_inside_their_region_on_a_phone(
    browser: Browser, server: Server
) -> None:
    create_staff(server, *TABLES_ADMIN, role="admin", name="Tables")
    with watching(browser, viewport=PHONE, is_mobile=True, has_touch=True) as watched:
        page = watched.page
        page.goto(f"{server.url}/staff/login?next=/staff")
        sign_in(page, *TABLES_ADMIN)
        for path in STAFF_PAGES:
            page.goto(server.url + path)
            assert horizontal_overflow(page) == [], (path, horizontal_overflow(page))
            regions = page.locator(".table-scroll")
            assert regions.count() >= 1, path
            for region in regions.all():  # named by its table's caption, focusable to scroll
                assert region.get_attribute("tabindex") == "0", path
                caption = page.locator(f"#{region.get_attribute('aria-labelledby')}")
                assert caption.inner_text().strip(), path
            widths = regions.evaluate_all("rs => rs.map(r => [r.scrollWidth, r.clientWidth])")
            if path == "/staff/budgets":  # the widest: it scrolls sideways, inside its region
                assert any(inner > outer for inner, outer in widths), widths
        assert watched.csp_violations() == [] and watched.errors == []
