"""The headline "what residents want", its truthful neighbour and where the methods disagree.

Why the mean is the headline (issue 10; measurements in BENCHMARKS.md, "Choosing the headline"):
with residents spread symmetrically around the city's plan, the line-by-line average of their
plans stays at the city's amount up to sampling noise (its 95% interval leaves out the city's
amount on about 1 line in 20, as chance alone does), and a shift most residents ask for moves it
in that direction, in proportion to how many ask and how much. Independent Markets fails the
first test on budgets of many unequal lines (it cuts the largest line and raises nearly every
small one) and piecewise uniform moves about half the lines beyond their intervals. The mean is
not truthful: a resident who exaggerates pulls it their way. So the utilitarian ("majority
view", knapsack) rule, which is truthful and passed both tests, stands beside it, and every
line where a method differs from the headline by more than the intervals is named.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import polars as pl

from budget_sim.insights import dashboard
from budget_sim.insights.aggregate import METHODS

HEADLINE = "mean"
TRUTHFUL = "utilitarian"
TRUTHFUL_METHODS = frozenset({"independent_markets", "utilitarian", "piecewise_uniform"})

LABELS = {
    "mean": "Average of residents' plans",
    "median": "Middle plan (median, rescaled)",
    "independent_markets": "Independent Markets",
    "utilitarian": "Majority view (utilitarian, knapsack)",
    "piecewise_uniform": "Piecewise uniform",
}

EXPLANATIONS = {
    "mean": (
        "Each program gets the average of the amounts residents gave it, over the lines they "
        "could move. When residents disagree evenly around the city's plan it stays at the "
        "city's amount; when many residents ask for a change it moves that way, in proportion "
        "to how many ask and how much. It is not truthful: a resident who exaggerates (cuts a "
        "program to zero to move it a little) pulls the average further than an honest answer "
        "would, which is why the majority view stands beside it."
    ),
    "median": (
        "Each program gets the amount of the middle resident (half asked for less, half for "
        "more), then every program is scaled by the same factor so the lines add up to the "
        "total. It follows what most residents asked for and ignores how far the others went. "
        "The rescaling makes it neither truthful nor proportional: use it as a description."
    ),
    "independent_markets": (
        "Each program gets the level that the share of residents asking for at least that much "
        "can 'pay for' (a moving-phantom rule of Freeman and others). It is truthful and "
        "proportional, but on a budget of many lines of very different sizes each line lands "
        "at a point of its votes that depends on its size: the largest lines are cut and the "
        "small ones raised even when residents have no net preference. Read it as a check, not "
        "as what residents want."
    ),
    "utilitarian": (
        "The budget closest, in total dollars moved, to all residents' plans at once (the "
        "knapsack-voting rule of Goel and others). It is truthful (nobody gains by "
        "exaggerating) and no other budget pleases everyone more. It is majoritarian: a "
        "program moves only when a majority pushes it the same way, and a minority's wishes, "
        "however strong, do not show."
    ),
    "piecewise_uniform": (
        "Another truthful and proportional moving-phantom rule (Caragiannis and others), "
        "designed to stay close to the average on budgets of a few lines. On budgets of many "
        "unequal lines it keeps the largest line near the city's amount but moves many small "
        "lines by more than their sampling noise when residents have no net preference."
    ),
}


@dataclass(frozen=True)
class Disagreement:
    """On one line, another method's figure beyond the headline's interval."""

    method: str
    amount: float  # cents
    above: bool  # above the headline's interval (else below)

    @property
    def label(self) -> str:
        return LABELS[self.method]

    def sentence(self, money: Callable[[float], str]) -> str:
        where = "above" if self.above else "below"
        return f"{self.label} gives {money(self.amount)}, {where} this figure's 95% interval."


def neighbour(method: str) -> str:
    """The method shown beside `method`: the truthful rule, or the mean when staff made the
    truthful rule the headline."""
    return TRUTHFUL if method != TRUTHFUL else "mean"


@dataclass(frozen=True)
class HeadlineFigures:
    """What the dashboard, the public page and the council report show as the headline.

    `rows`: one per spending line in the budget's order: line_id, department, program, locked,
    city, headline, low, high (the headline's 95% interval, null until computed), truthful,
    truthful_low, truthful_high, and one column per other method (cents, floats).
    `notes`: per line id, the methods that differ from the headline by more than the
    intervals. `counts`: per other method, on how many lines it does."""

    method: str
    truthful: str
    submissions: int
    rows: pl.DataFrame
    notes: dict[str, list[Disagreement]] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return LABELS[self.method]

    @property
    def truthful_label(self) -> str:
        return LABELS[self.truthful]

    @property
    def neighbour_is_truthful(self) -> bool:
        """False only when staff made the truthful rule the headline (the mean stands beside)."""
        return self.truthful in TRUTHFUL_METHODS

    @property
    def has_intervals(self) -> bool:
        return bool(self.rows.height) and self.rows["low"].null_count() < self.rows.height

    def moved(self) -> tuple[int, int, int]:
        """Lines (not locked) whose interval lies above the city's amount, below it, and all."""
        free = self.rows.filter(~pl.col("locked") & pl.col("low").is_not_null())
        above = free.filter(pl.col("low") > pl.col("city")).height
        below = free.filter(pl.col("high") < pl.col("city")).height
        return above, below, self.rows.filter(~pl.col("locked")).height


def _bounds(interval: pl.DataFrame | None, prefix: str) -> pl.DataFrame | None:
    if interval is None:
        return None
    return interval.select(
        "line_id", pl.col("low").alias(f"{prefix}low"), pl.col("high").alias(f"{prefix}high")
    )


def headline_figures(
    whole: pl.DataFrame,
    locked: set[str] | frozenset[str],
    *,
    submissions: int,
    method: str = HEADLINE,
    interval: pl.DataFrame | None = None,
    truthful_interval: pl.DataFrame | None = None,
) -> HeadlineFigures:
    """The headline figures from the whole-budget table (`dashboard.whole_budget`) and the
    intervals (`Interval.bounds`: line_id, low, high) of the headline and of its truthful
    neighbour when they are known.

    A method differs "by more than the intervals" on a line when its figure lies outside the
    headline's interval and, for the truthful neighbour whose interval is known too, when the
    two intervals do not overlap. Locked lines never differ (every method leaves them alone)."""
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}: choose one of {', '.join(METHODS)}")
    truthful = neighbour(method)
    others = [m for m in METHODS if m != method and m in whole.columns]
    rows = whole.with_columns(
        locked=pl.col("line_id").is_in(list(locked)),
        headline=pl.col(method) if method in whole.columns else pl.lit(None, pl.Float64),
        truthful=pl.col(truthful) if truthful in whole.columns else pl.lit(None, pl.Float64),
    )
    for bounds in (_bounds(interval, ""), _bounds(truthful_interval, "truthful_")):
        if bounds is not None:
            rows = rows.join(bounds, on="line_id", how="left", maintain_order="left")
    for name in ("low", "high", "truthful_low", "truthful_high"):
        if name not in rows.columns:
            rows = rows.with_columns(pl.lit(None, pl.Float64).alias(name))
    notes: dict[str, list[Disagreement]] = {}
    counts = dict.fromkeys(others, 0)
    for row in rows.iter_rows(named=True):
        if row["locked"] or row["low"] is None or row["headline"] is None:
            continue
        low, high = row["low"], row["high"]
        for other in others:
            value = row[other]
            if value is None or low <= value <= high:
                continue
            overlap = (
                other == truthful
                and row["truthful_low"] is not None
                and row["truthful_low"] <= high
                and low <= row["truthful_high"]
            )
            if overlap:  # the two intervals overlap: not beyond them
                continue
            counts[other] += 1
            notes.setdefault(row["line_id"], []).append(Disagreement(other, value, value > high))
    return HeadlineFigures(method, truthful, submissions, rows, notes, counts)


def compute_headline(
    table: pl.DataFrame,
    lines: pl.DataFrame,
    *,
    method: str = HEADLINE,
    weights: pl.Series | None = None,
    resamples: int = 200,
    seed: int = 0,
) -> HeadlineFigures:
    """The headline figures of a submissions table from scratch (for the council report and
    scripts; the dashboard reuses its cached tables and intervals instead): the whole budget,
    then the bootstrap intervals of the headline and of its neighbour (blocking: seconds)."""
    whole = dashboard.whole_budget(table, lines, weights)
    locked = set(lines.filter(pl.col("locked"))["id"].to_list())
    bounds = {}
    if table.height >= 2:
        for each in (method, neighbour(method)):
            bounds[each] = dashboard.bootstrap_interval(
                table, lines, method=each, weights=weights, resamples=resamples, seed=seed
            ).bounds
    return headline_figures(
        whole,
        locked,
        submissions=table.height,
        method=method,
        interval=bounds.get(method),
        truthful_interval=bounds.get(neighbour(method)),
    )
