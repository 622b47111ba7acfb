"""Per-line limits derived from the budget's rules, as Polars expressions."""

from __future__ import annotations

import polars as pl

from budget_sim.money import CENTS_PER_UNIT


def default_step(step_percent: float) -> pl.Expr:
    """Step = step_percent of |amount|, rounded to two significant whole units (at least 1 unit)."""
    raw = pl.col("amount").abs().cast(pl.Float64) * (step_percent / 100.0)
    magnitude = (10.0 ** (raw.log10().floor() - 1)).clip(lower_bound=CENTS_PER_UNIT)
    rounded = ((raw / magnitude).round() * magnitude).cast(pl.Int64)
    whole_units = (rounded // CENTS_PER_UNIT) * CENTS_PER_UNIT
    return (
        pl.when(raw < CENTS_PER_UNIT)
        .then(pl.lit(CENTS_PER_UNIT, pl.Int64))
        .otherwise(whole_units.clip(lower_bound=CENTS_PER_UNIT))
    )


def _steps_within(percent: float) -> pl.Expr:
    """How many whole steps fit inside `percent` of |amount|."""
    reach = pl.col("amount").abs().cast(pl.Float64) * (abs(percent) / 100.0)
    return (reach / pl.col("step").cast(pl.Float64)).floor().cast(pl.Int64)


def default_min(min_change_percent: float) -> pl.Expr:
    """Lowest amount: the amount less the whole steps that fit in the allowed cut."""
    if min_change_percent >= 0:
        return pl.col("amount")
    return pl.col("amount") - _steps_within(min_change_percent) * pl.col("step")


def default_max(max_change_percent: float) -> pl.Expr:
    """Highest amount: the amount plus the whole steps that fit in the allowed increase."""
    if max_change_percent <= 0:
        return pl.col("amount")
    return pl.col("amount") + _steps_within(max_change_percent) * pl.col("step")
