"""Raking (iterative proportional fitting) to several population margins, checked against
weights worked out by hand, with trimming, Kish n_eff and the design effect."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest

from budget_sim.data.package import load_package
from budget_sim.insights import dashboard, report, weighting
from budget_sim.model import Option, Question

PACKAGE = Path(__file__).resolve().parents[1] / "packages" / "margins-test"

DISTRICT = Question(
    "district",
    "District",
    kind="district",
    options=(Option("a", "A", 500.0), Option("b", "B", 500.0)),
    population_note="test figures",
)
AGE = Question(
    "age",
    "Age",
    options=(Option("young", "Young", 250.0), Option("old", "Old", 750.0)),
    population_note="test figures",
)


def answers(rows: list[tuple[str | None, str | None]]) -> pl.DataFrame:
    return pl.DataFrame(
        {"answer.district": [d for d, _ in rows], "answer.age": [a for _, a in rows]},
        schema={"answer.district": pl.String, "answer.age": pl.String},
    )


def test_raking_matches_the_weights_worked_out_by_hand():
    """Seven residents: (A, young) x2, (A, old) x2, (B, young), (B, old), (B, no age answer).
    Targets: district A 50%, B 50%; age young 25%, old 75%.

    District: A has weight 4 and B 3 of 7; each should have 3.5: A x 3.5/4 = 0.875, B x 7/6.
    Age, among the six who answered it (weight 0.875 * 4 + 7/6 * 2 = 35/6): young has
    0.875 * 2 + 7/6 = 35/12, old the same; targets 35/24 and 35/8: young x 0.5, old x 1.5.
    Weights: (A, young) 0.4375, (A, old) 1.3125, (B, young) 7/12, (B, old) 1.75, (B, -) 7/6.
    District again: A = 2 * 0.4375 + 2 * 1.3125 = 3.5, B = 7/12 + 1.75 + 7/6 = 3.5: met, so
    one sweep is enough. The mean weight is 1 (7 / 7), all within [0.2, 5]: nothing trimmed.
    Kish: sum w^2 = 49 (36/256 + 1/144 + 1/36) = 8.592014, n_eff = 49 / 8.592014 = 5.702970;
    design effect 7 / 5.702970 = 1.227431."""
    table = answers(
        [("a", "young"), ("a", "young"), ("a", "old"), ("a", "old"), ("b", "young"),
         ("b", "old"), ("b", None)]
    )  # fmt: skip
    raked = weighting.rake(table, weighting.margins([DISTRICT, AGE]))
    assert raked is not None and raked.converged and raked.sweeps == 1 and raked.trimmed == 0
    expected = [0.4375, 0.4375, 1.3125, 1.3125, 7 / 12, 1.75, 7 / 6]
    assert raked.values.to_list() == pytest.approx(expected, rel=1e-12)
    assert raked.answered == {"district": 7, "age": 6}
    weights = weighting.raked_weights(table, (DISTRICT, AGE))
    assert weights.n_eff == pytest.approx(5.702970, rel=1e-6)
    assert weights.design_effect == pytest.approx(1.227431, rel=1e-6)
    assert "raked to the population of 2 questions" in weights.note
    assert "7 answered “District” with a known population; 6 answered “Age”" in weights.note
    assert "between 0.2 and 5 times the average (0 at a bound)" in weights.note
    assert "every population share is met" in weights.note
    assert "Sources: District: test figures Age: test figures" in weights.note


def test_raking_sweeps_until_margins_that_pull_against_each_other_agree():
    """(A, young) x2, (A, old), (B, old); targets 50/50 on both questions.

    Sweep 1. District: A 3 -> 2 (x 2/3), B 1 -> 2 (x 2): (2/3, 2/3, 2/3, 2). Age: young 4/3,
    old 8/3, each should be 2: young x 1.5, old x 0.75: (1, 1, 0.5, 1.5). District is now
    A 2.5, B 1.5: 25% off.
    Sweep 2. District: A x 0.8, B x 4/3: (0.8, 0.8, 0.4, 2). Age: young 1.6 x 1.25, old 2.4
    x 5/6: (1, 1, 1/3, 5/3).
    The limit puts (A, old) at 0 (young needs all of A's weight); trimming holds it at 0.2 x
    the mean, where the margins cannot all be met: the note says how far off they stay."""
    table = answers([("a", "young"), ("a", "young"), ("a", "old"), ("b", "old")])
    found = weighting.margins([DISTRICT.__class__(
        "district", "District", kind="district", population_note="x",
        options=(Option("a", "A", 1.0), Option("b", "B", 1.0)),
    ), Question("age", "Age", population_note="x",
                options=(Option("young", "Young", 1.0), Option("old", "Old", 1.0)))])  # fmt: skip
    one = weighting.rake(table, found, max_sweeps=1)
    assert one.values.to_list() == pytest.approx([1, 1, 0.5, 1.5])
    assert not one.converged and one.largest_gap == pytest.approx(0.25)
    two = weighting.rake(table, found, max_sweeps=2)
    assert two.values.to_list() == pytest.approx([1, 1, 1 / 3, 5 / 3])
    trimmed = weighting.rake(table, found)
    assert not trimmed.converged and trimmed.trimmed >= 1
    mean = trimmed.values.mean()
    assert trimmed.values[2] == pytest.approx(0.2 * mean)
    assert trimmed.values.min() >= 0.2 * mean - 1e-9 and trimmed.values.max() <= 5 * mean + 1e-9
    untrimmed = weighting.rake(table, found, trim=(0.0, float("inf")), max_sweeps=2000)
    assert untrimmed.values[2] < 0.01  # without trimming it heads for 0


def test_one_margin_is_post_stratification():
    # Raking to the district alone gives the district weights of the dashboard (no trimming
    # needed): 3 from A weigh 2/3 each, 1 from B weighs 2; no answer keeps 1.
    table = answers([("a", None), ("a", None), ("a", None), ("b", None), (None, None)])
    raked = weighting.raked_weights(table, (DISTRICT,))
    post = dashboard.district_weights(table, DISTRICT)
    assert raked.values.to_list() == pytest.approx(post.values.to_list())
    assert raked.values.to_list() == pytest.approx([2 / 3] * 3 + [2.0, 1.0])


def test_questions_without_population_tables_give_no_margin():
    plain = Question("zip", "ZIP", options=(Option("1", "1"), Option("2", "2")))
    one_known = Question("x", "X", population_note="s", options=(Option("1", "1", 5.0),))
    assert weighting.margins([plain, one_known]) == []
    assert weighting.raked_weights(answers([("a", "old")]), (plain,)) is None
    # Nobody answered a question with a population: nothing to rake to.
    assert weighting.raked_weights(answers([(None, None)]), (DISTRICT, AGE)) is None


def test_a_test_package_with_district_and_age_margins_is_raked_on_both():
    budget = load_package(PACKAGE)
    found = weighting.margins(budget.questions)
    assert [(m.question, m.population) for m in found] == [
        ("district", {"north": 5000.0, "south": 5000.0}),
        ("age-band", {"under-40": 2500.0, "40-plus": 7500.0}),
    ]  # tenure has no population table
    # Young northerners answered most: 30 of 60, where the population has 12.5% (if age and
    # district are unrelated).
    rows = [("north", "under-40")] * 30 + [("south", "under-40")] * 10
    rows += [("north", "40-plus")] * 10 + [("south", "40-plus")] * 10
    amounts = dict(budget.lines.select("id", "amount").iter_rows())
    table = pl.DataFrame(
        {
            "receipt": [f"r{i}" for i in range(len(rows))],
            "submitted_at": [datetime(2026, 3, 1, tzinfo=UTC)] * len(rows),
            **{line: [amounts[line]] * len(rows) for line in budget.line_ids},
            "answer.district": [d for d, _ in rows],
            "answer.age-band": [a for _, a in rows],
        }
    )
    built = report.build(table, budget, report.Filters(weighting="raked"))
    weights = built.weights
    assert weights is not None and weights.question == "district,age-band"
    frame = table.with_columns(w=weights.values)
    by = {
        column: dict(frame.group_by(column).agg(pl.col("w").sum() / frame["w"].sum()).iter_rows())
        for column in ("answer.district", "answer.age-band")
    }
    assert by["answer.district"]["south"] == pytest.approx(0.5, abs=1e-6)
    assert by["answer.age-band"]["40-plus"] == pytest.approx(0.75, abs=1e-6)
    assert "every population share is met" in weights.note
    assert weights.values.max() <= 5 * weights.values.mean() + 1e-9
    assert 1 < weights.design_effect < 3
    assert report.Filters.from_query({"weights": "raked"}).weighting == "raked"
    assert report.Filters.from_query({"weights": "other"}).weighting == ""
