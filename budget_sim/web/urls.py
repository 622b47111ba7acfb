"""Where links point. Pages link with root-relative URLs (`/b/SLUG`), which stay right behind any
proxy and under http or https alike; the few links read outside the page (a receipt's permanent
link, a draft link, an invitation, the embed snippet) are absolute, from BUDGET_SIM_BASE_URL or,
unset, the address of the request as seen through the trusted proxies.

BUDGET_SIM_BASE_URL may end in a path (https://www.city.gov/budget) when the proxy serves the
site under it and strips it before passing requests on. Inside the app, paths never carry it
(`path_for`); what reaches the browser does: links in pages (`link_for`, the templates'
`url_for`), redirects (BasePathMiddleware) and absolute links."""

from __future__ import annotations

from html import escape
from urllib.parse import urlsplit

from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send


def base_path(base_url: str | None) -> str:
    """The path BUDGET_SIM_BASE_URL puts the site under: "" or e.g. "/budget"."""
    return urlsplit(base_url).path.rstrip("/") if base_url else ""


def path_for(request: Request, name: str, /, **params: object) -> str:
    """The app's own path of route `name`, e.g. /b/cambridge-fy2026: for redirects (the prefix
    is added on the way out) and `absolute`."""
    router = request.scope.get("router") or request.scope["app"]
    return str(router.url_path_for(name, **params))


def link_for(request: Request, name: str, /, **params: object) -> str:
    """The root-relative URL a page links to for route `name`."""
    return base_path(request.state.settings.base_url) + path_for(request, name, **params)


def current_link(request: Request) -> str:
    """The root-relative URL of this very page, query included (a "reload" link)."""
    query = f"?{request.url.query}" if request.url.query else ""
    return f"{base_path(request.state.settings.base_url)}{request.url.path}{query}"


def site_root(request: Request) -> str:
    """The site's public address, without a trailing slash: BUDGET_SIM_BASE_URL if set."""
    base: str | None = request.state.settings.base_url
    return base or f"{request.url.scheme}://{request.url.netloc}"


def absolute(request: Request, path: str) -> str:
    """The absolute URL of the app's `path` (from `path_for`), to show or send elsewhere."""
    return site_root(request) + path


def embed_snippet(root: str, slug: str, lang: str | None = None) -> str:
    """The two lines a city pastes into its page to embed budget `slug` of the site at `root`
    (an address checked by `settings.check_base_url`); `lang` picks the language shown."""
    lang_attribute = f' data-lang="{escape(lang)}"' if lang else ""
    return (
        f'<div data-budget-sim="{escape(f"{root}/b/{slug}")}"{lang_attribute}></div>\n'
        f'<script src="{escape(f"{root}/static/embed.js")}" async></script>'
    )


class BasePathMiddleware:
    """Puts the base path in front of every root-relative redirect (`Location: /staff`)."""

    def __init__(self, app: ASGIApp, prefix: str) -> None:
        self.app = app
        self.prefix = prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_prefixed(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                location = headers.get("location", "")
                if location.startswith("/") and not location.startswith("//"):
                    headers["Location"] = self.prefix + location
            await send(message)

        await self.app(scope, receive, send_prefixed)
