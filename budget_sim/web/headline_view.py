"""The headline on the staff dashboard and the public page: which method a budget shows (staff
choose it per budget: staff/headline_choice.py), its figures with 95% intervals, its truthful
neighbour and the lines where the methods disagree (budget_sim.insights.headline)."""

from __future__ import annotations

from starlette.requests import Request

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


__all__ = ["HeadlineFigures", "chosen_headline", "headline_context"]
