"""Security headers on every response (error pages included): a strict CSP, no sniffing, no
framing unless allowed, HSTS over https; and the one same-origin check of state-changing forms."""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

BASE_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; object-src 'none'"
)


PRIVATE_PREFIXES = ("/staff", "/api")  # never cached anywhere, whatever the response
# Browsers that saw the site over https keep to https for a year. Not includeSubDomains: other
# hosts of a city's domain are not ours to decide for.
HSTS = "max-age=31536000"


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
                if scope.get("scheme") == "https":
                    headers["Strict-Transport-Security"] = HSTS
            await send(message)

        await self.app(scope, receive, send_with_headers)


def same_origin(request: Request) -> bool:
    """Whether a state-changing request comes from our own pages: Fetch Metadata when the browser
    sends it; else the Origin header, if any, must be this site's (as the browser sees it: the
    request's scheme and host through the trusted proxies, or BUDGET_SIM_BASE_URL)."""
    site = request.headers.get("sec-fetch-site")
    if site is not None:
        return site in ("same-origin", "none")
    origin = request.headers.get("origin")
    if origin is None:
        return True
    ours = {f"{request.url.scheme}://{request.url.netloc}".lower()}
    if base_url := request.state.settings.base_url:
        ours.add("{0.scheme}://{0.netloc}".format(urlsplit(base_url)))
    return origin.lower() in ours
