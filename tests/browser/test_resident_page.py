"""Issue 11 in a real browser: a round amount typed with separators and a long comment sent; the
keyboard reaching Submit through the skip link; sliders that announce money; a failed
recalculation that says so and retries; and axe-core with zero violations on Chicago and Oakland
(Cambridge: test_accessibility.py) at 1280 and 360 px, as loaded, edited, refused and submitted,
with no sideways scrolling at 360 px."""

from __future__ import annotations

import re

import polars as pl
import pytest
from playwright.sync_api import Browser, Page, expect

from budget_sim import resources
from budget_sim.data import load_package
from budget_sim.model import Budget, evaluate
from tests.browser.resident import (
    BUDGET,
    DESKTOP,
    PHONE,
    SLUG,
    assert_accessible,
    grouped,
    horizontal_overflow,
    open_department,
    open_every_department,
    small_targets,
    watching,
)
from tests.browser.test_resident_keep_journeys import stored_comments

MILLION = 1_000_000_00  # cents
SUBMIT = "Submit my budget"
RECEIVED = "Thank you: your budget was received."


def round_line(budget: Budget) -> tuple[dict, int]:
    """A line and a round million inside its range, off the slider's steps, within tolerance."""
    lines = budget.lines.filter((pl.col("kind") == "expense") & ~pl.col("locked"))
    for line in lines.iter_rows(named=True):
        chosen = round(line["amount"] / MILLION) * MILLION
        if (
            line["min"] <= chosen <= line["max"]
            and 0 < abs(chosen - line["amount"]) <= budget.rules.tolerance
            and (chosen - line["amount"]) % line["step"]
        ):
            return line, chosen
    raise AssertionError("no line for this journey")


def test_typing_17_000_000_and_a_long_comment_then_submitting(browser: Browser, server) -> None:
    line, chosen = round_line(BUDGET)
    typed = f"{chosen // 100:,}"  # "17,000,000": refused before issue 11 (off the step grid)
    # One paragraph of 498 characters: a comment with line breaks is s11b's part of issue 11.
    comment = ("The city should keep this service as it is, and explain the trade-offs. " * 7)[:498]
    with watching(browser, viewport=DESKTOP) as watched:
        page = watched.page
        page.goto(f"{server.url}/b/{SLUG}")
        open_department(page, line["id"])
        amount = page.locator(f"#n-{line['id']}")
        amount.fill(typed)
        change = page.locator(f"#r-{line['id']} .change")
        expect(change).to_contain_text(re.compile(r"(Raised|Cut) [+-]\d+\.\d%, [+-]\$[\d,]+\."))
        expect(page.locator("#balance-status .status.ok")).to_be_visible()
        expect(page.locator(f"#s-{line['id']}")).to_have_attribute(
            "aria-valuetext", re.compile(r"^\$[\d,]+$")
        )
        page.locator("details.line-comment", has=page.locator(f"#k-{line['id']}")).locator(
            "summary"
        ).click()
        page.locator(f"#k-{line['id']}").fill(comment)
        page.get_by_role("button", name=SUBMIT).click()
        expect(page.get_by_text(RECEIVED)).to_be_visible()
        row = page.locator("tr", has=page.locator("th", has_text=line["program"])).first
        expect(row).to_contain_text(f"${typed}")
        # The receipt is private: it shows the budget, never the comment, which staff read.
        expect(page.get_by_text(comment[:60])).to_have_count(0)
        watched.assert_clean()
    assert (line["id"], comment) in stored_comments(server)


def test_the_keyboard_reaches_submit_through_the_skip_link(browser: Browser, server) -> None:
    before = server.submissions()
    with watching(browser, viewport=DESKTOP) as watched:
        page = watched.page
        page.goto(f"{server.url}/b/{SLUG}")
        page.keyboard.press("Tab")  # "Skip to content"
        page.keyboard.press("Tab")
        skip = page.get_by_role("link", name="Skip to your totals and Submit")
        expect(skip).to_be_focused()
        expect(skip).to_be_in_viewport()  # shown when focused
        page.keyboard.press("Enter")
        submit = page.get_by_role("button", name=SUBMIT)
        for _ in range(6):  # a few presses from the totals, not hundreds of program controls
            page.keyboard.press("Tab")
            if page.evaluate("document.activeElement.textContent.trim()") == SUBMIT:
                break
        expect(submit).to_be_focused()
        page.keyboard.press("Enter")
        expect(page.get_by_text(RECEIVED)).to_be_visible()
    assert server.submissions() == before + 1


def test_sliders_and_fields_speak_money_and_arrow_keys_step(browser: Browser, server) -> None:
    line, _ = round_line(BUDGET)
    with watching(browser, viewport=DESKTOP) as watched:
        page = watched.page
        page.goto(f"{server.url}/b/{SLUG}")
        open_department(page, line["id"])
        slider = page.locator(f"#s-{line['id']}")
        expect(slider).to_have_accessible_name(f"{line['program']} ({line['department']})")
        slider.focus()
        slider.press("ArrowRight")
        up = line["amount"] + line["step"]
        expect(slider).to_have_attribute("aria-valuetext", f"${grouped(up)}")
        amount = page.locator(f"#n-{line['id']}")
        expect(amount).to_have_value(grouped(up))
        amount.focus()
        amount.press("ArrowDown")  # a text field steps like its slider
        expect(amount).to_have_value(grouped(line["amount"]))
        expect(slider).to_have_attribute("aria-valuetext", f"${grouped(line['amount'])}")
        watched.assert_clean()


def test_the_chart_table_stays_open_and_current_while_lines_move(browser: Browser, server) -> None:
    line, _ = round_line(BUDGET)
    with watching(browser, viewport=DESKTOP) as watched:
        page = watched.page
        page.goto(f"{server.url}/b/{SLUG}")
        table = page.locator("#money-chart details.chart-data")
        table.locator("summary").click()
        expect(table).to_have_attribute("open", "")
        open_department(page, line["id"])
        page.locator(f"#s-{line['id']}").focus()
        page.keyboard.press("ArrowRight")
        change = f"+${grouped(line['step'])}"
        expect(page.locator("#money-chart")).to_contain_text(change)  # redrawn
        expect(table).to_have_attribute("open", "")  # and still open
        expect(table.locator("tbody")).to_contain_text(change)
        watched.assert_clean()


def test_a_failed_recalculation_says_so_and_retries(browser: Browser, server) -> None:
    line, _ = round_line(BUDGET)
    with watching(browser, viewport=DESKTOP) as watched:
        page = watched.page
        page.goto(f"{server.url}/b/{SLUG}")
        recalculation = re.compile(rf"/b/{SLUG}$")
        page.route(recalculation, lambda route: route.abort("internetdisconnected"))
        open_department(page, line["id"])
        page.locator(f"#n-{line['id']}").fill(grouped(line["max"]))
        failed = page.locator("#recalc-failed")
        expect(failed).to_be_visible()
        expect(failed).to_have_attribute("role", "alert")
        expect(failed).to_contain_text("could not be updated")
        expect(page.locator("#balance-status .status.ok")).to_be_visible()  # stale, and said so
        page.unroute(recalculation)
        page.get_by_role("button", name="Try again").click()
        expect(failed).to_be_hidden()
        expect(page.locator("#balance-status .status.todo")).to_be_visible()
        watched.errors.clear()  # the aborted request's console noise is the point of this test
        assert watched.cookies_set() == []


def plan(budget: Budget) -> tuple[dict, int, dict, int, int]:
    """(line A, A raised by three steps, line B in another department, B above its maximum, B
    at an amount that makes the plan submittable), all from the budget's data."""
    lines = budget.lines.filter((pl.col("kind") == "expense") & ~pl.col("locked")).to_dicts()
    a = next(li for li in lines if li["amount"] + 3 * li["step"] <= li["max"] and li["step"])
    a_value = a["amount"] + 3 * a["step"]
    gap = evaluate(budget, {a["id"]: a_value}).summary.gap  # > 0: cut that much
    others = [li for li in lines if li["department"] != a["department"]]
    b = max(
        others, key=lambda li: li["amount"] - li["min"] if gap > 0 else li["max"] - li["amount"]
    )
    b_value = b["amount"] - gap
    assert b["min"] <= b_value <= b["max"]
    assert not evaluate(budget, {a["id"]: a_value, b["id"]: b_value}).violations
    return a, a_value, b, b["max"] + MILLION, b_value


def check(page: Page, state: str, phone: bool) -> None:
    assert_accessible(page, state)
    if phone:
        assert small_targets(page, "body") == [], state
        assert horizontal_overflow(page) == [], state


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1280px", "360px"])
@pytest.mark.parametrize(
    "slug", ["chicago-fy2026", "oakland-fy2023", "sacramento-fy2026", "philadelphia-fy2024"]
)
def test_no_axe_violations_on_the_other_budgets(
    browser: Browser, server, slug: str, viewport: dict
) -> None:
    budget = load_package(resources.budget_data() / slug)
    a, a_value, b, b_too_high, b_value = plan(budget)
    phone = viewport is PHONE
    with watching(browser, viewport=viewport, is_mobile=phone, has_touch=phone) as watched:
        page = watched.page
        page.goto(f"{server.url}/b/{slug}")
        check(page, f"{slug}, as loaded", phone)

        open_every_department(page)
        assert horizontal_overflow(page) == []
        page.locator(f"#n-{a['id']}").fill(grouped(a_value))
        expect(page.locator(f"#r-{a['id']} .change")).to_be_visible()
        check(page, f"{slug}, edited", phone)

        page.locator(f"#n-{b['id']}").fill(grouped(b_too_high))
        expect(page.locator("#line-problems .problems li")).not_to_have_count(0)
        page.get_by_role("button", name=SUBMIT).click()
        expect(page.get_by_role("heading", name="Your budget was not sent yet")).to_be_visible()
        expect(page.locator("#problems a[href='#n-" + b["id"] + "']")).to_be_visible()
        check(page, f"{slug}, refused", phone)

        page.locator(f"#n-{b['id']}").fill(grouped(b_value))
        expect(page.locator("#balance-status .status.ok")).to_be_visible()
        page.get_by_role("button", name=SUBMIT).click()
        expect(page.get_by_text(RECEIVED)).to_be_visible()
        check(page, f"{slug}, submitted", phone)
        watched.assert_clean()
