"""The staff session: a server-side session behind a `__Host-` cookie. The staff pages are
guarded by it (staff/auth.py) and the JSON API accepts it from a same-origin browser
(api/guard.py), so it lives here, shared by both."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from starlette.requests import Request
from starlette.responses import Response

from budget_sim.accounts import ABSOLUTE_TIMEOUT, IDLE_TIMEOUT, token_digest
from budget_sim.storage import staff as accounts_db
from budget_sim.storage.staff import OpenSession

COOKIE = "__Host-budget-sim-staff"
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class SignedIn:
    session: OpenSession

    @property
    def user(self) -> accounts_db.Staff:
        return self.session.user

    @property
    def csrf(self) -> str:
        return self.session.csrf_token


def load_session(request: Request) -> SignedIn | None:
    token = request.cookies.get(COOKIE)
    if not token:
        return None
    moment = now()
    with request.state.database.writing() as session:
        found = accounts_db.find_session(session, token_digest(token))
        if found is None:
            return None
        expired = (
            moment - found.last_seen_at > IDLE_TIMEOUT
            or moment - found.created_at > ABSOLUTE_TIMEOUT
        )
        if expired:
            accounts_db.end_session(session, found.id, moment)
            return None
        accounts_db.touch_session(session, found.id, moment)
    return SignedIn(found)


def set_session_cookie(response: Response, token: str) -> None:
    response.set_cookie(
        COOKIE,
        token,
        max_age=int(ABSOLUTE_TIMEOUT.total_seconds()),
        path="/",
        secure=True,
        httponly=True,
        samesite="strict",
    )


def clear_session_cookie(response: Response) -> None:
    response.delete_cookie(COOKIE, path="/", secure=True, httponly=True, samesite="strict")
