"""Simulated residents on budgets of very unequal lines, for checking the headline (issue 10
point 1): tests/insights/test_headline.py and benchmarks/headline_simulation.py use them."""

from __future__ import annotations

import math
import random

import polars as pl

TOTAL = 500_000_000_00  # cents
MOVES = 6  # lines each resident nudges
SHAPES = ("lognormal", "dominant", "power")


def city_amounts(shape: str, lines: int, seed: int = 0) -> list[int]:
    """City amounts (cents) of a budget of `lines` lines of very unequal size: log-normal
    (sigma 1.6), one dominant line (40% of spending) or Zipf-like (the k-th line 1/k of the
    first)."""
    rng = random.Random(seed)
    if shape == "lognormal":
        amounts = [rng.lognormvariate(0.0, 1.6) for _ in range(lines)]
    elif shape == "dominant":
        rest = [rng.lognormvariate(0.0, 1.0) for _ in range(lines - 1)]
        amounts = [0.4 / 0.6 * math.fsum(rest), *rest]
    elif shape == "power":
        amounts = [1.0 / k for k in range(1, lines + 1)]
    else:
        raise ValueError(f"unknown shape {shape!r}: one of {', '.join(SHAPES)}")
    scale = TOTAL / math.fsum(amounts)
    cents = [max(1, round(a * scale)) for a in amounts]
    cents[0] += TOTAL - sum(cents)
    return cents


def lines_frame(city: list[int], locked: frozenset[int] = frozenset()) -> pl.DataFrame:
    """A budget's lines as `Budget.lines` has them (every line spending)."""
    n = len(city)
    return pl.DataFrame(
        {
            "id": [f"l{j}" for j in range(n)],
            "department": [f"D{j % 12}" for j in range(n)],
            "program": [f"P{j}" for j in range(n)],
            "kind": ["expense"] * n,
            "amount": city,
            "locked": [j in locked for j in range(n)],
        },
        schema_overrides={"amount": pl.Int64},
    )


def residents(
    city: list[int],
    count: int,
    *,
    seed: int = 0,
    target: int | None = None,
    share: float = 0.6,
    change: float = 0.10,
    locked: frozenset[int] = frozenset(),
) -> pl.DataFrame:
    """Plans (cents, floats) of `count` residents. Each nudges MOVES random unlocked lines by
    +-`change` (either direction equally likely: symmetric disagreement, no net preference),
    then trims or tops up the unlocked lines in proportion to their size so the total stays the
    city's. With `target`, a `share` of residents also set that line `change` above the city."""
    rng = random.Random(seed)
    movable = [j for j in range(len(city)) if j not in locked]
    total = math.fsum(city)
    rows = []
    for _ in range(count):
        plan = [float(a) for a in city]
        for j in rng.sample(movable, MOVES):
            plan[j] *= 1 + change * rng.choice((-1.0, 1.0))
        if target is not None and rng.random() < share:
            plan[target] = city[target] * (1 + change)
        gap = total - math.fsum(plan)
        free = math.fsum(plan[j] for j in movable)
        for j in movable:
            plan[j] += gap * plan[j] / free
        rows.append(plan)
    return pl.DataFrame(rows, schema=[f"l{j}" for j in range(len(city))], orient="row")
