"""The package check that a resident can submit at all (model/reach.py), as a Problem."""

from __future__ import annotations

from budget_sim.errors import Problem
from budget_sim.model.budget import Budget
from budget_sim.model.reach import reachability


def currency_symbol(currency: str) -> str:
    return "$" if currency == "USD" else f"{currency} "


def reach_problems(budget: Budget, folder: str | None = None) -> list[Problem]:
    """[] when some plan within the lines' limits and steps meets the balance rule; otherwise
    one problem on budget.toml's rules with the numbers (achievable range against the rule)."""
    reach = reachability(budget)
    if reach.reachable:
        return []
    message = reach.message(currency_symbol(budget.currency))
    return [Problem(f"{folder or budget.slug}/budget.toml", message, column="rules.tolerance")]
