"""Moving-phantom mechanisms over a Polars frame of votes (research/aggregation.md §2.3, §5).

For one budget line, sort the shares from largest to smallest. The vote whose cumulative weight
from the top is W (its rank, when every weight is 1) meets the phantom `g(W, t)`; the line's
level at time `t` is `med(t) = max over votes of min(vote, g(W, t))`, also counting the phantom
`g(0, t)` against an infinitely large vote. This is the §5 formula `max_r min(v_(r), g_r(t))`,
and with weights the §3 formula `max_v min(v, t*R(v))`. The outcome is the levels at the `t*`
where they sum to 1.

How `t*` is found without a Python loop over voters:

* Votes fall and phantoms rise, so the votes still standing at or above their phantom at time
  t are a prefix of the sorted column, and `med(t)` depends only on the last standing vote and
  the next one. Each vote's `crossing` time (when its phantom overtakes it) is non-increasing
  down the column, so "how many stand" is one `search_sorted`.
* A grid of times is evaluated at once. The bracket around `t*` shrinks by the grid size each
  round, and so does the part of each column that can matter. When little is left, every
  breakpoint of the piecewise-linear sum is evaluated and the last linear piece is solved
  exactly (what `moving_phantom_exact` does with rationals in the survey).
* With many votes, a pilot solve on every k-th row locates `t*`; one pass over the full columns
  then keeps only the votes near each line's pilot crossing, plus the weight above them. The
  solve proves that the crossing stays inside what was kept (otherwise it retries wider, then
  sorts every column), so the result does not depend on the pilot.

Layout (`_Stack`): all columns in one long frame, one block per column, votes sorted from the
largest. Two rows at the top of a block stand for everything above it (share +inf, so always
standing, with the cumulative weight above), then the kept votes, then two rows of share 0. The
padding lets the two votes around the last standing one (and one more each side) be gathered
without bounds checks.

Shares are amounts / total. Times are in the survey's t rescaled per system (see each system)
so that the search is well conditioned; the outcome does not depend on the scale.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import polars as pl

INF = math.inf
GRID = 1025  # times per round while the columns are long
CROSS_ROWS = 200_000  # largest (rows kept) x (times) evaluated by a cross join
PILOT = 4_096  # fewest pilot rows; the pilot is used when there are PILOT_FACTOR times as many
PILOT_FACTOR = 4
PILOT_SHAPE = 2  # about PILOT_SHAPE * n^(2/3) pilot rows for n votes (see `_pilot_step`)
MARGINS = (3, 8)  # pilot ranks kept on each side of a crossing, in units of sqrt(pilot rows)
MAX_ROUNDS = 64

Expr = pl.Expr


@dataclass(frozen=True)
class Phantoms:
    """One phantom system (§2.3 table), written in cumulative weight W out of a total N.

    `g(W, t, N)` is the phantom met by the vote at cumulative weight W; `crossing(v, W, N)` is
    the largest t with `v >= g(W, t, N)` (+inf if it never falls below in the domain); `kinks`
    are the times where `g(W, ., N)` bends; `domain(N)` runs from a time where every level is
    0 to one where the levels sum to at least 1."""

    name: str
    domain: Callable[[float], tuple[float, float]]
    g: Callable[[Expr, Expr, float], Expr]
    crossing: Callable[[Expr, Expr, float], Expr]
    kinks: Callable[[Expr, float], list[Expr]]


# Independent Markets: g_k(t) = min(k t, 1), written in tau = n t ("bisect in tau", §2.3), so
# g = min(tau W/N, 1). The smallest t* is at most 1/n (§2.3), so tau* is at most 1.
INDEPENDENT_MARKETS = Phantoms(
    "independent_markets",
    domain=lambda n: (0.0, 1.0),
    g=lambda w, t, n: pl.min_horizontal(t * w / n, pl.lit(1.0)),
    crossing=lambda v, w, n: pl.when((w <= 0) | (v >= 1)).then(INF).otherwise(v * n / w),
    kinks=lambda w, n: [pl.when(w > 0).then(n / w).otherwise(INF)],
)

# Utilitarian: g_k(t) = clip((n+1)t - (n-k), 0, 1), written in u = (n+1)t - n, which runs over
# [-n, 1], so g = clip(u + W, 0, 1).
UTILITARIAN = Phantoms(
    "utilitarian",
    domain=lambda n: (-n, 1.0),
    g=lambda w, t, n: (t + w).clip(0.0, 1.0),
    crossing=lambda v, w, n: pl.when(v >= 1).then(INF).otherwise(v - w),
    kinks=lambda w, n: [-w, 1 - w],
)


def _pu_g(w: Expr, t: Expr, n: float) -> Expr:
    """The §2.3 Piecewise Uniform phantom with z = W/N, in one formula: for z <= 1/2 it is 0
    up to t = 1/2 and z(2t-1) after; for z > 1/2, (4z-2)t up to 1/2 and z(3-2t)-2+2t after."""
    z = w / n
    rise = (4 * z - 2).clip(lower_bound=0.0) * t.clip(upper_bound=0.5)
    return rise + 2 * pl.min_horizontal(z, 1 - z) * (t - 0.5).clip(lower_bound=0.0)


def _pu_crossing(v: Expr, w: Expr, n: float) -> Expr:
    z = w / n
    return (
        pl.when(v >= z)  # g(z, t) <= z for every t in [0, 1]
        .then(INF)
        .when(z <= 0.5)
        .then((v / z + 1) / 2)
        .when(v >= 2 * z - 1)
        .then((v - 3 * z + 2) / (2 * (1 - z)))
        .otherwise(v / (4 * z - 2))
    )


PIECEWISE_UNIFORM = Phantoms(
    "piecewise_uniform",
    domain=lambda n: (0.0, 1.0),
    g=_pu_g,
    crossing=_pu_crossing,
    kinks=lambda w, n: [pl.lit(0.5)],
)

SYSTEMS = {p.name: p for p in (INDEPENDENT_MARKETS, UTILITARIAN, PIECEWISE_UNIFORM)}


@dataclass(frozen=True)
class _Stack:
    """All columns in one long frame, one block of `sizes[j]` rows per column: two rows that
    stand for everything above the block (share +inf; `pad` -1), the kept votes from the
    largest (`pad` 0), two rows of share 0 (`pad` 1). Columns: `v` share, `w` cumulative weight
    from the top, `negq` = -crossing time (ascending within a block), `pad`, `j` the block (the
    column of votes) and `idx` the row within it."""

    frame: pl.DataFrame
    sizes: list[int]

    @property
    def starts(self) -> list[int]:
        return _running(self.sizes)


def _stacked(frame: pl.DataFrame, sizes: list[int], ph: Phantoms, n: float) -> _Stack:
    """A stack from `v`, `w` and `pad` laid out in blocks of `sizes` rows (adds the others)."""
    idx = pl.int_ranges(0, pl.Series(sizes, dtype=pl.Int64), eager=True).explode()
    block = ((pl.col("idx") == 0).cum_sum() - 1).cast(pl.Int32)
    frame = frame.with_columns(idx=idx).with_columns(*_padded(ph, n), j=block)
    return _Stack(frame.rechunk(), sizes)


def solve(
    votes: pl.DataFrame, total: float, weights: pl.Series | None, ph: Phantoms
) -> list[float]:
    """Shares (column order, summing to 1) of the moving-phantom rule `ph`. `votes` holds
    validated amounts, each row summing to `total`; `weights` are > 0, or None for all 1."""
    n = float(votes.height) if weights is None else float(weights.sum())
    if votes.height > PILOT * PILOT_FACTOR:
        for margin in MARGINS:
            shares = _with_pilot(votes, total, weights, ph, n, margin)
            if shares is not None:
                return shares
    lo, hi = ph.domain(n)
    found = _solve(_sorted_stack(votes, total, weights, ph, n), ph, n, lo, hi, strict=False)
    assert found is not None
    return found[0]


def _solve(
    stack: _Stack, ph: Phantoms, n: float, lo: float, hi: float, *, strict: bool
) -> tuple[list[float], float] | None:
    """Shares and t* where the levels sum to 1, searching [lo, hi] in which `stack` is valid.

    With `strict`, None if the levels do not reach 1 inside [lo, hi] (kept too little)."""
    for _ in range(MAX_ROUNDS):
        kept = stack.frame.height
        exact = 4 * kept * kept <= CROSS_ROWS or max(stack.sizes) <= 12
        if exact:
            times = _breakpoints(stack, ph, n, lo, hi)
        else:
            count = GRID if kept > CROSS_ROWS // 64 else CROSS_ROWS // kept
            times = [lo + (hi - lo) * i / (count - 1) for i in range(count)]
        evaluate = _search if kept * len(times) > CROSS_ROWS else _cross
        levels, last = evaluate(stack, ph, n, times)
        sums = levels.select(pl.sum_horizontal(pl.all())).to_series()
        reached = (sums >= 1.0).arg_true()
        if reached.len() == 0:
            if strict:
                return None
            # The levels sum to at least 1 at the end of the domain (for IM and PU the §2.3
            # argument: at uniform phantoms every voter exceeds a short outcome somewhere).
            if sums[-1] < 1 - 1e-9:
                raise AssertionError(f"{ph.name}: levels sum to {sums[-1]} at t = {times[-1]}")
            return list(levels.row(len(times) - 1)), times[-1]
        b = int(reached[0])
        if b == 0:
            if strict and sums[0] > 1.0:
                return None
            return list(levels.row(0)), times[0]
        a = b - 1
        if exact or times[b] - times[a] <= 4 * math.ulp(max(abs(times[a]), abs(times[b]))):
            theta = (1.0 - sums[a]) / (sums[b] - sums[a])
            x = [p + theta * (q - p) for p, q in zip(levels.row(a), levels.row(b), strict=True)]
            return x, times[a] + theta * (times[b] - times[a])
        strict = False  # the bracket [times[a], times[b]] holds t*
        lo, hi = times[a], times[b]
        stack = _cut(stack, ph, n, last.row(b), last.row(a))
    raise AssertionError("the phantom search did not converge")  # pragma: no cover


def _wide(values: pl.Series, count: int) -> pl.DataFrame:
    """Values in [column][time] order -> one row per time, one column per line."""
    return pl.DataFrame(
        [values.slice(j * count, count).alias(str(j)) for j in range(values.len() // count)]
    )


def _search(
    stack: _Stack, ph: Phantoms, n: float, times: list[float]
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Levels at each time (a row per time, a column per line) and, per column, the row within
    its block of the last vote standing; for long columns: a binary search per column."""
    t = pl.Series("t", times, dtype=pl.Float64)
    # Per column and time, the rows at or before the last standing vote (the two above count).
    counts = (
        stack.frame.group_by("j", maintain_order=True)
        .agg(pl.col("negq").search_sorted(pl.lit(-t), side="right"))
        .get_column("negq")
        .explode()
        .cast(pl.Int64)
    )
    within = counts - 1  # the last standing vote's row in its block; 1 ("above") if none
    block = pl.int_range(0, counts.len(), eager=True) // len(times)
    at = within + pl.Series(stack.starts, dtype=pl.Int64).gather(block)
    v, w = stack.frame.get_column("v"), stack.frame.get_column("w")
    frame = pl.DataFrame(
        {
            "t": pl.concat([t] * len(stack.sizes)),
            **{f"v{d}": v.gather(at + d) for d in (-1, 0, 1, 2)},
            **{f"w{d}": w.gather(at + d) for d in (-1, 0, 1, 2)},
        }
    )
    # The level is set by the last standing vote or the next; one more each side for rounding.
    level = frame.select(
        pl.max_horizontal(
            pl.min_horizontal(pl.col(f"v{d}"), ph.g(pl.col(f"w{d}"), pl.col("t"), n))
            for d in (-1, 0, 1, 2)
        )
    ).to_series()
    return _wide(level, len(times)), _wide(within, len(times))


def _cross(
    stack: _Stack, ph: Phantoms, n: float, times: list[float]
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """As `_search`, for short columns: every kept row against every time."""
    grid = pl.LazyFrame({"i": range(len(times)), "t": times}, schema_overrides={"t": pl.Float64})
    out = (
        stack.frame.lazy()
        .join(grid, how="cross")
        .group_by("i", "j")
        .agg(
            level=pl.min_horizontal(pl.col("v"), ph.g(pl.col("w"), pl.col("t"), n)).max(),
            last=pl.col("idx").filter(pl.col("negq") <= -pl.col("t")).max(),
        )
        .sort("j", "i")
        .collect()
    )
    return _wide(out.get_column("level"), len(times)), _wide(out.get_column("last"), len(times))


def _breakpoints(stack: _Stack, ph: Phantoms, n: float, lo: float, hi: float) -> list[float]:
    """lo, hi and every time between where a level bends: a vote is overtaken, a level passes
    from a phantom to the next vote, or a phantom bends. Between two, the sum is linear."""
    nxt = pl.col("v").shift(-1).over("j").fill_null(0.0)
    w = pl.col("w")
    found = [-pl.col("negq"), ph.crossing(nxt, w, n), *ph.kinks(w, n)]
    frame = stack.frame.select(pl.concat_list(found).alias("t"))
    times = frame.get_column("t").explode()
    inside = times.filter((times > lo) & (times < hi)).unique()
    return [lo, *inside.sort().to_list(), hi]


def _cut(stack: _Stack, ph: Phantoms, n: float, at_hi: tuple, at_lo: tuple) -> _Stack:
    """Keep, per column, the votes that can be the last standing, or the next, within
    [lo, hi]: from one above the last standing at hi (which then stands for everything above)
    to two below the last standing at lo; with two rows of padding on either side."""
    firsts, ends, sizes = [], [], []
    for start, size, high, low in zip(stack.starts, stack.sizes, at_hi, at_lo, strict=True):
        top = max(high - 1, 1)  # rows within the block; 1 = "everything above"
        bottom = min(low + 2, size - 3)  # the new last kept vote
        firsts.append(start + top - 1)
        ends.append(start + bottom + 3)
        sizes.append(bottom - top + 4)
    rows = pl.int_ranges(pl.Series(firsts), pl.Series(ends), eager=True).explode()
    idx = pl.int_ranges(0, pl.Series(sizes), eager=True).explode()
    size = pl.Series(sizes, dtype=pl.Int64).gather((idx == 0).cum_sum() - 1)  # per row
    pad = pl.when(idx < 2).then(-1).when(idx >= size - 2).then(1).otherwise(0)
    frame = stack.frame.select("v", "w").gather(rows).with_columns(pad=pl.select(pad).to_series())
    return _stacked(frame, sizes, ph, n)


def _padded(ph: Phantoms, n: float) -> list[Expr]:
    """`v` and `negq` with the padding rows set: +inf and always standing above, 0 and never
    standing below."""
    pad = pl.col("pad")
    v = pl.when(pad < 0).then(INF).when(pad > 0).then(0.0).otherwise(pl.col("v"))
    negq = pl.when(pad < 0).then(-INF).when(pad > 0).then(INF)
    return [v.alias("v"), negq.otherwise(-ph.crossing(pl.col("v"), pl.col("w"), n)).alias("negq")]


def _running(sizes: Sequence[int]) -> list[int]:
    """Where each block starts when blocks of `sizes` follow one another."""
    out, start = [], 0
    for size in sizes:
        out.append(start)
        start += size
    return out


def _share(column: str, total: float) -> Expr:
    return pl.col(column).cast(pl.Float64) / total


def _assemble(
    v: pl.Series, w: pl.Series, kept: list[int], tops: list[float], ph: Phantoms, n: float
) -> _Stack:
    """A stack from every column's kept votes, one column after another: `v` the shares from
    the largest, `w` their cumulative weights (counting the weight above), `kept[j]` votes of
    column j, above which lies weight `tops[j]`. A few whole-frame operations, whatever the
    number of columns."""
    firsts = _running(kept)
    ends = iter(w.gather([f + k - 1 for f, k in zip(firsts, kept, strict=True) if k]).to_list())
    lasts = [next(ends) if k else top for k, top in zip(kept, tops, strict=True)]
    two = pl.Series([0.0, 0.0])
    zeros = pl.zeros(max(kept, default=0), pl.Int8, eager=True)
    above, below = pl.Series([-1, -1], dtype=pl.Int8), pl.Series([1, 1], dtype=pl.Int8)
    v_parts, w_parts, pad_parts = [], [], []
    for first, k, top, last in zip(firsts, kept, tops, lasts, strict=True):  # slices: no copies
        v_parts += [two, v.slice(first, k), two]
        w_parts += [pl.Series([top, top]), w.slice(first, k), pl.Series([last, last])]
        pad_parts += [above, zeros.slice(0, k), below]
    frame = pl.DataFrame(
        {
            "v": pl.concat(v_parts, rechunk=True),
            "w": pl.concat(w_parts, rechunk=True),
            "pad": pl.concat(pad_parts, rechunk=True),
        }
    )
    return _stacked(frame, [k + 4 for k in kept], ph, n)


def _sorted_stack(
    votes: pl.DataFrame, total: float, weights: pl.Series | None, ph: Phantoms, n: float
) -> _Stack:
    """Every column sorted in full: the exact path for small frames and the last resort."""
    columns, height = votes.columns, votes.height
    shares = votes.select([_share(c, total).sort(descending=True) for c in columns])
    v = pl.concat(shares.get_columns(), rechunk=True)
    if weights is None:
        ranks = pl.int_range(1, height + 1, eager=True).cast(pl.Float64)
        w = pl.concat([ranks] * len(columns), rechunk=True)
    else:
        frame = votes.with_columns(weights.alias("__w"))
        cums = frame.select(
            pl.col("__w").sort_by(_share(c, total), descending=True).cum_sum().alias(c)
            for c in columns
        )
        w = pl.concat(cums.get_columns(), rechunk=True)
    return _assemble(v, w, [height] * len(columns), [0.0] * len(columns), ph, n)


def _with_pilot(
    votes: pl.DataFrame,
    total: float,
    weights: pl.Series | None,
    ph: Phantoms,
    n: float,
    margin: int,
) -> list[float] | None:
    """Solve on every k-th row; keep each full column's votes within `margin`*sqrt(pilot)
    pilot ranks of the pilot's crossing; solve exactly on those. None if that kept too few."""
    step = _pilot_step(votes.height)
    pilot = votes.gather_every(step)
    pilot_w = None if weights is None else weights.gather_every(step)
    pilot_n = float(pilot.height) if pilot_w is None else float(pilot_w.sum())
    stack = _sorted_stack(pilot, total, pilot_w, ph, pilot_n)
    lo, hi = ph.domain(pilot_n)
    found = _solve(stack, ph, pilot_n, lo, hi, strict=False)
    assert found is not None
    t, delta, height = found[1], int(margin * math.isqrt(pilot.height)) + 8, pilot.height
    # Votes standing at t, per column: the votes of a block whose crossing is at t or later.
    standing = stack.frame.select(
        ((pl.col("negq") <= -t) & (pl.col("pad") == 0)).cast(pl.Int64).cum_sum()
    ).to_series()
    starts = stack.starts
    counts = standing.gather([s + height + 1 for s in starts]) - standing.gather(
        [s + 1 for s in starts]
    )
    # Ranks (1 = the largest vote) kept on each side of the last standing vote.
    firsts = [count - delta for count in counts]
    lasts = [count + 1 + delta for count in counts]
    v = stack.frame.get_column("v")
    high = v.gather([s + 1 + max(first, 1) for s, first in zip(starts, firsts, strict=True)])
    low = v.gather([s + 1 + min(last, height) for s, last in zip(starts, lasts, strict=True)])
    bounds = [
        (lo_v if last <= height else -INF, hi_v if first >= 1 else INF)
        for first, last, lo_v, hi_v in zip(firsts, lasts, low, high, strict=True)
    ]
    kept, lo, hi = _kept_stack(votes, total, weights, bounds, ph, n)
    if lo > hi:
        return None
    found = _solve(kept, ph, n, lo, hi, strict=True)
    return None if found is None else found[0]


def _pilot_step(rows: int) -> int:
    """Every how many votes the pilot takes one. The pilot's sort grows with its rows p, the
    votes kept around its crossings with n/sqrt(p): p ~ n^(2/3) balances the two."""
    return max(1, rows // max(PILOT, round(PILOT_SHAPE * rows ** (2 / 3))))


def _kept_stack(
    votes: pl.DataFrame,
    total: float,
    weights: pl.Series | None,
    bounds: list[tuple[float, float]],
    ph: Phantoms,
    n: float,
) -> tuple[_Stack, float, float]:
    """One pass over the full columns: each column's shares within [low, high], sorted, and the
    weight of those above `high`. Also the interval of times in which that suffices: the votes
    above must all stand (`high` >= the phantom at the weight above) and the last kept vote must
    be overtaken (so the votes below, counted as 0, cannot matter)."""
    frame = votes if weights is None else votes.with_columns(weights.alias("__w"))
    picked = []
    for i, (c, (low, high)) in enumerate(zip(votes.columns, bounds, strict=True)):
        raw = pl.col(c)  # compared in amounts: one cheap pass per column
        inside, above = raw.is_between(low * total, high * total), raw > high * total
        share = raw.filter(inside).cast(pl.Float64) / total
        if weights is None:
            picked += [
                share.sort(descending=True).implode().alias(f"v{i}"),
                above.sum().alias(f"top{i}"),
            ]
        else:
            weight = pl.col("__w")
            top = weight.filter(above).sum()
            picked += [
                share.sort(descending=True).implode().alias(f"v{i}"),
                (weight.filter(inside).sort_by(share, descending=True).cum_sum() + top)
                .implode()
                .alias(f"w{i}"),
                top.alias(f"top{i}"),
            ]
    row = frame.select(picked)
    lists = row.select(pl.col("^v\\d+$")).unpivot().get_column("value")
    kept = lists.list.len().to_list()
    tops = row.select(pl.col("^top\\d+$")).row(0)  # counts, or weights
    v = lists.explode(empty_as_null=False)
    if weights is None:  # the rank within the column, after the votes above
        first = pl.Series(tops, dtype=pl.Int64) + 1
        w = pl.int_ranges(first, first + pl.Series(kept, dtype=pl.Int64), eager=True)
        w = w.explode(empty_as_null=False).cast(pl.Float64)
    else:
        weight_lists = row.select(pl.col("^w\\d+$")).unpivot().get_column("value")
        w = weight_lists.explode(empty_as_null=False)
    weight_above = [float(top) for top in tops]
    stack = _assemble(v, w, kept, weight_above, ph, n)
    return stack, *_valid_times(stack, bounds, kept, weight_above, ph, n)


def _valid_times(
    stack: _Stack,
    bounds: list[tuple[float, float]],
    kept: list[int],
    tops: list[float],
    ph: Phantoms,
    n: float,
) -> tuple[float, float]:
    """The times in which the kept votes suffice: every vote above stands (`high` is at or
    above the phantom at the weight above) and the last kept vote is overtaken."""
    lo, hi = ph.domain(n)
    last = [s + size - 3 for s, size in zip(stack.starts, stack.sizes, strict=True)]
    ends = stack.frame.select("v", "w").gather(last)
    per_column = pl.DataFrame(
        {
            "low": [low for low, _ in bounds],
            "high": [high for _, high in bounds],
            "top": tops,
            "kept": kept,
            "last_v": ends.get_column("v"),
            "last_w": ends.get_column("w"),
        },
        schema_overrides={"low": pl.Float64, "high": pl.Float64, "top": pl.Float64},
    )
    above = ph.crossing(pl.col("high"), pl.col("top"), n)
    below = pl.when(pl.col("kept") > 0).then(ph.crossing(pl.col("last_v"), pl.col("last_w"), n))
    limits = per_column.select(
        hi=above.filter(pl.col("top") > 0).min(),
        lo=below.otherwise(INF).filter(pl.col("low") > -INF).max(),
    ).row(0)
    return (
        lo if limits[1] is None else max(lo, limits[1]),
        hi if limits[0] is None else min(hi, limits[0]),
    )
