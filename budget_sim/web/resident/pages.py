"""Typed contexts of the resident pages: what each template may use, built from the model."""

from __future__ import annotations

from collections.abc import Container, Iterable, Mapping
from dataclasses import dataclass
from typing import NamedTuple

from budget_sim.forms import ANSWER_PREFIX, COMMENT_PREFIX, LINE_PREFIX, OVERALL_COMMENT, ParsedForm
from budget_sim.model import (
    Budget,
    CompiledLine,
    Summary,
    Violation,
    compile_budget,
    evaluate,
    reached,
)
from budget_sim.web.display import Display
from budget_sim.web.i18n import formatter, gettext
from budget_sim.web.resident.messages import balance_text, form_error_text, violation_text

CHART_ROWS = 6  # departments drawn one by one; the others share one row


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
    value: int  # the resident's current choice, cents (shown even when it breaks a rule)
    typed: str | None  # what the resident typed, when it could not be read
    error: str | None
    counted: bool = True  # False: flagged, the totals count the city's amount instead

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
class Problem:
    """Something to fix before submitting: the id of the field to go to, and what is wrong."""

    target: str
    text: str
    line_id: str | None = None


class ChartRow(NamedTuple):
    """One bar pair of "where the money goes": a department's share of all spending, with its
    figures already written in the resident's language (a recalculation redraws every row, so
    each cell is one string: the template escapes a few values instead of dozens)."""

    name: str
    city_share: str  # "42.0%"
    your_share: str
    city_width: str  # bar lengths, 0-100 of the longest bar
    your_width: str
    city_text: str  # the table's cells: "$319.1M (42.0%)"
    your_text: str  # "$319.3M (42.0%) +$270,000"


@dataclass(frozen=True)
class Chart:
    rows: tuple[ChartRow, ...] = ()
    label: str = ""  # the rows in words, for the picture's name: "Police 42.0%, 42.1%; ..."


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
    problems: tuple[Problem, ...] = ()  # everything to fix but the balance, naming its field
    chart: Chart = Chart()  # where the money goes: the city's shares and yours
    fragment: bool = False  # only the summary: departments hold just the lines to refresh
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
    def ready(self) -> bool:
        """Nothing to fix and the balance rule met: only then may the page say so."""
        return not self.problems and self.summary.meets_rule


    @property
    def lines(self) -> dict[str, LineView]:
        return {line.id: line for department in self.departments for line in department.lines}


_BASELINES: dict[tuple[str, str, str], Summary] = {}


def _baseline(budget: Budget) -> Summary:
    """The city's own budget against its rule; it never changes while a budget is loaded."""
    key = (budget.slug, budget.version, budget.locale)
    if key not in _BASELINES:
        _BASELINES[key] = evaluate(budget, {}).summary
    return _BASELINES[key]


def _field_label(name: str, budget: Budget, lines: Mapping[str, CompiledLine]) -> tuple[str, str]:
    """(the id of the control to go to, how a resident knows the field) of a form field."""
    if name.startswith(LINE_PREFIX) and name[len(LINE_PREFIX) :] in lines:
        line = lines[name[len(LINE_PREFIX) :]]
        return f"n-{line.id}", f"{line.department}: {line.program}"
    if name.startswith(ANSWER_PREFIX):
        key = name[len(ANSWER_PREFIX) :]
        for question in budget.questions:
            if question.id == key:
                return f"q-{key}", question.label
    if name.startswith(COMMENT_PREFIX) and name[len(COMMENT_PREFIX) :] in lines:
        line = lines[name[len(COMMENT_PREFIX) :]]
        return f"k-{line.id}", gettext("Your comment on %(program)s") % {"program": line.program}
    if name == OVERALL_COMMENT:
        return "k-overall", gettext("Your comment on the whole budget")
    return "simulator", name


def _chart(summary: Summary) -> Chart:
    """The largest spending departments one by one (by the city's amount), then the rest."""
    spending = [d for d in summary.departments if d.kind == "expense"]
    city_total, your_total = summary.baseline_spending or 1, summary.spending or 1
    ranked = sorted(spending, key=lambda d: -d.baseline)
    shown = ranked if len(ranked) <= CHART_ROWS + 1 else ranked[:CHART_ROWS]
    parts = [(d.name, d.baseline, d.proposed) for d in shown]
    rest = ranked[len(shown) :]
    if rest:
        name = gettext("%(count)s other departments") % {"count": len(rest)}
        parts.append((name, sum(d.baseline for d in rest), sum(d.proposed for d in rest)))
    shares = [(city / city_total, yours / your_total) for _, city, yours in parts]
    widest = 100 / (max((max(pair) for pair in shares), default=0) or 1)
    fmt = formatter()
    rows = []
    for (name, city, yours), (city_share, your_share) in zip(parts, shares, strict=True):
        city_percent, your_percent = fmt.share(city_share), fmt.share(your_share)
        change = f" {fmt.signed(yours - city)}" if yours != city else ""
        rows.append(
            ChartRow(
                name=name,
                city_share=city_percent,
                your_share=your_percent,
                city_width=f"{city_share * widest:.2f}",
                your_width=f"{your_share * widest:.2f}",
                city_text=f"{fmt.compact(city)} ({city_percent})",
                your_text=f"{fmt.compact(yours)} ({your_percent}){change}",
            )
        )
    label = "; ".join(f"{row.name} {row.city_share}, {row.your_share}" for row in rows)
    return Chart(rows=tuple(rows), label=f"{label}." if label else "")


def simulator_page(
    budget: Budget,
    ballot: str,
    form: ParsedForm | None = None,
    *,
    display: Display | None = None,
    notice: str | None = None,
    attempted: bool = False,
    draft_link: str | None = None,
    fragment: bool = False,
    live: Container[str] = (),
) -> SimulatorPage:
    """Build the simulator context for the city's budget, or for what a resident sent.
    `budget` is already in the display's language (`Budget.localized`). A `fragment` (the
    recalculation htmx asks for) keeps only the lines whose row must be refreshed: changed,
    flagged, with consequence texts, or named in `live` (the line just moved, perhaps back to
    the city's amount; "*" after "Reset all"), and only their departments and changed ones."""
    form = form or ParsedForm()
    compiled = compile_budget(budget)
    by_id = compiled.by_id
    plan = {k: v for k, v in form.amounts.items() if k in compiled.index}
    result = evaluate(budget, plan, compiled)
    violations = result.violations
    texts = tuple(
        violation_text(v, by_id.get(v.line_id) if v.line_id else None) for v in violations
    )
    line_messages: dict[str, str] = {}
    for v, text in zip(violations, texts, strict=True):
        if v.line_id:
            line_messages.setdefault(v.line_id, text)
    errors = {name: form_error_text(message) for name, message in form.errors.items()}
    problems = []
    for name, message in errors.items():
        target, label = _field_label(name, budget, by_id)
        line_id = target[2:] if target.startswith("n-") else None
        # "Public Works: Solid Waste must be an amount…"; "Age band: must be one of…"
        text = f"{label} {message}" if line_id else f"{label}: {message}"
        problems.append(Problem(target, text, line_id))
    problems.extend(
        Problem(f"n-{v.line_id}" if v.line_id in by_id else "simulator", text, v.line_id)
        for v, text in zip(violations, texts, strict=True)
        if v.rule != "balance"
    )
    grouped: list[list[LineView]] = [[] for _ in compiled.groups]
    if fragment:  # the rows to refresh: a few positions, not the whole budget
        wanted = set(result.moved) | set(compiled.with_consequences)
        wanted.update(compiled.index[i] for i in live if i in compiled.index)
        wanted.update(
            compiled.index[name[len(LINE_PREFIX) :]]
            for name in errors
            if name.startswith(LINE_PREFIX) and name[len(LINE_PREFIX) :] in compiled.index
        )
        positions: Iterable[int] = sorted(wanted)
    else:
        positions = range(len(compiled.lines))
    for position in positions:
        line = compiled.lines[position]
        chosen, counted = result.moved.get(position, (line.amount, line.amount))
        error = errors.get(LINE_PREFIX + line.id) or line_messages.get(line.id)
        grouped[line.group].append(
            LineView(
                id=line.id,
                program=line.program,
                kind=line.kind,
                amount=line.amount,
                min=line.min,
                max=line.max,
                step=line.step,
                locked=line.locked,
                description=line.description,
                consequences=line.consequences,
                link=line.link,
                value=chosen,
                typed=form.typed.get(line.id) if LINE_PREFIX + line.id in form.errors else None,
                error=error,
                counted=chosen == counted,
            )
        )
    everything = not fragment or "*" in live  # "*": every line was just reset
    departments = tuple(
        DepartmentView(
            index=index,
            name=total.name,
            kind=total.kind,
            lines=tuple(grouped[index - 1]),
            baseline=total.baseline,
            proposed=total.proposed,
        )
        for index, total in enumerate(result.summary.departments, start=1)
        # a fragment refreshes the departments that differ from the city's or hold a line shown
        if everything or grouped[index - 1] or total.proposed != total.baseline
    )
    return SimulatorPage(
        budget=budget,
        display=display or Display(budget.locale),
        ballot=ballot,
        departments=departments,
        summary=result.summary,
        baseline=_baseline(budget),
        violations=violations,
        violation_texts=texts,
        errors=errors,
        answers=dict(form.answers),
        comments=dict(form.comments),
        problems=tuple(problems),
        chart=_chart(result.summary),
        fragment=fragment,
        notice=notice,
        draft_link=draft_link,
        attempted=attempted,
    )
