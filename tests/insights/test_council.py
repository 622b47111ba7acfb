"""The council report's figures on tables small enough to check by hand: departments against
what each resident was shown, scaled as the headline is; agreements only after the FDR control."""

from __future__ import annotations

import random

import polars as pl
import pytest

from budget_sim.insights import council, dashboard
from budget_sim.insights.headline import headline_figures

# Revision "v2" raised parks/trees from 80 to 100; "v1" residents were shown 80.
LINES = pl.DataFrame(
    {
        "id": ["trees", "pools", "police", "debt"],
        "department": ["Parks", "Parks", "Police", "Debt"],
        "program": ["Trees", "Pools", "Police", "Debt"],
        "kind": ["expense"] * 4,
        "amount": [100, 100, 200, 50],
        "locked": [False, False, False, True],
    }
)
SHOWN = {"v1": {"trees": 80, "pools": 100, "police": 220, "debt": 50}}


def table() -> pl.DataFrame:
    """10 v1 residents who kept what they were shown; 10 v2 residents who move 20 from police
    to trees."""
    rows = [(80, 100, 220, 50, "v1")] * 10 + [(120, 100, 180, 50, "v2")] * 10
    return pl.DataFrame(
        rows,
        schema={
            "trees": pl.Int64,
            "pools": pl.Int64,
            "police": pl.Int64,
            "debt": pl.Int64,
            dashboard.VERSION: pl.String,
        },
        orient="row",
    )


def test_departments_compare_each_resident_with_the_total_they_were_shown():
    rows = {r["department"]: r for r in council.departments(table(), LINES, shown=SHOWN).to_dicts()}
    parks, police, debt = rows["Parks"], rows["Police"], rows["Debt"]
    # v1 residents kept Parks at the 180 they were shown: neither raised nor cut it.
    assert parks["raised"] == pytest.approx(0.5) and parks["cut"] == 0 and parks["revised"]
    assert police["cut"] == pytest.approx(0.5) and police["raised"] == 0
    # Against today's amounts alone, every v1 resident would have "cut" Parks.
    plain = {r["department"]: r for r in council.departments(table(), LINES).to_dicts()}
    assert plain["Parks"]["cut"] == pytest.approx(0.5)
    # The change is the headline's (the mean of each resident's split, scaled to the city's
    # movable 400): v1 splits 180/220, v2 220/180, so on average 200/200 = the city's.
    assert parks["change"] == pytest.approx(0.0) and police["change"] == pytest.approx(0.0)
    assert parks["low"] < 0 < parks["high"] and parks["n"] == 20
    assert debt["locked"] and debt["change"] == 0 and not parks["locked"]


def test_with_the_mean_as_headline_a_departments_change_is_the_sum_of_its_programs():
    rng = random.Random(3)
    rows = []
    for _ in range(200):
        trees, pools = rng.randint(60, 160), rng.randint(50, 150)
        rows.append((trees, pools, 400 - trees - pools, 50, "v2"))
    frame = pl.DataFrame(
        rows, schema=["trees", "pools", "police", "debt", dashboard.VERSION], orient="row"
    )
    whole = dashboard.whole_budget(frame, LINES)
    figures = headline_figures(whole, {"debt"}, submissions=frame.height, method="mean")
    parks = figures.rows.filter(pl.col("department") == "Parks")
    expected = float((parks["headline"] - parks["city"]).sum())
    found = council.departments(frame, LINES).filter(pl.col("department") == "Parks")
    assert found["change"][0] == pytest.approx(expected, abs=1.0)  # largest-remainder cents


def _line_table(raised: list[float], cut: list[float], n: int) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "line_id": [f"l{i}" for i in range(len(raised))],
            "department": ["D"] * len(raised),
            "program": [f"P{i}" for i in range(len(raised))],
            "locked": [False] * len(raised),
            "submissions": [n] * len(raised),
            "raised": raised,
            "cut": cut,
            "raised_low": raised,
            "raised_high": raised,
            "cut_low": cut,
            "cut_high": cut,
            "net_support": [r - c for r, c in zip(raised, cut, strict=True)],
        }
    )


def test_agreements_in_noise_name_nothing_and_a_real_majority_is_named():
    rng = random.Random(5)
    n = 400
    shares = []
    for _ in range(60):  # residents raise or cut each line at random, as often
        moved = [rng.random() for _ in range(n)]
        shares.append((sum(m < 0.1 for m in moved) / n, sum(m > 0.9 for m in moved) / n))
    noise = council.agreements(_line_table([r for r, _ in shares], [c for _, c in shares], n))
    assert noise.raise_.is_empty() and noise.cut.is_empty()
    assert noise.family.tests == 60 and noise.family.clear == 0
    shifted = council.agreements(
        _line_table([0.6, *[r for r, _ in shares[1:]]], [0.1, *[c for _, c in shares[1:]]], n)
    )
    assert shifted.raise_["name"].to_list() == ["D: P0"] and shifted.family.clear == 1
    assert shifted.raise_["net_low"][0] > 0.4
    # A weighting's design effect widens the test: fewer effective residents.
    weighted = council.agreements(_line_table([0.12], [0.05], 400), design_effect=4.0)
    assert weighted.raise_.is_empty()
    assert not council.agreements(_line_table([0.12], [0.05], 400)).raise_.is_empty()
