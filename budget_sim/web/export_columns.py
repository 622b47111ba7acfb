"""How tables leave the app (staff downloads, the JSON API, `budget-sim export`, the public
open data): money in currency units as exact decimals (to the cent) named *_amount, shares as
fractions in [0, 1] named share_*."""

from __future__ import annotations

from typing import TypeVar

import polars as pl

from budget_sim.model import Budget
from budget_sim.storage.exports import removed_lines

Frame = TypeVar("Frame", pl.DataFrame, pl.LazyFrame)


def in_units(frame: Frame, columns: list[str]) -> Frame:
    """Cents to currency units with exactly two decimals (a Decimal, never a float)."""
    return frame.with_columns(
        (pl.col(c).cast(pl.Decimal(20, 2)) / 100).cast(pl.Decimal(20, 2)) for c in columns
    )


def submissions_export(table: pl.DataFrame, budget: Budget) -> pl.LazyFrame:
    """The columns staff download (the web and `budget-sim export` alike): the submissions
    table with amounts in currency units, lines a later revision removed included. Lazy, so a
    file writer can stream it."""
    return in_units(table.lazy(), [*budget.line_ids, *removed_lines(table, budget.line_ids)])


# How insight tables are exported (files and the JSON API): money in currency units as exact
# decimals (to the cent) named *_amount, shares as fractions in [0, 1] named share_*.
LINE_MONEY = {
    "city": "city_amount",
    "mean": "mean_amount",
    "mean_low": "mean_amount_low95",
    "mean_high": "mean_amount_high95",
    "median": "median_amount",
    "q1": "q1_amount",
    "q3": "q3_amount",
}
LINE_SHARES = {
    "raised": "share_raised",
    "raised_low": "share_raised_low95",
    "raised_high": "share_raised_high95",
    "cut": "share_cut",
    "cut_low": "share_cut_low95",
    "cut_high": "share_cut_high95",
    "kept": "share_kept",
    "net_support": "net_support",  # share raising minus share cutting, in [-1, 1]
}
WHOLE_MONEY = {
    "city": "city_amount",
    "independent_markets": "independent_markets_amount",
    "mean": "mean_amount",
    "median": "median_rescaled_amount",
    "utilitarian": "majority_view_amount",
    "piecewise_uniform": "piecewise_uniform_amount",
}
# table name (or prefix ending in "-") -> (money columns, other renamed columns)
EXPORT_COLUMNS: dict[str, tuple[dict[str, str], dict[str, str]]] = {
    "lines": (LINE_MONEY, LINE_SHARES),
    "segments-by-": (LINE_MONEY, LINE_SHARES),
    "whole-budget": (WHOLE_MONEY, {}),
    "participation-per-day": ({}, {"total": "running_total"}),
    "participation-by-": (
        {},
        {"share": "share_of_answering", "population_share": "share_of_population"},
    ),
}


def _column_names(name: str) -> tuple[dict[str, str], dict[str, str]]:
    for key, spec in EXPORT_COLUMNS.items():
        if name == key or (key.endswith("-") and name.startswith(key)):
            return spec
    return {}, {}


def export_frame(name: str, frame: pl.DataFrame) -> pl.DataFrame:
    """An insight table as exported: money (cents) in currency units as exact decimals rounded
    to the cent, named *_amount (any column of a table named *_cents too), shares as fractions
    named share_*, NaN as empty."""
    money, others = _column_names(name)
    money = {
        **{c: c.removesuffix("_cents") + "_amount" for c in frame.columns if c.endswith("_cents")},
        **{c: new for c, new in money.items() if c in frame.columns},
    }
    cents = [
        (
            pl.col(c).cast(pl.Float64).fill_nan(None).round(0)
            if frame.schema[c].is_float()
            else pl.col(c)
        )
        .cast(pl.Int64)
        .alias(c)
        for c in money
    ]
    frame = in_units(frame.with_columns(cents), list(money)).with_columns(
        pl.col(pl.Float32, pl.Float64).fill_nan(None)
    )
    renames = {**money, **{c: new for c, new in others.items() if c in frame.columns}}
    return frame.rename(renames)
