"""The budget model: applying plans, totals, balance rules and per-line limits (cents)."""

from __future__ import annotations

import random
from dataclasses import replace

import polars as pl
import pytest

from budget_sim import resources
from budget_sim.data import load_package
from budget_sim.model import (
    LINE_SCHEMA,
    BalanceRule,
    Budget,
    Rules,
    apply_plan,
    check,
    is_feasible,
    summarize,
)
from budget_sim.model.limits import default_max, default_min, default_step


def make_budget(rule: BalanceRule = BalanceRule.BALANCED, tolerance: int = 0, households=None):
    rows = [
        # id, department, program, kind, amount, min, max, step, locked, offset, tax
        ("parks", "Parks", "Parks", "expense", 100_00, 80_00, 120_00, 10_00, False, False, False),
        (
            "police",
            "Safety",
            "Police",
            "expense",
            300_00,
            240_00,
            360_00,
            20_00,
            False,
            False,
            False,
        ),
        ("debt", "Debt", "Debt", "expense", 50_00, 50_00, 50_00, 5_00, True, False, False),
        (
            "recovery",
            "Admin",
            "Overhead",
            "expense",
            -10_00,
            -10_00,
            -10_00,
            1_00,
            True,
            True,
            False,
        ),
        ("tax", "Taxes", "Property", "revenue", 400_00, 380_00, 420_00, 10_00, False, False, True),
        ("fees", "Fees", "Fees", "revenue", 40_00, 40_00, 40_00, 1_00, True, False, False),
    ]
    lines = pl.DataFrame(
        [(*row, "", "", "") for row in rows], schema=list(LINE_SCHEMA), orient="row"
    ).cast(LINE_SCHEMA)
    return Budget(
        slug="town",
        city="Town",
        fiscal_year=2026,
        title="Town budget",
        lines=lines,
        rules=Rules(balance=rule, tolerance=tolerance),
        households=households,
    )


def test_baseline_totals_and_balance():
    summary = summarize(make_budget(), apply_plan(make_budget(), {}))
    assert summary.spending == 440_00  # 100 + 300 + 50 - 10
    assert summary.revenue == 440_00
    assert summary.balance == 0
    assert summary.meets_rule
    assert [d.name for d in summary.departments] == [
        "Parks",
        "Safety",
        "Debt",
        "Admin",
        "Taxes",
        "Fees",
    ]


def test_plan_changes_department_totals_and_gap():
    budget = make_budget()
    planned = apply_plan(budget, {"parks": 120_00})
    summary = summarize(budget, planned)
    assert summary.spending == 460_00
    assert summary.gap == 20_00  # 20 more spending than revenue: cut or raise 20
    parks = next(d for d in summary.departments if d.name == "Parks")
    assert (parks.baseline, parks.proposed, parks.change) == (100_00, 120_00, 20_00)
    assert planned.filter(pl.col("id") == "parks")["change"].item() == 20_00


@pytest.mark.parametrize(
    ("rule", "tolerance", "plan", "gap"),
    [
        (BalanceRule.BALANCED, 0, {"parks": 90_00}, -10_00),  # surplus must be spent
        (BalanceRule.SURPLUS_OK, 0, {"parks": 90_00}, 0),  # surplus is fine
        (BalanceRule.BALANCED, 10_00, {"parks": 90_00}, 0),  # within tolerance
        (BalanceRule.DEFICIT_LIMIT, 20_00, {"parks": 120_00}, 0),  # deficit within limit
        (BalanceRule.DEFICIT_LIMIT, 10_00, {"parks": 120_00}, 10_00),  # deficit beyond it
    ],
)
def test_balance_rules(rule, tolerance, plan, gap):
    budget = make_budget(rule, tolerance)
    assert summarize(budget, apply_plan(budget, plan)).gap == gap


def test_check_returns_violations_never_raises():
    budget = make_budget()
    plan = {"parks": 130_00, "police": 245_00, "debt": 60_00, "ghost": 1}
    violations = check(budget, plan)
    found = {(v.rule, v.line_id) for v in violations}
    assert ("unknown_line", "ghost") in found
    assert ("above_max", "parks") in found
    assert not any(v.line_id == "police" for v in violations)  # off the slider's steps: fine
    assert ("locked", "debt") in found
    assert ("balance", None) in found
    messages = {v.rule: v.message for v in violations}
    assert messages["above_max"] == "Parks: Parks cannot go above $120."
    assert (
        messages["balance"]
        == "The budget must balance: spend or lower revenue by $15 more to submit."
    )
    assert not is_feasible(budget, plan)


def test_balanced_plan_is_feasible_and_offset_may_stay_negative():
    budget = make_budget()
    plan = {"parks": 120_00, "police": 280_00}
    assert check(budget, plan) == []
    assert is_feasible(budget, {"recovery": -10_00})


def test_too_much_revenue_under_balanced_rule_says_what_to_do():
    budget = make_budget()
    violation = next(v for v in check(budget, {"tax": 420_00}) if v.rule == "balance")
    assert (
        violation.message
        == "The budget must balance: spend or lower revenue by $20 more to submit."
    )


def test_household_impact_only_when_households_known():
    unknown = make_budget()
    assert summarize(unknown, apply_plan(unknown, {"tax": 420_00})).household_impact is None
    known = make_budget(households=4)
    assert summarize(known, apply_plan(known, {"tax": 420_00})).household_impact == 5_00


def test_default_limits_sit_on_the_step_grid():
    lines = pl.DataFrame({"amount": [280_250_000_00, 1_234_567_00, 50_00, 0]})
    derived = lines.with_columns(step=default_step(1.0)).with_columns(
        min=default_min(-10.0), max=default_max(10.0)
    )
    assert derived["step"].to_list() == [2_800_000_00, 12_000_00, 1_00, 1_00]
    for row in derived.iter_rows(named=True):
        assert (row["amount"] - row["min"]) % row["step"] == 0
        assert (row["max"] - row["amount"]) % row["step"] == 0
        assert row["min"] >= row["amount"] * 0.9 - 1 and row["max"] <= row["amount"] * 1.1 + 1
    assert derived["min"][0] == 280_250_000_00 - 10 * 2_800_000_00


def _random_plans(budget, rng: random.Random, count: int):
    """Plans near the rules' edges: steps up and down (some past min/max), off-step amounts,
    locked lines moved, negative amounts, unknown lines, and plans rebalanced to meet the rule."""
    lines = sorted(budget.line_rules, key=lambda line: line.id)  # whatever order the page shows
    for _ in range(count):
        plan = {}
        for line in rng.sample(lines, k=rng.randint(0, min(6, len(lines)))):
            step = line.step or 1
            plan[line.id] = rng.choice(
                [
                    line.amount + step * rng.randint(-12, 12),
                    line.amount + rng.randint(1, step + 1),
                    line.min if line.min is not None else line.amount,
                    line.max if line.max is not None else line.amount,
                    -step,
                    line.amount,
                ]
            )
        if rng.random() < 0.1:
            plan["no-such-line"] = 0
        if rng.random() < 0.5:  # undo the moves' net effect on one adjustable expense line
            summary = summarize(budget, apply_plan(budget, plan))
            free = [li for li in lines if not li.locked and not li.revenue and li.step]
            target = rng.choice(free)
            plan[target.id] = plan.get(target.id, target.amount) - summary.gap
        yield plan


@pytest.mark.parametrize("rule", list(BalanceRule))
def test_fast_feasibility_agrees_with_the_full_check_on_the_hand_made_budget(rule):
    rng = random.Random(7)
    for tolerance, variant in [(0, "as is"), (10_00, "as is"), (0, "no revenue"), (0, "min < 0")]:
        budget = make_budget(rule, tolerance)
        if variant == "no revenue":  # a fixed envelope: spending must fit the city's total
            budget = replace(budget, lines=budget.lines.filter(pl.col("kind") == "expense"))
        elif variant == "min < 0":  # a line that is not an offset may still not go negative
            lower = pl.when(pl.col("id") == "parks").then(-30_00).otherwise("min")
            budget = replace(budget, lines=budget.lines.with_columns(min=lower))
        plans = list(_random_plans(budget, rng, 150))
        verdicts = [is_feasible(budget, plan) for plan in plans]
        assert verdicts == [not check(budget, plan) for plan in plans]
        assert any(verdicts) and not all(verdicts)


@pytest.mark.parametrize("slug", ["cambridge-fy2026", "chicago-fy2026", "oakland-fy2023"])
def test_fast_feasibility_agrees_with_the_full_check_on_the_real_budgets(slug):
    budget = load_package(resources.budget_data() / slug)
    rng = random.Random(slug)
    plans = [{}, *_random_plans(budget, rng, 100)]
    verdicts = [is_feasible(budget, plan) for plan in plans]
    assert verdicts == [not check(budget, plan) for plan in plans]
    assert any(verdicts) and not all(verdicts)
