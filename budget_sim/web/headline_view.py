"""The headline on the staff dashboard and the public page: which method a budget shows (staff
may choose per budget; audited), its figures with 95% intervals, its truthful neighbour and the
lines where the methods disagree (budget_sim.insights.headline)."""

from __future__ import annotations

from urllib.parse import urlencode

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from budget_sim.insights import METHODS, report
from budget_sim.insights.headline import (
    EXPLANATIONS,
    HEADLINE,
    LABELS,
    HeadlineFigures,
    headline_figures,
    neighbour,
)
from budget_sim.model import Budget
from budget_sim.storage import headlines as headlines_db
from budget_sim.storage import staff as staff_db
from budget_sim.web.staff.auth import SignedIn, client_address, now, staff_view

# What the templates need to name and explain every method.
METHOD_TEXTS = {"methods": METHODS, "method_labels": LABELS, "method_explanations": EXPLANATIONS}


def chosen_headline(request: Request, budget: Budget) -> str:
    """The method this budget shows as its headline (blocking: reads the database)."""
    with request.state.database.reading() as session:
        method = headlines_db.chosen_method(session, budget.slug)
    return method if method in METHODS else HEADLINE


def headline_context(
    request: Request,
    budget: Budget,
    filters: report.Filters,
    *,
    start: bool = True,
) -> dict:
    """What the headline block shows (blocking): `headline` (HeadlineFigures or None when
    nothing was submitted) and `headline_pending` (intervals still being computed; their
    computation starts now unless `start` is false)."""
    method = chosen_headline(request, budget)
    results, _ = request.state.insights.latest(budget, filters)
    whole = results.tables.get("whole-budget")
    if whole is None or method not in whole.columns:
        return {"headline": None, "headline_pending": False, "headline_method": method}
    locked = set(budget.lines.filter(budget.lines["locked"])["id"].to_list())
    figures = headline_figures(whole, locked, submissions=results.table.height, method=method)
    cache = request.state.insights
    pending = False
    interval = neighbour = None
    if results.table.height >= 2:
        interval = cache.intervals(budget, filters, start=start, method=method)
        neighbour = cache.intervals(budget, filters, start=start, method=figures.truthful)
        pending = interval is None or neighbour is None
    figures = headline_figures(
        whole,
        locked,
        submissions=results.table.height,
        method=method,
        interval=interval.bounds if interval is not None else None,
        truthful_interval=neighbour.bounds if neighbour is not None else None,
    )
    return {
        "headline": figures,
        "headline_interval": interval,
        "headline_pending": pending,
        "headline_method": method,
    }


def start_intervals(request: Request, budget: Budget, filters: report.Filters) -> None:
    """Start (or wait for) both intervals the headline block needs (a background task)."""
    method = chosen_headline(request, budget)
    for each in dict.fromkeys([method, neighbour(method)]):
        request.state.insights.intervals(budget, filters, method=each)


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

__all__ = ["HeadlineFigures", "chosen_headline", "headline_context", "routes"]
