"""Request body cap, enforced before any parsing, with a message a person can act on."""

from __future__ import annotations

from collections.abc import Mapping

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from budget_sim.web.errors import error_page, request_locale, too_large_message
from budget_sim.web.i18n import activate


class BodyTooLarge(HTTPException):
    """413: the body passed the cap (the error page says the cap in the request's language)."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(413, f"The form sent more data than this site accepts ({max_bytes} B).")
        self.max_bytes = max_bytes


class BodyLimitMiddleware:
    """413 when Content-Length says too much (before the app runs), or as soon as the streamed
    body passes the cap (raised inside the app, so the error page handler renders it).

    `max_bytes` caps every request; `per_path` names the few exact paths allowed a different
    cap (the staff budget upload), so no other route ever accepts a large body."""

    def __init__(
        self, app: ASGIApp, max_bytes: int, per_path: Mapping[str, int] | None = None
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.per_path = dict(per_path or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        max_bytes = self.per_path.get(scope["path"], self.max_bytes)
        declared = Headers(scope=scope).get("content-length", "")
        too_long = len(declared) > 18  # digits enough for any real body; int() never sees more
        if declared.isascii() and declared.isdigit() and (too_long or int(declared) > max_bytes):
            request = Request(scope)
            activate(request_locale(request))
            response = error_page(request, 413, too_large_message(max_bytes))
            await response(scope, receive, send)
            return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > max_bytes:
                    raise BodyTooLarge(max_bytes)
            return message

        await self.app(scope, limited_receive, send)
