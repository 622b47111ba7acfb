"""Choosing the headline method a budget shows on the dashboard and the public results page
(admins; audited with the method before and after), and the notice saying what the choice did."""

from __future__ import annotations

from urllib.parse import urlencode

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from budget_sim.insights import METHODS
from budget_sim.insights.headline import HEADLINE, LABELS
from budget_sim.storage import headlines as headlines_db
from budget_sim.storage import staff as staff_db
from budget_sim.web.clients import client_address
from budget_sim.web.sessions import SignedIn, now
from budget_sim.web.staff.auth import staff_view

HEADLINE_NOTICES = {
    "changed": "The headline is now {label}: the dashboard and the public results page show it.",
    "unchanged": "The headline already was {label}: nothing changed.",
}


def headline_notice(params: object) -> str:
    """What the last headline choice did, from the redirect's query ("" if none)."""
    get = params.get  # type: ignore[attr-defined]
    template = HEADLINE_NOTICES.get(get("headline", ""))
    label = LABELS.get(get("method", ""), "")
    return template.format(label=label) if template and label else ""


@staff_view(role="admin")
async def choose_headline(request: Request, signed_in: SignedIn, form: dict[str, str]) -> Response:
    """Choose the method this budget shows as its headline (dashboard and public page);
    audited with the method before and after."""
    slug = request.path_params["slug"]
    budget = request.state.budgets.get(slug)
    if budget is None or not signed_in.user.may_see(slug):
        raise HTTPException(404, "There is no budget at this address that your account can see.")
    method = form.get("method", "")
    if method not in METHODS:
        raise HTTPException(
            400, f"method must be one of {', '.join(METHODS)}; {method[:40]!r} is not one."
        )

    def change() -> str:
        moment = now()
        with request.state.database.writing() as session:
            before = headlines_db.chosen_method(session, slug) or HEADLINE
            headlines_db.choose_method(session, slug, method, now=moment, user_id=signed_in.user.id)
            if before == method:
                return "unchanged"
            staff_db.audit(
                session,
                "chose the headline",
                now=moment,
                user_id=signed_in.user.id,
                detail=f"{slug} {before} -> {method}",
                address=client_address(request),
            )
        return "changed"

    outcome = await run_in_threadpool(change)
    target = request.url_for("staff_insights", slug=slug).path
    query = urlencode({"headline": outcome, "method": method})
    return RedirectResponse(f"{target}?{query}#headline", status_code=303)


routes = [
    Route("/staff/b/{slug}/headline", choose_headline, name="staff_headline", methods=["POST"]),
]
