"""A resident rebalances Cambridge's real budget in Chromium: with JavaScript, without it, and
with an impatient double click."""

from __future__ import annotations

import math
import re

import polars as pl
import pytest
from playwright.sync_api import Browser, Page, expect

from budget_sim import resources
from budget_sim.data import load_package
from budget_sim.money import format_money, to_units_text
from tests.browser.resident import grouped

SLUG = "cambridge-fy2026"
BUDGET = load_package(resources.budget_data() / SLUG)
RAISE_STEPS = 3


def _pick_lines() -> tuple[dict, dict, int]:
    """Line A to raise by three steps (beyond the tolerance) and line B whose cut rebalances it."""
    tolerance = BUDGET.rules.tolerance
    usable = BUDGET.lines.filter(
        (pl.col("kind") == "expense")
        & ~pl.col("locked")
        & (pl.col("program").count().over("program") == 1)  # its label finds it alone
    ).to_dicts()
    for a in usable:
        raise_by = RAISE_STEPS * a["step"]
        if raise_by <= tolerance or a["amount"] + raise_by > a["max"]:
            continue
        for b in usable:
            if b["id"] == a["id"] or b["department"] == a["department"] or b["step"] > tolerance:
                continue
            cut_steps = math.ceil((raise_by - tolerance) / b["step"])
            if b["amount"] - cut_steps * b["step"] >= b["min"]:
                return a, b, cut_steps
    raise AssertionError("Cambridge has no pair of lines for this journey")


LINE_A, LINE_B, CUT_STEPS = _pick_lines()
A_VALUE = LINE_A["amount"] + RAISE_STEPS * LINE_A["step"]
B_VALUE = LINE_B["amount"] - CUT_STEPS * LINE_B["step"]


def watch_csp(page: Page) -> list[str]:
    violations: list[str] = []
    page.on(
        "console",
        lambda message: (
            violations.append(message.text)
            if "Content Security Policy" in message.text or "Refused to" in message.text
            else None
        ),
    )
    return violations


def open_department(page: Page, department: str) -> None:
    section = page.locator(
        "details.department", has=page.locator(".dept-name", has_text=department)
    )
    section.first.locator(":scope > summary").click()


def assert_receipt(page: Page) -> None:
    expect(page).to_have_url(re.compile(rf"/b/{SLUG}/r/[A-Za-z0-9_-]{{22,}}$"))
    expect(page.get_by_text("your budget was received")).to_be_visible()
    row_a = page.get_by_role("row", name=re.compile(re.escape(LINE_A["program"])))
    expect(row_a.first).to_contain_text(format_money(A_VALUE))
    row_b = page.get_by_role("row", name=re.compile(re.escape(LINE_B["program"])))
    expect(row_b.first).to_contain_text(format_money(B_VALUE))


def test_keyboard_rebalance_and_submit_with_javascript(page: Page, server) -> None:
    csp = watch_csp(page)
    before = server.submissions()
    page.goto(f"{server.url}/b/{SLUG}")
    status = page.locator("#balance-status")
    expect(status).to_contain_text("Balanced")
    spending = page.locator(".totals div", has_text="Spending").locator("dd")
    spending_before = spending.inner_text()

    open_department(page, LINE_A["department"])
    slider = page.get_by_role("slider", name=re.compile(re.escape(LINE_A["program"])))
    slider.focus()
    for _ in range(RAISE_STEPS):
        slider.press("ArrowRight")
    amount_a = page.get_by_role("textbox", name=LINE_A["program"], exact=True)
    expect(amount_a).to_have_value(grouped(A_VALUE))
    expect(status).to_contain_text("To submit, cut spending or raise revenue by")
    expect(spending).not_to_have_text(spending_before)
    expect(slider).to_be_focused()  # live totals never replace the input being used

    open_department(page, LINE_B["department"])
    amount_b = page.get_by_role("textbox", name=LINE_B["program"], exact=True)
    amount_b.fill(to_units_text(B_VALUE))
    expect(status).to_contain_text("Balanced")

    page.get_by_role("button", name="Submit my budget").click()
    assert_receipt(page)
    assert server.submissions() == before + 1
    assert csp == []


def test_the_same_journey_without_javascript(browser: Browser, server) -> None:
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    before = server.submissions()
    page.goto(f"{server.url}/b/{SLUG}")
    open_department(page, LINE_A["department"])
    page.get_by_role("textbox", name=LINE_A["program"], exact=True).fill(to_units_text(A_VALUE))
    page.get_by_role("button", name="Update totals").click()
    status = page.locator("#balance-status")
    expect(status).to_contain_text("To submit, cut spending or raise revenue by")
    # The recalculated page keeps what the resident typed.
    expect(page.locator(f"#n-{LINE_A['id']}")).to_have_value(grouped(A_VALUE))

    open_department(page, LINE_B["department"])
    page.get_by_role("textbox", name=LINE_B["program"], exact=True).fill(to_units_text(B_VALUE))
    page.get_by_role("button", name="Update totals").click()
    expect(status).to_contain_text("Balanced")
    page.get_by_role("button", name="Submit my budget").click()
    assert_receipt(page)
    assert server.submissions() == before + 1
    context.close()


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_a_double_click_on_submit_stores_one_budget(browser: Browser, server, javascript) -> None:
    context = browser.new_context(java_script_enabled=javascript)
    page = context.new_page()
    before = server.submissions()
    page.goto(f"{server.url}/b/{SLUG}")
    page.get_by_role("button", name="Submit my budget").dblclick()
    expect(page).to_have_url(re.compile(r"/r/"))
    page.wait_for_load_state("networkidle")
    assert server.submissions() == before + 1
    context.close()
