"""The staff dashboard's charts: which insight table is drawn as which chart, and drawing all
of a report's (budget_sim.charts does the drawing itself)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial

import polars as pl

from budget_sim import charts
from budget_sim.insights import report
from budget_sim.insights.headline import HEADLINE, LABELS
from budget_sim.model import Budget
from budget_sim.web import i18n

logger = logging.getLogger("budget_sim")


def chart_job(budget: Budget, name: str, frame: pl.DataFrame) -> Callable[[], charts.Chart] | None:
    """What draws the insight table `name` on the dashboard, or None if it has no chart."""
    if name == "participation-per-day":
        return partial(charts.participation_per_day, frame)
    if name == "whole-budget" and HEADLINE in frame.columns:
        return headline_chart_job(budget, frame, HEADLINE)
    for question in report.district_questions(budget):
        if name == f"participation-by-{question.id}":
            return partial(charts.participation_by_district, question.id, question.label, frame)
    return None


def headline_chart_job(
    budget: Budget, frame: pl.DataFrame, method: str
) -> Callable[[], charts.Chart]:
    """What draws the whole-budget table under `method` against the city's budget."""
    symbol = i18n.Formatter("en", budget.country, budget.currency).symbol  # staff: English
    return partial(charts.independent_markets_vs_city, frame, symbol, method, LABELS[method])


def draw_charts(budget: Budget, built: report.Report) -> dict[str, charts.Chart]:
    """The dashboard's charts of a report, keyed by the insight table each one draws. A chart
    that cannot be drawn is logged and left out; the page still shows its table."""
    drawn: dict[str, charts.Chart] = {}
    if not built.table.height:
        return drawn
    for name, frame in built.tables.items():
        job = chart_job(budget, name, frame)
        if job is None:
            continue
        try:
            drawn[name] = job()
        except Exception:
            logger.exception("the dashboard's chart of %s could not be drawn", name)
    return drawn
