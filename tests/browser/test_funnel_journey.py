"""In Chromium, the page's script tells the server which line a resident moved, so the
participation funnel can say which lines residents touched last (without a cookie)."""

from __future__ import annotations

import time

import polars as pl
from playwright.sync_api import Page, expect
from sqlalchemy import create_engine, text

from budget_sim import resources
from budget_sim.data import load_package
from tests.browser.resident import open_department

SLUG = "cambridge-fy2026"
BUDGET = load_package(resources.budget_data() / SLUG)


def _events(database_url: str, line_id: str) -> list[tuple]:
    engine = create_engine(database_url)
    with engine.connect() as connection:
        found = connection.execute(
            text("SELECT kind, within, ballot FROM funnel_events WHERE line_id = :line"),
            {"line": line_id},
        ).all()
    engine.dispose()
    return found


def test_moving_a_slider_records_that_line_as_the_last_touched(page: Page, server) -> None:
    line = (
        BUDGET.lines.filter(
            (pl.col("kind") == "expense") & ~pl.col("locked") & (pl.col("max") > pl.col("amount"))
        )
        .tail(1)  # a line the other journeys leave alone
        .row(0, named=True)
    )
    assert _events(server.database_url, line["id"]) == []
    page.goto(f"{server.url}/b/{SLUG}")
    assert page.context.cookies() == []
    open_department(page, line["id"])
    slider = page.locator(f"#s-{line['id']}")
    slider.focus()
    slider.press("ArrowRight")
    expect(page.locator("#balance-status")).not_to_be_empty()
    deadline = time.monotonic() + 10  # the writer stores events once a second
    while not (found := _events(server.database_url, line["id"])):
        assert time.monotonic() < deadline, "no event recorded for the moved line"
        time.sleep(0.2)
    (kind, _within, ballot), *_ = found
    assert kind == "change" and len(ballot) == 64
    assert page.context.cookies() == []
