"""The report for council (staff of the budget): a page designed for print, the same page as a
PDF (WeasyPrint), and each of its charts as an SVG file.

It shows the dashboard's figures: the same cached insight tables (InsightCache.report), the
budget's headline with the same intervals (computed now if the dashboard has not yet: the
report never goes without them) and its truthful neighbour. What the report derives from them
is kept with the cached tables, so the page, its PDF and its charts compute it once per state
of the submissions."""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from budget_sim import pdf, print_charts, resources
from budget_sim.charts import Chart
from budget_sim.insights import council, dashboard, report, weighting
from budget_sim.insights.headline import EXPLANATIONS, LABELS, HeadlineFigures, headline_figures
from budget_sim.model import Budget
from budget_sim.web import i18n
from budget_sim.web.headline_view import chosen_headline
from budget_sim.web.insight_tables import load_report
from budget_sim.web.sessions import SignedIn
from budget_sim.web.staff.auth import render, staff_view
from budget_sim.web.staff.budget_access import audit, read_filters, visible_budget

PAPERS = {"a4": "A4", "letter": "letter"}
PAIRS_SHOWN = 3  # trade-off pairs shown per direction
STYLESHEET = "council-report.css"


def headline_section(
    request: Request, budget: Budget, filters: report.Filters, results: report.Report
) -> tuple[HeadlineFigures | None, str]:
    """The dashboard's headline (the budget's chosen method) with the intervals of it and of
    its truthful neighbour, which the dashboard's cache holds or computes now; and how the
    intervals were made."""
    method = chosen_headline(request, budget)
    whole = results.tables.get("whole-budget")
    if whole is None or method not in whole.columns:
        return None, ""
    locked = set(budget.lines.filter(pl.col("locked"))["id"].to_list())
    figures = headline_figures(whole, locked, submissions=results.whole_counted, method=method)
    if results.whole_counted < 2:
        return figures, ""
    cache = request.state.insights
    interval = cache.intervals_now(budget, filters, method=method)
    truthful = cache.intervals_now(budget, filters, method=figures.truthful)
    figures = headline_figures(
        whole,
        locked,
        submissions=results.whole_counted,
        method=method,
        interval=interval.bounds,
        truthful_interval=truthful.bounds,
    )
    return figures, interval.note


def population_questions(budget: Budget) -> list:
    """The questions whose answers are charted against the population: district questions
    and every question with a population table (weighting.margins)."""
    with_population = {m.question for m in weighting.margins(budget.questions)}
    return [q for q in budget.questions if q.kind == "district" or q.id in with_population]


def charts(budget: Budget, context: dict) -> dict[str, Chart]:
    """The report's charts, keyed by the name of their SVG file."""
    symbol = i18n.Formatter("en", budget.country, budget.currency).symbol
    drawn: dict[str, Chart] = {}
    figures: HeadlineFigures | None = context["headline"]
    if figures is not None and context["moved"].height:
        rows = context["moved"].select(
            "name",
            "change",
            low=pl.col("low") - pl.col("city"),
            high=pl.col("high") - pl.col("city"),
        )
        drawn["headline"] = print_charts.change_bars(
            rows,
            "report-headline",
            f"{figures.label} minus the city's amount: the {rows.height} programs that move most",
            council.headline_sentence(figures),
            symbol,
            "Change from the city's amount (line: 95% interval)",
        )
    movable = context["departments"].filter(~pl.col("locked"))
    if movable.height:
        most = movable.sort(pl.col("change").abs(), descending=True).head(print_charts.MOST)
        drawn["departments"] = print_charts.change_bars(
            most.sort("change", descending=True).select("change", "low", "high", name="department"),
            "report-departments",
            "Residents' average change per department"
            + (f": the {most.height} that change most" if most.height < movable.height else ""),
            "Each department's total as residents would set it on average (their split of the "
            "spending they could move, scaled to the city's total), minus the city's, with its "
            "95% interval.",
            symbol,
            "Average change from the city's total (line: 95% interval)",
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


def derive(
    request: Request, budget: Budget, filters: report.Filters, results: report.Report
) -> dict:
    """What the report shows of `results` (blocking): everything but the moment it is made."""
    values = results.weights.values if results.weights else None
    figures, interval_note = headline_section(request, budget, filters, results)
    selected, how = council.comment_selection(results.table, budget.lines, seed=budget.slug)
    trade_offs = results.tables["trade-offs"]
    has_rows = results.table.height > 0
    questions = population_questions(budget)
    context = {
        "budget": budget,
        "filters": filters,
        "n": results.table.height,
        "whole_counted": results.whole_counted,
        "revisions": dashboard.per_revision(results.table, budget.version),
        "weights": results.weights,
        "participation": council.participation_sentence(budget, results.table.height),
        "districts": [(q, dashboard.by_district(results.table, q)) for q in questions],
        "other_questions": [
            (q, council.answer_shares(results.table, q))
            for q in budget.questions
            if q not in questions
        ],
        "per_day": results.tables.get("participation-per-day"),
        "headline": figures,
        "explanation": EXPLANATIONS.get(figures.method, "") if figures else "",
        "interval_note": interval_note,
        "symbol": i18n.Formatter("en", budget.country, budget.currency).symbol,
        "method_labels": LABELS,
        "headline_sentence": council.headline_sentence(figures) if figures else "",
        "neighbour_sentence": council.neighbour_sentence(figures) if figures else "",
        "moved": council.moved(figures) if figures else pl.DataFrame(),
        "departments": council.departments(results.table, budget.lines, values, results.shown),
        "agreements": council.agreements(
            results.tables["lines"],
            design_effect=results.weights.design_effect if results.weights else 1.0,
        ),
        "differences": council.group_differences(results.table, budget, values, results.shown)
        if has_rows
        else [],
        "pairs": pl.concat(
            [
                trade_offs.filter(pl.col("correlation") > 0).head(PAIRS_SHOWN),
                trade_offs.filter(pl.col("correlation") < 0).head(PAIRS_SHOWN),
            ]
        ),
        "pairs_family": results.families.get("trade-offs"),
        "comments": selected,
        "comments_how": how,
    }
    context["charts"] = charts(budget, context) if has_rows else {}
    return context


def build(request: Request, budget: Budget, filters: report.Filters) -> dict:
    """Everything the report shows (blocking: call from a worker thread), derived once per
    state of the submissions and headline method, kept with the dashboard's cached tables."""
    results = load_report(request, budget, filters)
    key = ("council-report", chosen_headline(request, budget))
    derived = results.derived.get(key)
    if derived is None:
        derived = derive(request, budget, filters, results)
        derived["made_at"] = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
        results.derived[key] = derived
    return derived


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
        made = context.setdefault("pdfs", {})
        if size not in made:  # the same figures give the same PDF
            html = request.state.templates.get_template("staff/council_report.html").render(
                {"request": request, "display": None, "query": "", "pdf": True, **context}
            )
            made[size] = pdf.to_pdf(html, resources.static() / STYLESHEET, page_size=size)
        audit(request, signed_in, "made the council report", f"{budget.slug} pdf n={context['n']}")
        return made[size]

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
