"""The compiled evaluator (what the resident page runs on every slider move) agrees with the
Polars model: the same line problems, the same totals, and the same verdict as is_feasible."""

from __future__ import annotations

import random

import pytest

from budget_sim import resources
from budget_sim.data import load_package
from budget_sim.model import apply_plan, check, evaluate, is_feasible, summarize
from tests.model.test_plan_and_rules import _random_plans, make_budget


def _agrees(budget, plan) -> None:
    result = evaluate(budget, plan)
    lines = [(v.rule, v.line_id) for v in result.violations if v.rule != "balance"]
    polars = [(v.rule, v.line_id) for v in check(budget, plan) if v.rule != "balance"]
    assert lines == polars
    assert (not result.violations) == is_feasible(budget, plan)
    if not lines:  # nothing flagged: the same totals as summarize
        assert result.summary == summarize(budget, apply_plan(budget, plan))


def test_hand_made_budget_with_every_kind_of_problem():
    budget = make_budget()
    plan = {"parks": 130_00, "police": 245_00, "debt": 60_00, "ghost": 1}
    _agrees(budget, plan)
    result = evaluate(budget, plan)
    # parks over its maximum and debt (locked) moved are flagged, not counted: only police's
    # off-step 245 (any amount in the range may be typed) changes spending
    assert result.summary.spending == 100_00 + 245_00 + 50_00 - 10_00
    assert result.chosen[0] == 130_00 and result.counted[0] == 100_00
    assert [d.proposed for d in result.summary.departments][:2] == [100_00, 245_00]


@pytest.mark.parametrize("slug", ["cambridge-fy2026", "chicago-fy2026", "oakland-fy2023"])
def test_agrees_with_the_polars_model_on_the_real_budgets(slug):
    budget = load_package(resources.budget_data() / slug)
    rng = random.Random(slug)
    for plan in [{}, *_random_plans(budget, rng, 60)]:
        _agrees(budget, plan)
