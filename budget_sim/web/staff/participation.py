"""The participation page of a budget (staff only): who opened it, changed it, got it within
the rules, was refused, submitted; per day, per answer, time to complete, lines left on."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from budget_sim.insights.funnel import STEPS, Funnel, summarize
from budget_sim.model import Budget
from budget_sim.storage import Database
from budget_sim.storage.funnel import load_events
from budget_sim.web import i18n
from budget_sim.web.sessions import SignedIn
from budget_sim.web.staff.auth import render, staff_view
from budget_sim.web.staff.budget_access import visible_budget


def funnel_figures(database: Database, budget: Budget) -> Funnel:
    """Every figure of a budget's participation funnel (blocking: call from a worker thread).
    `Funnel.as_dict()` gives them as plain data, each with its sentence."""
    with database.reading() as session:
        events = load_events(session, budget.slug)
    return summarize(events, budget)


@staff_view()
async def participation_page(request: Request, signed_in: SignedIn) -> Response:
    budget = visible_budget(request, signed_in)
    i18n.activate("en", budget.country, budget.currency)  # staff pages are in English
    figures = await run_in_threadpool(funnel_figures, request.state.database, budget)
    return render(
        request,
        "participation.html",
        {
            "me": signed_in,
            "budget": budget,
            "funnel": figures,
            "step_labels": [label for _, label in STEPS],
            "retention_days": request.state.settings.funnel_retention_days,
        },
    )


routes = [
    Route(
        "/staff/b/{slug}/participation",
        participation_page,
        name="staff_participation",
        methods=["GET"],
    )
]
