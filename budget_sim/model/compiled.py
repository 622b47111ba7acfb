"""A budget compiled once into plain Python rows, and a plan evaluated over them without Polars.

The resident page recalculates on every slider move; at a few hundred lines, Polars' fixed cost
per query dominates. `compile_budget` reads the frame once per budget object; `evaluate` then
walks the rows in one loop. `plan.apply_plan`/`summarize` and `rules.check` stay for analytics
and the command line, and agree with this module (tests/model/test_compiled.py)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import NamedTuple

from budget_sim.model.budget import Budget
from budget_sim.model.consequences import parse_consequences
from budget_sim.model.plan import DepartmentTotal, Plan, Summary, balance_gap
from budget_sim.model.rules import Violation, balance_violation
from budget_sim.money import format_money

LINE_RULES = ("locked", "below_min", "above_max", "negative")


class CompiledLine(NamedTuple):
    """One line as plain values (cents); `group` indexes `CompiledBudget.groups`."""

    id: str
    department: str
    program: str
    kind: str
    amount: int
    min: int
    max: int
    step: int
    locked: bool
    offset: bool
    tax: bool
    description: str
    consequences: tuple[tuple[float, str], ...]
    link: str
    group: int


@dataclass(frozen=True)
class CompiledBudget:
    lines: tuple[CompiledLine, ...]
    groups: tuple[tuple[str, str], ...]  # (department, kind), in order of first appearance
    index: Mapping[str, int]  # line id -> position
    by_id: Mapping[str, CompiledLine]
    amounts: tuple[int, ...]  # the city's amount per line
    with_consequences: tuple[int, ...]  # positions of the lines that have consequence texts
    group_base: tuple[int, ...]  # the city's total per group
    city_departments: tuple[DepartmentTotal, ...]  # the groups' totals, nothing moved
    spending: int  # the city's totals, cents
    revenue: int
    revenue_lines: int
    tax_lines: int


@dataclass(frozen=True)
class Evaluation:
    """A plan against the budget: what the resident chose, what counts, and what is wrong."""

    moved: Mapping[int, tuple[int, int]]  # line position -> (chosen, counted), where not the city's
    summary: Summary
    violations: tuple[Violation, ...]  # unknown lines, then line rules in line order, balance
    amounts: tuple[int, ...]  # the city's amount per line

    @property
    def chosen(self) -> tuple[int, ...]:
        """Per line, the resident's amount (the city's when not given)."""
        moved = self.moved
        return tuple(moved[i][0] if i in moved else a for i, a in enumerate(self.amounts))

    @property
    def counted(self) -> tuple[int, ...]:
        """Per line, what the totals count: the city's amount while the line is flagged."""
        moved = self.moved
        return tuple(moved[i][1] if i in moved else a for i, a in enumerate(self.amounts))


_COMPILED: dict[int, tuple[Budget, CompiledBudget]] = {}


def compile_budget(budget: Budget) -> CompiledBudget:
    """The budget's lines as plain rows, computed once per `Budget` object (each language's
    variant is its own object; a revision is a new one)."""
    found = _COMPILED.get(id(budget))
    if found is not None and found[0] is budget:
        return found[1]
    groups: dict[tuple[str, str], int] = {}
    lines = []
    for row in budget.lines.iter_rows(named=True):
        group = groups.setdefault((row["department"], row["kind"]), len(groups))
        lines.append(
            CompiledLine(
                id=row["id"],
                department=row["department"],
                program=row["program"],
                kind=row["kind"],
                amount=row["amount"],
                min=row["min"],
                max=row["max"],
                step=row["step"],
                locked=row["locked"],
                offset=row["offset"],
                tax=row["tax"],
                description=row["description"],
                consequences=parse_consequences(row["consequences"]),
                link=row["link"],
                group=group,
            )
        )
    group_base = [0] * len(groups)
    for line in lines:
        group_base[line.group] += line.amount
    revenue = [line for line in lines if line.kind == "revenue"]
    compiled = CompiledBudget(
        lines=tuple(lines),
        groups=tuple(groups),
        index={line.id: i for i, line in enumerate(lines)},
        by_id={line.id: line for line in lines},
        amounts=tuple(line.amount for line in lines),
        with_consequences=tuple(i for i, line in enumerate(lines) if line.consequences),
        group_base=tuple(group_base),
        city_departments=tuple(
            DepartmentTotal(name, kind, total, total)
            for (name, kind), total in zip(groups, group_base, strict=True)
        ),
        spending=sum(line.amount for line in lines if line.kind != "revenue"),
        revenue=sum(line.amount for line in revenue),
        revenue_lines=len(revenue),
        tax_lines=sum(line.tax for line in revenue),
    )
    if len(_COMPILED) > 64:  # budgets are few; revisions replace them rarely
        _COMPILED.clear()
    _COMPILED[id(budget)] = (budget, compiled)
    return compiled


def line_problems(line: CompiledLine, proposed: int) -> list[str]:
    """The line rules `proposed` breaks, by name (see LINE_RULES). Steps are for the slider
    and the arrow keys only: any amount inside the range may be typed."""
    found = []
    if line.locked:
        if proposed != line.amount:
            found.append("locked")
    else:
        if proposed < line.min:
            found.append("below_min")
        if proposed > line.max:
            found.append("above_max")
    if proposed < 0 and not line.offset:
        found.append("negative")
    return found


def _message(rule: str, line: CompiledLine) -> str:
    name = f"{line.department}: {line.program}"
    return {
        "locked": f"{name} is fixed by the city and cannot be changed.",
        "below_min": f"{name} cannot go below {format_money(line.min)}.",
        "above_max": f"{name} cannot go above {format_money(line.max)}.",
        "negative": f"{name} cannot be negative.",
    }[rule]


def evaluate(budget: Budget, plan: Plan, compiled: CompiledBudget | None = None) -> Evaluation:
    """Totals, department totals and broken rules of `plan`: the city's totals (compiled once)
    adjusted by the lines the plan moves, so a slider move costs a few lines' work, not the
    whole budget's. A line that breaks a rule is flagged and counted at the city's amount, so
    the totals never include an amount that could not be submitted."""
    compiled = compiled or compile_budget(budget)
    index, lines = compiled.index, compiled.lines
    violations = [
        Violation("unknown_line", f"{line_id!r} is not a line of this budget.", line_id)
        for line_id in plan
        if line_id not in index
    ]
    moved: dict[int, tuple[int, int]] = {}
    for line_id, proposed in plan.items():
        position = index.get(line_id)
        if position is not None and proposed != lines[position].amount:
            line = lines[position]
            moved[position] = (proposed, line.amount if line_problems(line, proposed) else proposed)
    spending, revenue, tax_change = compiled.spending, compiled.revenue, 0
    group_counted = list(compiled.group_base)
    departments = list(compiled.city_departments)  # replaced below where a line moved
    for position in sorted(moved):  # the budget's order, for the violations
        line = lines[position]
        proposed, value = moved[position]
        violations.extend(
            Violation(rule, _message(rule, line), line.id, proposed)
            for rule in line_problems(line, proposed)
        )
        group_counted[line.group] += value - line.amount
        if line.kind == "revenue":
            revenue += value - line.amount
            if line.tax:
                tax_change += value - line.amount
        else:
            spending += value - line.amount
    for group in {lines[position].group for position in moved}:
        name, kind = compiled.groups[group]
        departments[group] = DepartmentTotal(
            name, kind, compiled.group_base[group], group_counted[group]
        )
    fixed_envelope = compiled.revenue_lines == 0
    baseline_revenue = compiled.revenue
    if fixed_envelope:
        revenue = baseline_revenue = compiled.spending
    household_impact = None
    if budget.households and compiled.tax_lines:
        household_impact = round(tax_change / budget.households)
    summary = Summary(
        spending=spending,
        revenue=revenue,
        baseline_spending=compiled.spending,
        baseline_revenue=baseline_revenue,
        fixed_envelope=fixed_envelope,
        gap=balance_gap(budget.rules.balance, budget.rules.tolerance, revenue - spending),
        household_impact=household_impact,
        departments=tuple(departments),
    )
    balance = balance_violation(summary)
    if balance:
        violations.append(balance)
    return Evaluation(moved, summary, tuple(violations), compiled.amounts)
