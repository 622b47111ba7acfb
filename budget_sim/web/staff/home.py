"""Staff pages: sign-out (sign-in is `sign_in`), the staff home, staff accounts and invitations
(admin), the audit log (admin)."""

from __future__ import annotations

import json

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from budget_sim import accounts
from budget_sim.errors import Conflict
from budget_sim.storage import results as results_db
from budget_sim.storage import staff as staff_db
from budget_sim.web.paths import ROW
from budget_sim.web.security import same_origin
from budget_sim.web.staff import sign_in
from budget_sim.web.staff.auth import (
    SignedIn,
    clear_session_cookie,
    client_address,
    now,
    render,
    staff_view,
)
from budget_sim.web.staff.sign_in import EMAIL_MAX, hashing
from budget_sim.web.staff.users import access_problems, users_context
from budget_sim.web.urls import absolute, path_for


@staff_view()
async def logout(request: Request, signed_in: SignedIn, form: dict[str, str]) -> Response:
    def end() -> None:
        with request.state.database.writing() as session:
            staff_db.end_session(session, signed_in.session.id, now())
            staff_db.audit(
                session,
                "signed out",
                now=now(),
                user_id=signed_in.user.id,
                address=client_address(request),
            )

    await run_in_threadpool(end)
    response = RedirectResponse("/staff/login?signed_out=1", status_code=303)
    clear_session_cookie(response)
    return response


@staff_view()
async def home(request: Request, signed_in: SignedIn) -> Response:
    budgets = [b for b in request.state.budgets.values() if signed_in.user.may_see(b.slug)]

    def counts() -> dict[str, tuple[int, int]]:
        """Per budget: (residents' submissions, demo ones), set-aside ones left out: the
        first is what the download next to it holds."""
        with request.state.database.reading() as session:
            return results_db.submission_counts(session)

    return render(
        request,
        "home.html",
        {
            "me": signed_in,
            "budgets": sorted(budgets, key=lambda b: b.title),
            "counts": await run_in_threadpool(counts),
        },
    )


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


@staff_view(role="admin")
async def audit_log(request: Request, signed_in: SignedIn) -> Response:
    def rows() -> list[staff_db.AuditRow]:
        with request.state.database.reading() as session:
            return staff_db.recent_audit(session)

    return render(request, "audit.html", {"me": signed_in, "rows": await run_in_threadpool(rows)})


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
    *sign_in.routes,
    Route("/staff/logout", logout, name="staff_logout", methods=["POST"]),
    Route("/staff", home, name="staff_home", methods=["GET"]),
    Route("/staff/users", users, name="staff_users", methods=["GET"]),
    Route("/staff/users/invite", invite, name="staff_invite", methods=["POST"]),
    Route(
        f"/staff/users/{{user_id:{ROW}}}/active",
        set_active,
        name="staff_set_active",
        methods=["POST"],
    ),
    Route("/staff/audit", audit_log, name="staff_audit", methods=["GET"]),
    Route("/staff/invite/{token}", invite_page, name="invite_page", methods=["GET"]),
    Route("/staff/invite/{token}", accept_invite, name="accept_invite", methods=["POST"]),
]
