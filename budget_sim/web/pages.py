"""Typed contexts of the resident pages: what each template may use, built from the model."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

from budget_sim.forms import ParsedForm, line_field
from budget_sim.model import (
    Budget,
    Summary,
    Violation,
    apply_plan,
    check,
    parse_consequences,
    reached,
    summarize,
)
from budget_sim.web.display import Display
from budget_sim.web.messages import balance_text, form_error_text, violation_text


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
    consequences: tuple[tuple[float, str], ...]  # (percent level, what it means), sorted
    link: str  # more detail, or ""
    value: int  # the resident's current choice, cents
    typed: str | None  # what the resident typed, when it could not be read
    error: str | None

    @property
    def change(self) -> int:
        return self.value - self.amount

    @property
    def consequence(self) -> str | None:
        """The text of the furthest level the resident's change reaches, if any."""
        return reached(self.consequences, self.amount, self.value)


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
    display: Display
    ballot: str
    departments: tuple[DepartmentView, ...]
    summary: Summary
    baseline: Summary  # the city's own budget against the rule (it may start out of balance)
    violations: tuple[Violation, ...]  # model rules the current plan breaks
    errors: Mapping[str, str]  # form field name -> message (input that could not be read)
    violation_texts: tuple[str, ...]  # the violations in the resident's language
    answers: Mapping[str, str]
    comments: Mapping[str, str]  # line id ("" for the whole budget) -> the resident's comment
    notice: str | None = None  # a page-level message (expired ballot, reused ballot...)
    draft_link: str | None = None  # the link of the saved draft being shown
    attempted: bool = False  # a submission was refused: list every problem at the top

    @property
    def expense_departments(self) -> tuple[DepartmentView, ...]:
        return tuple(d for d in self.departments if d.kind == "expense")

    @property
    def revenue_departments(self) -> tuple[DepartmentView, ...]:
        return tuple(d for d in self.departments if d.kind == "revenue")

    @property
    def balance_message(self) -> str | None:
        return balance_text(self.summary)

    @property
    def line_problems(self) -> list[tuple[str | None, str]]:
        """(line id, message) of every broken rule other than the balance."""
        return [
            (v.line_id, text)
            for v, text in zip(self.violations, self.violation_texts, strict=True)
            if v.rule != "balance"
        ]

    @property
    def lines(self) -> dict[str, LineView]:
        return {line.id: line for department in self.departments for line in department.lines}


@lru_cache(maxsize=4096)
def _consequences(cell: str) -> tuple[tuple[float, str], ...]:
    return parse_consequences(cell)


_BASELINES: dict[tuple[str, str, str], Summary] = {}


def _baseline(budget: Budget) -> Summary:
    """The city's own budget against its rule; it never changes while a budget is loaded."""
    key = (budget.slug, budget.version, budget.locale)
    if key not in _BASELINES:
        _BASELINES[key] = summarize(budget, apply_plan(budget, {}))
    return _BASELINES[key]


def simulator_page(
    budget: Budget,
    ballot: str,
    form: ParsedForm | None = None,
    *,
    display: Display | None = None,
    notice: str | None = None,
    attempted: bool = False,
    draft_link: str | None = None,
) -> SimulatorPage:
    """Build the simulator context for the city's budget, or for what a resident sent.
    `budget` is already in the display's language (`Budget.localized`)."""
    form = form or ParsedForm()
    known = set(budget.line_ids)
    plan = {k: v for k, v in form.amounts.items() if k in known}
    planned = apply_plan(budget, plan)
    summary = summarize(budget, planned)
    violations = tuple(check(budget, plan, planned, summary))
    rows = {row["id"]: row for row in planned.iter_rows(named=True)}
    texts = tuple(violation_text(v, rows.get(v.line_id) if v.line_id else None) for v in violations)
    line_messages = {
        v.line_id: text for v, text in zip(violations, texts, strict=True) if v.line_id
    }
    errors = {name: form_error_text(message) for name, message in form.errors.items()}
    grouped: dict[tuple[str, str], list[LineView]] = {}
    for row in rows.values():  # one pass, in the budget's order; groups keep first appearance
        grouped.setdefault((row["department"], row["kind"]), []).append(
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
                consequences=_consequences(row["consequences"]),
                link=row["link"],
                value=row["proposed"],
                typed=form.typed.get(row["id"]) if line_field(row["id"]) in form.errors else None,
                error=errors.get(line_field(row["id"])) or line_messages.get(row["id"]),
            )
        )
    departments = tuple(
        DepartmentView(
            index=index,
            name=name,
            kind=kind,
            lines=tuple(lines),
            baseline=sum(line.amount for line in lines),
            proposed=sum(line.value for line in lines),
        )
        for index, ((name, kind), lines) in enumerate(grouped.items(), start=1)
    )
    return SimulatorPage(
        budget=budget,
        display=display or Display(budget.locale),
        ballot=ballot,
        departments=departments,
        summary=summary,
        baseline=_baseline(budget),
        violations=violations,
        violation_texts=texts,
        errors=errors,
        answers=dict(form.answers),
        comments=dict(form.comments),
        notice=notice,
        draft_link=draft_link,
        attempted=attempted,
    )
