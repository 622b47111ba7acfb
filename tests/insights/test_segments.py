"""Segments side by side, on tables small enough to check by hand."""

from __future__ import annotations

import math

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from budget_sim.insights import dashboard, segments
from budget_sim.model import Option, Question

LINES = pl.DataFrame(
    {
        "id": ["parks", "debt"],
        "department": ["Parks", "Debt"],
        "program": ["Parks", "Debt"],
        "kind": ["expense", "expense"],
        "amount": [100, 50],
        "locked": [False, True],
    }
)
AGE = Question("age", "How old are you?", options=(Option("young", "Young"), Option("old", "Old")))


def table(groups: list[tuple[str | None, list[int]]]) -> pl.DataFrame:
    """Submissions: for each (answer, parks amounts), one row per amount."""
    rows = [(answer, parks) for answer, amounts in groups for parks in amounts]
    return pl.DataFrame(
        {
            "parks": [parks for _, parks in rows],
            "debt": [50] * len(rows),
            "answer.age": [answer for answer, _ in rows],
        },
        schema={"parks": pl.Int64, "debt": pl.Int64, "answer.age": pl.String},
    )


def by_answer(frame: pl.DataFrame, line: str = "parks") -> dict:
    return {r["label"]: r for r in frame.filter(pl.col("line_id") == line).iter_rows(named=True)}


def test_each_answer_gets_its_own_line_table_with_n_and_a_small_flag():
    # Young: 30 residents, half raise parks to 110. Old: 2 residents, both cut to 80.
    # Three said nothing and kept it.
    frame = table([("young", [110] * 15 + [100] * 15), ("old", [80, 80]), (None, [100] * 3)])
    compared = segments.compare(frame, LINES, AGE)
    assert compared.height == 3 * 2  # three answers (with "No answer") by two lines
    rows = by_answer(compared)
    assert list(rows) == ["Young", "Old", "No answer"]
    young, old, none = rows["Young"], rows["Old"], rows["No answer"]
    assert (young["option"], young["submissions"], young["small"]) == ("young", 30, False)
    assert (old["submissions"], old["small"]) == (2, True)
    assert (none["option"], none["submissions"]) == (None, 3)
    assert young["mean"] == 105 and young["net_support"] == 0.5
    assert old["mean"] == 80 and old["net_support"] == -1.0
    # Margin: 1.96 * sqrt((raised + cut - net²) / n) = 1.96 * sqrt(0.25 / 30).
    assert young["net_support_margin95"] == pytest.approx(1.959964 * math.sqrt(0.25 / 30))


def test_an_answer_nobody_gave_shows_zero_submissions():
    frame = table([("young", [100] * 5)])
    rows = by_answer(segments.compare(frame, LINES, AGE))
    assert list(rows) == ["Young", "Old"]  # everyone answered: no "No answer" row
    assert rows["Old"]["submissions"] == 0 and rows["Old"]["small"]


@pytest.mark.parametrize("weighted", [False, True])
def test_no_submissions_at_all_gives_every_answer_zero(weighted):
    # A segment nobody is in leaves an empty table: this raised ColumnNotFoundError ("mean").
    frame = table([("young", [100])]).clear()
    compared = segments.compare(
        frame, LINES, AGE, pl.Series([], dtype=pl.Float64) if weighted else None
    )
    rows = by_answer(compared)
    assert list(rows) == ["Young", "Old"]
    assert all(r["submissions"] == 0 and r["small"] and r["mean"] is None for r in rows.values())
    assert compared.schema == segments.compare(table([("young", [100])]), LINES, AGE).schema
    assert segments.splits(compared).is_empty()


def test_splits_rank_lines_by_the_gap_between_readable_answers():
    """Young (30): 15 raise, net +0.5; Old (40): 10 cut, net -0.25. Gap 0.75.

    The chi-square test of equal net support, by hand: pooled net support 5/70 = 1/14, pooled
    share moving 25/70 = 5/14, variance of the score 5/14 - (1/14)^2 = 69/196.
    W = [30 (1/2 - 1/14)^2 + 40 (-1/4 - 1/14)^2] / (69/196) = (1080 + 810) / 69 = 27.39 on
    1 degree of freedom: p = erfc(sqrt(27.39 / 2)) = 1.66e-7. One line tested: q = p, clear."""
    frame = table([("young", [110] * 15 + [100] * 15), ("old", [90] * 10 + [100] * 30)])
    gaps = segments.splits(segments.compare(frame, LINES, AGE))
    (row,) = gaps.to_dicts()  # the locked line is left out
    assert {k: row[k] for k in ("line_id", "gap", "highest", "lowest", "answers", "clear")} == {
        "line_id": "parks",
        "gap": 0.75,
        "highest": "Young",
        "lowest": "Old",
        "answers": 2,
        "clear": True,
    }
    assert row["p_value"] == pytest.approx(math.erfc(math.sqrt(1890 / 69 / 2)), rel=1e-9)
    assert row["q_value"] == row["p_value"]
    family = segments.family(gaps)
    assert (family.tests, family.clear) == (1, 1)
    assert family.sentence == (
        "1 of 1 differences between answers remain after controlling the false discovery rate "
        "at 5% (Benjamini-Hochberg)."
    )


def test_a_gap_chance_could_make_is_not_clear_and_small_answers_do_not_count():
    """Young (60): 12 raise, net 0.2; Old (60): 8 raise, net 0.133. Pooled net support and
    share moving 1/6, variance 1/6 - 1/36 = 5/36; W = 60 (1/30)^2 * 2 / (5/36) = 0.96, p = 0.33:
    could be chance."""
    frame = table([("young", [110] * 12 + [100] * 48), ("old", [110] * 8 + [100] * 52)])
    (row,) = segments.splits(segments.compare(frame, LINES, AGE)).to_dicts()
    assert row["gap"] == pytest.approx(1 / 15) and not row["clear"]
    assert row["p_value"] == pytest.approx(math.erfc(math.sqrt(0.96 / 2)), rel=1e-9)
    few = table([("young", [110] * 3 + [100] * 27), ("old", [100] * 29)])  # Old: 29 < 30
    assert segments.splits(segments.compare(few, LINES, AGE)).is_empty()


def test_a_line_too_few_moved_is_shown_but_not_tested_nor_counted():
    # Young (30): 3 raise, net +0.1; Old (40) all keep. Were the answers alike, Young would
    # expect 30 * 3/70 = 1.3 residents moving it, under MIN_EXPECTED_MOVERS: not tested.
    frame = table([("young", [110] * 3 + [100] * 27), ("old", [100] * 40)])
    gaps = segments.splits(segments.compare(frame, LINES, AGE))
    (row,) = gaps.to_dicts()
    assert row["gap"] == pytest.approx(0.1) and row["p_value"] is None and not row["clear"]
    assert segments.family(gaps).tests == 0


def test_weights_apply_within_each_answer():
    frame = table([("young", [110, 100]), ("old", [100])])
    compared = segments.compare(frame, LINES, AGE, pl.Series([3.0, 1.0, 1.0]))
    assert by_answer(compared)["Young"]["mean"] == pytest.approx((3 * 110 + 100) / 4)


@pytest.mark.parametrize("weighted", [False, True])
def test_each_answer_matches_the_line_table_of_its_submissions(weighted):
    frame = table(
        [("young", [110, 100, 90, 120, 100]), ("old", [80, 100, 100]), (None, [100, 130])]
    ).with_columns(pl.Series("debt", [50, 50, 40, 50, 60, 50, 50, 50, 50, 50]))
    weights = pl.Series([1.0, 2.0, 0.5, 1.0, 3.0, 1.0, 1.0, 2.0, 1.0, 1.0]) if weighted else None
    compared = segments.compare(frame, LINES, AGE, weights)
    for option in ("young", "old", None):
        mask = frame["answer.age"].is_null() if option is None else frame["answer.age"] == option
        expected = dashboard.line_table(
            frame.filter(mask), LINES, weights.filter(mask) if weighted else None
        )
        got = compared.filter(pl.col("option").eq_missing(option)).select(expected.columns)
        assert_frame_equal(got, expected, check_dtypes=False)
