"""GET /api/v1/budgets/SLUG/insights (the insight tables of a budget under the dashboard's
filters: names, sizes, columns) and GET /api/v1/budgets/SLUG/insights/TABLE (one table as rows of
JSON objects, money as decimal strings)."""

from __future__ import annotations

import math
from dataclasses import asdict
from typing import Any

import polars as pl
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from budget_sim.insights import report
from budget_sim.model import Budget
from budget_sim.web.api.guard import ApiError, Caller, api_view, audit, visible_budget
from budget_sim.web.export_columns import export_frame
from budget_sim.web.insight_tables import filter_problem, load_report
from budget_sim.web.json_api import PREFIX, JsonResponse


def _filters(request: Request, budget: Budget) -> report.Filters:
    problem = filter_problem(budget, request.query_params)
    if problem:
        raise ApiError(400, "bad_filter", problem)
    return report.Filters.from_query(request.query_params)


def _query(request: Request) -> str:
    return f"?{request.url.query}" if request.url.query else ""


@api_view
async def insights(request: Request, caller: Caller) -> Response:
    """The insight tables of a budget under the dashboard's filters (synthetic, segment,
    weights): their names, sizes and columns."""
    budget = visible_budget(request, caller)
    filters = _filters(request, budget)
    results = await run_in_threadpool(load_report, request, budget, filters)
    base = f"{PREFIX}/budgets/{budget.slug}/insights"
    tables = []
    for name, frame in results.tables.items():
        exported = export_frame(name, frame.clear())
        tables.append(
            {
                "name": name,
                "rows": frame.height,
                "columns": exported.columns,
                "url": f"{base}/{name}{_query(request)}",
            }
        )
    return JsonResponse(
        {
            "budget": budget.slug,
            "filters": asdict(filters),
            "submissions": results.table.height,
            "tables": tables,
        }
    )


def _column_type(dtype: pl.DataType) -> str:
    if isinstance(dtype, pl.Decimal):
        return "decimal"
    if dtype.is_integer():
        return "integer"
    if dtype.is_float():
        return "number"
    if dtype == pl.Boolean:
        return "boolean"
    if dtype == pl.Date:
        return "date"
    if isinstance(dtype, pl.Datetime):
        return "datetime"
    return "string"


def _finite(value: Any) -> Any:
    return None if isinstance(value, float) and not math.isfinite(value) else value


@api_view
async def insight_table(request: Request, caller: Caller) -> Response:
    """One insight table as rows of JSON objects; money as decimal strings (*_amount)."""
    budget = visible_budget(request, caller)
    filters = _filters(request, budget)
    name = request.path_params["table"]

    def build() -> pl.DataFrame:
        results = load_report(request, budget, filters)
        if name not in results.tables:
            raise ApiError(
                404,
                "not_found",
                f"This budget has no insight table {name!r} under these filters. "
                f"Its tables: {', '.join(results.tables)}.",
            )
        frame = export_frame(name, results.tables[name])
        detail = " ".join(f"{k}={v}" for k, v in asdict(filters).items())
        audit(
            request,
            caller,
            "api read insight table",
            f"{budget.slug} {name} rows={frame.height} {detail}",
        )
        return frame

    frame = await run_in_threadpool(build)
    rows = [{k: _finite(v) for k, v in row.items()} for row in frame.iter_rows(named=True)]
    return JsonResponse(
        {
            "budget": budget.slug,
            "table": name,
            "filters": asdict(filters),
            "currency": budget.currency,
            "columns": [{"name": c, "type": _column_type(t)} for c, t in frame.schema.items()],
            "rows": rows,
        }
    )
