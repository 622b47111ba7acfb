"""Segments side by side: for one question (district, age band...), the line table of each
answer, so staff can see where opinion splits. Answers with fewer than `MIN_CELL` submissions
are flagged as too small to read."""

from __future__ import annotations

from statistics import NormalDist

import polars as pl

from budget_sim.insights.dashboard import (
    STATISTICS,
    VERSION,
    Z95,
    Shown,
    interval_columns,
    line_columns,
    line_statistics,
    revised_lines,
)
from budget_sim.model import Question

MIN_CELL = 30  # fewer submissions in an answer: flagged, left out of the splits
NO_ANSWER = "No answer"


def compare(
    table: pl.DataFrame,
    lines: pl.DataFrame,
    question: Question,
    weights: pl.Series | None = None,
    shown: Shown | None = None,
) -> pl.DataFrame:
    """One row per answer and line, answers in the question's order then those who gave none
    (option null): option, label, the columns of `line_table` for that answer's submissions
    (n in `submissions`; `seen`: those of them who saw the line, which a revision may have
    added after some submitted), the 95% margin of net support (normal approximation,
    effective sample size of those who saw it) and `small` (seen < MIN_CELL). Every answer
    in one group-by: one pass however many answers there are."""
    column = f"answer.{question.id}"
    answers = (
        table.get_column(column).cast(pl.String)
        if column in table.columns
        else pl.Series(column, [None] * table.height, dtype=pl.String)
    )
    groups = pl.DataFrame(
        {
            "option": [o.id for o in question.options] + ([None] if answers.null_count() else []),
            "label": [o.label for o in question.options]
            + ([NO_ANSWER] if answers.null_count() else []),
        },
        schema={"option": pl.String, "label": pl.String},
    )
    stats = _statistics(table, lines, weights, answers.rename("option"), shown)
    n = pl.col("seen_eff").clip(lower_bound=1.0)
    spread = pl.col("raised") + pl.col("cut") - (pl.col("raised") - pl.col("cut")) ** 2
    return (
        groups.join(line_columns(lines), how="cross", maintain_order="left_right")
        .join(stats, on=["option", "line_id"], how="left", nulls_equal=True, maintain_order="left")
        .with_columns(
            pl.col("submissions").fill_null(0),
            pl.col("seen").fill_null(0).cast(pl.Int64),
            revised=pl.col("line_id").is_in(list(revised_lines(lines, shown))),
        )
        .with_columns(
            **interval_columns(n),
            net_support_margin95=Z95 * (spread.clip(lower_bound=0) / n).sqrt(),
            small=pl.col("seen") < MIN_CELL,
        )
        .drop("var", "n_eff", "seen_eff")
    )


def _statistics(
    table: pl.DataFrame,
    lines: pl.DataFrame,
    weights: pl.Series | None,
    answers: pl.Series,
    shown: Shown | None = None,
) -> pl.DataFrame:
    """Per answer and line: submissions, n_eff and the statistics `line_table` rests on."""
    kept = [c for c in (*lines["id"], VERSION) if c in table.columns]
    frame = table.select(kept).with_columns(answers)
    expressions = [pl.len().cast(pl.Int64).alias("submissions")]
    if weights is None:
        expressions.append(pl.len().cast(pl.Float64).alias("n_eff"))
    else:
        frame = frame.with_columns(weights.cast(pl.Float64).alias("__w"))
        weight = pl.col("__w")
        expressions.append((weight.sum() ** 2 / (weight**2).sum()).alias("n_eff"))
    expressions += line_statistics(table, lines, weighted=weights is not None, shown=shown)
    wide = frame.group_by("option").agg(expressions)
    if wide.is_empty():  # no submissions (a segment nobody is in): no statistic to pivot
        return pl.DataFrame(
            schema={
                "option": pl.String,
                "line_id": pl.String,
                "submissions": pl.Int64,
                "n_eff": pl.Float64,
                **dict.fromkeys(STATISTICS, pl.Float64),
            }
        )
    return (
        wide.unpivot(index=["option", "submissions", "n_eff"])
        .with_columns(pl.col("variable").str.split_exact("\t", 1).struct.unnest())
        .rename({"field_0": "line_id", "field_1": "statistic"})
        .pivot(on="statistic", index=["option", "submissions", "n_eff", "line_id"], values="value")
        .select("option", "line_id", "submissions", "n_eff", *STATISTICS)
    )


def splits(compared: pl.DataFrame) -> pl.DataFrame:
    """Per unlocked line, how far apart the answers are (not counting "No answer"): the answers
    of at least MIN_CELL submissions with the highest and lowest net support, the gap between
    them (widest first), and whether it is clear: wider than their 95% margins combined
    (sqrt(m1² + m2²)), Bonferroni-widened for all the pairs of answers that could have been
    the extremes, so not likely to be chance."""
    columns = {
        "line_id": pl.String,
        "gap": pl.Float64,
        "highest": pl.String,
        "lowest": pl.String,
        "clear": pl.Boolean,
    }
    if "net_support" not in compared.columns:
        return pl.DataFrame(schema=columns)
    readable = compared.filter(
        ~pl.col("small") & ~pl.col("locked") & pl.col("option").is_not_null()
    )
    by_net = "net_support"
    answers = readable["option"].n_unique()
    pairs = max(answers * (answers - 1) // 2, 1)
    widen = NormalDist().inv_cdf(1 - 0.025 / pairs) / Z95
    return (
        readable.group_by("line_id", maintain_order=True)
        .agg(
            gap=pl.col(by_net).max() - pl.col(by_net).min(),
            highest=pl.col("label").sort_by(by_net).last(),
            lowest=pl.col("label").sort_by(by_net).first(),
            margin=(
                pl.col("net_support_margin95").sort_by(by_net).last() ** 2
                + pl.col("net_support_margin95").sort_by(by_net).first() ** 2
            ).sqrt(),
            answers=pl.len(),
        )
        .filter(pl.col("answers") >= 2)
        .with_columns(clear=pl.col("gap") > pl.col("margin") * widen)
        .select(list(columns))
        .sort("gap", descending=True, maintain_order=True)
        .cast(columns)
    )
