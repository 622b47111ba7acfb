"""A workable default tolerance for a new budget, and whether balance is within reach.

Moving the adjustable lines one step at a time, from every line at its lowest to every line at
its highest, walks the balance over its whole range in moves no larger than the largest step.
So when balance lies inside that range, some plan lands within half the largest step of it:
a tolerance of half the largest step (rounded up) always lets a resident submit."""

from __future__ import annotations

import math
from dataclasses import dataclass

import polars as pl

from budget_sim.model.limits import default_max, default_min, default_step
from budget_sim.money import CENTS_PER_UNIT


@dataclass(frozen=True)
class Reach:
    tolerance: int  # cents, the suggested tolerance
    largest_step: int  # cents
    largest_line: str  # "Department: Program" of the line with the largest step
    balance: int  # cents: revenue - spending as published (0 for a fixed envelope)
    lowest: int  # cents: the lowest balance residents can reach
    highest: int  # cents: the highest

    def reachable(self, tolerance: int | None = None) -> bool:
        """Whether a balanced plan (|balance| <= tolerance) exists, by the walk above."""
        tolerance = self.tolerance if tolerance is None else tolerance
        return (
            tolerance * 2 >= self.largest_step
            and self.lowest - tolerance <= 0 <= self.highest + tolerance
        )


def round_up_two_digits(cents: int) -> int:
    """Up to two significant whole units: 8,412,345.5 -> 8,500,000 (in cents)."""
    units = max(1, math.ceil(cents / CENTS_PER_UNIT))
    scale = 10 ** max(0, len(str(units)) - 2)
    return -(-units // scale) * scale * CENTS_PER_UNIT


def reach(
    lines: pl.DataFrame,
    *,
    min_change_percent: float = -10,
    max_change_percent: float = 10,
    step_percent: float = 1,
) -> Reach:
    """`lines` has department, program, kind, amount (cents), locked; min, max and step are
    the rules' defaults unless the frame already has them."""
    frame = lines
    if "step" not in frame.columns:
        frame = frame.with_columns(step=default_step(step_percent))
    if "min" not in frame.columns:
        frame = frame.with_columns(
            min=default_min(min_change_percent), max=default_max(max_change_percent)
        )
    frame = frame.with_columns(
        pl.when(pl.col("locked")).then(pl.col("amount")).otherwise(pl.col(name)).alias(name)
        for name in ("min", "max")
    )
    revenue = pl.col("kind") == "revenue"
    fixed = not frame.filter(revenue).height
    sign = pl.when(revenue).then(1).otherwise(-1)
    # How far each line can move the balance, down and up.
    ends = (sign * (pl.col("min") - pl.col("amount")), sign * (pl.col("max") - pl.col("amount")))
    downs, ups = frame.select(
        pl.min_horizontal(*ends).sum().alias("down"), pl.max_horizontal(*ends).sum().alias("up")
    ).row(0)
    totals = frame.select(
        spending=pl.col("amount").filter(~revenue).sum(),
        revenue=pl.col("amount").filter(revenue).sum(),
    ).row(0, named=True)
    balance = 0 if fixed else (totals["revenue"] or 0) - (totals["spending"] or 0)
    adjustable = frame.filter(~pl.col("locked") & (pl.col("max") > pl.col("min")))
    if adjustable.height:
        top = adjustable.sort("step", descending=True).row(0, named=True)
        largest, name = top["step"], f"{top['department']}: {top['program']}"
    else:
        largest, name = 0, ""
    return Reach(
        tolerance=round_up_two_digits(-(-largest // 2)) if largest else 0,
        largest_step=largest,
        largest_line=name,
        balance=balance,
        lowest=balance + (downs or 0),
        highest=balance + (ups or 0),
    )
