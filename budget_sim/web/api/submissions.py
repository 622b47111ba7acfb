"""GET /api/v1/budgets/SLUG/submissions: the submissions of a budget a page at a time, in the
order they were stored; amounts in integer cents."""

from __future__ import annotations

import re
from typing import Any

import polars as pl
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from budget_sim.storage.exports import removed_lines
from budget_sim.web.api.guard import ApiError, Caller, api_view, audit, visible_budget
from budget_sim.web.insight_tables import load_table
from budget_sim.web.json_api import PREFIX, JsonResponse

PAGE_DEFAULT, PAGE_MAX = 100, 1000
WHOLE = re.compile(r"[0-9]{1,9}")  # ASCII digits only ("١٢" is not a number here), never huge


def _int_param(request: Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    if not WHOLE.fullmatch(raw) or not low <= int(raw) <= high:
        raise ApiError(400, f"bad_{name}", f"{name} must be a whole number from {low} to {high}.")
    return int(raw)


def _flag(request: Request, name: str) -> bool:
    raw = request.query_params.get(name, "0")
    if raw not in ("0", "1"):
        raise ApiError(400, f"bad_{name}", f"{name} must be 1 or 0.")
    return raw == "1"


def _submission(row: dict[str, Any], line_ids: list[str], removed: list[str]) -> dict[str, Any]:
    return {
        "receipt": row["receipt"],
        "submitted_at": row["submitted_at"],
        "locale": row["locale"],
        "synthetic": row["synthetic"],
        "revision": row["revision"],
        "budget_version": row["budget_version"],
        "amounts_cents": {line: row[line] for line in line_ids},
        # lines a later revision removed, for the submissions made when they existed
        "removed_amounts_cents": {line: row[line] for line in removed if row[line] is not None},
        "answers": {
            k.removeprefix("answer."): v
            for k, v in row.items()
            if k.startswith("answer.") and v is not None
        },
        "comments": {
            k.removeprefix("comment").removeprefix("."): v
            for k, v in row.items()
            if k.startswith("comment") and v is not None
        },
    }


@api_view
async def submissions(request: Request, caller: Caller) -> Response:
    """A page of submissions in the order they were stored: `?after=<next of the previous
    page>&limit=<1..1000>&synthetic=1&set_aside=1`. Amounts in integer cents."""
    budget = visible_budget(request, caller)
    limit = _int_param(request, "limit", PAGE_DEFAULT, 1, PAGE_MAX)
    after = request.query_params.get("after", "")
    include_synthetic = _flag(request, "synthetic")
    include_set_aside = _flag(request, "set_aside")

    def page() -> tuple[pl.DataFrame, int, bool]:
        table = load_table(
            request,
            budget,
            include_synthetic=include_synthetic,
            include_set_aside=include_set_aside,
        )
        start = 0
        if after:
            found = table.with_row_index("__row").filter(pl.col("receipt") == after)["__row"]
            if found.is_empty():
                raise ApiError(
                    400,
                    "bad_after",
                    "after must be the `next` value of a previous page; this one names no "
                    "submission here (it may have been flagged since): start again without it.",
                )
            start = int(found[0]) + 1
        rows = table.slice(start, limit)
        audit(
            request,
            caller,
            "api read submissions",
            f"{budget.slug} start={start} rows={rows.height} synthetic={include_synthetic}"
            + (" set_aside=True" if include_set_aside else ""),
        )
        return rows, table.height, start + rows.height < table.height

    rows, total, more = await run_in_threadpool(page)
    line_ids = budget.line_ids
    removed = removed_lines(rows, line_ids)
    items = [_submission(row, line_ids, removed) for row in rows.iter_rows(named=True)]
    following = items[-1]["receipt"] if more and items else None
    query = f"?after={following}&limit={limit}" + ("&synthetic=1" if include_synthetic else "")
    query += "&set_aside=1" if include_set_aside else ""
    return JsonResponse(
        {
            "budget": budget.slug,
            "currency": budget.currency,
            "lines": line_ids,
            "total": total,
            "count": len(items),
            "submissions": items,
            "next": following,
            "next_url": f"{PREFIX}/budgets/{budget.slug}/submissions{query}" if following else None,
        }
    )
