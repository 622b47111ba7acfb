"""The staff downloads of a budget: its submissions (CSV, XLSX, Parquet) and its insight
tables under the dashboard's filters (one table, or every table in one workbook). A browser
downloads them with the staff session, a script with a personal API token
(web/staff/export_auth.py); every download is audited."""

from __future__ import annotations

import re
import shutil
import tempfile
import threading
from pathlib import Path

import polars as pl
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, PlainTextResponse, Response
from starlette.routing import Route

from budget_sim import exports
from budget_sim.insights import dashboard, report
from budget_sim.model import Budget
from budget_sim.web.export_columns import export_frame, submissions_export
from budget_sim.web.insight_tables import load_report, load_table
from budget_sim.web.sessions import now
from budget_sim.web.staff.budget_access import audit, describe, read_filters, visible_budget
from budget_sim.web.staff.export_auth import Downloader, TokenHolder, export_view

HEAVY_EXPORTS = threading.BoundedSemaphore(1)  # XLSX of submissions being written, per process
BUSY = (
    "Another XLSX export of submissions is being written on this server right now. Try again "
    "in a minute, or download CSV or Parquet, which are ready at once."
)


@export_view
async def export_submissions(request: Request, signed_in: Downloader) -> Response:
    """The submissions of a budget: one row each with the revision it was made against, one
    column per line (currency units; lines a later revision removed after the current ones,
    with the amounts earlier residents gave them), answers and comments. Demo submissions only
    when asked (?synthetic=1); only one segment's when one is chosen (?segment=question:option),
    as on the dashboard. XLSX is written to a
    temporary file by a child process (exports.write_xlsx_file), one at a time per process:
    a second one meanwhile gets 503 with Retry-After."""
    budget = visible_budget(request, signed_in)
    fmt = request.path_params["fmt"]
    if fmt not in exports.FORMATS:
        raise HTTPException(404, "Exports come as .csv, .xlsx or .parquet.")
    filters = read_filters(request, budget)
    suffix = "-with-demo" if filters.include_synthetic else ""
    suffix += "-with-set-aside" if filters.include_set_aside else ""
    if filters.segment:  # ids are checked against the budget's questions: safe in a file name
        suffix += "-" + "-".join(filters.segment)
    name = f"{budget.slug}-submissions{suffix}.{fmt}"
    headers = {"Content-Disposition": f'attachment; filename="{name}"'}

    def build() -> pl.LazyFrame:
        table = load_table(
            request,
            budget,
            include_synthetic=filters.include_synthetic,
            include_set_aside=filters.include_set_aside,
        )
        if filters.segment:
            table = dashboard.segment(table, *filters.segment)
        audit(
            request,
            signed_in,
            "exported submissions",
            f"{budget.slug} {fmt} rows={table.height} synthetic={filters.include_synthetic}"
            + (" set_aside=True" if filters.include_set_aside else "")
            + (f" segment={':'.join(filters.segment)}" if filters.segment else "")
            + (" via=token" if isinstance(signed_in, TokenHolder) else ""),
        )
        return submissions_export(table, budget)

    if fmt != "xlsx":
        body = await run_in_threadpool(lambda: exports.encode(build().collect(), fmt))
        return Response(body, media_type=exports.FORMATS[fmt], headers=headers)
    if not HEAVY_EXPORTS.acquire(blocking=False):
        return PlainTextResponse(BUSY, status_code=503, headers={"Retry-After": "60"})
    folder = tempfile.mkdtemp(prefix="budget-sim-export-")
    try:
        target = Path(folder) / name
        await run_in_threadpool(lambda: exports.write_xlsx_file(build(), target))
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    finally:
        HEAVY_EXPORTS.release()
    return FileResponse(
        target,
        media_type=exports.FORMATS[fmt],
        headers=headers,
        background=BackgroundTask(shutil.rmtree, folder, ignore_errors=True),
    )


def _file_name(budget: Budget, name: str, filters: report.Filters, fmt: str) -> str:
    parts = [budget.slug, name]
    if filters.include_synthetic:
        parts.append("with-demo")
    if filters.include_set_aside:
        parts.append("with-set-aside")
    if filters.segment:
        parts.append("segment-" + "-".join(filters.segment))
    if filters.weighting:
        parts.append(f"weighted-{filters.weighting}")
    return re.sub(r"[^A-Za-z0-9_.-]", "-", "-".join(parts)) + f".{fmt}"


def _attachment(body: bytes, fmt: str, name: str) -> Response:
    return Response(
        body,
        media_type=exports.FORMATS[fmt],
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@export_view
async def export_insight(request: Request, signed_in: Downloader) -> Response:
    """One insight table under the dashboard's filters, as CSV, XLSX or Parquet."""
    budget = visible_budget(request, signed_in)
    name, fmt = request.path_params["table"], request.path_params["fmt"]
    if fmt not in exports.FORMATS:
        raise HTTPException(404, "Insight tables come as .csv, .xlsx or .parquet.")
    filters = read_filters(request, budget)

    def build() -> bytes | list[str]:
        results = load_report(request, budget, filters)
        if name not in results.tables:
            return list(results.tables)
        frame = export_frame(name, results.tables[name])
        audit(
            request,
            signed_in,
            "exported insight table",
            f"{budget.slug} {name} {fmt} rows={frame.height} {describe(filters)}",
        )
        return exports.encode(frame, fmt)

    body = await run_in_threadpool(build)
    if isinstance(body, list):
        raise HTTPException(
            404,
            f"This budget has no insight table {name!r} under these filters. "
            f"Its tables: {', '.join(body)}.",
        )
    return _attachment(body, fmt, _file_name(budget, name, filters, fmt))


def workbook_sheets(
    budget: Budget, results: report.Report, filters: report.Filters
) -> dict[str, pl.DataFrame]:
    """An "about" sheet (what, when, under which filters, in which units), then every table."""
    tables = {name: export_frame(name, frame) for name, frame in results.tables.items()}
    about = [
        ("budget", f"{budget.title} ({budget.slug})"),
        ("computed at", now().strftime("%Y-%m-%d %H:%M UTC")),
        ("filters", describe(filters)),
        ("submissions counted", str(results.table.height)),
        ("money", f"columns named *_amount: {budget.currency}, exact to the cent"),
        ("shares", "columns named share_*: fractions from 0 to 1; net_support from -1 to 1"),
        *((f"sheet: {name}", f"{frame.height} rows") for name, frame in tables.items()),
    ]
    return {
        "about": pl.DataFrame(about, schema=["item", "value"], orient="row"),
        **tables,
    }


@export_view
async def export_insights_workbook(request: Request, signed_in: Downloader) -> Response:
    """Every insight table under the dashboard's filters: one XLSX, a sheet per table."""
    budget = visible_budget(request, signed_in)
    filters = read_filters(request, budget)

    def build() -> bytes:
        results = load_report(request, budget, filters)
        sheets = workbook_sheets(budget, results, filters)
        audit(
            request,
            signed_in,
            "exported insight tables",
            f"{budget.slug} xlsx tables={len(results.tables)} {describe(filters)}",
        )
        return exports.to_xlsx_book(sheets)

    body = await run_in_threadpool(build)
    return _attachment(body, "xlsx", _file_name(budget, "insights", filters, "xlsx"))


routes = [
    Route(
        "/staff/b/{slug}/insights.xlsx",
        export_insights_workbook,
        name="staff_insights_workbook",
        methods=["GET"],
    ),
    Route(
        "/staff/b/{slug}/insights/{table}.{fmt}",
        export_insight,
        name="staff_insight_export",
        methods=["GET"],
    ),
    Route(
        "/staff/b/{slug}/submissions.{fmt}",
        export_submissions,
        name="staff_export",
        methods=["GET"],
    ),
]
