"""gzip for public pages, fragments and static files; never for staff pages or the API.

Compressing a response that holds a long-lived secret (a staff CSRF token) next to text an
attacker can reflect into it (a search box) leaks the secret through response sizes (BREACH), so
private areas go out uncompressed. Resident pages carry only a fresh ballot token per page."""

from __future__ import annotations

from starlette.middleware.gzip import GZipMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from budget_sim.web.security import PRIVATE_PREFIXES


class PublicGZipMiddleware:
    def __init__(self, app: ASGIApp, minimum_size: int = 500, compresslevel: int = 6) -> None:
        self.app = app
        self.gzip = GZipMiddleware(app, minimum_size=minimum_size, compresslevel=compresslevel)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not scope["path"].startswith(PRIVATE_PREFIXES):
            await self.gzip(scope, receive, send)
        else:
            await self.app(scope, receive, send)
