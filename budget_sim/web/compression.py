"""gzip for public pages, larger fragments and static files; never for staff pages or the API.

Compressing a response that holds a long-lived secret (a staff CSRF token) next to text an
attacker can reflect into it (a search box) leaks the secret through response sizes (BREACH), so
private areas go out uncompressed. Resident pages carry only a fresh ballot token per page.

An htmx fragment (a recalculation: some 5 KB) is compressed only from FRAGMENT_MINIMUM_BYTES
up. Under that it fits TCP's initial congestion window (10 segments of 1,460 bytes) either way,
so gzip saves no round trip, only some 3 ms of transfer at 10 Mbit/s, and it cost the server
0.08-0.1 ms of the 0.8 ms a recalculation may take (BENCHMARKS.md). "Reset all" refreshes
every row: that fragment is large, and compressed."""

from __future__ import annotations

from starlette.middleware.gzip import GZipMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from budget_sim.web.security import PRIVATE_PREFIXES

PAGE_MINIMUM_BYTES = 500
FRAGMENT_MINIMUM_BYTES = 14_000


class PublicGZipMiddleware:
    def __init__(self, app: ASGIApp, compresslevel: int = 6) -> None:
        self.app = app
        self.pages = GZipMiddleware(app, PAGE_MINIMUM_BYTES, compresslevel=compresslevel)
        self.fragments = GZipMiddleware(app, FRAGMENT_MINIMUM_BYTES, compresslevel=compresslevel)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(PRIVATE_PREFIXES):
            await self.app(scope, receive, send)
        elif (b"hx-request", b"true") in scope["headers"]:
            await self.fragments(scope, receive, send)
        else:
            await self.pages(scope, receive, send)
