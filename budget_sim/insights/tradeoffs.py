"""Trade-offs: which lines residents move together.

The Pearson correlation, over submissions, of the amounts two lines were given (the same as of
their changes from the city's amounts), weighted when post-stratified, with a Fisher z 95%
interval on the effective sample size. Locked lines, and lines fewer than `MIN_MOVERS` residents
moved, are left out; with fewer than `MIN_SUBMISSIONS` submissions there is nothing to say.

Every correlation comes from one pass over the table: each line is standardised (weighted mean
0, variance 1, times √w) once, then the sums of products of every pair are taken chunk by chunk
in float32, so a chunk's columns stay in cache (40 lines x 1,000,000 submissions: well under a
second)."""

from __future__ import annotations

from itertools import combinations

import polars as pl

from budget_sim.insights.dashboard import Z95, kish_n_eff

MIN_SUBMISSIONS = 30  # fewer: no correlation is worth reading
MIN_MOVERS = 10  # a line fewer residents moved than this is left out
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


def movers(table: pl.DataFrame, lines: pl.DataFrame) -> dict[str, int]:
    """How many submissions changed each unlocked line from the city's amount."""
    unlocked = lines.filter(~pl.col("locked") & pl.col("id").is_in(table.columns))
    if unlocked.is_empty() or table.is_empty():
        return dict.fromkeys(unlocked["id"].to_list(), 0)
    counts = table.select(
        (pl.col(key) != amount).sum().alias(key)
        for key, amount in unlocked.select("id", "amount").iter_rows()
    )
    return counts.row(0, named=True)


def _moments(
    frame: pl.DataFrame, columns: list[str], weighted: bool
) -> tuple[dict[str, float], dict[str, float]]:
    """Each column's (weighted) mean and standard deviation (weights in column `__w`)."""
    if not weighted:
        stats = frame.select(
            *(pl.col(c).mean().alias(f"{c}\tmean") for c in columns),
            *(pl.col(c).std(ddof=0).alias(f"{c}\tsd") for c in columns),
        ).row(0, named=True)
    else:
        w, total = pl.col("__w"), pl.col("__w").sum()
        means = frame.select(
            ((pl.col(c).cast(pl.Float64) * w).sum() / total).alias(f"{c}\tmean") for c in columns
        ).row(0, named=True)
        stats = means | frame.select(
            ((pl.col(c).cast(pl.Float64) - means[f"{c}\tmean"]) ** 2 * w)
            .sum()
            .truediv(total)
            .sqrt()
            .alias(f"{c}\tsd")
            for c in columns
        ).row(0, named=True)
    return (
        {c: stats[f"{c}\tmean"] for c in columns},
        {c: stats[f"{c}\tsd"] or 0.0 for c in columns},
    )


def correlations(
    table: pl.DataFrame, columns: list[str], weights: pl.Series | None = None
) -> dict[tuple[str, str], float]:
    """The (weighted) Pearson correlation of every pair of `columns` that vary."""
    frame = table.select(columns)
    if weights is not None:
        frame = frame.with_columns(
            weights.cast(pl.Float64).alias("__w"), weights.cast(pl.Float64).sqrt().alias("__sw")
        )
    means, spreads = _moments(frame, columns, weights is not None)
    varying = [c for c in columns if spreads[c] > 0]
    pairs = list(combinations(varying, 2))
    if not pairs:
        return {}
    standardised = [
        (
            (pl.col(c) - means[c]) * (1 / spreads[c])
            if weights is None
            else (pl.col(c) - means[c]) * (1 / spreads[c]) * pl.col("__sw")
        )
        .cast(pl.Float32)
        .alias(c)
        for c in varying
    ]
    products = [(pl.col(a) * pl.col(b)).sum().alias(f"{a}\t{b}") for a, b in pairs]
    chunks = [
        frame.slice(start, CHUNK_ROWS).select(standardised).select(products)
        for start in range(0, frame.height, CHUNK_ROWS)
    ]
    sums = pl.concat(chunks).select(pl.all().cast(pl.Float64).sum()).row(0)
    total_weight = float(weights.sum()) if weights is not None else float(frame.height)
    return {
        pair: max(-1.0, min(1.0, value / total_weight))
        for pair, value in zip(pairs, sums, strict=True)
    }


def _strength(r: float) -> str:
    size = abs(r)
    return "strong" if size >= 0.5 else "moderate" if size >= 0.3 else "weak"


def reading(r: float, a: str, b: str) -> str:
    """The correlation in plain words."""
    if r > 0:
        return f"{_strength(r).capitalize()}: residents who raised {a} tended to raise {b} too."
    return f"{_strength(r).capitalize()}: residents who raised {a} tended to cut {b}."


def strongest(
    table: pl.DataFrame,
    lines: pl.DataFrame,
    weights: pl.Series | None = None,
    *,
    top: int = 10,
) -> pl.DataFrame:
    """The `top` most positive then the `top` most negative pairs of lines whose 95% interval
    leaves out zero: correlation with its interval, n, how many moved each line, a reading."""
    moved = movers(table, lines)
    if table.height < MIN_SUBMISSIONS:
        return pl.DataFrame(schema=SCHEMA)
    often = sorted((c for c, n in moved.items() if n >= MIN_MOVERS), key=lambda c: -moved[c])
    chosen = set(often[:MAX_LINES])
    columns = [c for c in lines["id"].to_list() if c in chosen]  # in the budget's order
    found = correlations(table, columns, weights)
    if not found:
        return pl.DataFrame(schema=SCHEMA)
    n_eff = kish_n_eff(weights) if weights is not None else float(table.height)
    names = line_names(lines)
    pairs = pl.DataFrame(
        {
            "line_a": [a for a, _ in found],
            "line_b": [b for _, b in found],
            "correlation": list(found.values()),
        },
        schema={"line_a": pl.String, "line_b": pl.String, "correlation": pl.Float64},
    )
    z, half = pl.col("correlation").arctanh(), Z95 / max(n_eff - 3, 1.0) ** 0.5
    pairs = pairs.with_columns(
        correlation_low95=(z - half).tanh(), correlation_high95=(z + half).tanh()
    ).filter((pl.col("correlation_low95") > 0) | (pl.col("correlation_high95") < 0))
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
            "submissions": table.height,
            "moved_a": moved[row["line_a"]],
            "moved_b": moved[row["line_b"]],
            "reading": reading(row["correlation"], names[row["line_a"]], names[row["line_b"]]),
        }
        for row in picked.iter_rows(named=True)
    ]
    return pl.DataFrame(rows, schema=SCHEMA)
