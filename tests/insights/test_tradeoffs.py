"""Trade-offs on small tables whose correlations can be worked out by hand."""

from __future__ import annotations

import math
import time

import polars as pl
import pytest

from budget_sim.insights import tradeoffs

LINES = pl.DataFrame(
    {
        "id": ["parks", "police", "library", "debt"],
        "department": ["Parks", "Police", "Libraries", "Debt"],
        "program": ["Parks", "Patrol", "Branches", "Debt"],
        "kind": ["expense"] * 4,
        "amount": [100, 100, 100, 100],
        "locked": [False, False, False, True],
    }
)


def table(parks: list[int], police: list[int], library: list[int], times: int) -> pl.DataFrame:
    """Each pattern of changes (in steps from the city's 100) repeated `times` times."""
    return pl.DataFrame(
        {
            "parks": [100 + x for x in parks] * times,
            "police": [100 + x for x in police] * times,
            "library": [100 + x for x in library] * times,
            "debt": [100 + x for x in parks] * times,  # locked: never counted, however it moves
        }
    )


def fisher_interval(r: float, n: float) -> tuple[float, float]:
    z, half = math.atanh(r), 1.959963984540054 / math.sqrt(n - 3)
    return math.tanh(z - half), math.tanh(z + half)


def test_correlation_matches_the_hand_computed_value():
    # parks (1, 2, 3, 4) and police (1, 3, 2, 4): deviations (-1.5, -.5, .5, 1.5) and
    # (-1.5, .5, -.5, 1.5); sum of products 4, sums of squares 5 each: r = 4 / 5 = 0.8.
    frame = table([1, 2, 3, 4], [1, 3, 2, 4], [4, 3, 2, 1], times=10)
    found = tradeoffs.correlations(frame, ["parks", "police", "library"])
    assert found[("parks", "police")] == pytest.approx(0.8, abs=1e-6)
    assert found[("parks", "library")] == pytest.approx(-1.0, abs=1e-6)
    assert found[("police", "library")] == pytest.approx(-0.8, abs=1e-6)


def test_strongest_pairs_with_fisher_interval_n_and_a_reading():
    frame = table([1, 2, 3, 4], [1, 3, 2, 4], [4, 3, 2, 1], times=10)  # n = 40
    result = tradeoffs.strongest(frame, LINES)
    rows = {(r["line_a"], r["line_b"]): r for r in result.iter_rows(named=True)}
    assert list(rows) == [("parks", "police"), ("parks", "library"), ("police", "library")]
    together = rows[("parks", "police")]
    low, high = fisher_interval(0.8, 40)  # (0.650, 0.890)
    assert together["correlation_low95"] == pytest.approx(low, abs=1e-5)
    assert together["correlation_high95"] == pytest.approx(high, abs=1e-5)
    assert (together["submissions"], together["moved_a"], together["moved_b"]) == (40, 40, 40)
    assert together["reading"] == (
        "Strong: residents who raised Parks tended to raise Police: Patrol too."
    )
    assert rows[("police", "library")]["reading"] == (
        "Strong: residents who raised Police: Patrol tended to cut Libraries: Branches."
    )
    assert "debt" not in set(result["line_a"]) | set(result["line_b"])  # locked


def test_weights_count_like_repeated_submissions():
    once = table([1, 2, 3, 4], [1, 3, 2, 4], [0, 0, 0, 0], times=1)
    doubled_last = pl.concat([once, once.tail(1)])
    weighted = tradeoffs.correlations(once, ["parks", "police"], pl.Series([1.0, 1.0, 1.0, 2.0]))
    plain = tradeoffs.correlations(doubled_last, ["parks", "police"])
    assert weighted[("parks", "police")] == pytest.approx(plain[("parks", "police")], abs=1e-6)


def test_small_samples_and_lines_few_moved_say_nothing():
    assert tradeoffs.strongest(table([1, 2, 3], [1, 3, 2], [3, 2, 1], times=9), LINES).is_empty()
    # 40 submissions, but nobody moved the police and one resident the library (fewer than
    # MIN_MOVERS): no pair is left to compare.
    frame = table([1, 2, 3, 4] * 10, [0] * 40, [1] + [0] * 39, times=1)
    assert tradeoffs.movers(frame, LINES) == {"parks": 40, "police": 0, "library": 1}
    assert tradeoffs.strongest(frame, LINES).is_empty()


def test_pairs_whose_interval_includes_zero_are_left_out():
    # Deviations (-2, -1, 0, 1, 2) and (1, -2, -1, 0, 2): sum of products 4, of squares 10
    # each, r = 0.4; on 40 submissions its interval (0.10, 0.64) leaves out zero.
    frame = table([1, 2, 3, 4, 5], [4, 1, 2, 3, 5], [0] * 5, times=8)
    found = tradeoffs.correlations(frame, ["parks", "police"])
    assert found[("parks", "police")] == pytest.approx(0.4, abs=1e-6)
    low, _ = fisher_interval(0.4, 40)
    assert low > 0
    assert tradeoffs.strongest(frame, LINES)["reading"].to_list() == [
        "Moderate: residents who raised Parks tended to raise Police: Patrol too."
    ]
    weak = table([1, 2, 3, 4, 5], [3, 1, 5, 2, 4], [0] * 5, times=8)  # r = 0.3: (-0.01, 0.56)
    assert tradeoffs.correlations(weak, ["parks", "police"])[("parks", "police")] == (
        pytest.approx(0.3, abs=1e-6)
    )
    assert fisher_interval(0.3, 40)[0] < 0
    assert tradeoffs.strongest(weak, LINES).is_empty()


def test_forty_lines_of_many_submissions_stay_fast():
    n, ids = 200_000, [f"l{i}" for i in range(40)]
    common = (pl.int_range(n).hash(99) % 9).cast(pl.Int64)
    frame = pl.select(
        (1000 + common + (pl.int_range(n).hash(i) % 5).cast(pl.Int64)).alias(c)
        for i, c in enumerate(ids)
    )
    lines = pl.DataFrame(
        {
            "id": ids,
            "department": ["D"] * 40,
            "program": ids,
            "kind": ["expense"] * 40,
            "amount": [1000] * 40,
            "locked": [False] * 40,
        }
    )
    started = time.perf_counter()
    result = tradeoffs.strongest(frame, lines)
    assert time.perf_counter() - started < 2.0  # 200k rows here; 1M take ~0.4 s (see module)
    assert result.height == 10 and (result["correlation"] > 0).all()
