"""The funnel's arithmetic on hand-made events: steps, days, answers, the median's interval."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl
import pytest

from budget_sim.data.package import load_package
from budget_sim.insights.funnel import median_interval, summarize, wilson
from budget_sim.resources import budget_data
from budget_sim.storage.funnel import SCHEMA

DAY1 = datetime(2026, 3, 2, 23, 0, tzinfo=UTC)
DAY2 = datetime(2026, 3, 3, 9, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def budget():
    return load_package(budget_data() / "cambridge-fy2026")


def events(rows: list[tuple]) -> pl.DataFrame:
    """(ballot, kind, minutes after its day's start, day, within, line, answers)."""
    full = [(b, k, day + timedelta(minutes=m), w, line, a) for b, k, m, day, w, line, a in rows]
    return pl.DataFrame(full, schema=SCHEMA, orient="row").sort("at")


def test_wilson_matches_the_published_interval():
    low, high = wilson(5, 10)
    assert (round(low, 4), round(high, 4)) == (0.2366, 0.7634)
    low, high = wilson(0, 10)
    assert low == pytest.approx(0.0, abs=1e-12) and round(high, 4) == 0.2775
    assert wilson(0, 0) is None


def test_the_median_interval_uses_binomial_order_statistics():
    values = [float(v) for v in range(1, 11)]  # n = 10: ranks 2 and 9 (coverage 97.9%)
    assert median_interval(values) == (2.0, 9.0)
    assert median_interval([float(v) for v in range(6)]) == (0.0, 5.0)  # n = 6: 1 and 6
    assert median_interval([1.0] * 5) is None
    big = [float(v) for v in range(1, 2001)]  # normal approximation: 1000 -/+ 43.8
    assert median_interval(big) == (956.0, 1045.0)


def test_steps_days_answers_and_last_lines(budget):
    line_a, line_b = budget.line_ids[3], budget.line_ids[7]
    answer = '{"neighborhood": "east-cambridge"}'
    frame = events(
        [
            ("a", "opened", 0, DAY1, False, None, "{}"),  # day 1: opens, changes, leaves
            ("a", "change", 1, DAY1, False, line_a, "{}"),
            ("a", "change", 2, DAY1, False, line_b, "{}"),
            ("b", "opened", 10, DAY1, False, None, "{}"),  # day 1: submits 30 min later
            ("b", "change", 20, DAY1, True, line_a, answer),
            ("b", "submitted", 40, DAY1, False, None, "{}"),
            ("c", "opened", 0, DAY2, False, None, "{}"),  # day 2: only opens
            ("d", "change", 5, DAY2, True, None, "{}"),  # a re-issued ballot: no "opened"
            ("d", "refused", 6, DAY2, False, None, "{}"),
        ]
    )
    funnel = summarize(frame, budget)
    assert [s.n for s in funnel.steps] == [4, 3, 2, 1]
    assert funnel.refused == 1 and funnel.refused_then_submitted == 0
    assert funnel.per_day["day"].cast(pl.String).to_list() == ["2026-03-02", "2026-03-03"]
    assert funnel.per_day["opened"].to_list() == [2, 2]
    assert funnel.per_day["submitted"].to_list() == [1, 0]
    assert funnel.median_seconds == 30 * 60 and funnel.median_n == 1
    assert [(line.line_id, line.n) for line in funnel.last_lines] == [(line_b, 1)]
    assert funnel.left_after_change == 2  # a and d; d's last line is unknown
    neighborhood = next(q for q in funnel.questions if q.question_id == "neighborhood")
    east = next(s for s in neighborhood.segments if s.label == "East Cambridge")
    assert east.counts == (1, 1, 1, 1) and east.completion == 1.0  # the answer given later


def test_no_events_gives_zeros_and_sentences_not_errors(budget):
    funnel = summarize(pl.DataFrame(schema=SCHEMA), budget)
    assert [s.n for s in funnel.steps] == [0, 0, 0, 0]
    assert funnel.steps[1].share is None
    assert funnel.median_seconds is None and "No resident has submitted" in funnel.median_sentence
    assert funnel.per_day.height == 0
