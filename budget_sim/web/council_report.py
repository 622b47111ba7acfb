"""The report for council (staff of the budget): a page designed for print, the same page as a
PDF (WeasyPrint), and each of its charts as an SVG file."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import polars as pl
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from budget_sim import pdf, print_charts, resources
from budget_sim.charts import Chart
from budget_sim.insights import council, report, segments
from budget_sim.model import Budget
from budget_sim.web import i18n
from budget_sim.web.staff_auth import SignedIn, render, staff_view
from budget_sim.web.staff_insights import audit, load_report, read_filters, visible_budget

INTERVAL_WAIT = (
    20.0  # seconds the report waits for the headline intervals (the dashboard starts them)
)
PAPERS = {"a4": "A4", "letter": "letter"}
SPLITS_SHOWN = 3  # clearest differences shown per question
PAIRS_SHOWN = 3  # trade-off pairs shown per direction
STYLESHEET = "council-report.css"


def line_name(department: str, program: str) -> str:
    return program if program == department else f"{department}: {program}"


def wait_for_intervals(request: Request, budget: Budget, filters: report.Filters):
    """The headline's intervals, computed now if need be (waits up to INTERVAL_WAIT s)."""
    deadline = time.monotonic() + INTERVAL_WAIT
    while True:
        interval = request.state.insights.intervals(budget, filters, start=True)
        if interval is not None or time.monotonic() > deadline:
            return interval
        time.sleep(0.25)


def headline_section(
    request: Request, budget: Budget, filters: report.Filters, results: report.Report
) -> council.Headline | None:
    """The report's headline: the one place that decides what it shows (method, intervals)."""
    interval = wait_for_intervals(request, budget, filters) if results.table.height >= 2 else None
    return council.headline(
        results.tables.get("whole-budget"),
        interval.bounds if interval else None,
        results.table.height,
        note=interval.note if interval else "",
    )


def group_differences(budget: Budget, results: report.Report) -> list[dict]:
    """Per question, the lines where answers differ most and clearly (segments.splits)."""
    values = results.weights.values if results.weights else None
    found = []
    for question in budget.questions:
        compared = segments.compare(results.table, budget.lines, question, values)
        clear = segments.splits(compared).filter(pl.col("clear")).head(SPLITS_SHOWN)
        names = {
            row["line_id"]: line_name(row["department"], row["program"])
            for row in compared.unique("line_id").iter_rows(named=True)
        }
        found.append(
            {
                "question": question,
                "rows": [{**row, "name": names[row["line_id"]]} for row in clear.to_dicts()],
            }
        )
    return found


def charts(budget: Budget, context: dict) -> dict[str, Chart]:
    """The report's charts, keyed by the name of their SVG file."""
    symbol = i18n.Formatter("en", budget.country, budget.currency).symbol
    drawn: dict[str, Chart] = {}
    headline: council.Headline | None = context["headline"]
    if headline is not None and headline.rows.height:
        moved = (
            headline.rows.with_columns(
                name=pl.when(pl.col("program") == pl.col("department"))
                .then(pl.col("program"))
                .otherwise(pl.format("{}: {}", "department", "program")),
                low=pl.col("low") - pl.col("city"),
                high=pl.col("high") - pl.col("city"),
            )
            .drop_nulls("change")
            .sort(pl.col("change").abs(), descending=True)
            .head(print_charts.MOST)
            .sort("change", descending=True)
        )
        drawn["headline"] = print_charts.change_bars(
            moved,
            "report-headline",
            f"Residents' budget minus the city's: the {moved.height} programs that move most",
            headline.sentence,
            symbol,
            "Residents' budget minus the city's (95% interval as a line)",
        )
    departments: pl.DataFrame = context["departments"]
    if departments.height:
        drawn["departments"] = print_charts.change_bars(
            departments.select(
                name="department",
                change="change",
                low=pl.col("low") - pl.col("city"),
                high=pl.col("high") - pl.col("city"),
            ),
            "report-departments",
            "Residents' average change per department",
            "Each department's total as residents set it on average, minus the city's, with "
            "its 95% interval.",
            symbol,
            "Average change against the city's (95% interval as a line)",
        )
    for question, frame in context["districts"]:
        if frame["submissions"].sum() == 0:
            continue
        known = frame["population_share"].drop_nulls().len() > 0
        shares = frame.select(
            name="label", measure=pl.lit("Submissions"), share=pl.col("share").fill_null(0.0)
        )
        if known:
            population = frame.select(
                name="label", measure=pl.lit("Population"), share="population_share"
            ).drop_nulls()
            shares = pl.concat([shares, population]).sort("name", maintain_order=True)
        drawn[f"participation-{question.id}"] = print_charts.share_bars(
            shares,
            f"report-participation-{question.id}",
            f"Submissions{' against population' if known else ''} by “{question.label}”",
            "Share of the submissions that answered, per answer"
            + ("; next to each, its share of the population." if known else "."),
        )
    return drawn


def build(request: Request, budget: Budget, filters: report.Filters) -> dict:
    """Everything the report shows (blocking: call from a worker thread)."""
    results = load_report(request, budget, filters)
    values = results.weights.values if results.weights else None
    selected, how = council.comment_selection(results.table, budget.lines, seed=budget.slug)
    trade_offs = results.tables["trade-offs"]
    context = {
        "budget": budget,
        "filters": filters,
        "made_at": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "n": results.table.height,
        "weights": results.weights,
        "participation": council.participation_sentence(budget, results.table.height),
        "districts": results.districts,
        "per_day": results.tables.get("participation-per-day"),
        "headline": headline_section(request, budget, filters, results),
        "departments": council.departments(results.table, budget.lines, values),
        "agreements": council.agreements(results.tables["lines"]),
        "differences": group_differences(budget, results) if results.table.height else [],
        "pairs": pl.concat(
            [
                trade_offs.filter(pl.col("correlation") > 0).head(PAIRS_SHOWN),
                trade_offs.filter(pl.col("correlation") < 0).head(PAIRS_SHOWN),
            ]
        ),
        "comments": selected,
        "comments_how": how,
    }
    context["charts"] = charts(budget, context) if results.table.height else {}
    return context


def _query(request: Request) -> str:
    query = request.url.query
    return f"?{query}" if query else ""


@staff_view()
async def report_page(request: Request, signed_in: SignedIn) -> Response:
    """The report as a page (print it, or download its PDF)."""
    budget = visible_budget(request, signed_in)
    i18n.activate("en", budget.country, budget.currency)
    filters = read_filters(request, budget)
    context = await run_in_threadpool(build, request, budget, filters)
    return render(
        request, "council_report.html", {"me": signed_in, "query": _query(request), **context}
    )


def paper(request: Request, budget: Budget) -> str:
    chosen = request.query_params.get("paper", "")
    if chosen and chosen not in PAPERS:
        raise HTTPException(400, "paper must be a4 or letter.")
    return PAPERS[chosen or ("letter" if budget.country in ("US", "CA") else "a4")]


@staff_view()
async def report_pdf(request: Request, signed_in: SignedIn) -> Response:
    """The report as a PDF (A4, or Letter for US and Canadian budgets; ?paper= to choose)."""
    budget = visible_budget(request, signed_in)
    i18n.activate("en", budget.country, budget.currency)
    filters = read_filters(request, budget)
    size = paper(request, budget)

    def make() -> bytes:
        context = build(request, budget, filters)
        html = request.state.templates.get_template("staff/council_report.html").render(
            {"request": request, "display": None, "query": "", "pdf": True, **context}
        )
        body = pdf.to_pdf(html, resources.static() / STYLESHEET, page_size=size)
        audit(request, signed_in, "made the council report", f"{budget.slug} pdf n={context['n']}")
        return body

    try:
        body = await run_in_threadpool(make)
    except pdf.Unavailable as error:
        raise HTTPException(503, str(error)) from error
    name = f"{budget.slug}-council-report.pdf"
    return Response(
        body,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "no-store",
        },
    )


@staff_view()
async def report_chart(request: Request, signed_in: SignedIn) -> Response:
    """One of the report's charts as an SVG file."""
    budget = visible_budget(request, signed_in)
    i18n.activate("en", budget.country, budget.currency)
    filters = read_filters(request, budget)
    context = await run_in_threadpool(build, request, budget, filters)
    chart = context["charts"].get(request.path_params["chart"])
    if chart is None:
        known = ", ".join(context["charts"]) or "none yet"
        raise HTTPException(404, f"The report has no such chart; its charts: {known}.")
    name = f"{budget.slug}-{request.path_params['chart']}.svg"
    return Response(
        '<?xml version="1.0" encoding="UTF-8"?>\n' + chart.svg,
        media_type="image/svg+xml",
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "no-store",
        },
    )


routes = [
    Route("/staff/b/{slug}/report", report_page, name="staff_report", methods=["GET"]),
    Route("/staff/b/{slug}/report.pdf", report_pdf, name="staff_report_pdf", methods=["GET"]),
    Route(
        "/staff/b/{slug}/report/{chart}.svg",
        report_chart,
        name="staff_report_chart",
        methods=["GET"],
    ),
]
