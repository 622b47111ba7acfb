"""What an admin checks before publishing a budget revision: totals by department, the
balance against the rule, and what changed against the budget residents get now."""

from __future__ import annotations

from dataclasses import dataclass

from budget_sim.model import Budget, Summary, apply_plan, summarize
from budget_sim.web import i18n
from budget_sim.web.windows import first_day, last_day


@dataclass(frozen=True)
class Change:
    what: str
    before: str
    after: str


@dataclass(frozen=True)
class LineChanges:
    added: tuple[str, ...]  # ids in the revision only
    removed: tuple[str, ...]  # ids in the current budget only
    renamed: tuple[str, ...]  # same id, other department or program
    amounts: int  # lines in both whose city amount changed

    @property
    def any(self) -> bool:
        return bool(self.added or self.removed or self.renamed or self.amounts)


@dataclass(frozen=True)
class Review:
    budget: Budget
    summary: Summary
    balance: str  # the city's budget against its rule, in words
    current: Budget | None  # what residents get now for this slug, when it differs
    changes: tuple[Change, ...]
    lines: LineChanges | None


def review(budget: Budget, current: Budget | None) -> Review:
    """The review of `budget` against `current` (None for a new slug, or the same version)."""
    i18n.activate("en", budget.country, budget.currency)  # staff pages are in English
    summary = summarize(budget, apply_plan(budget, {}))
    if current is not None and current.version == budget.version:
        current = None
    return Review(
        budget=budget,
        summary=summary,
        balance=balance_words(budget, summary),
        current=current,
        changes=tuple(setting_changes(current, budget)) if current else (),
        lines=line_changes(current, budget) if current else None,
    )


def balance_words(budget: Budget, summary: Summary) -> str:
    fmt = i18n.formatter()
    rule = budget.rules
    tolerance = fmt.money(rule.tolerance)
    stated = {
        "balanced": f"spending and revenue balance within {tolerance}",
        "surplus_ok": f"no deficit beyond {tolerance}; any surplus is fine",
        "deficit_limit": f"a deficit of at most {tolerance}",
    }[rule.balance.value]
    against = "spending against the same total" if summary.fixed_envelope else "revenue"
    if summary.gap == 0:
        verdict = "the city's budget meets it: residents can submit it as it is"
    elif summary.gap > 0:
        verdict = (
            f"the city's budget is {fmt.money(summary.gap)} short of it: residents must close "
            "that gap before they can submit"
        )
    else:
        verdict = (
            f"the city's budget has {fmt.money(-summary.gap)} more surplus than the rule allows: "
            "residents must spend it or lower revenue before they can submit"
        )
    return f"Rule {rule.balance.value} ({stated}; checked against {against}): {verdict}."


def _dates(budget: Budget) -> tuple[str, str]:
    first, last = first_day(budget), last_day(budget)
    zone = f" ({budget.timezone})"
    return (
        f"{first}{zone}" if first else "(always open)",
        f"{last}{zone}" if last else "(never closes)",
    )


def _described(budget: Budget) -> dict[str, str]:
    fmt = i18n.formatter()
    rules = budget.rules
    opens, closes = _dates(budget)
    described = {
        "City": budget.city,
        "Fiscal year": str(budget.fiscal_year),
        "Languages": ", ".join(budget.locales),
        "Embed allow-list": ", ".join(budget.embed_origins) or "(none)",
        "Balance rule": rules.balance.value,
        "Tolerance": fmt.money(rules.tolerance),
        "Lowest change by default": f"{rules.min_change_percent:g}%",
        "Highest change by default": f"{rules.max_change_percent:g}%",
        "Slider step by default": f"{rules.step_percent:g}%",
        "Households": (
            f"{budget.households:,} ({budget.households_source})"
            if budget.households
            else "(unknown)"
        ),
        "First day open": opens,
        "Last day open": closes,
        "Questions": ", ".join(question.id for question in budget.questions) or "(none)",
    }
    for lang in budget.locales:
        localized = budget.localized(lang)
        described[f"Title ({lang})"] = localized.title
        described[f"Introduction ({lang})"] = localized.intro or "(none)"
    return described


def setting_changes(before: Budget, after: Budget) -> list[Change]:
    """Every setting or text that differs, in the order the revision lists them."""
    old, new = _described(before), _described(after)
    names = list(new) + [name for name in old if name not in new]
    return [
        Change(name, old.get(name, "(none)"), new.get(name, "(none)"))
        for name in names
        if old.get(name) != new.get(name)
    ]


def line_changes(before: Budget, after: Budget) -> LineChanges:
    old = {row["id"]: row for row in before.lines.iter_rows(named=True)}
    new = {row["id"]: row for row in after.lines.iter_rows(named=True)}
    both = [line_id for line_id in new if line_id in old]
    return LineChanges(
        added=tuple(line_id for line_id in new if line_id not in old),
        removed=tuple(line_id for line_id in old if line_id not in new),
        renamed=tuple(
            line_id
            for line_id in both
            if (old[line_id]["department"], old[line_id]["program"])
            != (new[line_id]["department"], new[line_id]["program"])
        ),
        amounts=sum(old[line_id]["amount"] != new[line_id]["amount"] for line_id in both),
    )
