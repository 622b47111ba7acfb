"""What every API view goes through: who is calling (a bearer token, else the staff session on a
same-origin request), every problem answered as a JSON error and nothing cached; and what the
views share: the budget in the path if the caller may see it, the audit line of what was read."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import wraps

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from budget_sim.model import Budget
from budget_sim.storage import staff as staff_db
from budget_sim.web.bearer import BadToken, token_owner
from budget_sim.web.clients import client_address
from budget_sim.web.json_api import error_response
from budget_sim.web.security import same_origin
from budget_sim.web.sessions import NO_STORE, load_session, now

logger = logging.getLogger("budget_sim")

CODES = {
    400: "bad_request",
    401: "not_authenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
}
HOW_TO_AUTHENTICATE = (
    "Sign in to the staff pages, or send a personal API token (make one at /staff/tokens) "
    "as the header `Authorization: Bearer <token>`."
)


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


@dataclass(frozen=True)
class Caller:
    user: staff_db.Staff
    via: str  # "token" or "session"


def _authenticate(request: Request) -> Caller:
    """The caller, by bearer token if one is sent (no fallback to the cookie), else by the
    staff session cookie on a same-origin request (blocking)."""
    header = request.headers.get("authorization")
    if header is not None:
        try:
            return Caller(token_owner(request, header), "token")
        except BadToken as error:
            raise ApiError(401, error.code, error.message) from None
    signed_in = load_session(request)
    if signed_in is None:
        raise ApiError(401, "not_authenticated", HOW_TO_AUTHENTICATE)
    if not same_origin(request):
        raise ApiError(
            403, "cross_origin", "The session cookie works only from this site's own pages."
        )
    return Caller(signed_in.user, "session")


View = Callable[[Request, Caller], Awaitable[Response]]


def api_view(view: View) -> Callable[[Request], Awaitable[Response]]:
    """Authenticate, run the view, answer every problem as a JSON error; never cached."""

    @wraps(view)
    async def guarded(request: Request) -> Response:
        try:
            caller = await run_in_threadpool(_authenticate, request)
            response = await view(request, caller)
        except ApiError as error:
            response = error_response(error.status, error.code, error.message)
        except HTTPException as error:
            code = CODES.get(error.status_code, "error")
            response = error_response(error.status_code, code, str(error.detail))
        except Exception:
            logger.exception("unhandled error on %s %s", request.method, request.url.path)
            response = error_response(
                500, "server_error", "Nothing you sent caused this. Try again in a moment."
            )
        response.headers.update(NO_STORE)
        return response

    return guarded


def visible_budget(request: Request, caller: Caller) -> Budget:
    """The budget named in the path if the caller may see it (404 otherwise: no leak)."""
    slug = request.path_params["slug"]
    budget = request.state.budgets.get(slug)
    if budget is None or not caller.user.may_see(slug):
        raise ApiError(404, "not_found", f"There is no budget {slug!r} that you can see.")
    return budget


def audit(request: Request, caller: Caller, action: str, detail: str) -> None:
    with request.state.database.writing() as session:
        staff_db.audit(
            session,
            action,
            now=now(),
            user_id=caller.user.id,
            detail=f"{detail} via={caller.via}",
            address=client_address(request),
        )
