"""Resident journeys in Chromium on Cambridge's budget: the whole flow in Spanish, with the keyboard
alone, on a 360 px wide phone, and through a saved draft reopened in a fresh browser. Every
journey records every response and the console: no response sets a cookie, the browser reports
no CSP violation and no script error."""

from __future__ import annotations

import re

import polars as pl
from playwright.sync_api import Browser, Page, expect

from budget_sim.money import format_money, to_units_text
from tests.browser.resident import (
    BUDGET,
    DESKTOP,
    PHONE,
    SLUG,
    deepest_line,
    focus_is_visible,
    grouped,
    horizontal_overflow,
    open_department,
    pick_pair,
    small_targets,
    watching,
)

RAISE_STEPS = 3
LINE_A, LINE_B, CUT_STEPS = pick_pair(RAISE_STEPS)
A_VALUE = LINE_A["amount"] + RAISE_STEPS * LINE_A["step"]
B_VALUE = LINE_B["amount"] - CUT_STEPS * LINE_B["step"]
SPANISH = {
    row["id"]: row
    for row in BUDGET.localized("es")
    .lines.filter(pl.col("id").is_in([LINE_A["id"], LINE_B["id"]]))
    .to_dicts()
}
RECEIPT_URL = re.compile(rf"/b/{SLUG}/r/[A-Za-z0-9_-]{{22,}}(\?lang=es)?$")
OUT_OF_BALANCE = "To submit, cut spending or raise revenue by"


def assert_receipt_rows(page: Page, rows: list[tuple[str, int]]) -> None:
    """Each (program, amount) has a row on the receipt showing the resident's amount."""
    for program, value in rows:
        row = page.get_by_role("row", name=re.compile(re.escape(program)))
        expect(row.filter(has_text=format_money(value)).first).to_be_visible()


def test_the_whole_flow_in_spanish(browser: Browser, server) -> None:
    a_es, b_es = SPANISH[LINE_A["id"]], SPANISH[LINE_B["id"]]
    with watching(browser, viewport=DESKTOP) as watched:
        page = watched.page
        page.goto(f"{server.url}/b/{SLUG}?lang=es")
        expect(page.locator("html")).to_have_attribute("lang", "es")
        expect(page.get_by_role("button", name="Enviar mi presupuesto")).to_be_visible()
        expect(page.get_by_role("button", name="Guardar un enlace al borrador")).to_be_visible()
        expect(page.get_by_role("heading", name="Su presupuesto")).to_be_visible()
        status = page.locator("#balance-status")
        expect(status).to_contain_text("Equilibrado")

        page.locator("summary", has_text=a_es["department"]).first.click()
        slider = page.get_by_role("slider", name=f"{a_es['program']} ({a_es['department']})")
        slider.focus()
        for _ in range(RAISE_STEPS):
            slider.press("ArrowRight")
        amount_a = page.locator(f"#n-{LINE_A['id']}")
        expect(amount_a).to_have_accessible_name(a_es["program"])
        expect(amount_a).to_have_value(grouped(A_VALUE))
        expect(status).to_contain_text("Para enviarlo, recorte el gasto o aumente los ingresos en")

        open_department(page, LINE_B["id"])
        amount_b = page.locator(f"#n-{LINE_B['id']}")
        expect(amount_b).to_have_accessible_name(b_es["program"])
        amount_b.fill(to_units_text(B_VALUE))
        expect(status).to_contain_text("Equilibrado")

        page.get_by_role("button", name="Enviar mi presupuesto").click()
        expect(page.get_by_text("Gracias: recibimos su presupuesto.")).to_be_visible()
        expect(page).to_have_url(RECEIPT_URL)
        assert page.url.endswith("?lang=es")
        expect(page.locator("html")).to_have_attribute("lang", "es")
        expect(page.get_by_role("columnheader", name="El suyo")).to_be_visible()
        assert_receipt_rows(page, [(a_es["program"], A_VALUE), (b_es["program"], B_VALUE)])
        assert 303 in watched.statuses()  # the submission's redirect was recorded too
        watched.assert_clean()


def focused(page: Page, selector: str) -> bool:
    return page.evaluate("(s) => document.activeElement.matches(s)", selector)


def tab_to(page: Page, selector: str, limit: int = 400) -> None:
    """Press Tab (or Shift+Tab when the target comes earlier) until `selector` has the focus."""
    backwards = page.evaluate(
        """(s) => Boolean(document.activeElement.compareDocumentPosition(
             document.querySelector(s)) & Node.DOCUMENT_POSITION_PRECEDING)""",
        selector,
    )
    for _ in range(limit):
        if focused(page, selector):
            return
        page.keyboard.press("Shift+Tab" if backwards else "Tab")
    raise AssertionError(f"{limit} key presses never reached {selector}")


def assert_focus_visible(page: Page) -> None:
    focus = focus_is_visible(page)
    assert focus["matches"] and focus["outline"] and focus["inViewport"], focus


def test_keyboard_only(browser: Browser, server) -> None:
    with watching(browser, viewport=DESKTOP) as watched:
        page = watched.page
        page.goto(f"{server.url}/b/{SLUG}")
        keys = page.keyboard

        keys.press("Tab")
        assert focused(page, "a.skip-link")
        assert_focus_visible(page)  # the skip link shows itself when focused
        keys.press("Enter")
        assert focused(page, "main")

        department_a = f"details:has(#line-{LINE_A['id']}) > summary"
        tab_to(page, department_a)
        assert_focus_visible(page)
        keys.press("Enter")
        expect(page.locator(f"#line-{LINE_A['id']}")).to_be_visible()

        slider_a = f"#s-{LINE_A['id']}"
        tab_to(page, slider_a)
        assert_focus_visible(page)
        status = page.locator("#balance-status")
        # The live region stays the same element while htmx changes its text, so screen readers
        # announce the new balance.
        page.evaluate("document.getElementById('balance-status').dataset.original = 'yes'")
        for _ in range(RAISE_STEPS):
            keys.press("ArrowRight")
        expect(page.locator(f"#n-{LINE_A['id']}")).to_have_value(grouped(A_VALUE))
        expect(status).to_contain_text(OUT_OF_BALANCE)
        expect(status).to_have_attribute("role", "status")
        expect(status).to_have_attribute("data-original", "yes")
        assert focused(page, slider_a)  # the live totals never take the focus away

        # The line's Reset button puts it back (and the focus on its amount)...
        tab_to(page, f"button[data-reset='{LINE_A['id']}']")
        assert_focus_visible(page)
        keys.press("Enter")
        expect(page.locator(f"#n-{LINE_A['id']}")).to_have_value(grouped(LINE_A["amount"]))
        expect(status).to_contain_text("Balanced")
        assert focused(page, f"#n-{LINE_A['id']}")

        # ...so raise it again, then cut line B by typing in its number box.
        keys.press("Shift+Tab")
        assert focused(page, slider_a)
        for _ in range(RAISE_STEPS):
            keys.press("ArrowRight")
        expect(status).to_contain_text(OUT_OF_BALANCE)
        tab_to(page, f"details:has(#line-{LINE_B['id']}) > summary")
        keys.press("Space")
        tab_to(page, f"#n-{LINE_B['id']}")
        assert_focus_visible(page)
        keys.press("Control+A")
        keys.type(to_units_text(B_VALUE))
        expect(status).to_contain_text("Balanced")
        expect(status).to_have_attribute("data-original", "yes")

        tab_to(page, "#simulator button.primary")
        assert_focus_visible(page)
        assert page.evaluate("document.activeElement.textContent.trim()") == "Submit my budget"
        keys.press("Enter")
        expect(page.get_by_text("Thank you: your budget was received.")).to_be_visible()
        expect(page).to_have_url(RECEIPT_URL)
        assert_receipt_rows(page, [(LINE_A["program"], A_VALUE), (LINE_B["program"], B_VALUE)])
        watched.assert_clean()


def in_viewport(page: Page, selector: str) -> dict:
    return page.evaluate(
        """(s) => { const box = document.querySelector(s).getBoundingClientRect();
                    return {top: box.top, bottom: box.bottom, height: innerHeight}; }""",
        selector,
    )


def test_on_a_360_px_phone(browser: Browser, server) -> None:
    deep = deepest_line()
    with watching(browser, viewport=PHONE, is_mobile=True, has_touch=True) as watched:
        page = watched.page
        page.goto(f"{server.url}/b/{SLUG}")
        bar = page.locator("#balance-bar")
        expect(bar).to_be_visible()
        expect(bar).to_contain_text("Balanced")
        assert horizontal_overflow(page) == []
        assert small_targets(page, "body") == []

        open_department(page, deep["id"])  # a tap
        expect(page.locator(f"#line-{deep['id']}")).to_be_visible()
        assert horizontal_overflow(page) == []
        assert small_targets(page, "body") == []

        amount = page.locator(f"#n-{deep['id']}")
        amount.scroll_into_view_if_needed()
        assert page.evaluate("scrollY") > 2 * PHONE["height"]  # far down the page
        amount.tap()
        amount.fill(to_units_text(deep["max"]))
        expect(bar).to_contain_text("Deficit")
        expect(bar).to_contain_text(OUT_OF_BALANCE)
        box = in_viewport(page, "#balance-bar")
        assert box["top"] >= 0 and box["bottom"] <= box["height"], box  # still on screen
        field = in_viewport(page, f"#n-{deep['id']}")
        assert field["top"] >= box["bottom"], (field, box)  # and not over the field being edited
        for _ in range(12):  # moving the focus back up never hides it under the bar (2.4.11)
            page.keyboard.press("Shift+Tab")
            focus = in_viewport(page, ":focus")
            assert focus["top"] >= in_viewport(page, "#balance-bar")["bottom"] - 1, focus

        page.locator(f"button[data-reset='{deep['id']}']").tap()
        expect(amount).to_have_value(grouped(deep["amount"]))
        expect(bar).to_contain_text("Balanced")
        box = in_viewport(page, "#balance-bar")
        assert box["top"] >= 0 and box["bottom"] <= box["height"], box

        page.get_by_role("button", name="Submit my budget").tap()
        expect(page.get_by_text("Thank you: your budget was received.")).to_be_visible()
        assert horizontal_overflow(page) == []
        assert small_targets(page, "body") == []
        watched.assert_clean()


def test_a_draft_link_reopened_in_a_new_browser(browser: Browser, server) -> None:
    comment = "Keep this running through the winter, please."
    b_draft = LINE_B["amount"] + LINE_B["step"]
    with watching(browser, viewport=DESKTOP) as first:
        page = first.page
        page.goto(f"{server.url}/b/{SLUG}")
        open_department(page, LINE_A["id"])
        page.locator(f"#n-{LINE_A['id']}").fill(to_units_text(A_VALUE))
        open_department(page, LINE_B["id"])
        page.locator(f"#n-{LINE_B['id']}").fill(to_units_text(b_draft))
        page.locator(f"#line-{LINE_A['id']} details.line-comment > summary").click()
        page.get_by_role("textbox", name="Your comment").and_(
            page.locator(f"#k-{LINE_A['id']}")
        ).fill(comment)
        expect(page.locator("#balance-status")).to_contain_text(OUT_OF_BALANCE)

        page.get_by_role("button", name="Save a draft link").click()
        expect(page).to_have_url(re.compile(rf"/b/{SLUG}/d/[A-Za-z0-9_-]{{16,}}$"))
        expect(page.get_by_text("Your draft is saved.")).to_be_visible()
        link = page.locator("a.draft-link")
        expect(link).to_have_text(page.url)
        draft_url = link.get_attribute("href")
        assert draft_url == page.url
        assert 303 in first.statuses()
        first.assert_clean()
        assert first.context.cookies() == []

    with watching(browser, viewport=DESKTOP) as second:  # nothing shared with the first
        page = second.page
        page.goto(draft_url)
        expect(page.locator(f"#n-{LINE_A['id']}")).to_have_value(grouped(A_VALUE))
        expect(page.locator(f"#s-{LINE_A['id']}")).to_have_value(to_units_text(A_VALUE))
        expect(page.locator(f"#n-{LINE_B['id']}")).to_have_value(grouped(b_draft))
        expect(page.locator(f"#k-{LINE_A['id']}")).to_be_visible()  # its comment shows, open
        expect(page.locator(f"#k-{LINE_A['id']}")).to_have_value(comment)
        status = page.locator("#balance-status")
        expect(status).to_contain_text(OUT_OF_BALANCE)

        page.locator(f"#n-{LINE_B['id']}").fill(to_units_text(B_VALUE))
        expect(status).to_contain_text("Balanced")
        page.get_by_role("button", name="Submit my budget").click()
        expect(page.get_by_text("Thank you: your budget was received.")).to_be_visible()
        expect(page).to_have_url(RECEIPT_URL)
        assert_receipt_rows(page, [(LINE_A["program"], A_VALUE), (LINE_B["program"], B_VALUE)])
        # the comment went to the city's staff; the shareable receipt shows the budget only
        expect(page.get_by_text(comment)).to_have_count(0)
        second.assert_clean()
        assert second.context.cookies() == []
