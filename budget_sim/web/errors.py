"""HTTP errors rendered as pages with a clear message; a generic page for anything unexpected."""

from __future__ import annotations

import logging

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from budget_sim.web.templating import make_templates

logger = logging.getLogger("budget_sim")
_templates = make_templates()

TITLES = {
    400: "Bad request",
    403: "Not allowed",
    404: "Page not found",
    405: "Method not allowed",
    410: "No longer here",
    413: "Too much data",
    415: "Unsupported form",
    500: "Something went wrong",
}


def _page(request: Request, status: int, message: str) -> Response:
    if request.headers.get("HX-Request") == "true":
        return PlainTextResponse(message, status_code=status)
    staff = request.url.path.startswith("/staff")
    return _templates.TemplateResponse(
        request,
        "errors/error.html",
        {
            "status": status,
            "title": TITLES.get(status, "Error"),
            "message": message,
            "staff": staff,
        },
        status_code=status,
        headers={"Cache-Control": "no-store"} if staff else None,
    )


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    detail = exc.detail
    if exc.status_code == 400 and "field" in str(detail).lower():
        detail = f"The form could not be read: {detail}."
    response = _page(request, exc.status_code, str(detail))
    if exc.headers:
        response.headers.update(exc.headers)
    return response


async def server_error(request: Request, exc: Exception) -> Response:
    logger.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return _page(request, 500, "Nothing you did caused this. Please try again in a moment.")


exception_handlers = {HTTPException: http_error, 500: server_error}
