"""Per-line statistics over submissions: Polars expressions, no Python loop over submissions."""

from __future__ import annotations

import polars as pl

LINE_STATS_SCHEMA = {
    "line_id": pl.String(),
    "department": pl.String(),
    "program": pl.String(),
    "kind": pl.String(),
    "baseline": pl.Int64(),
    "submissions": pl.UInt32(),
    "mean": pl.Float64(),
    "median": pl.Float64(),
    "share_raised": pl.Float64(),
    "share_cut": pl.Float64(),
    "share_kept": pl.Float64(),
}


def line_stats(allocations: pl.DataFrame | pl.LazyFrame, lines: pl.DataFrame) -> pl.DataFrame:
    """Per line, in the budget's order: baseline, submissions, mean and median amount (cents),
    and the shares of residents who raised, cut or kept it.

    `allocations` is long: (submission_id, line_id, amount); `lines` is a budget's line frame.
    """
    baseline = lines.lazy().select(
        line_id="id", department="department", program="program", kind="kind", baseline="amount"
    )
    amount, base = pl.col("amount"), pl.col("baseline")
    per_line = (
        allocations.lazy()
        .join(baseline.select("line_id", "baseline"), on="line_id", how="inner")
        .group_by("line_id")
        .agg(
            submissions=pl.len(),
            mean=amount.mean(),
            median=amount.median(),
            share_raised=(amount > base).mean(),
            share_cut=(amount < base).mean(),
            share_kept=(amount == base).mean(),
        )
    )
    return (
        baseline.join(per_line, on="line_id", how="left", maintain_order="left")
        .with_columns(pl.col("submissions").fill_null(0).cast(pl.UInt32))
        .select(list(LINE_STATS_SCHEMA))
        .collect()
        .cast(LINE_STATS_SCHEMA)
    )
