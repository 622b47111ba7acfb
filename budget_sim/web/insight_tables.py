"""A budget's submissions table and insight tables as every audience reads them (the staff
dashboard and downloads, the JSON API, the public results): from the app's insight cache
(web/insight_cache.py), and the dashboard's filters checked against the budget."""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl
from starlette.requests import Request

from budget_sim.insights import report
from budget_sim.model import Budget


def load_table(
    request: Request, budget: Budget, *, include_synthetic: bool, include_set_aside: bool = False
) -> pl.DataFrame:
    """The submissions table of a budget (blocking: call from a worker thread)."""
    return request.state.insights.table(
        budget, include_synthetic=include_synthetic, include_set_aside=include_set_aside
    )


def load_report(request: Request, budget: Budget, filters: report.Filters) -> report.Report:
    """Every insight table of a budget under `filters` (blocking: call from a worker thread)."""
    return request.state.insights.report(budget, filters)


def filter_problem(budget: Budget, params: Mapping[str, str]) -> str | None:
    """Why the filter parameters cannot be applied to this budget, or None."""
    if params.get("synthetic", "0") not in ("0", "1"):
        return "synthetic must be 1 (include demo submissions) or 0 (leave them out)."
    if params.get("weights", "") not in ("", *report.WEIGHTINGS):
        return (
            "weights must be district (weight by district population), raked (weight to "
            "every population table of the budget's questions) or left out."
        )
    compare = params.get("compare", "").strip()
    if compare and compare not in {q.id for q in budget.questions}:
        known = ", ".join(q.id for q in budget.questions) or "none"
        return f"compare must be a question of this budget ({known}); {compare!r} is not one."
    segment = params.get("segment", "")
    if segment:
        question_id, _, option = segment.partition(":")
        choices = {q.id: {o.id for o in q.options} for q in budget.questions}
        if question_id not in choices or option not in choices[question_id]:
            known = ", ".join(f"{q}:<option>" for q in choices) or "none"
            return (
                f"segment must be question:option with a question and option of this budget "
                f"(questions: {known}); {segment!r} is not one."
            )
    return None
