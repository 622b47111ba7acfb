"""The paths taken for many votes: a pilot brackets each crossing (or median) and only the votes
near it are sorted. They must give what sorting everything gives, and the exact answer."""

from __future__ import annotations

import random
import sys

import polars as pl
import pytest

from budget_sim.insights import aggregate, medians, phantoms
from tests.insights.test_aggregate import close, frame, random_profile, reference

PHANTOM_METHODS = ("independent_markets", "utilitarian", "piecewise_uniform")


def votes(rows: int, lines: int, seed: int, grain: int | None = None) -> pl.DataFrame:
    """Random splits of 1000 (continuous, or in steps of 1000/grain: ties everywhere)."""
    rng = random.Random(seed)
    out = []
    for _ in range(rows):
        raw = [rng.expovariate(1.0) for _ in range(lines)]
        if grain is not None:
            raw = [round(x * grain / sum(raw)) for x in raw]
            raw[0] += grain - sum(raw) if sum(raw) != grain else 0
            raw[0] = max(raw[0], 0)
            raw = raw if sum(raw) == grain else [grain] + [0] * (lines - 1)
        out.append([x * 1000 / sum(raw) for x in raw])
    return pl.DataFrame(out, schema=[f"line{j}" for j in range(lines)], orient="row")


@pytest.fixture
def pilot_calls(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Pilot path from 4 x 64 rows on; records whether each pilot attempt sufficed."""
    monkeypatch.setattr(phantoms, "PILOT", 64)
    calls: list[bool] = []
    original = phantoms._with_pilot

    def spy(*args: object, **kwargs: object) -> list[float] | None:
        found = original(*args, **kwargs)
        calls.append(found is not None)
        return found

    monkeypatch.setattr(phantoms, "_with_pilot", spy)
    return calls


def sorted_in_full(votes: pl.DataFrame, method: str, **kwargs: object) -> list[float]:
    saved = phantoms.PILOT
    phantoms.PILOT = sys.maxsize // 8
    try:
        return aggregate(votes, total=1000, method=method, **kwargs)
    finally:
        phantoms.PILOT = saved


@pytest.mark.parametrize("method", PHANTOM_METHODS)
@pytest.mark.parametrize("grain", [None, 4])
def test_pilot_path_equals_sorting_everything(
    method: str, grain: int | None, pilot_calls: list[bool]
) -> None:
    data = votes(3000, 6, seed=len(method) + (grain or 0), grain=grain)
    weights = [1 + (i * 7919 % 13) / 4 for i in range(data.height)]
    for w in (None, weights):
        got = aggregate(data, total=1000, method=method, weights=w)
        assert close(got, sorted_in_full(data, method, weights=w), 1e-9 * 1000)
    assert True in pilot_calls  # the pilot path did answer


@pytest.mark.parametrize("method", PHANTOM_METHODS)
def test_pilot_path_matches_the_exact_reference(method: str, pilot_calls: list[bool]) -> None:
    profile = random_profile(random.Random(f"scale-{method}"), 400, 3, grain=20)
    got = aggregate(frame([[x * 1000 for x in row] for row in profile]), total=1000, method=method)
    assert close(got, [x * 1000 for x in reference(method, profile)], 1e-9 * 1000)
    assert pilot_calls and pilot_calls[-1]


@pytest.mark.parametrize("method", PHANTOM_METHODS)
@pytest.mark.parametrize("weighted", [False, True])
def test_kept_votes_are_trusted_only_when_they_suffice(method: str, weighted: bool) -> None:
    """Keep each column's votes between two random quantiles (open-ended or not): the solve on
    those either refuses, or gives the exact answer."""
    data = votes(300, 3, seed=17)
    weights = pl.Series([1.0 + (i % 5) / 2 for i in range(data.height)]) if weighted else None
    n = float(data.height) if weights is None else float(weights.sum())
    ph = phantoms.SYSTEMS[method]
    exact = sorted_in_full(data, method, weights=weights)
    rng, outcomes = random.Random(method), []
    for _ in range(60):
        bounds = []
        for c in data.columns:
            a, b = sorted(rng.choice([0, 0.1, 0.3, 0.5, 0.7, 0.9, 1]) for _ in range(2))
            low = data.get_column(c).quantile(a) / 1000 if a > 0 else -float("inf")
            high = data.get_column(c).quantile(b) / 1000 if b < 1 else float("inf")
            bounds.append((low, high))
        stack, lo, hi = phantoms._kept_stack(data, 1000, weights, bounds, ph, n)
        found = None if lo > hi else phantoms._solve(stack, ph, n, lo, hi, strict=True)
        outcomes.append(found is not None)
        if found is not None:
            assert close([x * 1000 for x in found[0]], exact, 1e-9 * 1000), bounds
    assert True in outcomes and False in outcomes


@pytest.mark.parametrize("method", PHANTOM_METHODS)
def test_an_unrepresentative_pilot_is_detected(
    method: str, pilot_calls: list[bool], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every pilot row is the same vote; the others are spread. The votes kept around the
    pilot's crossings then miss the true ones (above or below), the solve notices, and the
    answer is still exact."""
    data = votes(3000, 4, seed=3)
    step = phantoms._pilot_step(data.height)
    pilot_rows = pl.int_range(data.height, eager=True) % step == 0
    data = data.with_columns(
        pl.when(pilot_rows).then(float(x)).otherwise(pl.col(c)).alias(c)
        for x, c in zip((400, 300, 200, 100), data.columns, strict=True)
    )
    exact = sorted_in_full(data, method)
    monkeypatch.setattr(phantoms, "MARGINS", (2,))
    assert close(aggregate(data, total=1000, method=method), exact, 1e-9 * 1000)
    assert pilot_calls == [False]  # refused, so every column was sorted


@pytest.mark.parametrize("grain", [None, 3])
def test_weighted_median_pilot_path(monkeypatch: pytest.MonkeyPatch, grain: int | None) -> None:
    data = votes(3000, 5, seed=11, grain=grain)
    weights = [(1, 2, 0.5, 3)[i % 4] * 0.37 for i in range(data.height)]
    whole = medians.weighted_medians(data, pl.Series(weights))
    monkeypatch.setattr(medians, "PILOT", 64)
    assert medians.weighted_medians(data, pl.Series(weights)) == whole
    repeated = data.select(pl.all().repeat_by(pl.Series([1, 2, 0, 3] * 750)).explode())
    for margin in (0, 3):
        monkeypatch.setattr(medians, "MARGIN", margin)
        whole_numbers = medians.weighted_medians(data, pl.Series([1, 2, 0, 3] * 750))
        assert close(whole_numbers, repeated.select(pl.all().median()).row(0))


@pytest.mark.parametrize("method", ["mean", "median", *PHANTOM_METHODS])
def test_a_line_nobody_funds_gets_nothing(method: str, pilot_calls: list[bool]) -> None:
    data = votes(1000, 4, seed=5).with_columns(
        line3=pl.lit(0.0), line0=pl.col("line0") + pl.col("line3")
    )
    got = aggregate(data, total=1000, method=method)
    assert got[3] == 0 and abs(sum(got) - 1000) < 1e-9
