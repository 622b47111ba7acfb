"""Personal API tokens on a request: `Authorization: Bearer bsk_...` (the JSON API and the
staff downloads both accept them). Only the token's SHA-256 is stored and compared."""

from __future__ import annotations

from starlette.requests import Request

from budget_sim import accounts
from budget_sim.storage import staff as staff_db
from budget_sim.storage import tokens as tokens_db
from budget_sim.web.sessions import now


class BadToken(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


def token_owner(request: Request, header: str) -> staff_db.Staff:
    """The account whose working token `header` carries (its last use recorded), or BadToken
    (blocking: call from a worker thread)."""
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise BadToken("bad_authorization", "Send the token as `Authorization: Bearer <token>`.")
    moment = now()
    digest = accounts.token_digest(token.strip())
    with request.state.database.reading() as session:
        owner = tokens_db.find_token(session, digest, moment)
    if owner is None:
        raise BadToken(
            "invalid_token",
            "This API token is unknown, revoked or expired, or its account is disabled.",
        )
    with request.state.database.writing() as session:
        tokens_db.touch_token(session, owner, moment)
    return owner.user
