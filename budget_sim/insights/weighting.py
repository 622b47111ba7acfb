"""Weights on several margins: raking (iterative proportional fitting) to the population of
every question whose options carry one (district, age band...), with trimmed weights.

Each sweep takes the questions in turn. For one question, among the residents who gave an
answer with a known population, each answer's weights are multiplied so that its share of
their weight equals its share of the population; residents who gave no answer, or one whose
population is unknown, keep their weight for that question (as `dashboard.district_weights`
does). An answer nobody gave cannot be weighted up: the answers given share the population.
After each sweep the weights are trimmed to [TRIM_LOW, TRIM_HIGH] times their mean, and sweeps
go on until every margin is met to within TOLERANCE (relative), MAX_SWEEPS have run, or STALLED
sweeps brought the margins no closer; trimming can make a margin impossible to meet exactly, and
the note then says how far off it stays.
The weights are scaled to a mean of 1 (they sum to the number of submissions).

Kish's effective sample size n_eff = (sum w)^2 / sum w^2 tells how many residents drawn at
random the weighted sample is worth; the design effect n / n_eff is how much the variances of
weighted figures grow (intervals widen by its square root).

The Polars-native survey library `svy` does raking with trimming, but it brings NumPy, SciPy,
a Rust extension pinned per minor version and a beta API; the few margins a budget has are
raked here in a few Polars expressions (README, "Dependencies")."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from budget_sim.insights.dashboard import Weights, kish_n_eff
from budget_sim.model import Question

TRIM_LOW, TRIM_HIGH = 0.2, 5.0  # bounds of a weight, relative to the mean weight
TOLERANCE = 1e-6  # largest relative gap between a margin and its population share accepted
MAX_SWEEPS = 200
STALLED = 10  # sweeps without the largest gap shrinking: the margins cannot be met, stop


@dataclass(frozen=True)
class Margin:
    """One question's population table: option id -> population, and its source."""

    question: str
    label: str
    population: dict[str, float]
    source: str


def margins(questions: tuple[Question, ...] | list[Question]) -> list[Margin]:
    """The population tables of a budget's questions: every question with at least two options
    of known, positive population."""
    found = []
    for question in questions:
        known = {o.id: float(o.population) for o in question.options if o.population}
        if len(known) >= 2:
            found.append(Margin(question.id, question.label, known, question.population_note))
    return found


@dataclass(frozen=True)
class Raked:
    """Raked weights and how the raking went."""

    values: pl.Series
    sweeps: int
    converged: bool
    largest_gap: float  # the largest relative gap left between a margin and its target
    trimmed: int  # weights at a trimming bound
    margins: list[Margin]
    answered: dict[str, int]  # question -> residents whose answer has a known population


def _targets(answers: pl.Series, margin: Margin) -> tuple[pl.Series, dict[str, float]]:
    """Which rows take part in this margin, and each given answer's population share."""
    given = set(answers.drop_nulls().unique().to_list()) & set(margin.population)
    total = sum(margin.population[o] for o in given)
    share = {o: margin.population[o] / total for o in given}
    return answers.is_in(list(given)).fill_null(False), share


def _fit(column: str, inside: str, share: dict[str, float]) -> pl.Expr:
    """The weight after fitting one margin: w * target / current for rows inside it."""
    w, answer = pl.col("w"), pl.col(column)
    current = w.sum().over(answer)
    inside_total = w.filter(pl.col(inside)).sum()
    target = answer.replace_strict(share, default=None, return_dtype=pl.Float64) * inside_total
    return pl.when(pl.col(inside)).then(w * target / current).otherwise(w)


def _gap(frame: pl.DataFrame, column: str, inside: str, share: dict[str, float]) -> float:
    got = (
        frame.filter(pl.col(inside))
        .group_by(column)
        .agg(pl.col("w").sum())
        .with_columns(pl.col("w") / pl.col("w").sum())
    )
    return max(
        (abs(w / share[o] - 1) for o, w in got.iter_rows()),
        default=0.0,
    )


def _trimmed(weights: pl.Series, low: float, high: float) -> pl.Series:
    """`weights` clipped to [low, high] times their mean; clipping moves the mean, so again
    until every weight is within the bounds of the mean it ends with."""
    for _ in range(100):
        mean = weights.mean()
        clipped = weights.clip(low * mean, high * mean)
        if clipped.equals(weights):
            break
        weights = clipped
    return weights


def rake(
    table: pl.DataFrame,
    found: list[Margin],
    *,
    trim: tuple[float, float] = (TRIM_LOW, TRIM_HIGH),
    tolerance: float = TOLERANCE,
    max_sweeps: int = MAX_SWEEPS,
) -> Raked | None:
    """Raked weights for `table` (one per row) to the margins `found`, or None when no margin
    has residents who answered it."""
    columns, shares = [], []
    frame = pl.DataFrame({"w": [1.0] * table.height}, schema={"w": pl.Float64})
    answered = {}
    for i, margin in enumerate(found):
        column = f"answer.{margin.question}"
        if column not in table.columns:
            continue
        answers = table.get_column(column).cast(pl.String)
        inside, share = _targets(answers, margin)
        if len(share) < 1 or not inside.any():
            continue
        answered[margin.question] = int(inside.sum())
        frame = frame.with_columns(answers.alias(f"a{i}"), inside.alias(f"in{i}"))
        columns.append((f"a{i}", f"in{i}"))
        shares.append(share)
    if not columns:
        return None
    low, high = trim
    sweeps, gap, best, best_at = 0, float("inf"), float("inf"), 0
    while sweeps < max_sweeps and sweeps - best_at < STALLED:
        sweeps += 1
        for (column, inside), share in zip(columns, shares, strict=True):
            frame = frame.with_columns(w=_fit(column, inside, share))
        frame = frame.with_columns(w=_trimmed(frame.get_column("w"), low, high))
        gap = max(_gap(frame, c, i, s) for (c, i), s in zip(columns, shares, strict=True))
        if gap <= tolerance:
            break
        if gap < best * (1 - 1e-6):  # trimming can stop the margins from coming any closer
            best, best_at = gap, sweeps
    weights = frame.get_column("w")
    weights = weights / weights.mean()
    at_bound = ((weights <= low * (1 + 1e-9)) | (weights >= high * (1 - 1e-9))).sum()
    used = [m for m in found if m.question in answered]
    return Raked(
        weights.rename("weight"), sweeps, gap <= tolerance, gap, int(at_bound), used, answered
    )


def raked_weights(table: pl.DataFrame, questions: tuple[Question, ...]) -> Weights | None:
    """The dashboard's weights raked to every population table of the budget's questions,
    with a note in plain words (None when there is nothing to rake to)."""
    found = margins(questions)
    if table.is_empty() or not found:
        return None
    raked = rake(table, found)
    if raked is None:
        return None
    n = table.height
    n_eff = kish_n_eff(raked.values)
    parts = [
        f"{raked.answered[m.question]:,} answered “{m.label}” with a known population"
        for m in raked.margins
    ]
    fit = (
        f"every population share is met (to within {TOLERANCE:.0e}) after {raked.sweeps} "
        f"sweep{'s' if raked.sweeps != 1 else ''}"
        if raked.converged
        else f"trimming leaves a population share up to {raked.largest_gap:.1%} off its target"
    )
    note = (
        f"raked to the population of {len(raked.margins)} question"
        f"{'s' if len(raked.margins) != 1 else ''} ({'; '.join(parts)}; of {n:,} submissions); "
        "a resident who did not answer a question keeps their weight for it. Weights are kept "
        f"between {TRIM_LOW:g} and {TRIM_HIGH:g} times the average ({raked.trimmed:,} at a "
        f"bound); {fit}. Sources: " + " ".join(f"{m.label}: {m.source}" for m in raked.margins)
    )
    return Weights(raked.values, n_eff, ",".join(m.question for m in raked.margins), note)
