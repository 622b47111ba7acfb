"""Synthetic but plausible resident plans, for trying the product; stored flagged as synthetic.

Each synthetic resident shares the city-wide mood about each department (some departments are
popular, some are not) plus a personal taste, moves a handful of programs by whole steps within
their limits, then balances the budget the way people do: trimming what they like least (or
raising taxes) until the city's rule is met. Every plan is checked against the model's rules.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

import polars as pl

from budget_sim.model import BalanceRule, Budget
from budget_sim.model.reach import complete

MOVES_PER_RESIDENT = (3, 10)
SHARED_MOOD_SPREAD = 1.0
PERSONAL_SPREAD = 1.5


def _adjustable(budget: Budget) -> list[dict]:
    lines = budget.lines.filter(~pl.col("locked") & (pl.col("min") < pl.col("max")))
    return lines.with_row_index("position").to_dicts()


class DemoError(Exception):
    """No plausible plans could be made for this budget (the message says why)."""


class PlanMaker:
    """Makes plans for one budget; `plans(n)` yields n valid plans (line id -> cents)."""

    def __init__(self, budget: Budget, seed: int = 0) -> None:
        self.budget = budget
        self.rng = random.Random(seed)
        self.lines = _adjustable(budget)
        departments = budget.departments()
        self.mood = {d: self.rng.gauss(0, SHARED_MOOD_SPREAD) for d in departments}
        frame = budget.lines
        self.baseline = dict(zip(frame["id"], frame["amount"], strict=True))
        self.revenue_ids = set(frame.filter(pl.col("kind") == "revenue")["id"])
        self.fixed_envelope = not self.revenue_ids
        spending = frame.filter(pl.col("kind") == "expense")["amount"].sum()
        self.baseline_balance = (
            0
            if self.fixed_envelope
            else frame.filter(pl.col("kind") == "revenue")["amount"].sum() - spending
        )
        self.tolerance = budget.rules.tolerance
        self.rule = budget.rules.balance

    def _sign(self, line: dict) -> int:
        """+1 if raising this line improves the balance (revenue), -1 if cutting does (spending)."""
        return 1 if line["id"] in self.revenue_ids else -1

    def _within_rule(self, balance: int) -> bool:
        if balance < -self.tolerance:
            return False
        return not (self.rule is BalanceRule.BALANCED and balance > self.tolerance)

    def plan(self) -> dict[str, int] | None:
        rng = self.rng
        taste = {
            line["id"]: self.mood[line["department"]] + rng.gauss(0, PERSONAL_SPREAD)
            for line in self.lines
        }
        values = dict(self.baseline)
        balance = self.baseline_balance
        for line in rng.sample(
            self.lines, k=min(len(self.lines), rng.randint(*MOVES_PER_RESIDENT))
        ):
            steps = round(taste[line["id"]] * rng.uniform(0.5, 4))
            value = min(max(line["amount"] + steps * line["step"], line["min"]), line["max"])
            balance += self._sign(line) * (value - values[line["id"]])
            values[line["id"]] = value
        # Close the gap: biggest steps first for speed, least-liked spending first for realism.
        order = sorted(self.lines, key=lambda ln: (-ln["step"], taste[ln["id"]] * -self._sign(ln)))
        for line in order:
            if self._within_rule(balance):
                break
            sign, step, current = self._sign(line), line["step"], values[line["id"]]
            steps = round(-balance / (sign * step))  # steps that bring the balance nearest 0
            value = min(max(current + steps * step, line["min"]), line["max"])
            balance += sign * (value - current)
            values[line["id"]] = value
        if self._within_rule(balance):
            return values
        return complete(self.budget, values)  # exact: when whole steps must combine just so

    def plans(self, count: int) -> Iterator[dict[str, int]]:
        made = attempts = 0
        while made < count:
            attempts += 1
            if attempts > count * 20 + 100:
                raise DemoError(
                    f"could not make {count:,} plans that meet {self.budget.slug}'s balance rule "
                    f"(made {made:,} in {attempts - 1:,} attempts)"
                )
            plan = self.plan()
            if plan is not None:
                made += 1
                yield plan


def district_answers(budget: Budget, rng: random.Random) -> dict[str, str]:
    """Answers to district questions, drawn in proportion to population where it is known."""
    answers = {}
    for question in budget.questions:
        if not question.options or rng.random() < 0.2:  # some residents skip the question
            continue
        weights = [o.population or 1.0 for o in question.options]
        answers[question.id] = rng.choices(question.options, weights=weights)[0].id
    return answers
