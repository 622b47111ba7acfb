"""`aggregate` against exact rational computations and the properties aggregation.md states.

The reference implementations below use `fractions.Fraction` and the definitions as the survey
writes them (§2.1-2.3, §5): the moving-phantom level is the literal median of the 2n+1 votes and
phantoms, with the phantoms in the survey's own time t in [0, 1], and t* comes from evaluating
the sum at every breakpoint. They share nothing with the production code.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from fractions import Fraction as F

import polars as pl
import pytest

from budget_sim.insights import aggregate
from budget_sim.insights.aggregate import METHODS, aggregate_many

Profile = Sequence[Sequence[F]]
PHANTOM_METHODS = ("independent_markets", "utilitarian", "piecewise_uniform")
HALF = F(1, 2)


# --- exact references -------------------------------------------------------------------------


def ref_mean(profile: Profile) -> list[F]:
    n = len(profile)
    return [sum(column, F(0)) / n for column in zip(*profile, strict=True)]


def ref_median(profile: Profile) -> list[F]:
    """§2.2: per column the middle value, or the average of the two middle values; divided by
    the sum of the medians; the mean if that sum is 0."""
    n, med = len(profile), []
    for column in zip(*profile, strict=True):
        ordered = sorted(column)
        middle = ordered[n // 2] if n % 2 else (ordered[n // 2 - 1] + ordered[n // 2]) / 2
        med.append(middle)
    total = sum(med)
    return ref_mean(profile) if total == 0 else [x / total for x in med]


def im_phantom(k: int, n: int, t: F) -> F:
    return min(k * t, F(1))


def utilitarian_phantom(k: int, n: int, t: F) -> F:
    return min(max((n + 1) * t - (n - k), F(0)), F(1))


def pu_phantom(k: int, n: int, t: F) -> F:
    z = F(k, n)
    if t <= HALF:
        return F(0) if z <= HALF else (4 * z - 2) * t
    return z * (2 * t - 1) if z <= HALF else z * (3 - 2 * t) - 2 + 2 * t


def im_kinks(n: int) -> list[F]:
    return [F(1, k) for k in range(1, n + 1)]


def utilitarian_kinks(n: int) -> list[F]:
    return [F(i, n + 1) for i in range(n + 2)]


def pu_kinks(n: int) -> list[F]:
    return [HALF]


PHANTOMS = {
    "independent_markets": (im_phantom, im_kinks),
    "utilitarian": (utilitarian_phantom, utilitarian_kinks),
    "piecewise_uniform": (pu_phantom, pu_kinks),
}


def ref_moving_phantom(
    profile: Profile, phantom: Callable[[int, int, F], F], kinks: Callable[[int], list[F]]
) -> list[F]:
    """§2.3: level_j(t) = median of the n votes and the n+1 phantoms; S(t) = sum of levels is
    piecewise linear; find S(t*) = 1 between two consecutive breakpoints, exactly."""
    n, m = len(profile), len(profile[0])

    def levels(t: F) -> list[F]:
        phantoms = [phantom(k, n, t) for k in range(n + 1)]
        return [sorted([p[j] for p in profile] + phantoms)[n] for j in range(m)]

    # Each phantom is linear between consecutive kinks; add where it meets a vote value.
    times = sorted({F(0), F(1), *(t for t in kinks(n) if 0 <= t <= 1)})
    values = {p[j] for p in profile for j in range(m)}
    found = set(times)
    for a, b in zip(times, times[1:], strict=False):
        for k in range(n + 1):
            ga, gb = phantom(k, n, a), phantom(k, n, b)
            if ga != gb:
                found.update(a + (y - ga) * (b - a) / (gb - ga) for y in values if ga < y < gb)
    times = sorted(found)
    lo, hi = 0, len(times) - 1  # S(times[lo]) < 1 <= S(times[hi])
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if sum(levels(times[mid])) < 1 else (lo, mid)
    a, b = times[lo], times[hi]
    sa, sb = sum(levels(a)), sum(levels(b))
    t = b if sb == sa else a + (1 - sa) * (b - a) / (sb - sa)
    x = levels(t)
    assert sum(x) == 1
    return x


def ref_uniform_phantom(profile: Profile) -> list[F]:
    """§2.3 Uniform Phantom: fixed phantoms k/n; sums to 1 only for two lines."""
    n = len(profile)
    phantoms = [F(k, n) for k in range(n + 1)]
    return [sorted([p[j] for p in profile] + phantoms)[n] for j in range(len(profile[0]))]


def reference(method: str, profile: Profile) -> list[F]:
    if method == "mean":
        return ref_mean(profile)
    if method == "median":
        return ref_median(profile)
    return ref_moving_phantom(profile, *PHANTOMS[method])


# --- helpers ---------------------------------------------------------------------------------


def frame(profile: Sequence[Sequence[object]]) -> pl.DataFrame:
    names = [f"line{j}" for j in range(len(profile[0]))]
    return pl.DataFrame([[float(x) for x in row] for row in profile], schema=names, orient="row")


def run(profile: Profile, method: str, total: float = 1.0, **kwargs: object) -> list[float]:
    scaled = [[x * F(total) for x in row] for row in profile]
    return [x / total for x in aggregate(frame(scaled), total=total, method=method, **kwargs)]


def close(got: Sequence[float], want: Sequence[F | float], tol: float = 1e-9) -> bool:
    if len(got) != len(want):
        return False
    return all(abs(g - float(w)) <= tol for g, w in zip(got, want, strict=True))


def random_profile(rng: random.Random, n: int, m: int, grain: int = 10) -> list[list[F]]:
    """n votes over m lines in multiples of 1/grain (ties and zeros are common)."""
    profile = []
    for _ in range(n):
        cuts = sorted(rng.randint(0, grain) for _ in range(m - 1))
        parts = [b - a for a, b in zip([0, *cuts], [*cuts, grain], strict=True)]
        profile.append([F(p, grain) for p in parts])
    return profile


def random_allocation(rng: random.Random, m: int) -> list[F]:
    kind = rng.random()
    if kind < 0.25:  # single-minded
        x = [F(0)] * m
        x[rng.randrange(m)] = F(1)
        return x
    raw = [rng.randint(0, 12) for _ in range(m)]
    if kind < 0.5:  # concentrated on two lines
        raw = [r if j in rng.sample(range(m), 2) else 0 for j, r in enumerate(raw)]
    if sum(raw) == 0:
        raw[0] = 1
    return [F(r, sum(raw)) for r in raw]


def l1(x: Sequence[float], p: Sequence[F]) -> float:
    return sum(abs(a - float(b)) for a, b in zip(x, p, strict=True))


SINGLE_MINDED_4_2_1 = [[F(1), F(0), F(0)]] * 4 + [[F(0), F(1), F(0)]] * 2 + [[F(0), F(0), F(1)]]


# --- (1) test vectors stated in aggregation.md ---------------------------------------------------
# The survey names vectors (`edge_n_even_with_ties`, `edge_median_all_zero_fallback`, "all 22
# cases", its section 7) without giving their data. These are the outcomes its text does state,
# and cases built to match the named edge cases; each is also checked against the references.


@pytest.mark.parametrize(
    ("method", "expected"),
    [
        ("mean", [F(4, 7), F(2, 7), F(1, 7)]),  # §2.1 proportional
        ("median", [F(1), F(0), F(0)]),  # §2.2 "the 4/2/1 single-minded profile gives (1,0,0)"
        ("independent_markets", [F(4, 7), F(2, 7), F(1, 7)]),  # §2.3 proportional
        ("utilitarian", [F(1), F(0), F(0)]),  # §2.3 "yields (1,0,0)"
        ("piecewise_uniform", [F(4, 7), F(2, 7), F(1, 7)]),  # §2.3 proportional
    ],
)
def test_single_minded_4_2_1_profile(method: str, expected: list[F]) -> None:
    assert reference(method, SINGLE_MINDED_4_2_1) == expected
    assert close(run(SINGLE_MINDED_4_2_1, method, total=700), expected)


def test_edge_median_all_zero_fallback() -> None:
    """§2.2: three single-minded voters make every median 0; the result is the mean."""
    profile = [[F(1), F(0), F(0)], [F(0), F(1), F(0)], [F(0), F(0), F(1)]]
    assert ref_median(profile) == [F(1, 3)] * 3
    assert close(run(profile, "median", total=300), [F(1, 3)] * 3)


def test_edge_n_even_with_ties() -> None:
    """§2.2: with an even number of votes the median averages the two middle values, ties
    included (numpy's convention)."""
    profile = [
        [F(5, 10), F(5, 10), F(0)],
        [F(5, 10), F(25, 100), F(25, 100)],
        [F(2, 10), F(4, 10), F(4, 10)],
        [F(2, 10), F(4, 10), F(4, 10)],
    ]
    medians = [F(35, 100), F(4, 10), F(325, 1000)]  # e.g. (0.2 + 0.5)/2 and (0.4 + 0.4)/2
    expected = [x / sum(medians) for x in medians]
    assert ref_median(profile) == expected
    assert close(run(profile, "median", total=1000), expected)


def test_mean_exaggeration_pays() -> None:
    """§2.1: a voter whose ideal is (20, 80) gains under the mean by reporting (100, 0)."""
    others = [[0, 100]] * 4
    honest = aggregate(frame([[20, 80], *others]), total=100, method="mean")
    lying = aggregate(frame([[100, 0], *others]), total=100, method="mean")
    assert close(honest, [4, 96]) and close(lying, [20, 80])
    assert l1(lying, [F(20), F(80)]) < l1(honest, [F(20), F(80)])
    for method in PHANTOM_METHODS:  # the truthful rules do not reward it
        honest = aggregate(frame([[20, 80], *others]), total=100, method=method)
        lying = aggregate(frame([[100, 0], *others]), total=100, method=method)
        assert l1(lying, [F(20), F(80)]) >= l1(honest, [F(20), F(80)]) - 1e-9


@pytest.mark.parametrize("method", METHODS)
def test_random_profiles_match_the_exact_reference(method: str) -> None:
    """§5 acceptance: within 1e-9*max(1, T) of an exact rational computation."""
    rng = random.Random(f"reference-{method}")
    for _ in range(25):
        n, m = rng.randint(1, 7), rng.randint(2, 5)
        profile = random_profile(rng, n, m, grain=rng.choice([4, 10, 37]))
        total = rng.choice([1, 100, 12_345_600])
        want = [x * total for x in reference(method, profile)]
        got = aggregate(
            frame([[x * total for x in row] for row in profile]), total=total, method=method
        )
        assert close(got, want, 1e-9 * total), (profile, got, [float(x) for x in want])


def test_two_lines_independent_markets_and_piecewise_uniform_are_the_uniform_phantom() -> None:
    """§2.3: for m = 2, Uniform Phantom (fixed phantoms k/n) sums to 1 and equals IM and PU."""
    rng = random.Random("two-lines")
    for _ in range(20):
        profile = random_profile(rng, rng.randint(1, 8), 2, grain=rng.choice([5, 12]))
        uniform = ref_uniform_phantom(profile)
        assert sum(uniform) == 1
        for method in ("independent_markets", "piecewise_uniform"):
            assert reference(method, profile) == uniform
            assert close(run(profile, method), uniform)


def utilitarian_is_optimal(profile: Profile, x: Sequence[F]) -> bool:
    """The l1 welfare sum_i ||x - p_i||_1 = sum_j h_j(x_j) is separable and convex, so x is
    optimal on the simplex iff no line's cost of one more unit (right derivative of h_j) is
    below another line's saving from one unit less (left derivative, lines with x_j > 0)."""

    def right(j: int) -> int:
        return sum(1 if p[j] <= x[j] else -1 for p in profile)

    def left(j: int) -> int:
        return sum(1 if p[j] < x[j] else -1 for p in profile)

    m = len(x)
    return max(left(j) for j in range(m) if x[j] > 0) <= min(right(j) for j in range(m))


def test_utilitarian_maximises_agreement() -> None:
    """§2.3: the utilitarian phantoms pick an outcome minimising sum_i ||x - p_i||_1."""
    rng = random.Random("welfare")
    for _ in range(30):
        profile = random_profile(rng, rng.randint(1, 7), rng.randint(2, 4), grain=10)
        x = reference("utilitarian", profile)
        assert utilitarian_is_optimal(profile, x), profile
        assert close(run(profile, "utilitarian"), x)
    assert not utilitarian_is_optimal(SINGLE_MINDED_4_2_1, ref_mean(SINGLE_MINDED_4_2_1))


# --- (2) properties --------------------------------------------------------------------------


@pytest.mark.parametrize("method", METHODS)
def test_sums_to_total_unanimity_and_column_order(method: str) -> None:
    rng = random.Random(f"properties-{method}")
    for _ in range(20):
        m, total = rng.randint(1, 6), rng.choice([1, 100, 987_654_321])
        cents = [rng.randint(0, 50) for _ in range(m)]
        if sum(cents) == 0:
            cents[0] = 1
        vote = [F(c, sum(cents)) * total for c in cents]
        profile = [vote] * rng.randint(1, 6)
        result = aggregate(frame(profile), total=total, method=method)
        assert abs(sum(result) - total) <= 1e-9 * total
        assert close(result, vote, 1e-9 * total)  # unanimity: identical votes give that vote
        varied = [[x * total for x in row] for row in random_profile(rng, 5, m, 7)]
        assert abs(sum(aggregate(frame(varied), total=total, method=method)) - total) <= (
            1e-9 * total
        )


@pytest.mark.parametrize("method", ["mean", *PHANTOM_METHODS])
def test_single_minded_voters(method: str) -> None:
    """Proportional rules (mean, IM, PU) give each line its voters' share; the majoritarian
    ones (median, utilitarian) do not: the 4/2/1 profile above gives them (1, 0, 0)."""
    rng = random.Random(f"single-minded-{method}")
    proportional = method != "utilitarian"
    for _ in range(15):
        m, n = rng.randint(2, 5), rng.randint(1, 9)
        favourites = [rng.randrange(m) for _ in range(n)]
        profile = [[F(int(j == f)) for j in range(m)] for f in favourites]
        shares = [F(favourites.count(j), n) for j in range(m)]
        result = run(profile, method, total=1000)
        if proportional:
            assert close(result, shares)
        assert close(result, reference(method, profile))
    assert not close(run(SINGLE_MINDED_4_2_1, "median"), ref_mean(SINGLE_MINDED_4_2_1))


def test_independent_markets_never_exceeds_the_largest_vote() -> None:
    """§3 Bounds: `med_j <= v_(1)j` for IM."""
    rng = random.Random("bounds")
    for _ in range(30):
        profile = random_profile(rng, rng.randint(1, 6), rng.randint(2, 5), grain=9)
        x = run(profile, "independent_markets")
        assert all(x[j] <= max(p[j] for p in profile) + 1e-12 for j in range(len(x)))


@pytest.mark.parametrize("method", METHODS)
def test_whole_number_weights_repeat_submissions(method: str) -> None:
    """§3 Weights: with integer weights a weighted rule is the rule on the replicated profile;
    weight 0 drops a submission."""
    rng = random.Random(f"weights-{method}")
    for _ in range(12):
        profile = random_profile(rng, rng.randint(1, 5), rng.randint(2, 4), grain=8)
        weights = [rng.randint(0, 3) for _ in profile]
        if sum(weights) == 0:
            weights[0] = 2
        replicated = [p for p, w in zip(profile, weights, strict=True) for _ in range(w)]
        got = run(profile, method, weights=weights)
        assert close(got, reference(method, replicated)), (profile, weights)
        if method != "utilitarian":  # its phantoms depend on the total weight (see docstring)
            assert close(run(profile, method, weights=[w * 2.75 for w in weights]), got)


# --- (3) truthfulness by random search -------------------------------------------------------


def profitable_misreports(
    method: str, seed: str, profiles: int, tries: int, weighted: bool = False
) -> tuple[int, int]:
    """Random profiles (with fixed random weights if `weighted`); for each voter, random
    misreports. Returns (profitable, tried): a misreport is profitable if it moves the outcome
    closer to the voter's true vote in l1."""
    rng = random.Random(seed)
    found = tried = 0
    for _ in range(profiles):
        n, m = rng.randint(2, 5), rng.randint(2, 4)
        profile = [random_allocation(rng, m) for _ in range(n)]
        kwargs = {"weights": [rng.choice([0.5, 1, 1.5, 3]) for _ in range(n)]} if weighted else {}
        honest = run(profile, method, **kwargs)
        for i, truth in enumerate(profile):
            before = l1(honest, truth)
            for _ in range(tries):
                lie = random_allocation(rng, m)
                if lie == truth:
                    continue
                after = l1(run([*profile[:i], lie, *profile[i + 1 :]], method, **kwargs), truth)
                tried += 1
                found += after < before - 1e-9
    return found, tried


@pytest.mark.parametrize("method", PHANTOM_METHODS)
def test_no_profitable_misreport_for_truthful_rules(method: str) -> None:
    """§2.3: every moving-phantom rule is truthful under l1 preferences."""
    found, tried = profitable_misreports(method, f"truthful-{method}", profiles=25, tries=6)
    assert tried > 300
    assert found == 0


@pytest.mark.parametrize("method", PHANTOM_METHODS)
def test_no_profitable_misreport_with_weights(method: str) -> None:
    """§3 Weights: weighted IM (and the other phantom rules, whose weighted forms are moving
    phantoms too) with fixed weights: no profitable misreport found."""
    found, tried = profitable_misreports(method, f"weighted-{method}", 12, 5, weighted=True)
    assert tried > 120
    assert found == 0


@pytest.mark.parametrize("method", ["mean", "median"])
def test_the_search_finds_manipulations_where_they_exist(method: str) -> None:
    """§2.1, §2.2: the same search finds profitable misreports against mean and median."""
    found, tried = profitable_misreports(method, f"manipulable-{method}", profiles=10, tries=6)
    assert found >= 5


# --- (4) input validation --------------------------------------------------------------------

GOOD = pl.DataFrame({"parks": [60, 30], "police": [40, 70]})


@pytest.mark.parametrize(
    ("votes", "kwargs", "message"),
    [
        (pl.DataFrame(), {}, "votes is empty"),
        (pl.DataFrame({"parks": []}, schema={"parks": pl.Int64}), {}, "votes is empty"),
        (GOOD.with_columns(pl.lit("x").alias("note")), {}, "not numeric: 'note' (String)"),
        (
            pl.DataFrame({"a": [60, None], "b": [40, 70]}),
            {},
            "column 'a' has 1 missing value(s), the first in row 1",
        ),
        (
            pl.DataFrame({"a": [60.0, float("nan")], "b": [40.0, 70.0]}),
            {},
            "row 1, column 'a' is NaN",
        ),
        (
            pl.DataFrame({"a": [60.0, float("inf")], "b": [40.0, 70.0]}),
            {},
            "row 1, column 'a' is infinite",
        ),
        (pl.DataFrame({"a": [60, 130], "b": [40, -30]}), {}, "row 1, column 'b' is negative"),
        (
            pl.DataFrame({"a": [60, 30, 1], "b": [40, 60, 1]}),
            {},
            "row 1 sums to 90.0, not total=100.0",
        ),
        (GOOD, {"method": "average"}, "unknown method 'average': choose one of mean, median, "),
        (GOOD, {"total": 0}, "total must be a positive finite number"),
        (GOOD, {"total": float("nan")}, "total must be a positive finite number"),
        (GOOD, {"total": "100"}, "total must be a number"),
        (GOOD, {"weights": [1.0]}, "weights has 1 values but votes has 2 rows"),
        (GOOD, {"weights": [1.0, -2.0]}, "weights[1] is -2.0: weights must be finite numbers"),
        (GOOD, {"weights": [float("nan"), 1.0]}, "weights[0] is nan"),
        (GOOD, {"weights": [1.0, None]}, "weights[1] is None"),
        (GOOD, {"weights": [0, 0]}, "weights are all 0"),
    ],
)
def test_bad_input_is_refused_with_a_clear_message(
    votes: pl.DataFrame, kwargs: dict, message: str
) -> None:
    arguments = {"total": 100, "method": "independent_markets", **kwargs}
    with pytest.raises(ValueError) as caught:
        aggregate(votes, **arguments)
    assert message in str(caught.value)


def test_row_sum_tolerance_and_the_count_of_bad_rows() -> None:
    nearly = pl.DataFrame({"a": [60.0, 30.0 + 5e-8], "b": [40.0, 70.0]})  # 5e-10 relative
    assert close(aggregate(nearly, total=100, method="mean"), [45, 55], 1e-6)
    off = pl.DataFrame({"a": [60.0, 31, 32], "b": [40.0, 70, 70]})
    with pytest.raises(ValueError, match=r"row 1 sums to 101.0.*2 row\(s\) differ"):
        aggregate(off, total=100, method="mean")


def test_several_methods_at_once_give_what_each_gives_alone() -> None:
    profile = random_profile(random.Random("many"), 60, 4, grain=10)
    votes = frame([[x * 100 for x in row] for row in profile])
    weights = [1 + i % 3 for i in range(votes.height)]
    for w in (None, weights):
        together = aggregate_many(votes, total=100, methods=METHODS, weights=w)
        assert list(together) == list(METHODS)
        for method in METHODS:
            assert together[method] == aggregate(votes, total=100, method=method, weights=w)
    with pytest.raises(ValueError, match="unknown method 'average'"):
        aggregate_many(votes, total=100, methods=["mean", "average"])


def test_votes_must_be_a_dataframe() -> None:
    with pytest.raises(TypeError, match="polars DataFrame"):
        aggregate([[60, 40]], total=100, method="mean")  # type: ignore[arg-type]


def test_integer_decimal_and_float_amounts_agree() -> None:
    ints = pl.DataFrame({"a": [6000, 3000, 2500], "b": [4000, 7000, 7500]})
    floats = ints.cast(pl.Float64) / 100
    decimals = floats.cast(pl.Decimal(10, 2))
    for method in METHODS:
        want = [x / 100 for x in aggregate(ints, total=10_000, method=method)]
        assert close(aggregate(floats, total=100, method=method), want)
        assert close(aggregate(decimals, total=100, method=method), want)
