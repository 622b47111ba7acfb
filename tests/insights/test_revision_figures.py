"""Per-line figures and segment comparisons of a revised budget, on tables small enough to check
by hand: each resident against the amount they were shown, n counting only who saw a line."""

from __future__ import annotations

import polars as pl
import pytest

from budget_sim.insights import dashboard, segments
from budget_sim.model import Option, Question

# Revision "v2" raised fire from 80 to 90 and added climate (10); "v1" residents never saw it.
LINES = pl.DataFrame(
    {
        "id": ["fire", "climate"],
        "department": ["Fire", "Climate"],
        "program": ["Fire", "Climate"],
        "kind": ["expense", "expense"],
        "amount": [90, 10],
        "locked": [False, False],
    }
)
SHOWN = {"v1": {"fire": 80}}
AREA = Question("area", "Where do you live?", options=(Option("n", "North"), Option("s", "South")))


def table() -> pl.DataFrame:
    """40 v1 residents in the north (30 keep fire at 80, 10 raise it to 81), then 30 v2
    residents in the south (all keep fire at 90; 3 raise climate to 11) and 2 in the north."""
    v1 = [(80, None, "n", "v1")] * 30 + [(81, None, "n", "v1")] * 10
    v2 = [(90, 11, "s", "v2")] * 3 + [(90, 10, "s", "v2")] * 27 + [(90, 10, "n", "v2")] * 2
    rows = v1 + v2
    return pl.DataFrame(
        rows,
        schema={
            "fire": pl.Int64,
            "climate": pl.Int64,
            "answer.area": pl.String,
            dashboard.VERSION: pl.String,
        },
        orient="row",
    )


def test_line_table_compares_each_resident_with_their_own_revision():
    rows = {r["line_id"]: r for r in dashboard.line_table(table(), LINES, shown=SHOWN).to_dicts()}
    fire, climate = rows["fire"], rows["climate"]
    assert fire["cut"] == 0 and fire["raised"] == pytest.approx(10 / 72) and fire["revised"]
    assert climate["submissions"] == 32 and climate["raised"] == pytest.approx(3 / 32)
    # Against today's amount alone, 40 of 72 would "cut" fire.
    plain = dashboard.line_table(table(), LINES).row(0, named=True)
    assert plain["cut"] == pytest.approx(40 / 72)


@pytest.mark.parametrize("weighted", [False, True])
def test_segments_count_only_who_saw_the_line(weighted):
    frame = table()
    weights = pl.Series([1.0] * frame.height) if weighted else None
    compared = segments.compare(frame, LINES, AREA, weights, SHOWN)
    north = {
        r["line_id"]: r for r in compared.filter(pl.col("option") == "n").iter_rows(named=True)
    }
    assert north["fire"]["submissions"] == north["climate"]["submissions"] == 42
    assert north["fire"]["seen"] == 42 and north["fire"]["cut"] == 0
    # Only 2 northerners saw climate: too few to read, and left out of the splits.
    assert north["climate"]["seen"] == 2 and north["climate"]["small"]
    assert north["climate"]["raised_high"] > 0.6  # the interval of 2, not of 42
    assert "climate" not in segments.splits(compared)["line_id"].to_list()
