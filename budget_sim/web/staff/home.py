"""The staff home (the budgets this account may see, their submission counts and downloads),
signing out (signing in is sign_in.py) and the audit log (admin)."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from budget_sim.storage import results as results_db
from budget_sim.storage import staff as staff_db
from budget_sim.web.clients import client_address
from budget_sim.web.sessions import SignedIn, clear_session_cookie, now
from budget_sim.web.staff.auth import render, staff_view


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
async def audit_log(request: Request, signed_in: SignedIn) -> Response:
    def rows() -> list[staff_db.AuditRow]:
        with request.state.database.reading() as session:
            return staff_db.recent_audit(session)

    return render(request, "audit.html", {"me": signed_in, "rows": await run_in_threadpool(rows)})


routes = [
    Route("/staff/logout", logout, name="staff_logout", methods=["POST"]),
    Route("/staff", home, name="staff_home", methods=["GET"]),
    Route("/staff/audit", audit_log, name="staff_audit", methods=["GET"]),
]
