"""Weighted column medians (research/aggregation.md §3 "Weights": the cumulative-weight median).

Per column, sort the values from the smallest with their weights; with H half the total weight,
`low` is the first value whose cumulative weight reaches H and `high` the first that passes it;
the median is their average. A cumulative weight within TIE (relative) of H counts as equal to
it, so that rounding in the sums does not decide between two values. With whole-number weights
this is the ordinary median (two middle values averaged) of the profile where row i appears w_i
times.

Sorting a million rows with their weights per column is slow, so with many rows a pilot (every
k-th row) brackets each median; one pass keeps the values in the bracket and the weight below
it, and only those are sorted. A column whose bracket misses the median is sorted in full, so
the result does not depend on the pilot.
"""

from __future__ import annotations

import math

import polars as pl

PILOT = 16_384  # pilot rows; the pilot is used when there are PILOT_FACTOR times as many rows
PILOT_FACTOR = 4
MARGIN = 3  # pilot ranks kept on each side of the pilot median, in units of sqrt(pilot rows)
TIE = 1e-9  # a cumulative weight this close (relative to the total) to the half reaches it


def weighted_medians(votes: pl.DataFrame, weights: pl.Series) -> list[float]:
    """The cumulative-weight median of each column of `votes` (weights >= 0, sum > 0)."""
    total = float(weights.sum())
    half = (total / 2 - TIE * total, total / 2 + TIE * total)
    bounds = _pilot_bounds(votes, weights) if votes.height > PILOT * PILOT_FACTOR else None
    out = []
    for j, c in enumerate(votes.columns):
        values = votes.get_column(c).cast(pl.Float64)
        found = None if bounds is None else _within(values, weights, half, *bounds[j])
        out.append(_full(values, weights, half) if found is None else found)
    return out


def _median_of_sorted(values: pl.Series, cum: pl.Series, half: tuple[float, float]) -> float:
    """`values` ascending, `cum` their cumulative weights (starting after any weight below);
    `half` is half the total weight, minus and plus the tie tolerance."""
    low = values[cum.search_sorted(half[0], side="left")]
    high = values[cum.search_sorted(half[1], side="right")]
    return (low + high) / 2


def _full(values: pl.Series, weights: pl.Series, half: tuple[float, float]) -> float:
    order = values.arg_sort()
    return _median_of_sorted(values.gather(order), weights.gather(order).cum_sum(), half)


def _within(
    values: pl.Series, weights: pl.Series, half: tuple[float, float], low: float, high: float
) -> float | None:
    """The median from the values in [low, high] and the weight below `low`; None unless both
    middle values are inside (the weight below is under the half, the weight up to `high`
    passes it)."""
    inside = values.is_between(low, high)
    below = float(weights.filter(values < low).sum())
    kept = values.filter(inside)
    order = kept.arg_sort()
    cum = weights.filter(inside).gather(order).cum_sum() + below
    if not (below < half[0] and cum.len() and cum[-1] > half[1]):
        return None
    return _median_of_sorted(kept.gather(order), cum, half)


def _pilot_bounds(votes: pl.DataFrame, weights: pl.Series) -> list[tuple[float, float]]:
    """Per column, the pilot values MARGIN*sqrt(pilot) ranks either side of its median."""
    step = votes.height // PILOT
    pilot, pilot_w = votes.gather_every(step), weights.gather_every(step)
    half, delta = float(pilot_w.sum()) / 2, MARGIN * math.isqrt(pilot.height) + 8
    bounds = []
    for c in pilot.columns:
        values = pilot.get_column(c).cast(pl.Float64)
        order = values.arg_sort()
        ordered, cum = values.gather(order), pilot_w.gather(order).cum_sum()
        at = int(cum.search_sorted(half, side="left"))
        low = ordered[at - delta] if at - delta >= 0 else -math.inf
        high = ordered[at + 1 + delta] if at + 1 + delta < pilot.height else math.inf
        bounds.append((low, high))
    return bounds
