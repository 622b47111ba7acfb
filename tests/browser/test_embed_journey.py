"""A city's page on another site embeds the simulator with the two-line snippet: in Chromium, with
third-party cookies blocked, the iframe sizes itself and a resident submits a budget inside it;
on a site that is not on the budget's allow-list, the browser refuses the frame.

The app runs under uvicorn on 127.0.0.1; the city pages are served from 127.0.0.2 (allowed) and
127.0.0.3 (not allowed). IP addresses are their own sites, so both frames are cross-site."""

from __future__ import annotations

import http.server
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import polars as pl
import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Frame,
    FrameLocator,
    Page,
    Response,
    expect,
)

from budget_sim import resources
from budget_sim.data import load_package
from budget_sim.money import to_units_text
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, Server, running_server
from tests.web.test_embed import copy_with_origins

SLUG = "cambridge-fy2026"
INITIAL_HEIGHT = 600  # what static/embed.js gives the iframe before the first message
TITLE = "Cambridge budget simulator"
# Chromium's own switch for blocking third-party cookies (the test also checks it took effect).
BLOCK_THIRD_PARTY_COOKIES = "--test-third-party-cookie-phaseout"
# Script for every frame (Playwright injects it past the page's CSP): record CSP violations.
WATCH_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(event.violatedDirective + " " + event.blockedURI);
});
"""


def _free_port(host: str) -> int:
    import socket

    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def _snippet(app_url: str, lang: str | None = None) -> str:
    """The two lines `budget-sim embed` prints."""
    lang_attribute = f' data-lang="{lang}"' if lang else ""
    return (
        f'<div data-budget-sim="{app_url}/b/{SLUG}"{lang_attribute} data-title="{TITLE}"></div>\n'
        f'<script src="{app_url}/static/embed.js" async></script>\n'
    )


def _host_page(app_url: str, *snippets: str) -> str:
    body = "".join(snippets) or _snippet(app_url)
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        "<title>City of Cambridge: have your say</title></head>\n"
        "<body><h1>City of Cambridge</h1><p>Tell us how you would balance the budget.</p>\n"
        f"{body}<p>Thank you for taking part.</p></body></html>\n"
    )


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


@dataclass
class CityPage:
    """A city's static web site on its own loopback address."""

    origin: str
    folder: Path
    httpd: http.server.ThreadingHTTPServer = field(repr=False)

    def url(self, name: str) -> str:
        return f"{self.origin}/{name}"


def _serve_city(host: str, port: int, folder: Path) -> CityPage:
    handler = partial(_QuietHandler, directory=str(folder))
    httpd = http.server.ThreadingHTTPServer((host, port), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return CityPage(f"http://{host}:{port}", folder, httpd)


@dataclass
class Setup:
    app: Server
    allowed: CityPage
    stranger: CityPage


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    """The app (Cambridge allowing only the 127.0.0.2 site) and the two cities' sites."""
    folder = tmp_path_factory.mktemp("embed")
    allowed_port, stranger_port = _free_port("127.0.0.2"), _free_port("127.0.0.3")
    allowed_origin = f"http://127.0.0.2:{allowed_port}"
    copy_with_origins(resources.budget_data() / SLUG, folder / "data" / SLUG, (allowed_origin,))
    with running_server(folder, BUDGET_SIM_DATA_DIR=str(folder / "data")) as app:
        sites = []
        for host, site_port in (("127.0.0.2", allowed_port), ("127.0.0.3", stranger_port)):
            site = folder / host
            site.mkdir()
            (site / "index.html").write_text(_host_page(app.url), encoding="utf-8")
            (site / "two.html").write_text(
                _host_page(app.url, _snippet(app.url), _snippet(app.url, "es")), encoding="utf-8"
            )
            sites.append(_serve_city(host, site_port, site))
        try:
            yield Setup(app, *sites)
        finally:
            for site in sites:
                site.httpd.shutdown()
                site.httpd.server_close()


@pytest.fixture(scope="module")
def cookieless_browser(browser: Browser) -> Iterator[Browser]:
    """Debian's Chromium with third-party cookies blocked, as Safari and Firefox do by default.

    Launched through the session's Playwright (one sync Playwright per process); `browser`
    also skips or fails when Chromium is missing."""
    launched = browser.browser_type.launch(
        executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, BLOCK_THIRD_PARTY_COOKIES]
    )
    yield launched
    launched.close()


@dataclass
class Watched:
    context: BrowserContext
    page: Page
    console: list[str]
    responses: list[Response]

    def csp_messages(self) -> list[str]:
        return [m for m in self.console if "Content Security Policy" in m or "Refused to" in m]

    def cookies_set(self) -> list[str]:
        return [
            f"{response.url}: {response.header_value('set-cookie')}"
            for response in self.responses
            if response.header_value("set-cookie") is not None
        ]


@pytest.fixture
def watched(cookieless_browser: Browser) -> Iterator[Watched]:
    context = cookieless_browser.new_context(viewport={"width": 1280, "height": 800})
    context.add_init_script(WATCH_VIOLATIONS)
    page = context.new_page()
    console: list[str] = []
    responses: list[Response] = []

    def on_console(message: ConsoleMessage) -> None:
        console.append(message.text)

    def on_response(response: Response) -> None:
        responses.append(response)

    page.on("console", on_console)
    context.on("response", on_response)
    yield Watched(context, page, console, responses)
    context.close()


def iframe_height(page: Page, index: int = 0) -> float:
    return page.locator("iframe").nth(index).evaluate("e => e.getBoundingClientRect().height")


def iframe_top(page: Page, index: int = 0) -> float:
    return page.locator("iframe").nth(index).evaluate("e => e.getBoundingClientRect().top")


def wait_until_sized(page: Page, frame: Frame, index: int = 0) -> float:
    """Wait until the iframe is exactly as tall as the document inside it."""
    handle = page.locator("iframe").nth(index).element_handle()
    deadline = time.monotonic() + 10
    while True:
        inner = frame.evaluate("() => document.documentElement.getBoundingClientRect().height")
        outer = handle.evaluate("e => e.getBoundingClientRect().height")
        if abs(outer - inner) <= 1 and outer != INITIAL_HEIGHT:
            return outer
        if time.monotonic() > deadline:
            raise AssertionError(f"iframe is {outer}px tall, its document {inner}px")
        page.wait_for_timeout(50)  # lets Playwright take in events


def embedded_frame(page: Page, pattern: str) -> Frame:
    deadline = time.monotonic() + 10
    while True:
        for frame in page.frames:
            if frame is not page.main_frame and re.search(pattern, frame.url):
                return frame
        if time.monotonic() > deadline:
            raise AssertionError(f"no frame matching {pattern}: {[f.url for f in page.frames]}")
        page.wait_for_timeout(50)  # lets Playwright take in events


def small_raise() -> dict:
    """An unlocked expense line whose one-step raise keeps the budget within its tolerance."""
    budget = load_package(resources.budget_data() / SLUG)
    lines = budget.lines.filter(
        (pl.col("kind") == "expense")
        & ~pl.col("locked")
        & (pl.col("amount") + pl.col("step") <= pl.col("max"))
        & (pl.col("step") <= budget.rules.tolerance)
        & (pl.col("program").count().over("program") == 1)
    )
    return lines.row(0, named=True)


def assert_third_party_cookies_blocked(frame: Frame) -> None:
    probe = frame.evaluate(
        "() => { document.cookie = 'probe=1; SameSite=None; Secure; Path=/'; "
        "return document.cookie; }"
    )
    assert probe == "", "third-party cookies are not blocked in this browser"
    assert frame.evaluate("() => document.hasStorageAccess()") is False


def test_embedded_simulator_resizes_and_takes_a_submission(setup: Setup, watched: Watched):
    page, app = watched.page, setup.app
    before = app.submissions()
    page.goto(setup.allowed.url("index.html"))
    iframe = page.locator("iframe")
    expect(iframe).to_have_count(1)
    expect(iframe).to_have_attribute("title", TITLE)
    src = urlsplit(iframe.get_attribute("src"))
    assert f"{src.scheme}://{src.netloc}{src.path}" == f"{app.url}/b/{SLUG}/embed"
    assert parse_qs(src.query) == {"embed": ["1"], "parent": [setup.allowed.origin]}

    frame = embedded_frame(page, rf"/b/{SLUG}/embed")
    inside: FrameLocator = page.frame_locator("iframe")
    expect(inside.locator("form#simulator")).to_be_visible()
    expect(inside.locator(".site-header")).to_have_count(0)
    assert_third_party_cookies_blocked(frame)

    # Resized by the frame's message: taller than the 600px it started with, no inner scrollbar.
    simulator_height = wait_until_sized(page, frame)
    assert simulator_height > INITIAL_HEIGHT

    # Open a department: the document grows and the iframe follows.
    line = small_raise()
    section = inside.locator(
        "details.department", has=inside.locator(".dept-name", has_text=line["department"])
    ).first
    section.locator(":scope > summary").click()
    opened_height = wait_until_sized(page, frame)
    assert opened_height > simulator_height

    # A one-step raise keeps the budget within the rule; htmx recalculates inside the frame.
    amount = inside.get_by_role("textbox", name=line["program"], exact=True)
    amount.fill(to_units_text(line["amount"] + line["step"]))
    amount.press("Tab")
    expect(inside.locator(".totals .delta").first).to_be_visible()
    expect(inside.locator("#balance-status")).to_contain_text("Balanced")

    # The resident has scrolled the city's page down to the end of the simulator.
    inside.locator(".source, main > :last-child").last.scroll_into_view_if_needed()
    assert iframe_top(page) < 0
    inside.get_by_role("button", name="Submit my budget").click()
    receipt = embedded_frame(page, rf"/b/{SLUG}/r/[A-Za-z0-9_-]{{22,}}\?.*embed=1")
    expect(inside.get_by_text("your budget was received")).to_be_visible()
    expect(inside.locator(".site-header")).to_have_count(0)
    assert "parent=" in receipt.url
    assert app.submissions() == before + 1

    # The receipt is another page in the frame: it announced its own height.
    receipt_height = wait_until_sized(page, receipt)
    assert receipt_height != opened_height
    assert page.url == setup.allowed.url("index.html")  # the city's page never navigated
    assert abs(iframe_top(page)) <= 1  # embed.js brought the new page's top into view

    violations = receipt.evaluate("() => window.__cspViolations")
    assert violations == [] and page.evaluate("() => window.__cspViolations") == []
    assert watched.csp_messages() == []
    assert watched.cookies_set() == []
    assert watched.context.cookies() == []
    assert any("/submit" in r.url and r.status == 303 for r in watched.responses)


def test_two_embeds_on_one_page_resize_independently(setup: Setup, watched: Watched):
    page = watched.page
    page.goto(setup.allowed.url("two.html"))
    expect(page.locator("iframe")).to_have_count(2)
    english = embedded_frame(page, rf"/b/{SLUG}/embed\?embed=1&parent=")
    spanish = embedded_frame(page, rf"/b/{SLUG}/embed\?lang=es&")
    first = wait_until_sized(page, english, 0)
    second = wait_until_sized(page, spanish, 1)
    assert first > INITIAL_HEIGHT and second > INITIAL_HEIGHT

    # Opening a department in the second frame resizes the second iframe only.
    page.frame_locator("iframe").nth(1).locator("details.department > summary").first.click()
    assert wait_until_sized(page, spanish, 1) > second
    assert iframe_height(page, 0) == first
    assert watched.csp_messages() == [] and watched.cookies_set() == []


def test_a_site_not_on_the_allow_list_is_refused(setup: Setup, watched: Watched):
    page, app = watched.page, setup.app
    before = app.submissions()
    page.goto(setup.stranger.url("index.html"))
    iframe = page.locator("iframe")
    expect(iframe).to_have_count(1)
    # The browser fetched the embed view and refused to show it (frame-ancestors).
    deadline = time.monotonic() + 10
    while not any("frame-ancestors" in m for m in watched.console):
        if time.monotonic() > deadline:
            raise AssertionError(f"no frame-ancestors refusal on the console: {watched.console}")
        page.wait_for_timeout(50)  # lets Playwright take in events
    [refusal] = [m for m in watched.console if "frame-ancestors" in m]
    assert f"frame-ancestors {setup.allowed.origin}" in refusal
    assert app.url in refusal and ("blocked" in refusal or "Refused" in refusal)
    embed_responses = [r for r in watched.responses if f"/b/{SLUG}/embed" in r.url]
    assert embed_responses, "the frame was requested"
    csp = embed_responses[0].header_value("content-security-policy")
    assert f"frame-ancestors {setup.allowed.origin}" in csp

    page.wait_for_timeout(500)  # give a (wrongly) rendered frame time to show up and post
    [frame] = [f for f in page.frames if f is not page.main_frame]
    # Chromium shows its error page (reported as chrome-error://... or ""): never the app's.
    assert not frame.url.startswith(app.url), frame.url
    assert page.frame_locator("iframe").locator("form").count() == 0
    assert iframe_height(page) == INITIAL_HEIGHT  # nothing was allowed to resize it
    assert app.submissions() == before
    assert watched.cookies_set() == []
