"""WCAG 2.2 AA checks with axe-core on the simulator in every state a resident meets (as loaded,
edited out of balance, refused with errors, submitted), in English and Spanish, on a desktop and
on a phone; and reflow: no sideways scrolling at 320 CSS px or at 200% zoom.

axe is injected with page.evaluate, which Playwright runs through the DevTools protocol: the
page's CSP (script-src 'self') does not apply to it, so these contexts keep the CSP on (no
bypass_csp) and also assert that the browser reported no CSP violation."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from budget_sim.money import to_units_text
from tests.browser.resident import (
    DESKTOP,
    PHONE,
    SLUG,
    assert_accessible,
    horizontal_overflow,
    open_every_department,
    pick_pair,
    small_targets,
    watching,
)

LINE_A, LINE_B, CUT_STEPS = pick_pair()
A_VALUE = LINE_A["amount"] + 3 * LINE_A["step"]
B_VALUE = LINE_B["amount"] - CUT_STEPS * LINE_B["step"]
B_TOO_HIGH = LINE_B["max"] + LINE_B["step"]
SUBMIT = {"en": "Submit my budget", "es": "Enviar mi presupuesto"}
NOT_SENT = {"en": "Your budget was not sent yet", "es": "Su presupuesto aún no se envió"}
RECEIVED = {
    "en": "Thank you: your budget was received.",
    "es": "Gracias: recibimos su presupuesto.",
}


def check(page: Page, state: str, phone: bool) -> None:
    """axe finds nothing; on a phone, every target outside a sentence is at least 24x24 px."""
    assert_accessible(page, state)
    if phone:
        assert small_targets(page, "body") == [], state


def status(page: Page, state: str):
    return page.locator(f"#balance-status .status.{state}")


def go_to_the_error_state(page: Page, lang: str) -> None:
    """Line A raised past the tolerance and line B typed above its maximum, then submitted."""
    page.locator(f"#n-{LINE_A['id']}").fill(to_units_text(A_VALUE))
    page.locator(f"#n-{LINE_B['id']}").fill(to_units_text(B_TOO_HIGH))
    expect(status(page, "todo")).to_be_visible()
    # Wait for the recalculation that lists line B's problem: it grows the summary and moves the
    # Submit button, and a click during that swap can land beside the button.
    expect(page.locator("#line-problems .problems li")).not_to_have_count(0)
    page.get_by_role("button", name=SUBMIT[lang]).click()
    expect(page.get_by_role("heading", name=NOT_SENT[lang])).to_be_visible()


def assert_errors_are_tied_to_their_fields(page: Page) -> None:
    summary = page.locator("#problems")
    expect(summary).to_be_focused()  # the resident lands on the list of what to fix
    amount_b = page.locator(f"#n-{LINE_B['id']}")
    expect(amount_b).to_have_attribute("aria-invalid", "true")
    expect(amount_b).to_have_attribute("aria-describedby", re.compile(rf"\be-{LINE_B['id']}\b"))
    expect(page.locator(f"#e-{LINE_B['id']}")).not_to_be_empty()
    expect(summary.locator(f"a[href='#n-{LINE_B['id']}']").first).to_be_visible()
    expect(summary.locator("a[href='#balance-status']")).to_be_visible()


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
@pytest.mark.parametrize("lang", ["en", "es"])
def test_no_axe_violations_as_loaded_edited_refused_and_submitted(
    browser: Browser, server, lang: str, viewport: dict
) -> None:
    phone = viewport is PHONE
    with watching(browser, viewport=viewport, is_mobile=phone, has_touch=phone) as watched:
        page = watched.page
        page.goto(f"{server.url}/b/{SLUG}?lang={lang}")
        expect(page.locator("html")).to_have_attribute("lang", lang)
        expect(status(page, "ok")).to_be_visible()
        check(page, f"{lang}, as loaded", phone)

        open_every_department(page)  # so that every line's controls are checked
        page.locator(f"#n-{LINE_A['id']}").fill(to_units_text(A_VALUE))
        expect(status(page, "todo")).to_be_visible()  # htmx swapped in the new totals
        assert page.evaluate("document.getAnimations().length") == 0  # nothing moves by itself
        check(page, f"{lang}, edited out of balance", phone)

        go_to_the_error_state(page, lang)
        assert_errors_are_tied_to_their_fields(page)
        check(page, f"{lang}, refused with errors", phone)

        page.locator(f"#n-{LINE_B['id']}").fill(to_units_text(B_VALUE))
        expect(status(page, "ok")).to_be_visible()
        page.get_by_role("button", name=SUBMIT[lang]).click()
        expect(page.get_by_text(RECEIVED[lang])).to_be_visible()
        check(page, f"{lang}, submitted", phone)
        watched.assert_clean()


@pytest.mark.parametrize(
    ("width", "lang"),
    [(320, "es"), (640, "en")],
    ids=["320px-es", "200%-zoom-en"],
)
def test_pages_reflow_without_sideways_scrolling(
    browser: Browser, server, width: int, lang: str
) -> None:
    """320 CSS px is WCAG 1.4.10's reflow width; a 1280 px window at 200% zoom is 640 CSS px."""
    scale = 2 if width == 640 else 1
    with watching(
        browser, viewport={"width": width, "height": 800}, device_scale_factor=scale
    ) as watched:
        page = watched.page
        page.goto(f"{server.url}/b/{SLUG}?lang={lang}")
        assert horizontal_overflow(page) == []
        open_every_department(page)
        closed = page.locator("details.line-comment:not([open]) > summary")
        for _ in range(closed.count()):
            closed.first.click()
        assert horizontal_overflow(page) == []

        go_to_the_error_state(page, lang)
        assert horizontal_overflow(page) == []

        page.locator(f"#n-{LINE_B['id']}").fill(to_units_text(B_VALUE))
        expect(status(page, "ok")).to_be_visible()
        page.get_by_role("button", name=SUBMIT[lang]).click()
        expect(page.get_by_text(RECEIVED[lang])).to_be_visible()
        assert horizontal_overflow(page) == []
        watched.assert_clean()
