"""Staff accounts (admin): the list, inviting a colleague, a new invitation when one expired, a
one-time password reset link, a colleague's role and budgets, disabling an account. Every change
is audited. The invited person sets a password on the page of invitations.py."""

from __future__ import annotations

import json

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from budget_sim import accounts
from budget_sim.errors import Conflict
from budget_sim.storage import staff as staff_db
from budget_sim.web.clients import client_address
from budget_sim.web.paths import ROW
from budget_sim.web.sessions import SignedIn, now
from budget_sim.web.staff.auth import render, staff_view
from budget_sim.web.staff.sign_in import EMAIL_MAX
from budget_sim.web.urls import absolute, path_for

ALL = staff_db.ALL_BUDGETS


def users_context(request: Request, signed_in: SignedIn) -> dict:
    """What users.html needs besides notices (read in a thread)."""
    with request.state.database.reading() as session:
        everyone = staff_db.list_staff(session)
    return {
        "me": signed_in,
        "staff": everyone,
        "now": now(),
        "roles": accounts.ROLES,
        "budgets": sorted(request.state.budgets.values(), key=lambda b: b.title),
    }


def access_problems(
    request: Request, role: str, raw: FormData
) -> tuple[dict[str, str], list[str] | None]:
    """Problems of a role and budgets form, and the budgets (None: every budget)."""
    chosen = [v for v in raw.getlist("budgets") if isinstance(v, str)]
    problems = {}
    if role not in accounts.ROLES:
        problems["role"] = f"Choose a role: {', '.join(accounts.ROLES)}."
    unknown = [slug for slug in chosen if slug not in request.state.budgets and slug != ALL]
    if unknown:
        problems["budgets"] = f"Unknown budget(s): {', '.join(unknown)}."
    if role == "admin" or ALL in chosen:  # an analyst gets only what is ticked
        return problems, None
    return problems, [slug for slug in chosen if slug != ALL]


@staff_view(role="admin")
async def users(request: Request, signed_in: SignedIn) -> Response:
    context = await run_in_threadpool(users_context, request, signed_in)
    return render(request, "users.html", context)


@staff_view(role="admin")
async def invite(request: Request, signed_in: SignedIn, form: dict[str, str]) -> Response:
    raw = await request.form()
    email = form.get("email", "").strip().lower()
    name = form.get("name", "").strip()
    role = form.get("role", "")
    problems, budgets = access_problems(request, role, raw)
    if accounts.email_problem(email) or len(email) > EMAIL_MAX:
        problems["email"] = "Enter an email address such as name@city.gov."
    if not name or len(name) > 200:
        problems["name"] = "Enter the person's name (at most 200 characters)."
    all_budgets, chosen = budgets is None, budgets or []
    token = accounts.new_token()

    def create() -> None:
        moment = now()
        with request.state.database.writing() as session:
            staff_db.create_staff(
                session,
                email=email,
                name=name,
                role=role,
                budgets=None if all_budgets else chosen,
                password_hash=None,
                now=moment,
                invite_hash=accounts.token_digest(token),
                invite_expires_at=moment + accounts.INVITE_LIFETIME,
            )
            staff_db.audit(
                session,
                "invited staff",
                now=moment,
                user_id=signed_in.user.id,
                detail=json.dumps(
                    {"email": email, "role": role, "budgets": "all" if all_budgets else chosen}
                ),
                address=client_address(request),
            )

    if not problems:
        try:
            await run_in_threadpool(create)
        except Conflict:
            problems["email"] = (
                f"An account for {email} already exists. To invite them again, use “Send a "
                "new invitation” in its row; to change what it may see, “Edit”."
            )
    context = await run_in_threadpool(users_context, request, signed_in)
    if problems:
        return render(request, "users.html", {**context, "problems": problems, "form": form}, 400)
    link = absolute(request, path_for(request, "accept_invite", token=token))
    return render(
        request,
        "users.html",
        {
            **context,
            "invited": {
                "email": email,
                "role": role,
                "budgets": None if all_budgets else chosen,
                "link": link,
                "days": accounts.INVITE_LIFETIME.days,
            },
        },
    )


@staff_view(role="admin")
async def set_active(request: Request, signed_in: SignedIn, form: dict[str, str]) -> Response:
    user_id = int(request.path_params["user_id"])
    active = form.get("active") == "1"
    if user_id == signed_in.user.id and not active:
        raise HTTPException(400, "You cannot disable your own account; ask another admin.")

    def change() -> bool:
        moment = now()
        with request.state.database.writing() as session:
            target = staff_db.staff_by_id(session, user_id)
            if target is None:
                return False
            revoked = staff_db.set_active(session, user_id, active, moment)
            staff_db.audit(
                session,
                "enabled staff" if active else "disabled staff",
                now=moment,
                user_id=signed_in.user.id,
                detail=target.email + (f" ({revoked} API tokens revoked)" if revoked else ""),
                address=client_address(request),
            )
        return True

    if not await run_in_threadpool(change):
        raise HTTPException(404, "There is no such staff account.")
    return RedirectResponse("/staff/users", status_code=303)


def _target(request: Request) -> int:
    return int(request.path_params["user_id"])


async def _new_link(request: Request, signed_in: SignedIn, purpose: str) -> Response:
    """A new one-time link for a colleague: an invitation again, or a password reset."""
    user_id = _target(request)
    if purpose == "reset" and user_id == signed_in.user.id:
        raise HTTPException(400, "You cannot reset your own password here; ask another admin.")
    token = accounts.new_token()
    lifetime = accounts.INVITE_LIFETIME if purpose == "invite" else accounts.RESET_LIFETIME

    def make() -> staff_db.Staff | str:
        moment = now()
        with request.state.database.writing() as session:
            target = staff_db.staff_by_id(session, user_id)
            if target is None:
                return "missing"
            if not target.active:
                return "Enable the account first: a disabled account cannot sign in."
            if purpose == "invite" and target.has_password:
                return f"{target.email} has set a password already: reset it instead."
            staff_db.new_link(
                session, user_id, accounts.token_digest(token), moment + lifetime, purpose, moment
            )
            staff_db.audit(
                session,
                "re-sent invitation" if purpose == "invite" else "reset staff password",
                now=moment,
                user_id=signed_in.user.id,
                detail=target.email
                + ("" if purpose == "invite" else " (password cleared, sessions ended)"),
                address=client_address(request),
            )
            return target

    made = await run_in_threadpool(make)
    if made == "missing":
        raise HTTPException(404, "There is no such staff account.")
    if isinstance(made, str):
        raise HTTPException(400, made)
    context = await run_in_threadpool(users_context, request, signed_in)
    link = absolute(request, path_for(request, "accept_invite", token=token))
    hours = int(lifetime.total_seconds() // 3600)
    notice = {"email": made.email, "purpose": purpose, "link": link, "hours": hours}
    return render(request, "users.html", {**context, "link_made": notice})


@staff_view(role="admin")
async def resend_invite(request: Request, signed_in: SignedIn, form: dict[str, str]) -> Response:
    return await _new_link(request, signed_in, "invite")


@staff_view(role="admin")
async def reset_password(request: Request, signed_in: SignedIn, form: dict[str, str]) -> Response:
    return await _new_link(request, signed_in, "reset")


def _person(request: Request, user_id: int) -> staff_db.Staff:
    with request.state.database.reading() as session:
        person = staff_db.staff_by_id(session, user_id)
    if person is None:
        raise HTTPException(404, "There is no such staff account.")
    return person


def _edit_page(
    request: Request,
    signed_in: SignedIn,
    person: staff_db.Staff,
    problems: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    return render(
        request,
        "user_edit.html",
        {
            "me": signed_in,
            "person": person,
            "roles": accounts.ROLES,
            "budgets": sorted(request.state.budgets.values(), key=lambda b: b.title),
            "problems": problems or {},
        },
        status,
    )


@staff_view(role="admin")
async def edit_page(request: Request, signed_in: SignedIn) -> Response:
    person = await run_in_threadpool(_person, request, _target(request))
    return _edit_page(request, signed_in, person)


@staff_view(role="admin")
async def edit(request: Request, signed_in: SignedIn, form: dict[str, str]) -> Response:
    user_id = _target(request)
    person = await run_in_threadpool(_person, request, user_id)
    role = form.get("role", "")
    problems, budgets = access_problems(request, role, await request.form())

    def change() -> None:
        moment = now()
        with request.state.database.writing() as session:
            staff_db.change_access(session, user_id, role, budgets)
            before = {"role": person.role, "budgets": _shown(person.budgets)}
            after = {"role": role, "budgets": _shown(budgets)}
            staff_db.audit(
                session,
                "changed staff access",
                now=moment,
                user_id=signed_in.user.id,
                detail=json.dumps({"email": person.email, "before": before, "after": after}),
                address=client_address(request),
            )

    if not problems:
        try:
            await run_in_threadpool(change)
        except Conflict as error:
            problems["role"] = f"Not changed: {error}."
    if problems:
        return _edit_page(request, signed_in, person, problems, 409 if "role" in problems else 400)
    return RedirectResponse(f"/staff/users?changed={user_id}", status_code=303)


def _shown(budgets: tuple[str, ...] | list[str] | None) -> str | list[str]:
    return "all" if budgets is None else sorted(budgets)


routes = [
    Route("/staff/users", users, name="staff_users", methods=["GET"]),
    Route("/staff/users/invite", invite, name="staff_invite", methods=["POST"]),
    Route(
        f"/staff/users/{{user_id:{ROW}}}/active",
        set_active,
        name="staff_set_active",
        methods=["POST"],
    ),
    Route(f"/staff/users/{{user_id:{ROW}}}", edit_page, name="staff_user", methods=["GET"]),
    Route(f"/staff/users/{{user_id:{ROW}}}", edit, name="staff_user_edit", methods=["POST"]),
    Route(
        f"/staff/users/{{user_id:{ROW}}}/resend",
        resend_invite,
        name="staff_resend_invite",
        methods=["POST"],
    ),
    Route(
        f"/staff/users/{{user_id:{ROW}}}/reset",
        reset_password,
        name="staff_reset_password",
        methods=["POST"],
    ),
]
