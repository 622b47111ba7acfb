"""Security headers on every response: a strict CSP, no sniffing, no framing unless allowed."""

from __future__ import annotations

from collections.abc import Iterable

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

BASE_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; object-src 'none'"
)


PRIVATE_PREFIXES = ("/staff", "/api")  # never cached anywhere, whatever the response


def content_security_policy(frame_ancestors: Iterable[str] = ()) -> str:
    """The CSP header value; `frame_ancestors` are validated https origins (none: never framed)."""
    ancestors = " ".join(frame_ancestors) or "'none'"
    return f"{BASE_POLICY}; frame-ancestors {ancestors}"


class SecurityHeadersMiddleware:
    """Adds the baseline headers; a view that allows framing sets its own CSP first."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                if "content-security-policy" not in headers:
                    headers["Content-Security-Policy"] = content_security_policy()
                    headers["X-Frame-Options"] = "DENY"
                headers["X-Content-Type-Options"] = "nosniff"
                headers["Referrer-Policy"] = "strict-origin-when-cross-origin"
                headers["Cross-Origin-Opener-Policy"] = "same-origin"
                if scope["path"].startswith(PRIVATE_PREFIXES):
                    headers["Cache-Control"] = "no-store"
            await send(message)

        await self.app(scope, receive, send_with_headers)
