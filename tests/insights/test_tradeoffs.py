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
    # A guard against a pathological slowdown only (a pair at a time took minutes), loose enough
    # for a shared 2-core machine under load (3.1 s seen at load 18); the figures are measured
    # by benchmarks/insights_scale.py.
    assert time.perf_counter() - started < 8.0
    assert result.height == 10 and (result["correlation"] > 0).all()


# Small and odd tables, as a segment filter or a few real and demo submissions leave them: each
# used to raise (OutOfBoundsError, ShapeError) or to read a trade-off into identical answers.


def test_no_line_moved_often_enough_says_nothing_weighted_or_not():
    # 40 submissions, nobody moved anything (or only one resident each line): no column is left
    # to correlate. This raised OutOfBoundsError (unweighted) and ShapeError (weighted).
    still = table([0] * 40, [0] * 40, [0] * 40, times=1)
    few = table([1] + [0] * 39, [0] * 39 + [1], [2] * 9 + [0] * 31, times=1)
    for frame in (still, few):
        for weights in (None, pl.Series([1.0, 2.0] * 20)):
            assert tradeoffs.strongest(frame, LINES, weights).is_empty()
    assert tradeoffs.correlations(still, []) == {}
    assert tradeoffs.correlations(still, [], pl.Series([1.0] * 40)) == {}


def test_empty_and_tiny_tables_say_nothing():
    empty = table([], [], [], times=1)
    assert tradeoffs.movers(empty, LINES) == {"parks": 0, "police": 0, "library": 0}
    assert tradeoffs.strongest(empty, LINES).is_empty()
    assert tradeoffs.correlations(empty, ["parks", "police"]) == {}
    one = table([1], [2], [3], times=1)  # a segment of one submission
    assert tradeoffs.strongest(one, LINES, pl.Series([1.0])).is_empty()
    assert tradeoffs.correlations(one, ["parks", "police"]) == {}


def test_exactly_the_minimum_of_submissions_and_expected_co_movers_is_enough():
    # Parks and police each moved by 18 of exactly MIN_SUBMISSIONS residents: were they
    # unrelated, 18 * 18 / 30 = 10.8 residents would move both, at least MIN_EXPECTED_BOTH.
    moved = [1, 2, 3, 4, 5] * 3 + [1, 2, 3] + [0] * 12
    frame = table(moved, moved, [0] * 30, times=1)
    assert tradeoffs.MIN_SUBMISSIONS == 30 and tradeoffs.MIN_EXPECTED_BOTH == 10
    assert tradeoffs.movers(frame, LINES) == {"parks": 18, "police": 18, "library": 0}
    result = tradeoffs.strongest(frame, LINES)
    assert result.select("line_a", "line_b", "submissions").rows() == [("parks", "police", 30)]
    assert result["correlation"][0] == pytest.approx(1.0, abs=1e-6)
    assert tradeoffs.strongest(frame.head(29), LINES).is_empty()  # one submission short
    # 17 movers each: 17 * 17 / 30 = 9.6 expected to move both by chance, too few to test,
    # however perfectly the two lines move together.
    sparse = table(
        [1, 2, 3, 4, 5] * 3 + [1, 2] + [0] * 13,
        [1, 2, 3, 4, 5] * 3 + [1, 2] + [0] * 13,
        [0] * 30,
        times=1,
    )
    assert tradeoffs.correlations(sparse, ["parks", "police"])[("parks", "police")] == (
        pytest.approx(1.0, abs=1e-6)
    )
    assert tradeoffs.tested(sparse, LINES).is_empty()
    assert tradeoffs.strongest(sparse, LINES).is_empty()


def test_identical_residents_show_no_trade_off_whatever_the_weights():
    # All 40 raised parks and cut police alike. Weighted, the mean of a constant could come out
    # a hair off it and the constant looked like it varied: a "strong" trade-off was read into
    # identical answers.
    frame = table([10] * 40, [-10] * 40, [0] * 40, times=1)
    for weights in (None, [1.0] * 40, [0.9] * 40, [1 / 3] * 40, [0.3, 0.7, 1.1, 1.9] * 10):
        w = None if weights is None else pl.Series(weights)
        assert tradeoffs.correlations(frame, ["parks", "police"], w) == {}
        assert tradeoffs.strongest(frame, LINES, w).is_empty()


def test_zero_weights_leave_their_submissions_out():
    frame = table([1, 2, 3, 4], [1, 3, 2, 4], [0] * 4, times=10)
    # The rows given weight 0 are the only ones that differ from the others: as if absent.
    skewed = pl.concat([frame, table([50], [-50], [0], times=5)])
    weights = pl.Series([1.0] * 40 + [0.0] * 5)
    found = tradeoffs.correlations(skewed, ["parks", "police"], weights)
    assert found[("parks", "police")] == pytest.approx(0.8, abs=1e-6)
    # A line that varies only where the weight is 0 does not vary.
    flat = table([1, 2, 3, 4], [0] * 4, [0] * 4, times=10)
    varies_unseen = pl.concat([flat, table([0], [7], [0], times=5)])
    assert tradeoffs.correlations(varies_unseen, ["parks", "police"], weights) == {}
    nobody = pl.Series([0.0] * 45)  # every weight 0: nothing to say, and no error
    assert tradeoffs.correlations(skewed, ["parks", "police"], nobody) == {}
    assert tradeoffs.strongest(skewed, LINES, nobody).is_empty()


def with_library_added_after(frame: pl.DataFrame, rows: int, dtype: pl.DataType) -> pl.DataFrame:
    """The library line as if a revision added it: the first `rows` submissions have none."""
    missing = pl.int_range(pl.len()) < rows
    gap = pl.lit(float("nan")) if dtype == pl.Float64 else pl.lit(None)
    return frame.with_columns(
        pl.when(missing).then(gap).otherwise(pl.col("library")).cast(dtype).alias("library")
    )


@pytest.mark.parametrize("dtype", [pl.Int64, pl.Float64], ids=["null", "nan"])
@pytest.mark.parametrize("weighted", [False, True])
def test_a_line_added_by_a_revision_is_compared_where_residents_had_it(dtype, weighted):
    # 20 older submissions without the library line (null, or NaN in a float column), then 40
    # with it. Pairs with the library are taken over those 40 (n = 40); before, the gaps were
    # silently counted in n and pulled the correlation towards 0.
    older = table([4, 3, 2, 1], [4, 3, 2, 1], [0] * 4, times=5)
    newer = table([1, 2, 3, 4], [1, 3, 2, 4], [4, 3, 2, 1], times=10)
    frame = with_library_added_after(pl.concat([older, newer]), 20, dtype)
    weights = pl.Series([1.0, 2.0] * 30) if weighted else None
    columns = ["parks", "police", "library"]
    found = tradeoffs.pairs_of(frame, columns, weights)
    alone = tradeoffs.pairs_of(newer, columns, weights.tail(40) if weighted else None)
    for pair in [("parks", "library"), ("police", "library")]:
        assert found[pair].correlation == pytest.approx(alone[pair].correlation, abs=1e-6)
        assert (found[pair].n, found[pair].n_eff) == (40, pytest.approx(alone[pair].n_eff))
    assert found[("parks", "library")].correlation == pytest.approx(-1.0, abs=1e-6)
    if not weighted:
        assert found[("police", "library")].correlation == pytest.approx(-0.8, abs=1e-6)
    assert found[("parks", "police")].n == 60
    assert tradeoffs.movers(frame, LINES)["library"] == 40  # the gaps moved nothing
    rows = {
        (r["line_a"], r["line_b"]): r
        for r in tradeoffs.strongest(frame, LINES, weights).rows(named=True)
    }
    assert rows[("parks", "library")]["submissions"] == 40
    assert rows[("parks", "police")]["submissions"] == 60


def test_a_line_too_few_residents_had_is_left_out_of_pairs():
    # Library added after 35 of 60 submissions: 25 had it, fewer than MIN_SUBMISSIONS.
    frame = table([1, 2, 3, 4, 5], [1, 2, 3, 4, 5], [5, 4, 3, 2, 1], times=12)
    frame = with_library_added_after(frame, 35, pl.Int64)
    pairs = {(r["line_a"], r["line_b"]) for r in tradeoffs.strongest(frame, LINES).rows(named=True)}
    assert pairs == {("parks", "police")}
    # Nobody had it yet (every amount null): left out, no error.
    unseen = with_library_added_after(frame, 60, pl.Int64)
    assert tradeoffs.movers(unseen, LINES)["library"] == 0
    assert ("parks", "library") not in tradeoffs.correlations(unseen, ["parks", "library"])
