"""The insights dashboard of a budget (staff only): participation, per-line results with 95%
intervals, the whole budget under each aggregation method, its headline, trade-offs, segments
and comments; and setting a submission aside (admins). The downloads are in insight_exports.py."""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlencode

import polars as pl
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from budget_sim.insights import HEADLINE, dashboard, report, segments, tradeoffs, weighting
from budget_sim.model import Budget
from budget_sim.storage import staff as staff_db
from budget_sim.storage import submissions as submissions_db
from budget_sim.web import i18n
from budget_sim.web.clients import client_address
from budget_sim.web.dashboard_charts import headline_chart_job
from budget_sim.web.headline_view import METHOD_TEXTS, headline_context, start_intervals
from budget_sim.web.sessions import SignedIn, now
from budget_sim.web.staff.auth import render, staff_view
from budget_sim.web.staff.budget_access import visible_budget
from budget_sim.web.staff.headline_choice import headline_notice
from budget_sim.web.urls import link_for


def comparison(compared: pl.DataFrame) -> dict:
    """A segment comparison as the dashboard shows it: the answers (label, n, small) and, per
    unlocked line, each answer's net support, the lines where answers differ most first."""
    answers = compared.unique("option", keep="first", maintain_order=True).select(
        "option", "label", "submissions", small=pl.col("submissions") < segments.MIN_CELL
    )
    unlocked = compared.filter(~pl.col("locked"))
    net = {
        (row["line_id"], row["option"]): row.get("net_support")
        for row in unlocked.iter_rows(named=True)
    }
    # Too few in a cell: fewer than MIN_CELL of that answer saw the line (a revision added it).
    small = {
        (row["line_id"], row["option"]): row["small"] for row in unlocked.iter_rows(named=True)
    }
    gaps = {row["line_id"]: row for row in segments.splits(compared).iter_rows(named=True)}
    options = answers["option"].to_list()
    rows = [
        {
            "name": line["program"]
            if line["program"] == line["department"]
            else f"{line['department']}: {line['program']}",
            "split": gaps.get(line["line_id"]),
            "cells": [net.get((line["line_id"], option)) for option in options],
            "small_cells": [small.get((line["line_id"], option)) for option in options],
        }
        for line in unlocked.unique("line_id", keep="first", maintain_order=True).iter_rows(
            named=True
        )
    ]
    rows.sort(key=lambda row: -row["split"]["gap"] if row["split"] else 1.0)  # stable
    return {"answers": answers.to_dicts(), "rows": rows}


def revisions(results: report.Report, budget: Budget) -> list[dict]:
    """Submissions per revision (dashboard.per_revision), computed once per report."""
    if "revisions" not in results.derived:
        results.derived["revisions"] = dashboard.per_revision(results.table, budget.version)
    return results.derived["revisions"]


def headline_intervals(
    request: Request, budget: Budget, filters: report.Filters, *, start: bool = True
) -> dict:
    """The headline block (headline_view.headline_context) with the dashboard's chart of it."""
    context = headline_context(request, budget, filters, start=start)
    results, _ = request.state.insights.latest(budget, filters)
    method, whole = context["headline_method"], results.tables.get("whole-budget")
    drawn = results.derived.setdefault("headline-charts", {})
    default = results.derived.get("charts", {}).get("whole-budget")
    if method == HEADLINE and default is not None:
        drawn[method] = default  # drawn with the report's other charts
    if whole is not None and method in whole.columns and method not in drawn:
        drawn[method] = headline_chart_job(budget, whole, method)()
    return {**context, "headline_chart": drawn.get(method), **METHOD_TEXTS}


def _filter_query(request: Request) -> str:
    pairs = [(k, v) for k, v in request.query_params.multi_items() if k not in ("q", "line")]
    return ("?" + urlencode(pairs)) if pairs else ""


@staff_view()
async def headline_intervals_fragment(request: Request, signed_in: SignedIn) -> Response:
    """The headline's intervals block alone (htmx polls it until the intervals are ready)."""
    budget = visible_budget(request, signed_in)
    i18n.activate("en", budget.country, budget.currency)  # staff pages are in English
    filters = report.Filters.from_query(request.query_params)
    context = await run_in_threadpool(headline_intervals, request, budget, filters)
    return render(
        request,
        "_headline.html",
        {
            "budget": budget,
            "interval_url": link_for(request, "staff_headline_intervals", slug=budget.slug)
            + _filter_query(request),
            **context,
        },
        block="headline_intervals",
    )


def set_aside_receipts(request: Request, budget: Budget) -> list[str]:
    """The receipts of the budget's submissions set aside, latest first (blocking)."""
    with request.state.database.reading() as session:
        return submissions_db.set_aside_receipts(session, budget.slug)


ASIDE_NOTICES = {
    "set-aside": "Submission {receipt} is set aside: the figures, exports and public results "
    "leave it out unless you tick “Include submissions set aside”.",
    "restored": "Submission {receipt} is counted again.",
    "unchanged": "Submission {receipt} already was as you asked: nothing changed.",
    "unknown": "There is no submission with receipt {receipt} in this budget: nothing changed. "
    "A receipt is the code at the end of the resident's receipt link (/r/…).",
}


def aside_notice(params: Mapping[str, str]) -> str:
    """What the last set-aside action did, from the redirect's query ("" if none)."""
    template = ASIDE_NOTICES.get(params.get("aside", ""))
    receipt = params.get("receipt", "")
    return template.format(receipt=repr(receipt)) if template else ""


@staff_view(role="admin")
async def set_aside(request: Request, signed_in: SignedIn, form: dict[str, str]) -> Response:
    """Set a submission aside (a duplicate, a test, an abuse) or count it again; audited.
    It leaves the dashboard, the exports and the public results at once."""
    budget = visible_budget(request, signed_in)
    receipt = form.get("receipt", "").strip()[:64]
    aside = form.get("aside") != "0"

    def change() -> str:
        if not receipt:
            return "unknown"
        with request.state.database.writing() as session:
            changed = submissions_db.set_submission_aside(session, budget.slug, receipt, aside)
            if changed:
                staff_db.audit(
                    session,
                    "set a submission aside" if aside else "counted a submission again",
                    now=now(),
                    user_id=signed_in.user.id,
                    detail=f"{budget.slug} receipt={receipt}",
                    address=client_address(request),
                )
        if changed is None:
            return "unknown"
        if not changed:
            return "unchanged"
        return "set-aside" if aside else "restored"

    outcome = await run_in_threadpool(change)
    target = request.url_for("staff_insights", slug=budget.slug).path
    query = urlencode({"aside": outcome, "receipt": receipt})
    return RedirectResponse(f"{target}?{query}#set-aside", status_code=303)


def compare_problem(budget: Budget, filters: report.Filters) -> str:
    """Why the comparison asked for cannot be made ("" when it can, or none was asked)."""
    if not filters.compare or report.compared_question(budget, filters):
        return ""
    return (
        f"There is no question {filters.compare!r} in this budget to compare by; "
        "choose one from the list below."
    )


@staff_view()
async def insights_page(request: Request, signed_in: SignedIn) -> Response:
    """The dashboard of one budget: participation, per-line results with 95% intervals, the
    whole budget under each aggregation method, trade-offs, segments and comments."""
    budget = visible_budget(request, signed_in)
    i18n.activate("en", budget.country, budget.currency)  # staff pages are in English
    params = request.query_params
    filters = report.Filters.from_query(params)
    search, comment_line = params.get("q", ""), params.get("line", "*")
    compared = report.compared_question(budget, filters)

    def compute() -> dict:
        results, newer = request.state.insights.latest(budget, filters)
        segment_table = results.tables.get(f"segments-by-{compared.id}") if compared else None
        return {
            "everyone": results.everyone,
            "table": results.table,
            "per_day": results.tables.get("participation-per-day"),
            "districts": results.districts,
            "weights": results.weights,
            "lines": results.tables["lines"],
            "whole": results.tables.get("whole-budget"),
            "whole_counted": results.whole_counted,
            "revisions": revisions(results, budget),
            "tradeoffs": results.tables["trade-offs"],
            "families": results.families,
            "margins": weighting.margins(budget.questions),
            "comparison": comparison(segment_table) if segment_table is not None else None,
            "charts": results.derived["charts"],
            "table_names": list(results.tables),
            "comments": dashboard.comments(
                results.table, budget.lines, search=search, line=comment_line
            ).head(200),
            **headline_intervals(request, budget, filters, start=False),
            "headline_notice": headline_notice(params),
            "newer": newer,
            "set_aside_count": request.state.insights.set_aside(budget),
            "set_aside_receipts": set_aside_receipts(request, budget)
            if signed_in.user.role == "admin"
            else [],
        }

    with request.state.insights.foreground():
        results = await run_in_threadpool(compute)
        response = render(
            request,
            "insights.html",
            {
                "me": signed_in,
                "budget": budget,
                "include_synthetic": filters.include_synthetic,
                "include_set_aside": filters.include_set_aside,
                "aside_notice": aside_notice(params),
                "segment": ":".join(filters.segment) if filters.segment else "",
                "weighting": filters.weighting,
                "compare": compared.id if compared else "",
                "compared": compared,
                "compare_problem": compare_problem(budget, filters),
                "tradeoff_limits": {
                    "submissions": tradeoffs.MIN_SUBMISSIONS,
                    "movers": tradeoffs.MIN_MOVERS,
                    "lines": tradeoffs.MAX_LINES,
                    "expected_both": tradeoffs.MIN_EXPECTED_BOTH,
                },
                "small_cell": segments.MIN_CELL,
                "interval_url": link_for(request, "staff_headline_intervals", slug=budget.slug)
                + _filter_query(request),
                "search": search,
                "comment_line": comment_line,
                **results,
            },
        )
    if results["headline_pending"]:  # after the page is sent: the resamples would slow it down
        response.background = BackgroundTask(start_intervals, request, budget, filters)
    return response


routes = [
    Route("/staff/b/{slug}", insights_page, name="staff_insights", methods=["GET"]),
    Route("/staff/b/{slug}/set-aside", set_aside, name="staff_set_aside", methods=["POST"]),
    Route(
        "/staff/b/{slug}/headline-intervals",
        headline_intervals_fragment,
        name="staff_headline_intervals",
        methods=["GET"],
    ),
]
