"""The page a one-time link opens (an invitation, or a password reset an admin sent from the
staff accounts page): the person sets their password, no session needed; audited."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from budget_sim import accounts
from budget_sim.storage import staff as staff_db
from budget_sim.web.clients import client_address
from budget_sim.web.security import same_origin
from budget_sim.web.sessions import now
from budget_sim.web.staff.auth import render
from budget_sim.web.staff.sign_in import hashing


def _invited(request: Request) -> staff_db.Staff | None:
    digest = accounts.token_digest(request.path_params["token"])
    with request.state.database.reading() as session:
        return staff_db.staff_by_invite(session, digest, now())


async def invite_page(request: Request) -> Response:
    user = await run_in_threadpool(_invited, request)
    if user is None:
        raise _link_gone()
    return render(request, "invite.html", {"user": user, "min_chars": accounts.PASSWORD_MIN_CHARS})


def _link_gone() -> HTTPException:
    return HTTPException(
        404, "This link has expired or was already used. Ask an admin for a new one."
    )


async def accept_invite(request: Request) -> Response:
    if not same_origin(request):
        raise HTTPException(403, "Set your password from this site's own page.")
    user = await run_in_threadpool(_invited, request)
    if user is None:
        raise _link_gone()
    form = await request.form(max_files=0, max_fields=10)
    password = str(form.get("password", ""))
    problem = accounts.password_problem(password, user.email)
    if problem is None and password != str(form.get("confirm", "")):
        problem = "and its confirmation differ: type the same password twice"
    if problem:
        return render(
            request,
            "invite.html",
            {
                "user": user,
                "error": f"The password {problem}.",
                "min_chars": accounts.PASSWORD_MIN_CHARS,
            },
            400,
        )

    new_hash = await hashing(accounts.hash_password, password)  # outside any transaction

    def save() -> None:
        with request.state.database.writing() as session:
            staff_db.set_password(session, user.id, new_hash)
            staff_db.audit(
                session,
                "set a new password (reset link)"
                if user.link_purpose == "reset"
                else "accepted invitation",
                now=now(),
                user_id=user.id,
                address=client_address(request),
            )

    await run_in_threadpool(save)
    return RedirectResponse("/staff/login?welcome=1", status_code=303)


routes = [
    Route("/staff/invite/{token}", invite_page, name="invite_page", methods=["GET"]),
    Route("/staff/invite/{token}", accept_invite, name="accept_invite", methods=["POST"]),
]
