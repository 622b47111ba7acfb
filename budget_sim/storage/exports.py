"""Submissions as one wide table (one row per submission), read through Arrow."""

from __future__ import annotations

import polars as pl
from sqlalchemy import Engine

from budget_sim.storage.submissions import SLUG, allocations_frame, read_frame

_read = read_frame


def submissions_table(
    engine: Engine, slug: str, line_ids: list[str], *, include_synthetic: bool = False
) -> pl.DataFrame:
    """receipt, submitted_at, locale, synthetic, then a column per line (cents, in `line_ids`
    order), `answer.<question>` per question answered by anyone, `comment` and `comment.<line>`.
    Flagged submissions are left out."""
    if not SLUG.fullmatch(slug):
        raise ValueError(f"not a budget slug: {slug!r}")
    synthetic = "" if include_synthetic else " AND synthetic = FALSE"
    where = f"budget_slug = '{slug}' AND flagged = FALSE{synthetic}"
    head = _read(
        engine,
        "SELECT id AS submission_id, receipt, created_at AS submitted_at, locale, synthetic "
        f"FROM submissions WHERE {where} ORDER BY id",
    ).cast({"submission_id": pl.Int64, "synthetic": pl.Boolean})
    when = head.schema["submitted_at"]
    if when == pl.String:  # SQLite keeps times as text, in UTC
        head = head.with_columns(pl.col("submitted_at").str.to_datetime(time_zone="UTC"))
    elif isinstance(when, pl.Datetime):
        utc = pl.col("submitted_at")
        utc = utc.dt.convert_time_zone("UTC") if when.time_zone else utc.dt.replace_time_zone("UTC")
        head = head.with_columns(utc)
    if head.is_empty():
        return head.with_columns(pl.lit(None, pl.Int64).alias(line) for line in line_ids)
    amounts = allocations_frame(engine, slug, include_synthetic=include_synthetic).pivot(
        on="line_id", index="submission_id", values="amount"
    )
    table = head.join(amounts, on="submission_id", how="left").with_columns(
        pl.lit(None, pl.Int64).alias(line) for line in line_ids if line not in amounts.columns
    )
    inner = f"SELECT id FROM submissions WHERE {where}"
    for source, key, value, prefix in (
        ("answers", "question_id", "value", "answer."),
        ("comments", "line_id", "text", "comment."),
    ):
        long = _read(
            engine,
            f"SELECT submission_id, {key} AS k, {value} AS v FROM {source} "
            f"WHERE submission_id IN ({inner})",
        )
        if long.is_empty():
            continue
        wide = (
            long.cast({"submission_id": pl.Int64, "k": pl.String, "v": pl.String})
            .with_columns(
                k=pl.when(pl.col("k") == "").then(pl.lit("comment")).otherwise(prefix + pl.col("k"))
            )
            .pivot(on="k", index="submission_id", values="v")
        )
        table = table.join(wide, on="submission_id", how="left")
    extra = sorted(c for c in table.columns if c.startswith(("answer.", "comment")))
    return table.select("receipt", "submitted_at", "locale", "synthetic", *line_ids, *extra)
