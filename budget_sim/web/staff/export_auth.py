"""Who may download an export: signed-in staff (the session cookie, as on every staff page) or
a script sending a personal API token (`Authorization: Bearer bsk_...`), so the link a browser
follows works the same from curl. A bad token is a plain 401, never a redirect to sign-in."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import wraps

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from budget_sim.storage import staff as staff_db
from budget_sim.web.bearer import BadToken, token_owner
from budget_sim.web.sessions import NO_STORE, SignedIn
from budget_sim.web.staff.auth import staff_view


@dataclass(frozen=True)
class TokenHolder:
    """A script acting with its token's owner's role and budgets."""

    user: staff_db.Staff


Downloader = SignedIn | TokenHolder
View = Callable[[Request, Downloader], Awaitable[Response]]


def export_view(view: View) -> Callable[[Request], Awaitable[Response]]:
    """Guard a download (GET only): a bearer token when one is sent, else the staff session."""
    by_session = staff_view()(view)

    @wraps(view)
    async def guarded(request: Request) -> Response:
        header = request.headers.get("authorization")
        if header is None:
            return await by_session(request)
        try:
            owner = await run_in_threadpool(token_owner, request, header)
        except BadToken as error:
            response: Response = PlainTextResponse(error.message, status_code=401)
            response.headers["WWW-Authenticate"] = 'Bearer realm="budget-sim"'
        else:
            response = await view(request, TokenHolder(owner))
        response.headers.update(NO_STORE)
        return response

    return guarded
