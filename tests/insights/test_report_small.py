"""Every insight table of `report.build` on the small and odd tables a few real and demo
submissions, a narrow segment or a revised budget leave, for the bundled Cambridge and Chicago
budgets: none may raise."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from budget_sim.data.package import load_package
from budget_sim.demo import PlanMaker, district_answers
from budget_sim.insights import dashboard, report, segments, tradeoffs
from budget_sim.model import Budget

DATA = Path(__file__).resolve().parents[2] / "budget_data"


@pytest.fixture(scope="module", params=["cambridge-fy2026", "chicago-fy2026"])
def budget(request: pytest.FixtureRequest) -> Budget:
    return load_package(DATA / request.param)


def submissions(budget: Budget, n: int, *, seed: int = 0, identical: bool = False) -> pl.DataFrame:
    """n demo plans as the submissions table has them (answers to every question but the
    first answered by all in its first option, so segments and weights have something to do)."""
    maker, rng = PlanMaker(budget, seed=seed), random.Random(seed)
    plans = list(maker.plans(1 if identical else n)) * (n if identical else 1)
    answers = [district_answers(budget, rng) for _ in range(n)]
    start = datetime(2026, 3, 1, tzinfo=UTC)
    frame = pl.DataFrame(
        {
            "receipt": [f"r{i}" for i in range(n)],
            "submitted_at": [start + timedelta(hours=7 * i) for i in range(n)],
            "locale": ["en"] * n,
            "synthetic": [i % 2 == 0 for i in range(n)],
            **{line: [plan[line] for plan in plans] for line in budget.line_ids},
        },
        schema_overrides={"submitted_at": pl.Datetime("us", "UTC"), "synthetic": pl.Boolean},
    )
    return frame.with_columns(
        pl.Series(f"answer.{q.id}", [a.get(q.id) for a in answers], dtype=pl.String)
        for q in budget.questions
    )


def added_by_revision(frame: pl.DataFrame, lines: list[str], before: int) -> pl.DataFrame:
    """As if a revision added `lines`: the first `before` submissions have no amount for them."""
    older = pl.int_range(pl.len()) < before
    return frame.with_columns(pl.when(~older).then(pl.col(c)).alias(c) for c in lines)


def some_filters(budget: Budget, frame: pl.DataFrame) -> list[report.Filters]:
    """Everyone compared by district; weighted by district; a district segment (weighted,
    compared); an answer nobody gave (an empty table)."""
    district = budget.questions[0]
    answered = frame.get_column(f"answer.{district.id}").drop_nulls().to_list()
    someone = answered[0] if answered else district.options[0].id
    return [
        report.Filters(include_synthetic=True, compare=district.id),
        report.Filters(include_synthetic=True, weighting="district"),
        report.Filters(segment=(district.id, someone), weighting="district", compare=district.id),
        report.Filters(
            segment=(district.id, "nobody-answered-this"), compare=budget.questions[-1].id
        ),
    ]


def build_everything(budget: Budget, frame: pl.DataFrame) -> None:
    for filters in some_filters(budget, frame):
        built = report.build(frame, budget, filters)
        assert set(built.tables) >= {"lines", "trade-offs", "comments"}
        assert built.tables["trade-offs"].schema == pl.Schema(tradeoffs.SCHEMA)
        for name, table in built.tables.items():
            if name.startswith("segments-by-"):
                segments.splits(table)
    weights = built.weights.values if built.weights else None
    dashboard.bootstrap_interval(frame, budget.lines, weights=weights, resamples=2)


@pytest.mark.parametrize("n", [0, 1, tradeoffs.MIN_SUBMISSIONS])
def test_a_few_demo_submissions(budget, n):
    # 30 demo plans of Cambridge's 109 lines: no line is moved by MIN_MOVERS residents, which
    # raised OutOfBoundsError (ShapeError when weighted) in the trade-offs.
    build_everything(budget, submissions(budget, n, seed=n))


def test_identical_submissions(budget):
    frame = submissions(budget, 40, identical=True)
    build_everything(budget, frame)
    assert (
        report.build(frame, budget, report.Filters(include_synthetic=True))
        .tables["trade-offs"]
        .is_empty()
    )


def test_lines_added_by_a_revision(budget):
    # The first 10 submissions have null for lines a revision added (most moved ones among
    # them): this raised ValueError in the whole-budget table.
    frame = submissions(budget, 40, seed=7)
    moved = [c for c in budget.line_ids if frame[c].n_unique() > 1][:3]
    build_everything(budget, added_by_revision(frame, [*moved, budget.line_ids[-1]], 10))


def test_default_views_are_weighted_too_where_populations_are_known():
    cambridge = load_package(DATA / "cambridge-fy2026")  # neighbourhood populations unknown
    chicago = load_package(DATA / "chicago-fy2026")  # ward populations given
    plain = [report.Filters(), report.Filters(include_synthetic=True)]
    assert report.default_views(cambridge) == plain
    assert report.default_views(chicago) == [
        *plain,
        report.Filters(weighting="district"),
        report.Filters(include_synthetic=True, weighting="district"),
    ]
