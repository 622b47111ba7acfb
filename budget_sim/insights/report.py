"""Every insight table of one budget, computed once from the submissions table: what the
dashboard shows, what the exports and the JSON API hand out, under the same filters."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from budget_sim.insights import dashboard, segments, tradeoffs, weighting
from budget_sim.insights.discoveries import Family
from budget_sim.model import Budget, Question


@dataclass(frozen=True)
class Filters:
    """What an analyst chose to look at. `segment` is (question id, option id) or None;
    `compare` is the id of a question whose answers are compared side by side ("" none);
    `include_set_aside` counts the submissions staff set aside too."""

    include_synthetic: bool = False
    segment: tuple[str, str] | None = None
    weighting: str = ""  # "" (each counts once), "district" or "raked" (every population table)
    compare: str = ""
    include_set_aside: bool = False

    @classmethod
    def from_query(cls, params: dict[str, str] | object) -> Filters:
        """From query parameters: synthetic=1, segment=question:option, weights=district or
        weights=raked, compare=question, set_aside=1."""
        get = params.get  # type: ignore[attr-defined]
        question, _, option = (get("segment", "") or "").partition(":")
        return cls(
            include_synthetic=get("synthetic") == "1",
            segment=(question, option) if question and option else None,
            weighting=get("weights") if get("weights") in WEIGHTINGS else "",
            compare=(get("compare", "") or "").strip(),
            include_set_aside=get("set_aside") == "1",
        )


WEIGHTINGS = ("district", "raked")


@dataclass
class Report:
    """The insight tables of a budget under some filters."""

    everyone: int  # submissions before the segment filter
    table: pl.DataFrame  # the submissions counted (after the segment filter)
    weights: dashboard.Weights | None
    districts: list[tuple[Question, pl.DataFrame]]
    tables: dict[str, pl.DataFrame] = field(default_factory=dict)  # export name -> table
    # The tests behind a table (trade-offs, segments-by-...): m tested, k clear after the
    # false discovery rate control.
    families: dict[str, Family] = field(default_factory=dict)
    # What layers above make of the tables (the dashboard's charts), cached with them.
    derived: dict[str, Any] = field(default_factory=dict)
    # The city's amounts of the earlier versions residents were shown (dashboard.Shown).
    shown: dashboard.Shown = field(default_factory=dict)
    # How many submissions the whole-budget figures count (dashboard.whole_budget_rows).
    whole_counted: int = 0


def district_questions(budget: Budget) -> list[Question]:
    return [q for q in budget.questions if q.kind == "district"]


def default_views(budget: Budget) -> list[Filters]:
    """The views worth computing before anyone asks: the dashboard as it opens (with and
    without demo submissions) and, when district populations are known, the same weighted."""
    views = [Filters(), Filters(include_synthetic=True)]
    if any(o.population for q in district_questions(budget) for o in q.options):
        views += [dataclasses.replace(view, weighting="district") for view in views]
    return views


def compared_question(budget: Budget, filters: Filters) -> Question | None:
    """The question whose answers `filters` asks to compare, if this budget has it."""
    return next((q for q in budget.questions if q.id == filters.compare), None)


def build(
    table: pl.DataFrame, budget: Budget, filters: Filters, shown: dashboard.Shown | None = None
) -> Report:
    """All insight tables of `table` (a submissions table already read with or without demo
    submissions, as `filters` says) for `budget`. `shown`: the city's amounts of the earlier
    versions some submissions were made against (a resident who saw another amount is
    compared with it; without it, every resident is compared with the current amounts)."""
    shown = dict(shown or {})
    everyone = table.height
    if filters.segment is not None:
        table = dashboard.segment(table, *filters.segment)
    districts = district_questions(budget)
    weights = None
    if filters.weighting == "district" and districts:
        weights = dashboard.district_weights(table, districts[0])
    elif filters.weighting == "raked":
        weights = weighting.raked_weights(table, budget.questions)
    values = weights.values if weights else None
    by_district = [(q, dashboard.by_district(table, q)) for q in districts]
    tables: dict[str, pl.DataFrame] = {
        "lines": dashboard.line_table(table, budget.lines, values, shown),
    }
    if table.height:
        tables["whole-budget"] = dashboard.whole_budget(table, budget.lines, values)
        tables["participation-per-day"] = dashboard.per_day(table)
    for question, frame in by_district:
        tables[f"participation-by-{question.id}"] = frame
    pairs = tradeoffs.tested(table, budget.lines, values)
    tables["trade-offs"] = tradeoffs.strongest(table, budget.lines, values, pairs=pairs)
    tables["comments"] = dashboard.comments(table, budget.lines)
    families = {"trade-offs": tradeoffs.family(pairs)}
    counted = int(dashboard.whole_budget_rows(table, budget.lines).sum()) if table.height else 0
    built = Report(
        everyone,
        table,
        weights,
        by_district,
        tables,
        families=families,
        shown=shown,
        whole_counted=counted,
    )
    return with_comparison(built, budget, filters)


def with_comparison(plain: Report, budget: Budget, filters: Filters) -> Report:
    """`plain`, a report under `filters` but for the comparison, with the comparison `filters`
    asks for (if any) added before the comments. Nothing else depends on the comparison, so
    nothing else is computed again (what was derived from the tables is kept too)."""
    compared = compared_question(budget, filters)
    if compared is None:
        return plain
    values = plain.weights.values if plain.weights else None
    tables = {name: frame for name, frame in plain.tables.items() if name != "comments"}
    name = f"segments-by-{compared.id}"
    tables[name] = segments.compare(plain.table, budget.lines, compared, values, plain.shown)
    tables["comments"] = plain.tables["comments"]
    families = {**plain.families, name: segments.family(segments.splits(tables[name]))}
    return dataclasses.replace(plain, tables=tables, derived=dict(plain.derived), families=families)
