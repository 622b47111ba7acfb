"""HTTP errors rendered as pages with a clear message, in the request's language; a generic
page for anything unexpected."""

from __future__ import annotations

import logging
from http import HTTPStatus

from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import PlainTextResponse, Response

from budget_sim.forms import N_
from budget_sim.web import i18n
from budget_sim.web.display import Display
from budget_sim.web.templating import make_templates

logger = logging.getLogger("budget_sim")
_templates = make_templates()

TITLES = {
    400: N_("Bad request"),
    403: N_("Not allowed"),
    404: N_("Page not found"),
    405: N_("Method not allowed"),
    410: N_("No longer here"),
    413: N_("Too much data"),
    415: N_("Unsupported form"),
    422: N_("Please check what you sent"),
    429: N_("Too many requests"),
    500: N_("Something went wrong"),
}
SERVER_ERROR = N_("Nothing you did caused this. Please try again in a moment.")


GENERIC = {  # Starlette's own errors carry only the status phrase
    404: N_("There is nothing at this address."),
    405: N_("This address does not take that kind of request."),
}


def too_large_message(max_bytes: int) -> str:
    """The 413 sentence, in the current request's language."""
    if max_bytes >= 1024 * 1024:
        size = f"{max_bytes / (1024 * 1024):.1f}".removesuffix(".0") + " MB"
    else:
        size = f"{max_bytes // 1024} KB"
    return i18n.gettext(
        N_(
            "The form sent more data than this site accepts (at most %(size)s). Nothing was "
            "saved. Go back: your browser still has what you typed; shorten the longest "
            "comments and send again."
        )
    ) % {"size": size}


def _accepted(header: str) -> list[str]:
    """The languages of an Accept-Language header, most wanted first (q=0 left out)."""
    ranked = []
    for position, part in enumerate(header.split(",")[:20]):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                continue
        if quality > 0 and tag:
            ranked.append((-quality, position, tag.strip().split("-")[0].lower()))
    return [lang for _, _, lang in sorted(ranked)]


def request_locale(request: Request) -> str:
    """The language a resident page was shown in: the one the view chose, else `?lang=`, else
    the browser's first offered language we have. Staff pages are in English."""
    if request.url.path.startswith("/staff"):
        return "en"
    offered = i18n.interface_locales()
    chosen = getattr(request.state, "locale", None) or request.query_params.get("lang")
    if chosen in offered:
        return chosen
    wanted = _accepted(request.headers.get("accept-language", ""))
    return next((lang for lang in wanted if lang in offered), "en")


def _page(request: Request, status: int, message: str) -> Response:
    if request.headers.get("HX-Request") == "true":
        return PlainTextResponse(message, status_code=status)
    staff = request.url.path.startswith("/staff")
    locale = request_locale(request)
    i18n.activate(locale)
    return _templates.TemplateResponse(
        request,
        "errors/error.html",
        {
            "status": status,
            "title": i18n.gettext(TITLES.get(status, N_("Error"))),
            "message": i18n.gettext(message),  # a marked sentence is translated, else as sent
            "staff": staff,
            "display": Display(locale),
        },
        status_code=status,
        headers={"Cache-Control": "no-store"} if staff else None,
    )


def error_page(request: Request, status: int, message: str) -> Response:
    """The error page for `status`, for code outside the app's exception handlers."""
    return _page(request, status, message)


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    detail = str(exc.detail)
    if getattr(exc, "max_bytes", None):  # limits.BodyTooLarge
        i18n.activate(request_locale(request))
        detail = too_large_message(exc.max_bytes)
    elif exc.status_code in GENERIC and detail == HTTPStatus(exc.status_code).phrase:
        detail = GENERIC[exc.status_code]
    if exc.status_code == 400 and "field" in detail.lower():
        i18n.activate(request_locale(request))
        detail = i18n.gettext(N_("The form could not be read: %(detail)s.")) % {"detail": detail}
    response = _page(request, exc.status_code, detail)
    if exc.headers:
        response.headers.update(exc.headers)
    return response


async def server_error(request: Request, exc: Exception) -> Response:
    logger.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return _page(request, 500, SERVER_ERROR)


async def client_gone(request: Request, exc: Exception) -> Response:
    """The browser dropped the request before its body arrived (htmx cancels a recalculation
    when a newer one starts): nobody is waiting for an answer, and nothing went wrong."""
    logger.info("client left during %s %s", request.method, request.url.path)
    return Response(status_code=400)


exception_handlers = {
    HTTPException: http_error,
    ClientDisconnect: client_gone,
    500: server_error,
}
