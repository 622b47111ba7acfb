"""The guard every staff view goes through (signed-in staff only, by the session of
web/sessions.py; the CSRF token and the origin checked on every POST) and the renderer of staff
pages. Staff pages are never cached and never framed."""

from __future__ import annotations

import unicodedata
from collections.abc import Awaitable, Callable
from functools import wraps
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from budget_sim.web.security import same_origin
from budget_sim.web.sessions import NO_STORE, SignedIn, clear_session_cookie, load_session

View = Callable[[Request], Awaitable[Response]]


def render(
    request: Request, name: str, context: dict, status: int = 200, *, block: str | None = None
) -> Response:
    """A staff page from templates/staff/ (or one block of it, for htmx), never cached."""
    return request.state.templates.TemplateResponse(
        request,
        f"staff/{name}",
        {"display": None, **context},
        status_code=status,
        headers=NO_STORE,
        **({"block_name": block} if block else {}),
    )


async def check_csrf(
    request: Request, signed_in: SignedIn, *, max_files: int = 0
) -> dict[str, str]:
    """The text fields of a state-changing staff request, after its CSRF token and origin are
    checked. Files (only where `max_files` allows) stay in `await request.form()`."""
    form = await request.form(max_files=max_files, max_fields=200, max_part_size=256 * 1024)
    values = {k: v for k, v in form.multi_items() if isinstance(v, str)}
    if not same_origin(request) or values.get("csrf") != signed_in.csrf:
        raise HTTPException(
            403,
            "This form has expired or did not come from this site. Reload the page and try again.",
        )
    for name, value in form.multi_items():  # every value, repeated names included
        if isinstance(value, str) and (has_control(name) or has_control(value)):
            raise HTTPException(
                400,
                f"“{printable(name)}” holds a control character (such as NUL), which this form "
                "does not accept: remove it and send the form again. Nothing was changed.",
            )
    return values


def has_control(text: str) -> bool:
    """Whether `text` holds a control character other than tab, line feed and carriage return
    (a NUL would reach PostgreSQL, which refuses it in text)."""
    return any(unicodedata.category(ch) == "Cc" and ch not in "\t\n\r" for ch in text)


def printable(text: str) -> str:
    """`text` with its control characters written as escapes, for a message."""
    return "".join(repr(ch)[1:-1] if unicodedata.category(ch) == "Cc" else ch for ch in text)


def staff_view(
    *, role: str | None = None, max_files: int = 0
) -> Callable[[Callable[..., Awaitable[Response]]], View]:
    """Guard a view: signed-in staff only (of `role` when given); POSTs need the CSRF token.
    The view gets (request, signed_in[, form]). Responses are never cached. A POST may carry
    files only when `max_files` says so (an upload form)."""

    def wrap(view: Callable[..., Awaitable[Response]]) -> View:
        @wraps(view)
        async def guarded(request: Request) -> Response:
            signed_in = await run_in_threadpool(load_session, request)
            if signed_in is None:
                if request.method != "GET":
                    raise HTTPException(403, "Your session has ended. Sign in again.")
                target = quote(request.url.path, safe="/")
                response: Response = RedirectResponse(
                    f"/staff/login?next={target}", status_code=303
                )
                clear_session_cookie(response)
                response.headers.update(NO_STORE)
                return response
            if role is not None and signed_in.user.role != role:
                raise HTTPException(403, "Your account cannot open this page.")
            if request.method == "POST":
                try:
                    form = await check_csrf(request, signed_in, max_files=max_files)
                    response = await view(request, signed_in, form)
                finally:
                    await request.close()  # uploaded files' temporary files, even on refusal
            else:
                response = await view(request, signed_in)
            response.headers.update(NO_STORE)
            return response

        return guarded

    return wrap
