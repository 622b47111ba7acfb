"""The staff page where an account makes personal API tokens for its scripts (shown once; only
their SHA-256 is kept) and revokes them; an admin sees and may revoke everyone's. Scripts send a
token as `Authorization: Bearer bsk_...` to the JSON API and to the staff downloads
(web/bearer.py checks it)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from budget_sim import accounts
from budget_sim.storage import staff as staff_db
from budget_sim.storage import tokens as tokens_db
from budget_sim.web.clients import client_address
from budget_sim.web.json_api import PREFIX
from budget_sim.web.paths import ROW
from budget_sim.web.sessions import SignedIn, now
from budget_sim.web.staff.auth import render, staff_view

TOKEN_PREFIX = "bsk_"  # lets secret scanners recognise a leaked token
TOKEN_LIFETIMES = {"30": timedelta(days=30), "90": timedelta(days=90), "365": timedelta(days=365)}
TOKEN_NAME_MAX = 100
TOKENS_PER_ACCOUNT = 10  # active ones


def _token_context(request: Request, signed_in: SignedIn) -> dict[str, Any]:
    moment = now()
    with request.state.database.reading() as session:
        tokens = tokens_db.list_tokens(session, signed_in.user.id)
        others = (
            tokens_db.working_tokens(session, moment, except_user=signed_in.user.id)
            if signed_in.user.role == "admin"
            else []
        )
    return {
        "me": signed_in,
        "tokens": tokens,
        "others": others,
        "moment": moment,
        "lifetimes": TOKEN_LIFETIMES,
        "name_max": TOKEN_NAME_MAX,
        "per_account": TOKENS_PER_ACCOUNT,
        "revoked": request.query_params.get("revoked"),
        "api": PREFIX,
    }


@staff_view()
async def tokens_page(request: Request, signed_in: SignedIn) -> Response:
    context = await run_in_threadpool(_token_context, request, signed_in)
    return render(request, "tokens.html", context)


@staff_view()
async def create_token(request: Request, signed_in: SignedIn, form: dict[str, str]) -> Response:
    """Make a token and show it once; only its SHA-256 is kept."""
    name = form.get("name", "").strip()
    days = form.get("days", "")
    problems = {}
    if not name or len(name) > TOKEN_NAME_MAX:
        problems["name"] = (
            f"Name the token after the script that uses it (1 to {TOKEN_NAME_MAX} characters)."
        )
    if days not in TOKEN_LIFETIMES:
        problems["days"] = f"Choose how long it works: {', '.join(TOKEN_LIFETIMES)} days."
    secret = TOKEN_PREFIX + accounts.new_token()

    def create() -> str | None:
        moment = now()
        with request.state.database.writing() as session:
            if tokens_db.count_active(session, signed_in.user.id, moment) >= TOKENS_PER_ACCOUNT:
                return (
                    f"You already have {TOKENS_PER_ACCOUNT} working tokens: revoke one you no "
                    "longer use first."
                )
            token_id = tokens_db.create_token(
                session,
                user_id=signed_in.user.id,
                name=name,
                token_hash=accounts.token_digest(secret),
                now=moment,
                lifetime=TOKEN_LIFETIMES[days],
            )
            staff_db.audit(
                session,
                "created API token",
                now=moment,
                user_id=signed_in.user.id,
                detail=f"id={token_id} {name!r} for {days} days",
                address=client_address(request),
            )
        return None

    if not problems:
        refused = await run_in_threadpool(create)
        if refused:
            problems["name"] = refused
    context = await run_in_threadpool(_token_context, request, signed_in)
    if problems:
        return render(request, "tokens.html", {**context, "problems": problems, "form": form}, 400)
    return render(request, "tokens.html", {**context, "created": {"name": name, "secret": secret}})


@staff_view()
async def revoke_token(request: Request, signed_in: SignedIn, form: dict[str, str]) -> Response:
    """Revoke one of the account's own tokens (an admin: anyone's); it stops working at once."""
    token_id = request.path_params["token_id"]
    owner = None if signed_in.user.role == "admin" else signed_in.user.id

    def revoke() -> tokens_db.TokenInfo | None:
        moment = now()
        with request.state.database.writing() as session:
            revoked = tokens_db.revoke_token(session, token_id, owner, moment)
            if revoked is not None:
                staff_db.audit(
                    session,
                    "revoked API token",
                    now=moment,
                    user_id=signed_in.user.id,
                    detail=f"id={token_id} {revoked.name!r}"
                    + (
                        f" of user {revoked.user_id}"
                        if revoked.user_id != signed_in.user.id
                        else ""
                    ),
                    address=client_address(request),
                )
        return revoked

    if await run_in_threadpool(revoke) is None:
        raise HTTPException(404, "You have no working API token with this number.")
    return RedirectResponse(f"/staff/tokens?revoked={token_id}", status_code=303)


routes = [
    Route("/staff/tokens", tokens_page, name="staff_tokens", methods=["GET"]),
    Route("/staff/tokens", create_token, name="staff_token_create", methods=["POST"]),
    Route(
        f"/staff/tokens/{{token_id:{ROW}}}/revoke",
        revoke_token,
        name="staff_token_revoke",
        methods=["POST"],
    ),
]
