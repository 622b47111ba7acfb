"""What the resident journeys and the accessibility checks share: Cambridge's lines picked by their
data (never by hard-coded amounts), a watcher that records every response header and every CSP
violation, axe-core, and a few layout measurements."""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import polars as pl
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Locator, Page, Response

from budget_sim import resources
from budget_sim.data import load_package

SLUG = "cambridge-fy2026"
BUDGET = load_package(resources.budget_data() / SLUG)
TOLERANCE = BUDGET.rules.tolerance
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 360, "height": 740}

# WCAG 2.0, 2.1 and 2.2, levels A and AA, plus axe's best practices.
AXE_OPTIONS = {
    "runOnly": {
        "type": "tag",
        "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"],
    },
    # Off by default (axe calls it experimental): the visible text of a control must be part of
    # its accessible name (WCAG 2.5.3), which matters for the translated "Reset" buttons.
    "rules": {"label-content-name-mismatch": {"enabled": True}},
    "resultTypes": ["violations"],
}

# Playwright adds this to every document past the page's CSP; it records what the CSP refused.
WATCH_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(event.violatedDirective + " " + event.blockedURI);
  console.error("CSP violation: " + event.violatedDirective + " " + event.blockedURI);
});
"""


def grouped(cents: int) -> str:
    """An amount as the page's amount fields show it in English: 1700000000 -> "17,000,000"."""
    whole, rest = divmod(cents, 100)
    return f"{whole:,}" + (f".{rest:02d}" if rest else "")


def _lines(kind: str = "expense") -> list[dict]:
    return (
        BUDGET.lines.with_row_index("position")
        .filter((pl.col("kind") == kind) & ~pl.col("locked"))
        .to_dicts()
    )


def pick_pair(raise_steps: int = 3) -> tuple[dict, dict, int]:
    """Line A to raise by `raise_steps` steps (beyond the tolerance) and line B, in another
    department, whose cut by the returned number of steps brings the budget back in balance."""
    usable = _lines()
    for a in usable:
        raise_by = raise_steps * a["step"]
        if raise_by <= TOLERANCE or a["amount"] + raise_by > a["max"]:
            continue
        for b in usable:
            if b["department"] == a["department"] or b["step"] > TOLERANCE:
                continue
            cut_steps = math.ceil((raise_by - TOLERANCE) / b["step"])
            if b["amount"] - cut_steps * b["step"] >= b["min"]:
                return a, b, cut_steps
    raise AssertionError("Cambridge has no pair of lines for these journeys")


def deepest_line() -> dict:
    """The expense line furthest down the page whose maximum puts the budget out of balance."""
    usable = [line for line in _lines() if line["max"] - line["amount"] > TOLERANCE]
    return max(usable, key=lambda line: line["position"])


@dataclass
class Watched:
    """A browser context whose responses and console are recorded from the first request."""

    context: BrowserContext
    page: Page
    console: list[str] = field(default_factory=list)
    responses: list[Response] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def new_page(self) -> Page:
        page = self.context.new_page()
        page.on("console", self._on_console)
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        return page

    def on_response(self, response: Response) -> None:
        self.responses.append(response)

    def _on_console(self, message: ConsoleMessage) -> None:
        self.console.append(message.text)

    def csp_violations(self) -> list[str]:
        return [
            text
            for text in self.console
            if "Content Security Policy" in text or "Refused to" in text or "CSP violation" in text
        ]

    def cookies_set(self) -> list[str]:
        return [
            f"{response.request.method} {response.url} ({response.status}): {cookie}"
            for response in self.responses
            if (cookie := response.all_headers().get("set-cookie")) is not None
        ]

    def statuses(self) -> set[int]:
        return {response.status for response in self.responses}

    def assert_clean(self) -> None:
        """No cookie was set on any response, the browser refused nothing, no script failed."""
        assert self.responses, "no response was recorded"
        assert self.cookies_set() == [], self.cookies_set()
        assert self.csp_violations() == [], self.csp_violations()
        assert self.errors == [], self.errors


@contextmanager
def watching(browser: Browser, **options: Any) -> Iterator[Watched]:
    """A new browser context (nothing shared with any other) recorded from its first request."""
    context = browser.new_context(**options)
    context.add_init_script(WATCH_VIOLATIONS)
    watched = Watched(context, page=None)  # type: ignore[arg-type]
    context.on("response", watched.on_response)
    watched.page = watched.new_page()
    try:
        yield watched
    finally:
        context.close()


def department_of(page: Page, line_id: str) -> Locator:
    return page.locator("details.department", has=page.locator(f"#line-{line_id}"))


def open_department(page: Page, line_id: str) -> None:
    """Click the department's summary (a tap on a touch screen) unless it is already open."""
    section = department_of(page, line_id)
    if section.get_attribute("open") is None:
        summary = section.locator(":scope > summary")
        if is_touch(page):
            summary.tap()
        else:
            summary.click()


def is_touch(page: Page) -> bool:
    return bool(page.evaluate("matchMedia('(pointer: coarse)').matches"))


def open_every_department(page: Page) -> None:
    closed = page.locator("details.department:not([open]) > summary")
    for _ in range(closed.count()):
        closed.first.click()


def axe_violations(page: Page) -> list[dict]:
    return Axe().run(page, options=AXE_OPTIONS).response["violations"]


def describe_violations(violations: list[dict]) -> str:
    lines = []
    for violation in violations:
        lines.append(f"{violation['id']} ({violation['impact']}): {violation['help']}")
        for node in violation["nodes"][:10]:
            target = ", ".join(map(str, node["target"]))
            summary = " ".join(node.get("failureSummary", "").split())
            lines.append(f"    {target}: {summary}")
        if len(violation["nodes"]) > 10:
            lines.append(f"    ... and {len(violation['nodes']) - 10} more")
    return "\n".join(lines)


def assert_accessible(page: Page, state: str) -> None:
    violations = axe_violations(page)
    assert violations == [], f"axe found violations ({state}):\n{describe_violations(violations)}"


def horizontal_overflow(page: Page) -> list[str]:
    """Empty when the page does not scroll sideways; else the elements sticking out."""
    return page.evaluate(
        """() => {
          const root = document.documentElement;
          if (root.scrollWidth <= root.clientWidth) return [];
          const out = [`page is ${root.scrollWidth}px wide in a ${root.clientWidth}px viewport`];
          for (const element of document.body.querySelectorAll("*")) {
            const box = element.getBoundingClientRect();
            if (box.width && box.right > root.clientWidth + 0.5) {
              out.push(`${element.tagName.toLowerCase()}#${element.id}.${element.className}`
                + ` ends at ${Math.round(box.right)}px`);
            }
          }
          return out.slice(0, 12);
        }"""
    )


def small_targets(page: Page, scope: str = "main") -> list[str]:
    """Visible pointer targets smaller than 24x24 CSS px (WCAG 2.5.8), except links that sit in a
    sentence (the inline exception): a link whose parent holds more text than the link itself."""
    return page.evaluate(
        """(scope) => {
          const found = [];
          const targets = document.querySelector(scope).querySelectorAll(
            "a[href], button, input:not([type=hidden]), select, textarea, summary");
          for (const element of targets) {
            if (element.closest("[aria-hidden=true], [hidden], .hp")) continue;
            const box = element.getBoundingClientRect();
            if (box.width === 0 || box.height === 0) continue;  // not rendered (closed, hidden)
            const style = getComputedStyle(element);
            if (style.visibility === "hidden") continue;
            if (element.tagName === "A" && style.display === "inline") {
              const own = element.textContent.trim().length;
              const around = element.parentElement.textContent.trim().length;
              if (around > own) continue;  // a link in a sentence
            }
            if (box.width < 24 || box.height < 24) {
              const name = element.id || element.getAttribute("name")
                || element.textContent.trim().slice(0, 40);
              found.push(`${element.tagName.toLowerCase()} "${name}" is`
                + ` ${box.width.toFixed(1)}x${box.height.toFixed(1)}`);
            }
          }
          return found;
        }""",
        scope,
    )


def focus_is_visible(page: Page) -> dict:
    """The focused element, whether it matches :focus-visible, and the outline it shows."""
    return page.evaluate(
        """() => {
          const element = document.activeElement;
          const style = getComputedStyle(element);
          const box = element.getBoundingClientRect();
          return {
            element: element.tagName.toLowerCase() + "#" + element.id
              + " " + (element.textContent || "").trim().slice(0, 40),
            matches: element.matches(":focus-visible"),
            outline: style.outlineStyle !== "none" && parseFloat(style.outlineWidth) >= 2,
            inViewport: box.bottom > 0 && box.top < innerHeight && box.width > 0,
          };
        }"""
    )
