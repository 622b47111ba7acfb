"""A resident's plan applied to a budget: proposed amounts, totals, balance against the rule."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import polars as pl

from budget_sim.model.budget import BalanceRule, Budget

Plan = Mapping[str, int]
"""Chosen amounts in cents by line id; lines left out keep the city's amount."""


@dataclass(frozen=True)
class DepartmentTotal:
    name: str
    kind: str
    baseline: int
    proposed: int

    @property
    def change(self) -> int:
        return self.proposed - self.baseline


@dataclass(frozen=True)
class Summary:
    """Totals of a plan, in cents. `gap` > 0: that much must be cut (or raised);
    `gap` < 0: that much must be spent (or revenue lowered); 0: the rule is met."""

    spending: int
    revenue: int
    baseline_spending: int
    baseline_revenue: int
    fixed_envelope: bool  # no revenue lines: spending must fit the city's total
    gap: int
    household_impact: int | None  # yearly change in tax per household, cents; None if unknown
    departments: tuple[DepartmentTotal, ...]

    @property
    def balance(self) -> int:
        """Revenue minus spending (a surplus when positive)."""
        return self.revenue - self.spending

    @property
    def baseline_balance(self) -> int:
        return self.baseline_revenue - self.baseline_spending

    @property
    def meets_rule(self) -> bool:
        return self.gap == 0


def apply_plan(budget: Budget, plan: Plan) -> pl.DataFrame:
    """The budget's lines with `proposed` and `change` columns (cents).

    Unknown ids are ignored here; `rules.check` reports them."""
    chosen = pl.DataFrame(
        {"id": list(plan.keys()), "chosen": list(plan.values())},
        schema={"id": pl.String(), "chosen": pl.Int64()},
    )
    return (
        budget.lines.join(chosen, on="id", how="left")
        .with_columns(proposed=pl.coalesce("chosen", "amount"))
        .with_columns(change=pl.col("proposed") - pl.col("amount"))
        .drop("chosen")
    )


def balance_gap(rule: BalanceRule, tolerance: int, balance: int) -> int:
    deficit_beyond = -balance - tolerance  # > 0: spending exceeds revenue by more than allowed
    if deficit_beyond > 0:
        return deficit_beyond
    surplus_beyond = balance - tolerance
    if rule is BalanceRule.BALANCED and surplus_beyond > 0:
        return -surplus_beyond
    return 0


def summarize(budget: Budget, planned: pl.DataFrame) -> Summary:
    """Totals of an applied plan (from `apply_plan`)."""
    is_revenue = pl.col("kind") == "revenue"
    totals = planned.select(
        spending=pl.col("proposed").filter(~is_revenue).sum(),
        baseline_spending=pl.col("amount").filter(~is_revenue).sum(),
        revenue=pl.col("proposed").filter(is_revenue).sum(),
        baseline_revenue=pl.col("amount").filter(is_revenue).sum(),
        revenue_lines=is_revenue.sum(),
        tax_change=pl.col("change").filter(is_revenue & pl.col("tax")).sum(),
        tax_lines=(is_revenue & pl.col("tax")).sum(),
    ).row(0, named=True)
    fixed_envelope = totals["revenue_lines"] == 0
    revenue = totals["baseline_spending"] if fixed_envelope else totals["revenue"]
    baseline_revenue = totals["baseline_spending"] if fixed_envelope else totals["baseline_revenue"]
    departments = (
        planned.group_by("department", "kind", maintain_order=True)
        .agg(baseline=pl.col("amount").sum(), proposed=pl.col("proposed").sum())
        .iter_rows()
    )
    household_impact = None
    if budget.households and totals["tax_lines"]:
        household_impact = round(totals["tax_change"] / budget.households)
    return Summary(
        spending=totals["spending"],
        revenue=revenue,
        baseline_spending=totals["baseline_spending"],
        baseline_revenue=baseline_revenue,
        fixed_envelope=fixed_envelope,
        gap=balance_gap(budget.rules.balance, budget.rules.tolerance, revenue - totals["spending"]),
        household_impact=household_impact,
        departments=tuple(DepartmentTotal(*row) for row in departments),
    )
