"""One budget from many: `aggregate(votes, total=..., method=...)`.

Every submission is a full allocation of the same total (research/aggregation.md §5). The
methods, in plain words:

* ``mean`` (the headline, `insights.HEADLINE`): the average of all submissions, line by line.
  The most intuitive and the fairest "average opinion", but a resident who exaggerates moves
  it towards them (not truthful).
* ``median``: the middle submission of each line, then scaled so the lines add up to the total.
  Descriptive only: it is neither truthful nor proportional once rescaled. If every line's
  median is 0, it falls back to the mean.
* ``independent_markets`` (the headline until December 2026; see `insights.headline` for why it
  no longer is: on many unequal lines it cuts the largest): each line gets the level that
  the share of residents asking for at least that much can "pay" for. Truthful (nobody gains by
  misreporting), proportional (if everyone backs one line, each line gets its backers' share)
  and unanimous.
* ``utilitarian`` ("majority view"): the allocation closest in total to all submissions (it
  maximises agreement). Truthful and Pareto-optimal, not proportional: a majority takes all.
* ``piecewise_uniform``: truthful and proportional like Independent Markets, with a better
  worst-case closeness to the mean for three lines.

The last three are "moving phantom" rules (§2.3): they add n+1 phantom votes that rise together
until the line-by-line medians sum to the total; they differ only in how the phantoms rise. The
point where the sum reaches the total is solved exactly (not to a bisection tolerance); see
`budget_sim.insights.phantoms` for how, without a Python loop over submissions. With many
submissions, the phantom rules and the weighted median sort only the submissions near each
line's answer, found from a sample and then checked, so the answer is the same as sorting all.

The result is in floats, not rounded: round to cents with largest remainders if needed (§3).

Weights (post-stratification, §3 "Weights") act as multiplicities: with whole-number weights
every method equals the unweighted method on the profile where submission i appears w_i times;
other weights use cumulative weight wherever a count or rank appears. Mean, median, Independent
Markets and Piecewise Uniform depend only on the weights' proportions. The utilitarian rule's
phantoms also depend on the total weight, which plays the role of n, so give it weights that
sum to the number of submissions (as post-stratification weights `N_s/N / (n_s/n)` do). For the
weighted median, a cumulative weight within 1e-9 (relative) of half the total counts as exactly
half, so that rounding in the sums cannot pick between the two middle values.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from numbers import Real

import polars as pl

from budget_sim.insights.medians import weighted_medians
from budget_sim.insights.phantoms import SYSTEMS, solve

METHODS = ("mean", "median", "independent_markets", "utilitarian", "piecewise_uniform")
ROW_TOLERANCE = 1e-9  # §5: each row's shares sum to 1 within 1e-9


def aggregate(
    votes: pl.DataFrame,
    *,
    total: float,
    method: str,
    weights: Sequence[float] | pl.Series | None = None,
) -> list[float]:
    """The aggregate allocation, one float per column of `votes` in column order, summing to
    `total` (DESIGN §6; definitions in research/aggregation.md §2 and §5).

    `votes`: one column per budget line, one row per submission; amounts >= 0, each row summing
    to `total` (relative tolerance 1e-9). `weights`: one non-negative weight per row, or None.
    Raises ValueError, naming the row or column, when the input does not fit."""
    return aggregate_many(votes, total=total, methods=[method], weights=weights)[method]


def aggregate_many(
    votes: pl.DataFrame,
    *,
    total: float,
    methods: Sequence[str],
    weights: Sequence[float] | pl.Series | None = None,
) -> dict[str, list[float]]:
    """`aggregate` under each of `methods` (method -> allocation), the input checked once."""
    unknown = [method for method in methods if method not in METHODS]
    if unknown:
        raise ValueError(f"unknown method {unknown[0]!r}: choose one of {', '.join(METHODS)}")
    total = _checked_total(total)
    _check_votes(votes, total)
    w = _checked_weights(weights, votes.height)
    exotic = [c for c, t in votes.schema.items() if not (t.is_integer() or t.is_float())]
    if exotic:  # decimals: compared and sorted as floats from here on
        votes = votes.with_columns(pl.col(exotic).cast(pl.Float64))
    if w is not None and (w == 0).any():
        votes, w = votes.filter(w > 0), w.filter(w > 0)
    results = {}
    for method in methods:
        if method == "mean":
            x = _mean(votes, w)
        elif method == "median":
            x = _median(votes, w)
        else:
            x = solve(votes, total, w, SYSTEMS[method])
        scale = total / math.fsum(x)
        results[method] = [value * scale for value in x]
    return results


def _mean(votes: pl.DataFrame, w: pl.Series | None) -> list[float]:
    """§2.1 / §5: `mean_j = sum_i w_i p_ij / sum_i w_i`."""
    if w is None:
        return list(votes.select(pl.all().cast(pl.Float64).mean()).row(0))
    frame = votes.with_columns(w.alias("__w"))
    weight = pl.col("__w")
    return list(
        frame.select(
            [(pl.col(c).cast(pl.Float64) * weight).sum() / weight.sum() for c in votes.columns]
        ).row(0)
    )


def _median(votes: pl.DataFrame, w: pl.Series | None) -> list[float]:
    """§2.2 / §5 `median_renorm`: each column's median (the two middle values averaged when
    they straddle the half), divided by their sum; the mean if every median is 0. Weighted:
    the cumulative-weight median, the same on the profile with rows repeated w_i times."""
    if w is None:  # column by column: Polars' median is ~10x slower on a chunked column
        med = [float(votes.get_column(c).rechunk().median()) for c in votes.columns]
    else:
        med = weighted_medians(votes, w)
    if math.fsum(med) == 0:
        return _mean(votes, w)
    return med


def _checked_total(total: object) -> float:
    if isinstance(total, bool) or not isinstance(total, Real):
        raise ValueError(f"total must be a number, got {total!r}")
    value = float(total)
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"total must be a positive finite number, got {total!r}")
    return value


def _check_votes(votes: object, total: float) -> None:
    if not isinstance(votes, pl.DataFrame):
        raise TypeError(f"votes must be a polars DataFrame, got {type(votes).__name__}")
    if votes.width == 0 or votes.height == 0:
        raise ValueError(
            "votes is empty: it needs one column per budget line and one row per submission "
            f"(got {votes.height} rows x {votes.width} columns)"
        )
    wrong = [f"{c!r} ({t})" for c, t in votes.schema.items() if not t.is_numeric()]
    if wrong:
        raise ValueError(
            f"votes columns must hold numeric amounts; not numeric: {', '.join(wrong)}"
        )
    nulls = {c: k for c, k in votes.null_count().row(0, named=True).items() if k}
    if nulls:
        c, k = next(iter(nulls.items()))
        first = votes.get_column(c).is_null().arg_true()[0]
        raise ValueError(f"votes column {c!r} has {k} missing value(s), the first in row {first}")
    amounts = pl.all().cast(pl.Float64)
    deviation = (pl.sum_horizontal(amounts) - total).abs()
    ok = votes.select(
        sums=(deviation <= ROW_TOLERANCE * total).all(),
        signs=pl.min_horizontal(amounts.min()) >= 0,
    ).row(0)
    if not all(ok):
        _explain_bad_votes(votes, total)


def _explain_bad_votes(votes: pl.DataFrame, total: float) -> None:
    """The slow path, only on error: name the first row (counting from 0) and column at fault."""
    frame = votes.select(pl.all().cast(pl.Float64)).with_row_index("__row")
    for c in votes.columns:
        col = pl.col(c)
        for problem, mask in (
            ("NaN", col.is_nan()),
            ("infinite", col.is_infinite()),
            ("negative", col < 0),
        ):
            bad = frame.filter(mask)
            if bad.height:
                row, value = bad.row(0, named=True)["__row"], bad.row(0, named=True)[c]
                raise ValueError(
                    f"votes row {row}, column {c!r} is {problem} ({value}): amounts must be "
                    "finite and >= 0"
                )
    sums = frame.select("__row", total=pl.sum_horizontal(pl.exclude("__row")))
    bad = sums.filter((pl.col("total") - total).abs() > ROW_TOLERANCE * total)
    row, got = bad.row(0)
    raise ValueError(
        f"votes row {row} sums to {got!r}, not total={total!r}: every submission must allocate "
        f"the whole total, within a relative {ROW_TOLERANCE:g} (research/aggregation.md §5); "
        f"{bad.height} row(s) differ"
    )


def _checked_weights(weights: object, rows: int) -> pl.Series | None:
    if weights is None:
        return None
    try:
        w = pl.Series("weights", weights, dtype=pl.Float64, strict=False)
    except (TypeError, ValueError, pl.exceptions.PolarsError) as error:
        raise ValueError(f"weights must be a sequence of numbers: {error}") from None
    if w.len() != rows:
        raise ValueError(
            f"weights has {w.len()} values but votes has {rows} rows: one weight per submission"
        )
    bad = (w.is_null() | w.is_nan() | w.is_infinite() | (w < 0)).arg_true()
    if bad.len():
        i = int(bad[0])
        raise ValueError(f"weights[{i}] is {w[i]!r}: weights must be finite numbers >= 0")
    if w.sum() <= 0:
        raise ValueError("weights are all 0: at least one submission needs a positive weight")
    return w
