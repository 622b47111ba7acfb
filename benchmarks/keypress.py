"""Key press to updated summary on the resident page (issue 11: under 150 ms locally).

Starts the real server (`budget-sim serve` on a free 127.0.0.1 port, temporary SQLite database),
opens each budget in headless Debian Chromium through Playwright, focuses the first adjustable
line's slider and presses ArrowRight / ArrowLeft in turn. The page records `performance.now()`
at the keydown and again at htmx's `htmx:afterSettle` of `#summary` (the totals swapped in,
after the debounce, the request and the render); the script reports the median, p90 and max of
those intervals, waiting for each update before the next key.

    .venv/bin/python benchmarks/keypress.py [--presses 40]
"""

from __future__ import annotations

import argparse
import signal
import statistics
import sys

from _common import (
    CHROMIUM,
    CHROMIUM_ARGS,
    HOST,
    VENV_BIN,
    free_port,
    git_state,
    running_server,
    temporary_instance,
)
from playwright.sync_api import sync_playwright

PAGES = ("/b/cambridge-fy2026", "/b/oakland-fy2023", "/b/chicago-fy2026")
RECORD = """() => {
  window.__times = [];
  document.addEventListener("keydown", () => { window.__down = performance.now(); }, true);
  document.addEventListener("htmx:afterSettle", (event) => {
    if (event.detail.target && event.detail.target.id === "summary" && window.__down) {
      window.__times.push(performance.now() - window.__down);
      window.__down = 0;
    }
  });
}"""


def measure(page, base: str, path: str, presses: int) -> list[float]:
    page.goto(base + path)
    page.evaluate(RECORD)
    section = page.locator("details.department", has=page.locator("input.slider")).first
    section.locator(":scope > summary").click()
    slider = section.locator("input.slider").first
    slider.focus()
    for i in range(presses):
        page.keyboard.press("ArrowRight" if i % 2 == 0 else "ArrowLeft")
        page.wait_for_function("(n) => window.__times.length >= n", arg=i + 1, timeout=10_000)
    return page.evaluate("window.__times")


def main() -> int:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presses", type=int, default=40)
    args = parser.parse_args()
    print("code:", git_state())
    with temporary_instance() as instance:
        port = free_port()
        command = [str(VENV_BIN / "budget-sim"), "serve", "--host", HOST, "--port", str(port)]
        with (
            running_server(command, instance.env, port, instance.folder / "server.log") as server,
            sync_playwright() as playwright,
        ):
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            print("\n| page | presses | median ms | p90 ms | max ms |")
            print("|---|---:|---:|---:|---:|")
            try:
                for path in PAGES:
                    page = browser.new_page(viewport={"width": 1280, "height": 900})
                    times = sorted(measure(page, server.base, path, args.presses))
                    p90 = times[int(0.9 * (len(times) - 1))]
                    print(
                        f"| {path} | {len(times)} | {statistics.median(times):.0f} | "
                        f"{p90:.0f} | {times[-1]:.0f} |"
                    )
                    page.close()
            finally:
                browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
