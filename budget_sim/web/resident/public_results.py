"""The public results of a budget, once staff publish them: a page with the headline aggregate
(budget_sim.insights.HEADLINE unless staff chose another, with its 95% interval and a truthful
rule beside it, next to the city's proposal) and participation, and an anonymised
open-data file. Demo submissions and flagged ones are never counted."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date, datetime

import polars as pl
from babel.dates import format_date
from babel.numbers import format_percent
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from budget_sim import exports
from budget_sim.insights import report
from budget_sim.insights.headline import HeadlineFigures
from budget_sim.model import Budget, Question
from budget_sim.money import CENTS_PER_UNIT, largest_remainder
from budget_sim.storage import results as results_db
from budget_sim.web import i18n
from budget_sim.web.display import Display, read_display
from budget_sim.web.export_columns import in_units
from budget_sim.web.headline_view import headline_context
from budget_sim.web.insight_tables import load_report, load_table
from budget_sim.web.security import content_security_policy
from budget_sim.web.windows import now

SMALL_CELL = 10  # an answer (or combination of answers) given by fewer residents is blanked
OPEN_DATA_FORMATS = ("csv", "parquet")
PUBLIC_FILTERS = report.Filters()  # residents' submissions only, unweighted, everyone


def _published(request: Request) -> Budget:
    """The budget in the path if its results are published; a clear 404 otherwise."""
    budget = request.state.budgets.get(request.path_params["slug"])
    if budget is None:
        raise HTTPException(404, i18n.gettext("There is no budget at this address."))
    with request.state.database.reading() as session:
        public = results_db.is_public(session, budget.slug)
    if not public:
        raise HTTPException(
            404, i18n.gettext("The city has not published the results of this budget.")
        )
    return budget


def _display(request: Request, budget: Budget | None) -> Display:
    display = read_display(request.query_params, budget, i18n.interface_locales())
    if budget is None:
        i18n.activate(display.locale)
    else:
        i18n.activate(display.locale, budget.country, budget.currency)
    return display


@dataclass(frozen=True)
class ProgramRow:
    program: str
    city: int  # cents
    residents: int  # cents: the headline, over the spending residents could move
    low: int | None = None  # the headline's 95% interval (None: not computed yet, or locked)
    high: int | None = None
    neighbour: int | None = None  # the truthful rule beside the headline
    locked: bool = False
    differs: tuple[str, ...] = ()  # methods whose figure lies beyond the headline's interval

    @property
    def change(self) -> int:
        return self.residents - self.city

    @property
    def moved(self) -> int:
        """+1 (-1) when the whole 95% interval lies above (below) the city's amount, else 0."""
        if self.low is None or self.high is None or self.locked:
            return 0
        return 1 if self.low > self.city else -1 if self.high < self.city else 0


@dataclass(frozen=True)
class DepartmentRows:
    name: str
    programs: tuple[ProgramRow, ...]

    @property
    def city(self) -> int:
        return sum(p.city for p in self.programs)

    @property
    def residents(self) -> int:
        return sum(p.residents for p in self.programs)

    @property
    def change(self) -> int:
        return self.residents - self.city


@dataclass(frozen=True)
class DistrictRow:
    label: str
    submissions: int
    share: str  # of those who answered, in words ("12.5%"), "" when nobody answered
    population_share: str | None  # None when the population is unknown


@dataclass(frozen=True)
class ResultsPage:
    budget: Budget  # in the page's language
    display: Display
    computed_at: datetime
    submissions: int
    departments: tuple[DepartmentRows, ...]
    headline: HeadlineFigures | None  # the method, its neighbour, whether intervals are ready
    headline_pending: bool  # the intervals are still being computed
    per_day: tuple[tuple[str, int, int], ...]  # (day in words, submissions, running total)
    districts: tuple[tuple[Question, tuple[DistrictRow, ...]], ...]
    lines: tuple[tuple[str, str], ...]  # (open-data column, "Department: program")

    def moved(self, direction: int) -> int:
        """How many programs' 95% intervals lie wholly above (1) or below (-1) the city's."""
        return sum(p.moved == direction for d in self.departments for p in d.programs)


def _cents(value: float | None) -> int | None:
    return None if value is None else round(value)


def _headline(budget: Budget, figures: HeadlineFigures | None) -> tuple[DepartmentRows, ...]:
    if figures is None:
        return ()
    names = {row["id"]: row for row in budget.lines.iter_rows(named=True)}
    grouped: dict[str, list[ProgramRow]] = {}
    # The page shows whole currency units: rounded by largest remainder, so that the programs
    # shown add up to their department's figure and the departments to the total.
    rows = list(figures.rows.iter_rows(named=True))
    units = largest_remainder([row["headline"] / CENTS_PER_UNIT for row in rows])
    for row, whole_units in zip(rows, units, strict=True):
        line = names.get(row["line_id"], row)
        grouped.setdefault(line["department"], []).append(
            ProgramRow(
                line["program"],
                int(row["city"]),
                whole_units * CENTS_PER_UNIT,
                _cents(row["low"]),
                _cents(row["high"]),
                _cents(row["truthful"]),
                bool(row["locked"]),
                tuple(d.method for d in figures.notes.get(row["line_id"], [])),
            )
        )
    return tuple(DepartmentRows(name, tuple(rows)) for name, rows in grouped.items())


def _day(day: date) -> str:
    return format_date(day, format="medium", locale=i18n.formatter().locale)


def _percent(share: float | None) -> str | None:
    if share is None or share != share:  # None or NaN
        return None
    return format_percent(share, format="#,##0.0%", locale=i18n.formatter().locale)


def _districts(
    budget: Budget, results: report.Report
) -> tuple[tuple[Question, tuple[DistrictRow, ...]], ...]:
    localized = {q.id: q for q in budget.questions}
    found = []
    for question, frame in results.districts:
        shown = localized.get(question.id, question)
        labels = {o.id: o.label for o in shown.options}
        rows = tuple(
            DistrictRow(
                labels.get(row["option"], row["label"]),
                row["submissions"],
                _percent(row["share"]) or "",
                _percent(row["population_share"]),
            )
            for row in frame.iter_rows(named=True)
        )
        found.append((shown, rows))
    return tuple(found)


def _page(request: Request, budget: Budget, display: Display) -> ResultsPage:
    """Everything the page shows (blocking: reads the submissions)."""
    results = load_report(request, budget, PUBLIC_FILTERS)
    shown = budget.localized(display.locale)
    per_day = results.tables.get("participation-per-day")
    days = (
        tuple((_day(r["day"]), r["submissions"], r["total"]) for r in per_day.iter_rows(named=True))
        if per_day is not None
        else ()
    )
    context = headline_context(request, budget, PUBLIC_FILTERS)
    return ResultsPage(
        budget=shown,
        display=display,
        computed_at=now(),
        submissions=results.table.height,
        departments=_headline(shown, context["headline"]),
        headline=context["headline"],
        headline_pending=context["headline_pending"],
        per_day=days,
        districts=_districts(shown, results),
        lines=tuple(
            (row["id"], f"{row['department']}: {row['program']}")
            for row in shown.lines.iter_rows(named=True)
        ),
    )


def _public_headers(budget: Budget) -> dict[str, str]:
    """Framed only by the budget's allow-listed origins; withdrawn results vanish at once."""
    return {
        "Content-Security-Policy": content_security_policy(budget.embed_origins),
        "Cache-Control": "no-cache",
    }


async def results_page(request: Request) -> Response:
    """The published results of a budget, in the language asked for (?lang=)."""
    slug_budget = request.state.budgets.get(request.path_params["slug"])
    display = _display(request, slug_budget)
    budget = await run_in_threadpool(_published, request)
    page = await run_in_threadpool(_page, request, budget, display)
    return request.state.templates.TemplateResponse(
        request,
        "resident/results.html",
        {"page": page, "display": display, "small_cell": SMALL_CELL},
        headers=_public_headers(budget),
    )


def _suppress_small_cells(frame: pl.DataFrame, columns: list[str]) -> pl.DataFrame:
    """Blank answers given by fewer than SMALL_CELL rows, then, in rows whose combination of
    answers is shared by fewer than SMALL_CELL rows, blank one answer column at a time (the
    most varied first) until every combination left is shared by at least SMALL_CELL rows."""
    if not columns or frame.is_empty():
        return frame
    for column in columns:
        counts = pl.col(column).count().over(column)
        frame = frame.with_columns(pl.when(counts >= SMALL_CELL).then(pl.col(column)).alias(column))
    order = sorted(columns, key=lambda c: -frame[c].n_unique())
    for column in order:
        size = pl.len().over(columns)
        answered = pl.any_horizontal(pl.col(c).is_not_null() for c in columns)
        small = (size < SMALL_CELL) & answered
        if not frame.select(small.any()).item():
            break
        frame = frame.with_columns(
            pl.when(small).then(None).otherwise(pl.col(column)).alias(column)
        )
    return frame


def open_data(budget: Budget, table: pl.DataFrame) -> pl.DataFrame:
    """One row per resident's submission in random order: the amount of each line (currency
    units) and the answers to the budget's questions (option codes; only known options), small
    cells blanked. No receipt, comment, time, language or demo submission."""
    real = table.filter(~pl.col("synthetic")) if "synthetic" in table.columns else table
    answers = []
    for question in budget.questions:
        column = f"answer.{question.id}"
        options = [o.id for o in question.options]
        value = pl.col(column) if column in real.columns else pl.lit(None, pl.String)
        answers.append(
            pl.when(value.is_in(options)).then(value).otherwise(None).cast(pl.String).alias(column)
        )
    frame = real.select(*budget.line_ids, *answers)
    frame = _suppress_small_cells(frame, [f"answer.{q.id}" for q in budget.questions])
    frame = in_units(frame, budget.line_ids)
    if frame.height > 1:
        frame = frame.sample(fraction=1.0, shuffle=True, seed=secrets.randbits(63))
    return frame


async def open_data_file(request: Request) -> Response:
    """The anonymised submissions of a published budget as CSV or Parquet."""
    fmt = request.path_params["fmt"]
    slug_budget = request.state.budgets.get(request.path_params["slug"])
    _display(request, slug_budget)
    if fmt not in OPEN_DATA_FORMATS:
        raise HTTPException(404, i18n.gettext("Open data comes as .csv or .parquet."))
    budget = await run_in_threadpool(_published, request)

    def build() -> bytes:
        table = load_table(request, budget, include_synthetic=False)
        return exports.encode(open_data(budget, table), fmt)

    body = await run_in_threadpool(build)
    name = f"{budget.slug}-open-data.{fmt}"
    return Response(
        body,
        media_type=exports.FORMATS[fmt],
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "no-cache",
        },
    )


routes = [
    Route("/b/{slug}/results", results_page, name="public_results", methods=["GET"]),
    Route(
        "/b/{slug}/results/open-data.{fmt}",
        open_data_file,
        name="public_open_data",
        methods=["GET"],
    ),
]
