"""The insights dashboard of a budget and the exports of its submissions and insight tables
(staff only)."""

from __future__ import annotations

import re
import shutil
import tempfile
import threading
from collections.abc import Mapping
from dataclasses import asdict
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlencode

import polars as pl
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from budget_sim import exports
from budget_sim.insights import HEADLINE, dashboard, report, segments, tradeoffs, weighting
from budget_sim.model import Budget
from budget_sim.storage import staff as staff_db
from budget_sim.storage import submissions as submissions_db
from budget_sim.storage.exports import removed_lines
from budget_sim.web import i18n
from budget_sim.web.dashboard_charts import headline_chart_job
from budget_sim.web.headline_view import (
    METHOD_TEXTS,
    headline_context,
    headline_notice,
    start_intervals,
)
from budget_sim.web.staff.auth import SignedIn, client_address, now, render, staff_view
from budget_sim.web.staff.export_auth import Downloader, TokenHolder, export_view
from budget_sim.web.urls import link_for


def visible_budget(request: Request, signed_in: Downloader) -> Budget:
    """The budget named in the path, if this account may see it; 404 otherwise."""
    slug = request.path_params["slug"]
    budget = request.state.budgets.get(slug)
    if budget is None or not signed_in.user.may_see(slug):
        raise HTTPException(404, "There is no budget at this address that your account can see.")
    return budget


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


def audit(request: Request, signed_in: Downloader, action: str, detail: str) -> None:
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


Frame = TypeVar("Frame", pl.DataFrame, pl.LazyFrame)


def in_units(frame: Frame, columns: list[str]) -> Frame:
    """Cents to currency units with exactly two decimals (a Decimal, never a float)."""
    return frame.with_columns(
        (pl.col(c).cast(pl.Decimal(20, 2)) / 100).cast(pl.Decimal(20, 2)) for c in columns
    )


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


def submissions_export(table: pl.DataFrame, budget: Budget) -> pl.LazyFrame:
    """The columns staff download (the web and `budget-sim export` alike): the submissions
    table with amounts in currency units, lines a later revision removed included. Lazy, so a
    file writer can stream it."""
    return in_units(table.lazy(), [*budget.line_ids, *removed_lines(table, budget.line_ids)])


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


# How insight tables are exported (files and the JSON API): money in currency units as exact
# decimals (to the cent) named *_amount, shares as fractions in [0, 1] named share_*.
LINE_MONEY = {
    "city": "city_amount",
    "mean": "mean_amount",
    "mean_low": "mean_amount_low95",
    "mean_high": "mean_amount_high95",
    "median": "median_amount",
    "q1": "q1_amount",
    "q3": "q3_amount",
}
LINE_SHARES = {
    "raised": "share_raised",
    "raised_low": "share_raised_low95",
    "raised_high": "share_raised_high95",
    "cut": "share_cut",
    "cut_low": "share_cut_low95",
    "cut_high": "share_cut_high95",
    "kept": "share_kept",
    "net_support": "net_support",  # share raising minus share cutting, in [-1, 1]
}
WHOLE_MONEY = {
    "city": "city_amount",
    "independent_markets": "independent_markets_amount",
    "mean": "mean_amount",
    "median": "median_rescaled_amount",
    "utilitarian": "majority_view_amount",
    "piecewise_uniform": "piecewise_uniform_amount",
}
# table name (or prefix ending in "-") -> (money columns, other renamed columns)
EXPORT_COLUMNS: dict[str, tuple[dict[str, str], dict[str, str]]] = {
    "lines": (LINE_MONEY, LINE_SHARES),
    "segments-by-": (LINE_MONEY, LINE_SHARES),
    "whole-budget": (WHOLE_MONEY, {}),
    "participation-per-day": ({}, {"total": "running_total"}),
    "participation-by-": (
        {},
        {"share": "share_of_answering", "population_share": "share_of_population"},
    ),
}


def _column_names(name: str) -> tuple[dict[str, str], dict[str, str]]:
    for key, spec in EXPORT_COLUMNS.items():
        if name == key or (key.endswith("-") and name.startswith(key)):
            return spec
    return {}, {}


def export_frame(name: str, frame: pl.DataFrame) -> pl.DataFrame:
    """An insight table as exported: money (cents) in currency units as exact decimals rounded
    to the cent, named *_amount (any column of a table named *_cents too), shares as fractions
    named share_*, NaN as empty."""
    money, others = _column_names(name)
    money = {
        **{c: c.removesuffix("_cents") + "_amount" for c in frame.columns if c.endswith("_cents")},
        **{c: new for c, new in money.items() if c in frame.columns},
    }
    cents = [
        (
            pl.col(c).cast(pl.Float64).fill_nan(None).round(0)
            if frame.schema[c].is_float()
            else pl.col(c)
        )
        .cast(pl.Int64)
        .alias(c)
        for c in money
    ]
    frame = in_units(frame.with_columns(cents), list(money)).with_columns(
        pl.col(pl.Float32, pl.Float64).fill_nan(None)
    )
    renames = {**money, **{c: new for c, new in others.items() if c in frame.columns}}
    return frame.rename(renames)


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


def read_filters(request: Request, budget: Budget) -> report.Filters:
    """The dashboard's filters from the query; a clear 400 when they make no sense here."""
    problem = filter_problem(budget, request.query_params)
    if problem:
        raise HTTPException(400, f"Cannot apply these filters: {problem}")
    return report.Filters.from_query(request.query_params)


def describe(filters: report.Filters) -> str:
    """The filters in a line, for the audit log and the workbook's about sheet."""
    return " ".join(f"{key}={value}" for key, value in asdict(filters).items())


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
    Route("/staff/b/{slug}", insights_page, name="staff_insights", methods=["GET"]),
    Route("/staff/b/{slug}/set-aside", set_aside, name="staff_set_aside", methods=["POST"]),
    Route(
        "/staff/b/{slug}/headline-intervals",
        headline_intervals_fragment,
        name="staff_headline_intervals",
        methods=["GET"],
    ),
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
