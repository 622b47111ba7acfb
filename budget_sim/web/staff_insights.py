"""The insights dashboard of a budget and the export of its submissions (staff only)."""

from __future__ import annotations

import polars as pl
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from budget_sim import exports
from budget_sim.insights import dashboard, report
from budget_sim.model import Budget
from budget_sim.storage import staff as staff_db
from budget_sim.web.staff_auth import SignedIn, client_address, now, render, staff_view


def visible_budget(request: Request, signed_in: SignedIn) -> Budget:
    """The budget named in the path, if this account may see it; 404 otherwise."""
    slug = request.path_params["slug"]
    budget = request.state.budgets.get(slug)
    if budget is None or not signed_in.user.may_see(slug):
        raise HTTPException(404, "There is no budget at this address that your account can see.")
    return budget


def load_table(request: Request, budget: Budget, *, include_synthetic: bool) -> pl.DataFrame:
    """The submissions table of a budget (blocking: call from a worker thread)."""
    return request.state.insights.table(budget, include_synthetic=include_synthetic)


def load_report(request: Request, budget: Budget, filters: report.Filters) -> report.Report:
    """Every insight table of a budget under `filters` (blocking: call from a worker thread)."""
    return request.state.insights.report(budget, filters)


def audit(request: Request, signed_in: SignedIn, action: str, detail: str) -> None:
    """Record a staff action in the audit log (blocking)."""
    with request.state.database.writing() as session:
        staff_db.audit(
            session,
            action,
            now=now(),
            user_id=signed_in.user.id,
            detail=detail,
            address=client_address(request),
        )


def in_units(frame: pl.DataFrame, columns: list[str]) -> pl.DataFrame:
    """Cents to currency units with exactly two decimals (a Decimal, never a float)."""
    return frame.with_columns(
        (pl.col(c).cast(pl.Decimal(20, 2)) / 100).cast(pl.Decimal(20, 2)) for c in columns
    )


@staff_view()
async def export_submissions(request: Request, signed_in: SignedIn) -> Response:
    """Every submission of a budget: one row each, one column per line (currency units),
    answers and comments. Demo submissions only when asked (?synthetic=1)."""
    budget = visible_budget(request, signed_in)
    fmt = request.path_params["fmt"]
    if fmt not in exports.FORMATS:
        raise HTTPException(404, "Exports come as .csv, .xlsx or .parquet.")
    include_synthetic = request.query_params.get("synthetic") == "1"

    def build() -> bytes:
        table = load_table(request, budget, include_synthetic=include_synthetic)
        audit(
            request,
            signed_in,
            "exported submissions",
            f"{budget.slug} {fmt} rows={table.height} synthetic={include_synthetic}",
        )
        return exports.encode(in_units(table, budget.line_ids), fmt)

    body = await run_in_threadpool(build)
    name = f"{budget.slug}-submissions{'-with-demo' if include_synthetic else ''}.{fmt}"
    return Response(
        body,
        media_type=exports.FORMATS[fmt],
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@staff_view()
async def insights_page(request: Request, signed_in: SignedIn) -> Response:
    """The dashboard of one budget: participation, per-line results with 95% intervals, the
    whole budget under each aggregation method, segments and comments."""
    budget = visible_budget(request, signed_in)
    params = request.query_params
    filters = report.Filters.from_query(params)
    search, comment_line = params.get("q", ""), params.get("line", "*")

    def compute() -> dict:
        results = load_report(request, budget, filters)
        return {
            "everyone": results.everyone,
            "table": results.table,
            "per_day": results.tables.get("participation-per-day"),
            "districts": results.districts,
            "weights": results.weights,
            "lines": results.tables["lines"],
            "whole": results.tables.get("whole-budget"),
            "comments": dashboard.comments(
                results.table, budget.lines, search=search, line=comment_line
            ).head(200),
        }

    results = await run_in_threadpool(compute)
    return render(
        request,
        "insights.html",
        {
            "me": signed_in,
            "budget": budget,
            "include_synthetic": filters.include_synthetic,
            "segment": ":".join(filters.segment) if filters.segment else "",
            "weighting": filters.weighting,
            "search": search,
            "comment_line": comment_line,
            **results,
        },
    )


routes = [
    Route("/staff/b/{slug}", insights_page, name="staff_insights", methods=["GET"]),
    Route(
        "/staff/b/{slug}/submissions.{fmt}",
        export_submissions,
        name="staff_export",
        methods=["GET"],
    ),
]
