"""Checking a plan against the budget's rules. Returns violations as data; never raises for a
plan that breaks the rules."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from budget_sim.model.budget import Budget
from budget_sim.model.plan import Plan, Summary, apply_plan, balance_gap, summarize
from budget_sim.money import format_money


@dataclass(frozen=True)
class Violation:
    """One broken rule: which line (None for whole-budget rules), which rule, what to do."""

    rule: str
    message: str
    line_id: str | None = None
    amount: int | None = None  # cents: the offending amount, or the gap to close


def _line_violations(planned: pl.DataFrame) -> list[Violation]:
    proposed, amount = pl.col("proposed"), pl.col("amount")
    checks = {
        "locked": pl.col("locked") & (proposed != amount),
        "below_min": ~pl.col("locked") & (proposed < pl.col("min")),
        "above_max": ~pl.col("locked") & (proposed > pl.col("max")),
        "negative": ~pl.col("offset") & (proposed < 0),
    }
    flagged = planned.with_columns(**checks).filter(pl.any_horizontal(*checks))
    found = []
    for row in flagged.iter_rows(named=True):
        name = f"{row['department']}: {row['program']}"
        messages = {
            "locked": f"{name} is fixed by the city and cannot be changed.",
            "below_min": f"{name} cannot go below {format_money(row['min'])}.",
            "above_max": f"{name} cannot go above {format_money(row['max'])}.",
            "negative": f"{name} cannot be negative.",
        }
        found.extend(
            Violation(rule, messages[rule], row["id"], row["proposed"])
            for rule in checks
            if row[rule]
        )
    return found


def balance_violation(summary: Summary) -> Violation | None:
    """The balance rule in plain words, or None when it is met."""
    if summary.gap > 0:
        action = "cut spending" if summary.fixed_envelope else "cut spending or raise revenue"
        return Violation(
            "balance",
            f"To submit, {action} by {format_money(summary.gap)} more.",
            amount=summary.gap,
        )
    if summary.gap < 0:
        action = "spend" if summary.fixed_envelope else "spend or lower revenue by"
        return Violation(
            "balance",
            f"The budget must balance: {action} {format_money(-summary.gap)} more to submit.",
            amount=summary.gap,
        )
    return None


def check(
    budget: Budget, plan: Plan, planned: pl.DataFrame | None = None, summary: Summary | None = None
) -> list[Violation]:
    """Every rule the plan breaks: unknown lines, per-line limits, then the balance rule.
    `planned` and `summary`, when the caller has them, save recomputing `apply_plan(budget,
    plan)` and its `summarize`."""
    known = set(budget.line_ids)
    found = [
        Violation("unknown_line", f"{line_id!r} is not a line of this budget.", line_id)
        for line_id in plan
        if line_id not in known
    ]
    planned = apply_plan(budget, plan) if planned is None else planned
    found.extend(_line_violations(planned))
    balance = balance_violation(summary or summarize(budget, planned))
    if balance:
        found.append(balance)
    return found


def is_feasible(budget: Budget, plan: Plan) -> bool:
    """True when the plan breaks no rule: the same answer as `not check(budget, plan)`, in
    plain Python over `budget.line_rules` (about 30 us for 114 lines instead of 1.5 ms
    through Polars), for the submissions that are stored without showing a page."""
    matched = spending = revenue = baseline_spending = revenue_lines = 0
    for line_id, amount, low, high, _step, locked, offset, is_revenue in budget.line_rules:
        proposed = plan.get(line_id)
        if proposed is None:
            proposed = amount
        else:
            matched += 1
        if locked:
            if proposed != amount:
                return False
        elif (low is not None and proposed < low) or (high is not None and proposed > high):
            return False  # steps are for the slider: any amount in the range may be typed
        if proposed < 0 and not offset:
            return False
        if is_revenue:
            revenue += proposed
            revenue_lines += 1
        else:
            spending += proposed
            baseline_spending += amount
    if matched != len(plan):  # a line the budget does not have
        return False
    if not revenue_lines:  # a fixed envelope: spending must fit the city's total
        revenue = baseline_spending
    return balance_gap(budget.rules.balance, budget.rules.tolerance, revenue - spending) == 0
