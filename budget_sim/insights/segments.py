"""Segments side by side: for one question (district, age band...), the line table of each
answer, so staff can see where opinion splits. Answers with fewer than `MIN_CELL` submissions
are flagged as too small to read.

Whether the answers differ on a line is tested (a chi-square test of equal net support, see
`splits`), and the lines of one comparison are one family under the Benjamini-Hochberg false
discovery rate control (`discoveries`): with random answers, nothing is called clear."""

from __future__ import annotations

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
from budget_sim.insights.discoveries import FDR, Family, adjust, chi2_sf
from budget_sim.model import Question

MIN_CELL = 30  # fewer submissions in an answer: flagged, left out of the splits
# A line is tested only where every readable answer would have, if the answers did not differ,
# at least this many residents moving it (n x the share moving it overall): with fewer, the
# chi-square approximation claims too much (checked by simulation, tests/insights/test_no_
# discoveries_in_noise.py). Lines below it are shown, but not tested and not counted.
MIN_EXPECTED_MOVERS = 5
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
        .drop("var", "seen_eff")
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


SPLIT_COLUMNS = {
    "line_id": pl.String,
    "gap": pl.Float64,
    "highest": pl.String,
    "lowest": pl.String,
    "answers": pl.Int64,
    "p_value": pl.Float64,
    "q_value": pl.Float64,
    "clear": pl.Boolean,
}


def splits(compared: pl.DataFrame) -> pl.DataFrame:
    """Per unlocked line, how far apart the answers are (not counting "No answer"): the answers
    of at least MIN_CELL submissions with the highest and lowest net support, the gap between
    them (widest first), and whether the answers clearly differ.

    The test: under "every answer has the same net support", with d_g the net support of
    answer g, n_g its effective size, d and v the pooled net support and variance of the
    score (+1 raised, 0 kept, -1 cut), W = sum n_g (d_g - d)^2 / v is chi-square with G - 1
    degrees of freedom (G answers). Lines where an answer would expect fewer than
    MIN_EXPECTED_MOVERS residents moving the line are not tested (p_value null). The p-values
    of the tested lines are adjusted together (Benjamini-Hochberg, `q_value`); `clear` when the
    q-value is at most FDR (5%)."""
    if "net_support" not in compared.columns:
        return pl.DataFrame(schema=SPLIT_COLUMNS)
    readable = compared.filter(
        ~pl.col("small") & ~pl.col("locked") & pl.col("option").is_not_null()
    ).with_columns(
        n=pl.col("n_eff").fill_null(0.0),
        d=pl.col("net_support").fill_null(0.0),
        moved=(pl.col("raised") + pl.col("cut")).fill_null(0.0),
    )
    by_net = "net_support"
    pooled_d = (pl.col("n") * pl.col("d")).sum() / pl.col("n").sum()
    pooled_moved = (pl.col("n") * pl.col("moved")).sum() / pl.col("n").sum()
    found = (
        readable.group_by("line_id", maintain_order=True)
        .agg(
            gap=pl.col(by_net).max() - pl.col(by_net).min(),
            highest=pl.col("label").sort_by(by_net).last(),
            lowest=pl.col("label").sort_by(by_net).first(),
            answers=pl.len(),
            statistic=(pl.col("n") * (pl.col("d") - pooled_d) ** 2).sum()
            / (pooled_moved - pooled_d**2),
            expected=pl.col("n").min() * pooled_moved,
        )
        .filter(pl.col("answers") >= 2)
    )
    p_values = [
        chi2_sf(statistic, answers - 1)
        if expected >= MIN_EXPECTED_MOVERS and statistic == statistic  # NaN: nobody moved it
        else None
        for statistic, answers, expected in found.select(
            "statistic", "answers", "expected"
        ).iter_rows()
    ]
    return (
        found.with_columns(
            p_value=pl.Series(p_values, dtype=pl.Float64),
            q_value=pl.Series(adjust(p_values), dtype=pl.Float64),
        )
        .with_columns(clear=(pl.col("q_value") <= FDR).fill_null(False))
        .select(list(SPLIT_COLUMNS))
        .sort("gap", descending=True, maintain_order=True)
        .cast(SPLIT_COLUMNS)
    )


def family(found_splits: pl.DataFrame) -> Family:
    """The comparison's tests after the false discovery rate control (m tested, k clear)."""
    return Family.of(found_splits["q_value"], "differences between answers")
