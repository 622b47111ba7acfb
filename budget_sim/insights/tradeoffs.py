"""Trade-offs: which lines residents move together.

The Pearson correlation, over submissions, of the amounts two lines were given (the same as of
their changes from the city's amounts), weighted when post-stratified, with a Fisher z 95%
interval on the effective sample size. Locked lines, and lines fewer than `MIN_MOVERS` residents
moved, are left out; with fewer than `MIN_SUBMISSIONS` submissions there is nothing to say.

Most residents move few lines, so a correlation rests on the residents who moved both lines. A
pair is tested only when, were the two lines unrelated, at least `MIN_EXPECTED_BOTH` residents
would be expected to move both (moved_a x moved_b / n): with fewer, one or two residents who
happen to move both make a "correlation" that the normal approximation calls very unlikely
(by simulation, p < 0.0001 in 1% of unrelated sparse pairs instead of 0.01%). The tested pairs
are one family under the Benjamini-Hochberg false discovery rate control (`discoveries`): a pair
is listed only when its q-value is at most 5%.

A pair's p-value is the larger of two: the Fisher z test of its correlation (exact for normal
amounts) and the self-normalised sum of the residents' products of standardised amounts, the
sum over the square root of the sum of squares (Efron 1969; robust to the heavy tails of a few
residents moving both lines a lot). With the Fisher test alone, 28 of 400 simulated tables of
unrelated sparse lines listed a pair (7.0%, above the 5% the control promises); with both, 6 of
400 (1.5%): `benchmarks/tradeoff_noise.py`, BENCHMARKS.md ("Trade-offs in noise").

Every correlation comes from one pass over the table: each line is standardised (weighted mean
0, variance 1, times √w) once, then the sums of products of every pair are taken chunk by chunk
in float32, so a chunk's columns stay in cache (40 lines x 1,000,000 submissions: well under a
second). A line a revision added has no amount in the submissions made before it: its pairs are
taken over the submissions that have both amounts (their n is that count), and a pair with fewer
than `MIN_SUBMISSIONS` of them is left out."""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import combinations

import polars as pl

from budget_sim.insights.dashboard import Z95, kish_n_eff
from budget_sim.insights.discoveries import FDR, Family, adjust, normal_two_sided

MIN_SUBMISSIONS = 30  # fewer: no correlation is worth reading
MIN_MOVERS = 10  # a line fewer residents moved than this is left out
MIN_EXPECTED_BOTH = 10  # a pair fewer would move both by chance is not tested (see above)
MAX_LINES = 40  # the lines most residents moved (40 lines: 780 pairs)
CHUNK_ROWS = 1 << 17

SCHEMA = {
    "line_a": pl.String,
    "name_a": pl.String,
    "line_b": pl.String,
    "name_b": pl.String,
    "correlation": pl.Float64,
    "correlation_low95": pl.Float64,
    "correlation_high95": pl.Float64,
    "submissions": pl.Int64,
    "moved_a": pl.Int64,
    "moved_b": pl.Int64,
    "p_value": pl.Float64,
    "q_value": pl.Float64,
    "reading": pl.String,
}


def line_names(lines: pl.DataFrame) -> dict[str, str]:
    """Each line's name for sentences: "Department: Program", or the program alone when it is
    named like its department."""
    name = (
        pl.when(pl.col("program") == pl.col("department"))
        .then(pl.col("program"))
        .otherwise(pl.format("{}: {}", "department", "program"))
    )
    return dict(lines.select("id", name).iter_rows())


def _amounts(table: pl.DataFrame, columns: list[str]) -> list[pl.Expr]:
    """The amounts of `columns`, a NaN (only a float column can hold one) counted as missing
    like a null (a line added by a revision has none in older submissions)."""
    return [pl.col(c).fill_nan(None) if table.schema[c].is_float() else pl.col(c) for c in columns]


def movers(table: pl.DataFrame, lines: pl.DataFrame) -> dict[str, int]:
    """How many submissions changed each unlocked line from the city's amount (submissions
    without an amount for a line, made before a revision added it, did not move it)."""
    unlocked = lines.filter(~pl.col("locked") & pl.col("id").is_in(table.columns))
    if unlocked.is_empty() or table.is_empty():
        return dict.fromkeys(unlocked["id"].to_list(), 0)
    amounts = dict(unlocked.select("id", "amount").iter_rows())
    counts = table.select(
        (x != amounts[x.meta.output_name()]).sum() for x in _amounts(table, list(amounts))
    )
    return counts.row(0, named=True)


def _moments(
    frame: pl.DataFrame, columns: list[str], weighted: bool
) -> tuple[dict[str, float], dict[str, float]]:
    """Each column's (weighted) mean and standard deviation over the rows that have a value
    (weights in column `__w`). A column whose values (of positive weight) are all the same has
    spread 0, exactly: a mean rounded in the last place must not make it look like it varies."""
    w = pl.col("__w") if weighted else pl.lit(1.0)
    counted = [pl.col(c).filter(w > 0) for c in columns]
    varies = frame.select(
        (x.min() < x.max()).fill_null(False).alias(c) for c, x in zip(columns, counted, strict=True)
    ).row(0, named=True)
    if not weighted:
        stats = frame.select(
            *(pl.col(c).mean().alias(f"{c}\tmean") for c in columns),
            *(pl.col(c).std(ddof=0).alias(f"{c}\tsd") for c in columns),
        ).row(0, named=True)
    else:
        w = pl.col("__w")
        total = {c: pl.when(pl.col(c).is_not_null()).then(w).sum() for c in columns}
        means = frame.select(
            ((pl.col(c).cast(pl.Float64) * w).sum() / total[c]).alias(f"{c}\tmean") for c in columns
        ).row(0, named=True)
        stats = means | frame.select(
            ((pl.col(c).cast(pl.Float64) - means[f"{c}\tmean"]) ** 2 * w)
            .sum()
            .truediv(total[c])
            .sqrt()
            .alias(f"{c}\tsd")
            for c in columns
        ).row(0, named=True)
    return (
        {c: stats[f"{c}\tmean"] for c in columns},
        {c: (stats[f"{c}\tsd"] or 0.0) if varies[c] else 0.0 for c in columns},
    )


@dataclass(frozen=True)
class Pair:
    """The correlation of two lines and the submissions it rests on: `n` had an amount for
    both, of effective size `n_eff` (Kish) when weighted. `statistic`: the sum of the
    residents' products of (weighted) standardised amounts over the square root of the sum of
    their squares, the self-normalised test statistic (see `tested`)."""

    correlation: float
    n: int
    n_eff: float
    statistic: float = 0.0


def correlations(
    table: pl.DataFrame, columns: list[str], weights: pl.Series | None = None
) -> dict[tuple[str, str], float]:
    """The (weighted) Pearson correlation of every pair of `columns` that vary."""
    return {pair: found.correlation for pair, found in pairs_of(table, columns, weights).items()}


def pairs_of(
    table: pl.DataFrame, columns: list[str], weights: pl.Series | None = None
) -> dict[tuple[str, str], Pair]:
    """The (weighted) Pearson correlation of every pair of `columns` that vary, with the
    submissions it rests on. A pair where a line has no amount in some submissions (a revision
    added it) is taken over the submissions that have both (pairwise complete)."""
    if not columns or table.is_empty():
        return {}
    frame = table.select(_amounts(table, columns))
    if weights is not None:
        frame = frame.with_columns(
            weights.cast(pl.Float64).alias("__w"), weights.cast(pl.Float64).sqrt().alias("__sw")
        )
    means, spreads = _moments(frame, columns, weights is not None)
    varying = [c for c in columns if spreads[c] > 0]
    pairs = list(combinations(varying, 2))
    if not pairs:
        return {}
    gappy = {c for c in varying if frame.get_column(c).null_count()}
    complete = [(a, b) for a, b in pairs if a not in gappy and b not in gappy]
    found = _complete_pairs(frame, complete, means, spreads, weights)
    found |= _gappy_pairs(
        frame, [p for p in pairs if gappy.intersection(p)], means, spreads, weights is not None
    )
    return {pair: found[pair] for pair in pairs if pair in found}


def _complete_pairs(
    frame: pl.DataFrame,
    pairs: list[tuple[str, str]],
    means: dict[str, float],
    spreads: dict[str, float],
    weights: pl.Series | None,
) -> dict[tuple[str, str], Pair]:
    """The pairs of lines every submission has an amount for: one chunked pass in float32."""
    if not pairs:
        return {}
    used = list(dict.fromkeys(c for pair in pairs for c in pair))
    standardised = [
        (
            (pl.col(c) - means[c]) * (1 / spreads[c])
            if weights is None
            else (pl.col(c) - means[c]) * (1 / spreads[c]) * pl.col("__sw")
        )
        .cast(pl.Float32)
        .alias(c)
        for c in used
    ]
    products = [(pl.col(a) * pl.col(b)).sum().alias(f"{a}\t{b}") for a, b in pairs]
    squares = [
        (pl.col(a) * pl.col(b)).pow(2).sum().alias(f"{a}\t{b}\tsq")
        for a, b in pairs
    ]
    chunks = [
        frame.slice(start, CHUNK_ROWS).select(standardised).select(*products, *squares)
        for start in range(0, frame.height, CHUNK_ROWS)
    ]
    sums = pl.concat(chunks).select(pl.all().cast(pl.Float64).sum()).row(0)
    total_weight = float(weights.sum()) if weights is not None else float(frame.height)
    n_eff = kish_n_eff(weights) if weights is not None else float(frame.height)
    found = {}
    for i, pair in enumerate(pairs):
        value, square = sums[i], sums[len(pairs) + i]
        statistic = value / math.sqrt(square) if square > 0 else 0.0
        r = max(-1.0, min(1.0, value / total_weight))
        found[pair] = Pair(r, frame.height, n_eff, statistic)
    return found


def _gappy_pairs(
    frame: pl.DataFrame,
    pairs: list[tuple[str, str]],
    means: dict[str, float],
    spreads: dict[str, float],
    weighted: bool,
) -> dict[tuple[str, str], Pair]:
    """The pairs where some submissions lack an amount: each over the submissions that have
    both, in float64 from the lines standardised over all their amounts (well conditioned).
    A pair that does not vary on those submissions is left out."""
    if not pairs:
        return {}
    w = pl.col("__w") if weighted else pl.lit(1.0)
    expressions = []
    for i, (a, b) in enumerate(pairs):
        za = (pl.col(a) - means[a]) * (1 / spreads[a])
        zb = (pl.col(b) - means[b]) * (1 / spreads[b])
        both = pl.col(a).is_not_null() & pl.col(b).is_not_null()
        wb = pl.when(both).then(w)
        counted = both & (w > 0)
        expressions += [
            both.sum().cast(pl.Int64).alias(f"{i}\tn"),
            wb.sum().alias(f"{i}\tw"),
            (wb**2).sum().alias(f"{i}\tww"),
            (wb * za).sum().alias(f"{i}\ta"),
            (wb * zb).sum().alias(f"{i}\tb"),
            (wb * za * za).sum().alias(f"{i}\taa"),
            (wb * zb * zb).sum().alias(f"{i}\tbb"),
            (wb * za * zb).sum().alias(f"{i}\tab"),
            (
                (pl.col(a).filter(counted).min() < pl.col(a).filter(counted).max())
                & (pl.col(b).filter(counted).min() < pl.col(b).filter(counted).max())
            )
            .fill_null(False)
            .alias(f"{i}\tvaries"),
        ]
    sums = frame.select(expressions).row(0, named=True)
    kept = {}
    for i, pair in enumerate(pairs):
        s = {k: sums[f"{i}\t{k}"] for k in ("n", "w", "ww", "a", "b", "aa", "bb", "ab", "varies")}
        if not s["varies"]:
            continue
        total = s["w"]
        covariance = s["ab"] - s["a"] * s["b"] / total
        spread = (s["aa"] - s["a"] ** 2 / total) * (s["bb"] - s["b"] ** 2 / total)
        if spread > 0:
            kept[i] = (pair, s, covariance, spread)
    # Second pass: the sum of the squared products of the amounts centred on the submissions
    # that have both, for the self-normalised statistic.
    squares = (
        frame.select(
            (
                pl.when(pl.col(a).is_not_null() & pl.col(b).is_not_null()).then(w).pow(2)
                * ((pl.col(a) - means[a]) * (1 / spreads[a]) - s["a"] / s["w"]).pow(2)
                * ((pl.col(b) - means[b]) * (1 / spreads[b]) - s["b"] / s["w"]).pow(2)
            )
            .sum()
            .alias(str(i))
            for i, ((a, b), s, _c, _v) in kept.items()
        ).row(0, named=True)
        if kept
        else {}
    )
    found = {}
    for i, (pair, s, covariance, spread) in kept.items():
        r = max(-1.0, min(1.0, covariance / math.sqrt(spread)))
        square = squares[str(i)]
        statistic = covariance / math.sqrt(square) if square > 0 else 0.0
        found[pair] = Pair(r, s["n"], s["w"] * s["w"] / s["ww"], statistic)
    return found


def _strength(r: float) -> str:
    size = abs(r)
    return "strong" if size >= 0.5 else "moderate" if size >= 0.3 else "weak"


def reading(r: float, a: str, b: str) -> str:
    """The correlation in plain words."""
    if r > 0:
        return f"{_strength(r).capitalize()}: residents who raised {a} tended to raise {b} too."
    return f"{_strength(r).capitalize()}: residents who raised {a} tended to cut {b}."


def tested(
    table: pl.DataFrame, lines: pl.DataFrame, weights: pl.Series | None = None
) -> pl.DataFrame:
    """Every pair of lines tested, with its correlation, Fisher z 95% interval, n, p-value and
    Benjamini-Hochberg q-value (columns line_a, line_b, correlation, correlation_low95,
    correlation_high95, submissions, p_value, q_value)."""
    schema = {
        "line_a": pl.String,
        "line_b": pl.String,
        "correlation": pl.Float64,
        "correlation_low95": pl.Float64,
        "correlation_high95": pl.Float64,
        "submissions": pl.Int64,
        "p_value": pl.Float64,
        "q_value": pl.Float64,
    }
    moved = movers(table, lines)
    if table.height < MIN_SUBMISSIONS:
        return pl.DataFrame(schema=schema)
    often = sorted((c for c, n in moved.items() if n >= MIN_MOVERS), key=lambda c: -moved[c])
    chosen = set(often[:MAX_LINES])
    columns = [c for c in lines["id"].to_list() if c in chosen]  # in the budget's order
    found = {
        pair: it
        for pair, it in pairs_of(table, columns, weights).items()
        if it.n >= MIN_SUBMISSIONS
        and moved[pair[0]] * moved[pair[1]] / table.height >= MIN_EXPECTED_BOTH
    }
    rows = []
    for (a, b), it in found.items():
        z = math.atanh(max(-1.0, min(1.0, it.correlation)) * (1 - 1e-12))
        root = math.sqrt(max(it.n_eff - 3, 1.0))
        half = Z95 / root
        # The larger of the Fisher z and the self-normalised p-values (see the module's notes).
        p = max(normal_two_sided(z * root), normal_two_sided(it.statistic))
        rows.append((a, b, it.correlation, math.tanh(z - half), math.tanh(z + half), it.n, p))
    q = adjust([row[-1] for row in rows])
    return pl.DataFrame(
        [(*row, q_value) for row, q_value in zip(rows, q, strict=True)],
        schema=schema,
        orient="row",
    )


def family(pairs: pl.DataFrame) -> Family:
    """The tested pairs after the false discovery rate control (m tested, k clear)."""
    return Family.of(pairs["q_value"], "pairs of lines")


def strongest(
    table: pl.DataFrame,
    lines: pl.DataFrame,
    weights: pl.Series | None = None,
    *,
    top: int = 10,
    pairs: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """The `top` most positive then the `top` most negative pairs of lines that remain after
    the false discovery rate control (q-value at most 5%): correlation with its interval, n,
    how many moved each line, p- and q-value, a reading. `pairs`: `tested(...)` if already
    computed."""
    if pairs is None:
        pairs = tested(table, lines, weights)
    pairs = pairs.filter(pl.col("q_value") <= FDR)
    if pairs.is_empty():
        return pl.DataFrame(schema=SCHEMA)
    moved = movers(table, lines)
    names = line_names(lines)
    picked = pl.concat(
        [
            pairs.filter(pl.col("correlation") > 0).sort("correlation", descending=True).head(top),
            pairs.filter(pl.col("correlation") < 0).sort("correlation").head(top),
        ]
    )
    rows = [
        {
            **row,
            "name_a": names[row["line_a"]],
            "name_b": names[row["line_b"]],
            "moved_a": moved[row["line_a"]],
            "moved_b": moved[row["line_b"]],
            "reading": reading(row["correlation"], names[row["line_a"]], names[row["line_b"]]),
        }
        for row in picked.iter_rows(named=True)
    ]
    return pl.DataFrame(rows, schema=SCHEMA)
