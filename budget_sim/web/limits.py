"""Request body cap, enforced before any parsing, with a message a person can act on."""

from __future__ import annotations

from collections.abc import Mapping

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send


def too_large_message(max_bytes: int) -> str:
    if max_bytes >= 1024 * 1024:
        size = f"{max_bytes / (1024 * 1024):.1f}".removesuffix(".0") + " MB"
    else:
        size = f"{max_bytes // 1024} KB"
    return f"The form sent more data than this site accepts (at most {size})."


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
            response = PlainTextResponse(too_large_message(max_bytes), status_code=413)
            await response(scope, receive, send)
            return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > max_bytes:
                    raise HTTPException(413, too_large_message(max_bytes))
            return message

        await self.app(scope, limited_receive, send)
