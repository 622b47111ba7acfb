"""The findings of one view that survive the false discovery rate control, for reports (the
council report lists them): the clear trade-offs, and per question the lines where answers
clearly differ, each family with its sentence ("k of m ... remain after controlling the false
discovery rate at 5%")."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from budget_sim.insights import segments, tradeoffs
from budget_sim.insights.discoveries import Family
from budget_sim.model import Budget


@dataclass(frozen=True)
class Findings:
    """`tradeoffs`: the clear pairs (tradeoffs.SCHEMA), strongest positive then negative;
    `splits`: question id -> its clear lines (line_id, program, gap, highest, lowest, p_value,
    q_value), widest first; `families`: "trade-offs" and "segments-by-<question>" -> Family."""

    tradeoffs: pl.DataFrame
    splits: dict[str, pl.DataFrame]
    families: dict[str, Family]


def findings(
    table: pl.DataFrame, budget: Budget, weights: pl.Series | None = None, *, top: int = 10
) -> Findings:
    """The BH-controlled findings of `table` (the submissions of a view) for `budget`."""
    pairs = tradeoffs.tested(table, budget.lines, weights)
    families = {"trade-offs": tradeoffs.family(pairs)}
    found = tradeoffs.strongest(table, budget.lines, weights, top=top, pairs=pairs)
    names = budget.lines.select(line_id="id", program="program")
    splits = {}
    for question in budget.questions:
        tested = segments.splits(segments.compare(table, budget.lines, question, weights))
        families[f"segments-by-{question.id}"] = segments.family(tested)
        splits[question.id] = (
            tested.filter("clear")
            .join(names, on="line_id", how="left", maintain_order="left")
            .select("line_id", "program", "gap", "highest", "lowest", "p_value", "q_value")
        )
    return Findings(found, splits, families)
