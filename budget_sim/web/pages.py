"""Typed contexts of the resident pages: what each template may use, built from the model."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from budget_sim.forms import ParsedForm, line_field
from budget_sim.model import Budget, Summary, Violation, apply_plan, check, summarize


@dataclass(frozen=True)
class LineView:
    id: str
    program: str
    kind: str
    amount: int  # the city's figure, cents
    min: int
    max: int
    step: int
    locked: bool
    description: str
    value: int  # the resident's current choice, cents
    typed: str | None  # what the resident typed, when it could not be read
    error: str | None

    @property
    def change(self) -> int:
        return self.value - self.amount


@dataclass(frozen=True)
class DepartmentView:
    index: int
    name: str
    kind: str
    lines: tuple[LineView, ...]
    baseline: int
    proposed: int

    @property
    def has_error(self) -> bool:
        return any(line.error for line in self.lines)

    @property
    def change(self) -> int:
        return self.proposed - self.baseline


@dataclass(frozen=True)
class SimulatorPage:
    """The simulator: departments of lines, the live summary, and any problems to fix."""

    budget: Budget
    ballot: str
    departments: tuple[DepartmentView, ...]
    summary: Summary
    baseline: Summary  # the city's own budget against the rule (it may start out of balance)
    violations: tuple[Violation, ...]  # model rules the current plan breaks
    errors: Mapping[str, str]  # form field name -> message (input that could not be read)
    answers: Mapping[str, str]
    notice: str | None = None  # a page-level message (expired ballot, reused ballot...)
    attempted: bool = False  # a submission was refused: list every problem at the top

    @property
    def expense_departments(self) -> tuple[DepartmentView, ...]:
        return tuple(d for d in self.departments if d.kind == "expense")

    @property
    def revenue_departments(self) -> tuple[DepartmentView, ...]:
        return tuple(d for d in self.departments if d.kind == "revenue")

    @property
    def line_violations(self) -> dict[str, str]:
        return {v.line_id: v.message for v in self.violations if v.line_id}

    @property
    def balance_message(self) -> str | None:
        return next((v.message for v in self.violations if v.rule == "balance"), None)


def simulator_page(
    budget: Budget,
    ballot: str,
    form: ParsedForm | None = None,
    *,
    notice: str | None = None,
    attempted: bool = False,
) -> SimulatorPage:
    """Build the simulator context for the city's budget, or for what a resident sent."""
    form = form or ParsedForm()
    known = set(budget.line_ids)
    plan = {k: v for k, v in form.amounts.items() if k in known}
    planned = apply_plan(budget, plan)
    violations = tuple(check(budget, plan))
    line_messages = {v.line_id: v.message for v in violations if v.line_id}
    departments = []
    for index, ((name, kind), rows) in enumerate(
        planned.group_by("department", "kind", maintain_order=True), start=1
    ):
        lines = tuple(
            LineView(
                id=row["id"],
                program=row["program"],
                kind=row["kind"],
                amount=row["amount"],
                min=row["min"],
                max=row["max"],
                step=row["step"],
                locked=row["locked"],
                description=row["description"],
                value=row["proposed"],
                typed=form.typed.get(row["id"]) if line_field(row["id"]) in form.errors else None,
                error=form.errors.get(line_field(row["id"])) or line_messages.get(row["id"]),
            )
            for row in rows.iter_rows(named=True)
        )
        departments.append(
            DepartmentView(
                index=index,
                name=str(name),
                kind=str(kind),
                lines=lines,
                baseline=int(rows["amount"].sum()),
                proposed=int(rows["proposed"].sum()),
            )
        )
    return SimulatorPage(
        budget=budget,
        ballot=ballot,
        departments=tuple(departments),
        summary=summarize(budget, planned),
        baseline=summarize(budget, apply_plan(budget, {})),
        violations=violations,
        errors=dict(form.errors),
        answers=dict(form.answers),
        notice=notice,
        attempted=attempted,
    )
