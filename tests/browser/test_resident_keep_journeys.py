"""Journeys where nothing a resident typed is lost, in Spanish on every budget: Oakland in Spanish
to a private receipt, the language switch keeping the plan, "Reset all" with undo, the warning
before leaving, the embed whose balance stays in view on another site, and axe-core on Chicago
and Oakland in Spanish as loaded, edited, refused and submitted, on a desktop and a phone."""

from __future__ import annotations

import re
from collections.abc import Iterator

import polars as pl
import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import create_engine, text

from budget_sim import resources
from budget_sim.data import load_package
from budget_sim.money import to_units_text
from tests.browser.conftest import Server, running_server
from tests.browser.resident import (
    DESKTOP,
    PHONE,
    assert_accessible,
    grouped,
    open_department,
    open_every_department,
    watching,
)
from tests.browser.test_embed_journey import _free_port, _host_page, _serve_city, _snippet
from tests.web.test_embed import copy_with_origins

OAKLAND = load_package(resources.budget_data() / "oakland-fy2023")
CHICAGO = load_package(resources.budget_data() / "chicago-fy2026")
# 498 characters as the browser counts them, over several lines (CR LF when sent: 505 bytes)
COMMENT = "\n".join(["Más dinero para el zoológico, por favor."] * 13)[:498]


def line(budget, **where) -> dict:
    frame = budget.lines.filter(~pl.col("locked"))
    for column, value in where.items():
        frame = frame.filter(pl.col(column) == value)
    return frame.row(0, named=True)


ZOO = line(OAKLAND, program="Zoo")
FINES = line(CHICAGO, department="Fines, Forfeitures and Penalties")


def stored_comments(server: Server) -> list[tuple[str, str]]:
    engine = create_engine(server.database_url)
    with engine.connect() as connection:
        rows = [
            tuple(row) for row in connection.execute(text("SELECT line_id, text FROM comments"))
        ]
    engine.dispose()
    return rows


def test_oakland_in_spanish_to_a_private_receipt(browser: Browser, server: Server) -> None:
    with watching(browser, viewport=DESKTOP) as watched:
        page = watched.page
        page.goto(f"{server.url}/b/oakland-fy2023?lang=es")
        expect(page.locator("html")).to_have_attribute("lang", "es")
        expect(page.get_by_text("Nombres traducidos; los nombres oficiales")).to_be_visible()
        page.locator("#line-filter").fill("policia")  # no accent: still finds "Policía"
        expect(page.locator("#filter-count")).to_have_text(re.compile(r"^[1-9]\d* programas"))
        page.locator("#line-filter").fill("zoologico")
        expect(page.locator(f"#line-{ZOO['id']}")).to_be_visible()
        page.locator(f"#s-{ZOO['id']}").press("ArrowRight")
        comment = page.locator(f"#k-{ZOO['id']}")
        comment.locator("xpath=ancestor::details[1]/summary").click()
        comment.fill(COMMENT)
        assert comment.evaluate("box => [box.value.length, box.maxLength]") == [498, 500]
        expect(page.locator("#balance-status .status.ok")).to_be_visible()
        page.get_by_role("button", name="Enviar mi presupuesto").click()
        expect(page.get_by_text("Gracias: recibimos su presupuesto.")).to_be_visible()
        expect(page.get_by_role("heading", name="Lo que más cambió")).to_be_visible()
        expect(page.locator(".biggest-list li").first).to_contain_text("Zoológico")
        expect(page.locator('meta[name="robots"]')).to_have_attribute(
            "content", "noindex, nofollow"
        )
        assert "zoológico, por favor" not in page.content()  # the comment is for staff only
        assert (ZOO["id"], COMMENT) in stored_comments(server)  # kept exactly, line breaks too
        watched.assert_clean()


def test_switching_language_keeps_the_plan(browser: Browser, server: Server) -> None:
    with watching(browser, viewport=PHONE, has_touch=True) as watched:
        page = watched.page
        page.goto(f"{server.url}/b/chicago-fy2026")
        chosen = grouped(FINES["amount"] + FINES["step"])  # as the field shows it
        open_department(page, FINES["id"])
        page.locator(f"#n-{FINES['id']}").fill(chosen)
        page.locator("#k-overall").fill("Primera línea\nSegunda línea")
        page.get_by_role("button", name="Español").tap()
        expect(page.locator("html")).to_have_attribute("lang", "es")
        expect(page.locator(f"#n-{FINES['id']}")).to_have_value(chosen)
        expect(page.locator("#k-overall")).to_have_value("Primera línea\nSegunda línea")
        expect(page.locator("#balance-status .status.ok")).to_be_visible()  # the gap is closed
        watched.assert_clean()


def test_reset_all_asks_and_can_be_undone_and_leaving_asks_first(
    browser: Browser, server: Server
) -> None:
    with watching(browser, viewport=DESKTOP) as watched:
        page = watched.page
        page.goto(f"{server.url}/b/oakland-fy2023")
        amount = page.locator(f"#n-{ZOO['id']}")
        open_department(page, ZOO["id"])
        chosen = grouped(ZOO["amount"] + ZOO["step"])  # as the field shows it
        amount.fill(chosen)
        other = OAKLAND.lines.filter(
            (pl.col("department") == ZOO["department"])
            & (pl.col("id") != ZOO["id"])
            & ~pl.col("locked")
            & (pl.col("amount") + pl.col("step") <= pl.col("max"))
        ).row(0, named=True)
        other_value = other["amount"] + other["step"]
        page.locator(f"#n-{other['id']}").fill(grouped(other_value))
        page.get_by_text("Reset all to the city's budget").click()
        page.get_by_role("button", name="Yes, reset every line").click()
        expect(amount).to_have_value(grouped(ZOO["amount"]))
        page.get_by_role("button", name="Undo").click()
        expect(amount).to_have_value(chosen)
        # Every line comes back, its slider with it (not only the last one put back).
        expect(page.locator(f"#n-{other['id']}")).to_have_value(grouped(other_value))
        restored = {ZOO["id"]: ZOO["amount"] + ZOO["step"], other["id"]: other_value}
        for line_id, cents in restored.items():
            assert float(page.locator(f"#s-{line_id}").input_value()) * 100 == cents, line_id
        dialogs = []
        page.on("dialog", lambda dialog: (dialogs.append(dialog.type), dialog.dismiss()))
        page.locator(".brand").click()  # leaving with a change not sent: the browser asks
        page.wait_for_timeout(500)
        assert dialogs == ["beforeunload"]
        assert page.url.endswith("/b/oakland-fy2023")  # and staying keeps everything
        expect(amount).to_have_value(chosen)


@pytest.fixture(scope="module")
def embedded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, str]]:
    """Oakland served on 127.0.0.1, framed by a city page on 127.0.0.2 (another site)."""
    folder = tmp_path_factory.mktemp("keep-embed")
    port = _free_port("127.0.0.2")
    origin = f"http://127.0.0.2:{port}"
    source = resources.budget_data() / "oakland-fy2023"
    copy_with_origins(source, folder / "data" / "oakland-fy2023", (origin,))
    with running_server(folder, BUDGET_SIM_DATA_DIR=str(folder / "data")) as app:
        site = folder / "site"
        site.mkdir()
        snippet = _snippet(app.url, "es").replace("cambridge-fy2026", "oakland-fy2023")
        (site / "index.html").write_text(_host_page(app.url, snippet), encoding="utf-8")
        city = _serve_city("127.0.0.2", port, site)
        try:
            yield app, city.url("index.html")
        finally:
            city.httpd.shutdown()
            city.httpd.server_close()


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_embedded_the_balance_stays_in_view(browser: Browser, embedded, viewport: dict) -> None:
    _, host = embedded
    last = OAKLAND.lines.filter(~pl.col("locked")).row(-1, named=True)  # at the very bottom
    with watching(browser, viewport=viewport) as watched:
        page = watched.page
        page.goto(host)
        frame = page.frame_locator("iframe")
        bar = page.locator(".budget-sim-status")
        expect(bar).to_contain_text("Superávit")
        section = frame.locator("details.department", has=frame.locator(f"#line-{last['id']}"))
        section.locator(":scope > summary").click()
        slider = frame.locator(f"#s-{last['id']}")
        slider.scroll_into_view_if_needed()
        slider.focus()
        for _ in range(3):
            slider.press("ArrowRight")
        expect(bar).to_contain_text("Superávit")  # revenue up: still a surplus figure ...
        figure = frame.locator("#balance-bar .bar-figure")
        expect(figure).not_to_have_text("Superávit $0")
        expect(bar).to_contain_text(figure.inner_text())  # ... the frame's own, kept in view
        height = page.evaluate("innerHeight")
        box, where = bar.bounding_box(), slider.bounding_box()
        assert box and where
        assert box["y"] >= 0 and box["y"] + box["height"] <= height, box
        assert where["y"] > box["y"] + box["height"] - 1 and where["y"] < height, where
        assert page.evaluate("scrollY") > 2000  # the host page did scroll down to the line
        # out of balance, then submitted: the bar follows, and the list of problems takes focus
        big = OAKLAND.lines.filter((pl.col("kind") == "expense") & ~pl.col("locked")).row(
            0, named=True
        )
        frame.locator("details.department", has=frame.locator(f"#line-{big['id']}")).locator(
            ":scope > summary"
        ).click()
        frame.locator(f"#n-{big['id']}").fill(to_units_text(big["amount"] + 3 * big["step"]))
        expect(frame.locator("#balance-status .status.todo")).to_be_visible()
        expect(bar).to_contain_text("Déficit")
        frame.get_by_role("button", name="Enviar mi presupuesto").click()
        expect(frame.get_by_role("heading", name="Su presupuesto aún no se envió")).to_be_visible()
        expect(frame.locator("#problems")).to_be_focused()
        watched.assert_clean()


STATES = ("initial", "edited", "error", "submitted")


def _out_of_balance(page: Page, budget) -> None:
    big = budget.lines.filter((pl.col("kind") == "expense") & ~pl.col("locked")).row(0, named=True)
    open_department(page, big["id"])
    page.locator(f"#n-{big['id']}").fill(to_units_text(big["amount"] + 3 * big["step"]))
    expect(page.locator("#balance-status .status.todo")).to_be_visible()


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
@pytest.mark.parametrize("slug", ["chicago-fy2026", "oakland-fy2023"])
def test_no_axe_violations_in_spanish(browser: Browser, server: Server, slug: str, viewport: dict):
    budget = CHICAGO if slug == "chicago-fy2026" else OAKLAND
    with watching(browser, viewport=viewport) as watched:
        page = watched.page
        page.goto(f"{server.url}/b/{slug}?lang=es")
        assert_accessible(page, f"{slug} es initial")
        open_every_department(page)
        _out_of_balance(page, budget)
        page.locator("#line-filter").fill("policia")
        assert_accessible(page, f"{slug} es edited")
        page.locator("#line-filter").fill("")
        page.get_by_role("button", name="Enviar mi presupuesto").click()
        expect(page.locator("#problems")).to_be_focused()
        assert_accessible(page, f"{slug} es error")
        page.goto(f"{server.url}/b/{slug}?lang=es")
        if slug == "chicago-fy2026":  # it starts out of balance: fines up one step closes it
            open_department(page, FINES["id"])
            page.locator(f"#n-{FINES['id']}").fill(to_units_text(FINES["amount"] + FINES["step"]))
            expect(page.locator("#balance-status .status.ok")).to_be_visible()
        page.get_by_role("button", name="Enviar mi presupuesto").click()
        expect(page.get_by_text("Gracias: recibimos su presupuesto.")).to_be_visible()
        assert_accessible(page, f"{slug} es submitted")
        watched.assert_clean()
