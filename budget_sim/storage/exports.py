"""Submissions as one wide table (one row per submission), and a cache that keeps that table in
memory per budget, reading only the submissions stored since it was last brought up to date."""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl
from sqlalchemy import Engine

from budget_sim.storage.submissions import (
    MISSING,
    Stamp,
    StoredVersion,
    comment_rows,
    stored_versions,
    submission_rows,
    submission_stamp,
)

# Each submission's revision: the number of the uploaded revision it was made against (empty
# for a budget package on disk) and that version's digest (Budget.version), which is always set.
HEAD = ("receipt", "submitted_at", "locale", "synthetic", "revision", "budget_version")


def submissions_table(
    engine: Engine, slug: str, line_ids: Sequence[str], *, include_synthetic: bool = False
) -> pl.DataFrame:
    """receipt, submitted_at, locale, synthetic, revision, budget_version, then a column per line
    (cents, in `line_ids` order), then one per line a later revision removed (`removed_lines`:
    the amounts earlier residents gave them are kept), `answer.<question>` per question answered
    by anyone, `comment` and `comment.<line>`. Flagged submissions are left out; demo ones
    unless asked for."""
    table = _read(engine, slug, line_ids, after_id=0).table.drop("submission_id")
    return table if include_synthetic else table.filter(~pl.col("synthetic"))


@dataclass(frozen=True)
class _Read:
    table: pl.DataFrame
    highest_id: int


def _read(
    engine: Engine, slug: str, line_ids: Sequence[str], *, after_id: int, set_aside: bool = False
) -> _Read:
    rows = submission_rows(engine, slug, after_id=after_id, set_aside=set_aside)
    comments = (
        comment_rows(engine, slug, after_id=after_id, set_aside=set_aside) if rows.height else None
    )
    versions = stored_versions(engine, slug) if rows.height else {}
    table = _widen(rows, comments, versions, line_ids)
    highest = int(rows["submission_id"].max()) if rows.height else after_id  # type: ignore[arg-type]
    return _Read(table, highest)


def _widen(
    rows: pl.DataFrame,
    comments: pl.DataFrame | None,
    versions: dict[int, StoredVersion],
    line_ids: Sequence[str],
) -> pl.DataFrame:
    """Unpack each budget version's amounts into a column per line (lines a later revision
    removed included), answers into `answer.*` columns and comments into `comment*` columns."""
    parts = []
    removed: dict[str, None] = {}  # in the order the versions list them
    for version, part in rows.partition_by("version_id", as_dict=True).items():
        stored = versions[version[0]]  # type: ignore[index]
        packed = stored.line_ids
        removed.update((line, None) for line in packed if line not in line_ids)
        array = part.get_column("amounts").bin.reinterpret(
            dtype=pl.Array(pl.Int64, len(packed))
        )  # decoded once; each line's column is then one gather
        amount = [array.arr.get(index).alias(line) for index, line in enumerate(packed)]
        parts.append(
            part.select("submission_id", *HEAD[:4], "answers").with_columns(
                pl.lit(stored.revision, pl.Int64).alias("revision"),
                pl.lit(stored.digest, pl.String).alias("budget_version"),
                *amount,
            )
        )
    if parts:
        table = pl.concat(parts, how="diagonal").sort("submission_id")
    else:
        table = rows.select("submission_id", *HEAD[:4], "answers").with_columns(
            revision=pl.lit(None, pl.Int64), budget_version=pl.lit(None, pl.String)
        )
    table = table.with_columns(
        (
            pl.when(pl.col(line) != MISSING).then(pl.col(line))
            if line in table.columns
            else pl.lit(None)
        )
        .cast(pl.Int64)
        .alias(line)
        for line in [*line_ids, *removed]
    )
    table = table.join(
        _answer_columns(table["answers"]), on="answers", how="left", maintain_order="left"
    ).drop("answers")
    if comments is not None and comments.height:
        wide = comments.with_columns(
            k=pl.when(pl.col("line_id") == "")
            .then(pl.lit("comment"))
            .otherwise("comment." + pl.col("line_id"))
        ).pivot(on="k", index="submission_id", values="text")
        table = table.join(wide, on="submission_id", how="left", maintain_order="left")
    return _ordered(table, line_ids)


def _answer_columns(answers: pl.Series) -> pl.DataFrame:
    """One row per distinct JSON text of answers: `answers` and an `answer.<question>` column
    per question. Residents give few distinct answer sets, so only those are parsed."""
    distinct = answers.unique(maintain_order=True)
    parsed = [json.loads(text) for text in distinct]
    keys = sorted({key for answer in parsed for key in answer})
    return pl.DataFrame(
        {
            "answers": distinct,
            **{f"answer.{key}": [answer.get(key) for answer in parsed] for key in keys},
        },
        schema={"answers": pl.String, **{f"answer.{key}": pl.String for key in keys}},
    )


@dataclass
class _Entry:
    line_ids: tuple[str, ...]
    stamp: Stamp  # the submissions' state before the last read
    highest_id: int  # the highest id read
    table: pl.DataFrame  # every submission read, demo ones included
    real: pl.DataFrame | None = None  # the same without demo submissions, made on first use


class SubmissionTables:
    """The wide submissions table of each budget, kept in memory (with and, once asked for,
    without the submissions set aside). Each `get` costs one indexed query; when submissions
    were only stored since, just those are read and appended. Anything else (a submission set
    aside or restored, a new set of lines) makes a full read."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._entries: dict[tuple[str, bool], _Entry] = {}
        self._stamps: dict[str, Stamp] = {}  # the newest seen per budget
        self._lock = threading.Lock()

    def get(
        self,
        slug: str,
        line_ids: Sequence[str],
        *,
        include_synthetic: bool,
        include_set_aside: bool = False,
    ) -> tuple[pl.DataFrame, Stamp]:
        """The table (as `submissions_table` makes it, or with the submissions set aside too)
        and the state of the submissions it is current for."""
        with self._lock:  # one refresh at a time: concurrent requests wait for it, not repeat it
            entry = self._refresh(slug, tuple(line_ids), include_set_aside)
            if not include_synthetic and entry.real is None:
                entry.real = entry.table.filter(~pl.col("synthetic"))
        table = entry.table if include_synthetic else entry.real
        assert table is not None
        return table.drop("submission_id"), entry.stamp

    def last_stamp(self, slug: str) -> Stamp | None:
        """The state of a budget's submissions as of its last `get` (no query), if any."""
        with self._lock:
            return self._stamps.get(slug)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._stamps.clear()

    def _refresh(self, slug: str, line_ids: tuple[str, ...], set_aside: bool) -> _Entry:
        stamp = self._stamps[slug] = submission_stamp(self._engine, slug)
        entry = self._entries.get((slug, set_aside))
        expected = stamp.unflagged + (stamp.flagged if set_aside else 0)
        if entry is not None and entry.line_ids == line_ids:
            if entry.stamp == stamp:
                return entry
            same_flags = (entry.stamp.flagged, entry.stamp.aside) == (stamp.flagged, stamp.aside)
            if same_flags and expected > entry.table.height:  # only stored since
                new = _read(
                    self._engine, slug, line_ids, after_id=entry.highest_id, set_aside=set_aside
                )
                table = pl.concat([entry.table, new.table], how="diagonal_relaxed")
                if table.height >= expected:  # nothing missing (rows stored since may be in)
                    entry = _Entry(line_ids, stamp, new.highest_id, _ordered(table, line_ids))
                    self._entries[(slug, set_aside)] = entry
                    return entry
        read = _read(self._engine, slug, line_ids, after_id=0, set_aside=set_aside)
        entry = _Entry(line_ids, stamp, read.highest_id, read.table)
        self._entries[(slug, set_aside)] = entry
        return entry


def removed_lines(table: pl.DataFrame, line_ids: Sequence[str]) -> list[str]:
    """The amount columns of `table` for lines that are not in `line_ids` (a later revision
    removed them), in table order."""
    known = {"submission_id", *HEAD, *line_ids}
    return [c for c in table.columns if c not in known and not c.startswith(("answer.", "comment"))]


def _ordered(table: pl.DataFrame, line_ids: Sequence[str]) -> pl.DataFrame:
    extra = sorted(c for c in table.columns if c.startswith(("answer.", "comment")))
    return table.select("submission_id", *HEAD, *line_ids, *removed_lines(table, line_ids), *extra)
