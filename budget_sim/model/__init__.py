"""The budget model: pure Polars and the standard library (no storage, no web)."""

from __future__ import annotations

from budget_sim.model.budget import (
    KINDS,
    LINE_SCHEMA,
    BalanceRule,
    Budget,
    Option,
    Question,
    Rules,
)
from budget_sim.model.compiled import (
    CompiledBudget,
    CompiledLine,
    Evaluation,
    compile_budget,
    evaluate,
)
from budget_sim.model.consequences import parse_consequences, reached
from budget_sim.model.plan import DepartmentTotal, Plan, Summary, apply_plan, summarize
from budget_sim.model.rules import Violation, balance_violation, check, is_feasible

__all__ = [
    "KINDS",
    "LINE_SCHEMA",
    "BalanceRule",
    "CompiledBudget",
    "CompiledLine",
    "Evaluation",
    "Budget",
    "DepartmentTotal",
    "Option",
    "Plan",
    "Question",
    "Rules",
    "Summary",
    "Violation",
    "apply_plan",
    "balance_violation",
    "check",
    "compile_budget",
    "evaluate",
    "is_feasible",
    "parse_consequences",
    "reached",
    "summarize",
]
