"""Resident page weight: bytes transferred on a first load, against the 100 KB budget (DESIGN §9).

Starts the real server (`budget-sim serve` on a free 127.0.0.1 port, on a temporary SQLite
database migrated with `budget-sim db upgrade`), opens each resident page in headless Debian
Chromium through Playwright, each in a fresh browser context (empty cache), and adds up every
request of the first load: bytes on the wire from Chrome DevTools Protocol Network events
(`loadingFinished.encodedDataLength`: response headers + body as sent, i.e. compressed when
the server compresses), body bytes after decoding (`dataReceived.dataLength`), and bytes sent
(Playwright `request.sizes()`: request headers + body). Once with JavaScript on, once off.

    .venv/bin/python benchmarks/page_weight.py
"""

from __future__ import annotations

import argparse
import signal
import sys
from dataclasses import dataclass, field
from typing import Any

from _common import (
    CHROMIUM,
    CHROMIUM_ARGS,
    HOST,
    VENV_BIN,
    free_port,
    git_state,
    running_server,
    temporary_instance,
    tool_version,
)
from playwright.sync_api import Browser, Request, sync_playwright

PAGES = (
    "/b/cambridge-fy2026",
    "/b/oakland-fy2023",
    "/b/chicago-fy2026",
    "/b/sacramento-fy2026",
    "/b/philadelphia-fy2024",
    "/b/philadelphia-fy2024?lang=es",
)
BUDGET_BYTES = 100 * 1024  # "under 100 KB transferred in total on first load"


@dataclass
class Resource:
    url: str
    status: int = 0
    encoding: str = ""
    wire: int = 0  # response headers + body as transferred (CDP encodedDataLength)
    decoded: int = 0  # body bytes after content decoding (sum of CDP dataLength)
    sent: int = 0  # request headers + body (Playwright request.sizes())
    failed: str = ""


@dataclass
class Load:
    path: str
    javascript: bool
    resources: dict[str, Resource] = field(default_factory=dict)

    @property
    def wire(self) -> int:
        return sum(r.wire for r in self.resources.values())

    @property
    def decoded(self) -> int:
        return sum(r.decoded for r in self.resources.values())

    @property
    def sent(self) -> int:
        return sum(r.sent for r in self.resources.values())


def measure(browser: Browser, base: str, path: str, *, javascript: bool) -> Load:
    """First load of `base + path` in a fresh context (empty cache)."""
    load = Load(path, javascript)
    context = browser.new_context(java_script_enabled=javascript)
    try:
        page = context.new_page()
        cdp = context.new_cdp_session(page)

        def resource(params: dict[str, Any]) -> Resource:
            return load.resources.setdefault(params["requestId"], Resource(url=""))

        def on_request(params: dict[str, Any]) -> None:
            resource(params).url = params["request"]["url"]

        def on_response(params: dict[str, Any]) -> None:
            r, response = resource(params), params["response"]
            r.status = response["status"]
            headers = {k.lower(): v for k, v in response["headers"].items()}
            r.encoding = headers.get("content-encoding", "")

        def on_data(params: dict[str, Any]) -> None:
            resource(params).decoded += params["dataLength"]

        def on_finished(params: dict[str, Any]) -> None:
            resource(params).wire = int(params["encodedDataLength"])

        def on_failed(params: dict[str, Any]) -> None:
            resource(params).failed = params.get("errorText", "failed")

        cdp.on("Network.requestWillBeSent", on_request)
        cdp.on("Network.responseReceived", on_response)
        cdp.on("Network.dataReceived", on_data)
        cdp.on("Network.loadingFinished", on_finished)
        cdp.on("Network.loadingFailed", on_failed)
        cdp.send("Network.enable")
        cdp.send("Network.setCacheDisabled", {"cacheDisabled": False})

        finished: list[Request] = []
        page.on("requestfinished", lambda request: finished.append(request))
        page.goto(base + path, wait_until="load")
        page.wait_for_load_state("networkidle")
        page.wait_for_timeout(300)  # let the last CDP events arrive
        sent_by_url: dict[str, int] = {}
        for request in finished:
            sizes = request.sizes()
            sent = sizes["requestHeadersSize"] + sizes["requestBodySize"]
            sent_by_url[request.url] = sent_by_url.get(request.url, 0) + sent
        for r in load.resources.values():
            r.sent = sent_by_url.pop(r.url, 0)
    finally:
        context.close()
    return load


def _kb(n: int) -> str:
    return f"{n / 1024:.1f}"


def report(loads: list[Load], title: str) -> None:
    print(f"\n## {title}\n")
    print(
        "| page | requests | transferred KB (wire, incl. headers) | body KB uncompressed "
        "| sent KB | under 100 KB? |"
    )
    print("|---|---:|---:|---:|---:|---|")
    for load in loads:
        verdict = "yes" if load.wire < BUDGET_BYTES else f"NO ({load.wire / BUDGET_BYTES:.1f}x)"
        print(
            f"| {load.path} | {len(load.resources)} | {_kb(load.wire)} | {_kb(load.decoded)} "
            f"| {_kb(load.sent)} | {verdict} |"
        )
    print("\nPer request (wire / uncompressed bytes, content-encoding):")
    for load in loads:
        print(f"  {load.path}")
        for r in load.resources.values():
            name = r.url.split(f"{HOST}:", 1)[-1].split("/", 1)[-1]
            problem = f" FAILED: {r.failed}" if r.failed else ""
            print(
                f"    /{name:<40} {r.status:>3} {r.wire:>8} / {r.decoded:>8} "
                f"{r.encoding or 'identity'}{problem}"
            )


def main() -> int:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # clean up the server on kill
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.parse_args()

    print("chromium:", tool_version([CHROMIUM, "--version"]))
    print("code:", git_state())
    with temporary_instance() as instance:
        port = free_port()
        command = [str(VENV_BIN / "budget-sim"), "serve", "--host", HOST, "--port", str(port)]
        label = "budget-sim serve"
        print("server:", label)
        log = instance.folder / "server.log"
        with (
            running_server(command, instance.env, port, log) as server,
            sync_playwright() as playwright,
        ):
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                with_js = [measure(browser, server.base, p, javascript=True) for p in PAGES]
                without_js = [measure(browser, server.base, p, javascript=False) for p in PAGES]
            finally:
                browser.close()
    report(with_js, f"First load, JavaScript on ({label})")
    report(without_js, f"First load, JavaScript off ({label})")
    failed = [r for load in with_js + without_js for r in load.resources.values() if r.failed]
    over = [load for load in with_js + without_js if load.wire >= BUDGET_BYTES]
    print(
        f"\n{len(over)} of {len(with_js) + len(without_js)} loads over the 100 KB budget"
        + (f"; {len(failed)} failed requests" if failed else "")
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
