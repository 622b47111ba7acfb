"""The headline follows residents and invents nothing (issue 10 point 1), and locked lines stay
locked (point 2): simulated residents on budgets of 50 to 300 very unequal lines, judged on the
headline's own bootstrap intervals (`dashboard.bootstrap_interval`)."""

from __future__ import annotations

import polars as pl
import pytest

from budget_sim.insights import HEADLINE, METHODS, dashboard
from budget_sim.insights.headline import TRUTHFUL, headline_figures
from tests.insights.simulated import city_amounts, lines_frame, residents

RESIDENTS = 400
RESAMPLES = 80
CASES = [("lognormal", 50), ("dominant", 120), ("power", 300), ("lognormal", 300)]


def _judged(table: pl.DataFrame, lines: pl.DataFrame, method: str = HEADLINE) -> pl.DataFrame:
    whole = dashboard.whole_budget(table, lines)
    interval = dashboard.bootstrap_interval(table, lines, method=method, resamples=RESAMPLES)
    return whole.join(interval.bounds, on="line_id", maintain_order="left")


def test_the_headline_is_one_of_the_methods():
    assert HEADLINE in METHODS and TRUTHFUL in METHODS and HEADLINE != TRUTHFUL


@pytest.mark.parametrize(("shape", "size"), CASES)
def test_symmetric_disagreement_moves_no_line_beyond_its_interval(shape, size):
    """(a) Residents spread +-10% around the city's plan, no net preference: the city's amount
    is inside the headline's 95% interval on all but a chance share of lines (about 1 in 20;
    a few more with 80 resamples), nothing lands far outside, and the largest line stays put.
    Independent Markets, on the same residents, cuts the largest line far beyond it."""
    city = city_amounts(shape, size, seed=3)
    lines = lines_frame(city)
    judged = _judged(residents(city, RESIDENTS, seed=4), lines)
    half = (pl.col("high") - pl.col("low")) / 2
    distance = ((pl.col(HEADLINE) - pl.col("city")).abs() / half).alias("distance")
    judged = judged.with_columns(distance)
    outside = judged.filter((pl.col("city") < pl.col("low")) | (pl.col("city") > pl.col("high")))
    assert outside.height <= 0.12 * size, outside
    assert judged["distance"].max() < 2.5  # nothing far beyond its interval
    largest = judged.row(0 if shape != "lognormal" else city.index(max(city)), named=True)
    assert largest["low"] <= largest["city"] <= largest["high"]
    assert largest["independent_markets"] < largest["low"]  # the review's finding, for contrast
    moved_up = judged.filter(pl.col("independent_markets") > pl.col("high")).height
    assert moved_up > size / 2  # IM raises most small lines: the test can tell the difference


@pytest.mark.parametrize(("shape", "size"), CASES)
def test_a_shift_most_residents_ask_for_shows_in_its_direction(shape, size):
    """(b) 60% of residents raise a mid-sized line by 10%: its whole interval lies above the
    city's amount. 60% cutting the largest line by 10%: its whole interval lies below."""
    city = city_amounts(shape, size, seed=5)
    lines = lines_frame(city)
    order = sorted(range(size), key=city.__getitem__)
    middle, largest = order[size // 2], order[-1]
    raised = _judged(residents(city, RESIDENTS, seed=6, target=middle), lines)
    row = raised.row(middle, named=True)
    assert row["low"] > row["city"] and row[HEADLINE] > row["city"] * 1.03
    cut = _judged(residents(city, RESIDENTS, seed=7, target=largest, change=-0.10), lines)
    row = cut.row(largest, named=True)
    assert row["high"] < row["city"] and row[HEADLINE] < row["city"] * 0.97


def test_the_truthful_neighbour_also_passes_on_the_largest_line():
    """The majority view beside the headline follows the same shift and invents none on the
    largest line (its own intervals)."""
    city = city_amounts("dominant", 80, seed=8)
    lines = lines_frame(city)
    quiet = _judged(residents(city, 300, seed=9), lines, TRUTHFUL).row(0, named=True)
    assert quiet["low"] <= quiet["city"] <= quiet["high"]
    shifted = _judged(residents(city, 300, seed=10, target=0, change=-0.05), lines, TRUTHFUL)
    assert shifted.row(0, named=True)["high"] < city[0]


def test_locked_lines_stay_at_the_citys_amount_under_every_method():
    """Point 2: whatever residents do, a locked line keeps the city's amount under every
    whole-budget method and its interval is that amount; the other lines share out exactly the
    city's spending on what residents could move."""
    city = city_amounts("lognormal", 60, seed=11)
    locked = frozenset({0, 7, 30})
    lines = lines_frame(city, locked)
    table = residents(city, 300, seed=12, locked=locked, target=5)
    # Residents' own totals differ from the city's (they raised or cut spending overall):
    table = table.with_columns(pl.col("l5") * 1.5)
    whole = dashboard.whole_budget(table, lines)
    for j in locked:
        row = whole.row(j, named=True)
        assert all(row[m] == city[j] for m in METHODS), row
    free = [j for j in range(60) if j not in locked]
    for method in METHODS:
        moved = sum(whole[method][j] for j in free)
        assert moved == pytest.approx(sum(city[j] for j in free), rel=1e-12)
    bounds = dashboard.bootstrap_interval(table, lines, method="mean", resamples=20).bounds
    for j in locked:
        row = bounds.filter(pl.col("line_id") == f"l{j}").row(0, named=True)
        assert row["low"] == row["high"] == city[j]


def test_disagreements_are_named_beyond_the_intervals_only():
    """The notes name a method on a line only when its figure lies outside the headline's
    interval (and, for the truthful neighbour, when the two intervals do not overlap)."""
    whole = pl.DataFrame(
        {
            "line_id": ["a", "b", "c"],
            "department": ["D"] * 3,
            "program": ["A", "B", "C"],
            "city": [100.0, 200.0, 300.0],
            "mean": [100.0, 200.0, 300.0],
            "median": [100.0, 260.0, 300.0],
            "independent_markets": [150.0, 200.0, 250.0],
            "utilitarian": [120.0, 200.0, 300.0],
            "piecewise_uniform": [100.0, 200.0, 300.0],
        }
    )
    interval = pl.DataFrame(
        {"line_id": ["a", "b", "c"], "low": [90.0, 190.0, 290.0], "high": [110.0, 210.0, 310.0]}
    )
    neighbour = pl.DataFrame(
        {"line_id": ["a", "b", "c"], "low": [105.0, 190.0, 290.0], "high": [130.0, 210.0, 310.0]}
    )
    figures = headline_figures(
        whole, {"c"}, submissions=10, interval=interval, truthful_interval=neighbour
    )
    notes = {k: [(d.method, d.above) for d in v] for k, v in figures.notes.items()}
    # a: IM above; the majority view is outside the interval but the intervals overlap.
    # b: the median above. c: locked, so nothing.
    assert notes == {"a": [("independent_markets", True)], "b": [("median", True)]}
    assert figures.counts == {
        "median": 1,
        "independent_markets": 1,
        "utilitarian": 0,
        "piecewise_uniform": 0,
    }
    assert figures.moved() == (0, 0, 2)
    sentence = figures.notes["a"][0].sentence(lambda cents: f"${cents / 100:.2f}")
    assert sentence == "Independent Markets gives $1.50, above this figure's 95% interval."


def test_compute_headline_gives_the_report_everything_it_shows():
    """One call for the council report: the method, its neighbour, figures with intervals and
    the disagreements (here Independent Markets, beyond the interval on most lines)."""
    from budget_sim.insights.headline import compute_headline

    city = city_amounts("power", 60, seed=13)
    lines = lines_frame(city, frozenset({1}))
    figures = compute_headline(residents(city, 200, seed=14), lines, resamples=30)
    assert (figures.method, figures.truthful, figures.submissions) == (HEADLINE, TRUTHFUL, 200)
    assert figures.has_intervals and figures.rows["low"].null_count() == 0
    assert figures.rows.row(1, named=True)["headline"] == city[1]  # locked
    assert figures.counts["independent_markets"] > 30
    assert figures.label == "Average of residents' plans"
