"""Whether a resident can submit at all: the exact reachability test (model/reach.py) against
brute force, the figures it reports, and the plan completion the demo generator uses."""

from __future__ import annotations

import itertools
import random
from dataclasses import replace

import polars as pl
import pytest

from budget_sim.model import BalanceRule, Budget, Rules, is_feasible
from budget_sim.model.budget import LINE_SCHEMA
from budget_sim.model.reach import _solve, complete, reachability


def budget(rows: list[tuple], tolerance: int = 0, rule=BalanceRule.BALANCED) -> Budget:
    """rows: (id, kind, amount, min, max, step[, locked]) in cents."""
    data = {name: [] for name in LINE_SCHEMA}
    for row in rows:
        line_id, kind, amount, low, high, step, *rest = row
        locked = bool(rest and rest[0])
        values = {
            "id": line_id,
            "department": "Dept",
            "program": line_id.title(),
            "kind": kind,
            "amount": amount,
            "min": amount if locked else low,
            "max": amount if locked else high,
            "step": step,
            "locked": locked,
            "offset": False,
            "tax": False,
            "description": "",
            "consequences": "",
            "link": "",
        }
        for name in LINE_SCHEMA:
            data[name].append(values[name])
    return Budget(
        slug="test",
        city="Test",
        fiscal_year=2027,
        title="Test",
        lines=pl.DataFrame(data, schema=LINE_SCHEMA),
        rules=Rules(balance=rule, tolerance=tolerance),
    )


def test_the_exact_test_agrees_with_brute_force_on_random_small_cases():
    rng = random.Random(12)
    decided = 0
    for _ in range(3000):
        size = rng.randint(1, 4)
        steps = [rng.choice([1, 2, 3, 5, 7, 12, 35]) * rng.choice([1, 100]) for _ in range(size)]
        counts = [rng.randint(0, 4) for _ in range(size)]
        total = sum(s * n for s, n in zip(steps, counts, strict=True))
        low = rng.randint(-5, total + 5)
        high = None if rng.random() < 0.2 else low + rng.choice([0, 0, 1, 5, 30, 300])
        sums = {
            sum(d * s for d, s in zip(ds, steps, strict=True))
            for ds in itertools.product(*[range(n + 1) for n in counts])
        }
        truth = any(t >= low and (high is None or t <= high) for t in sums)
        for max_bits in (1 << 20, 2):  # the bitset, and the widening alone
            found = _solve(steps, counts, low, high, max_bits)
            if found is None:
                continue
            decided += 1
            assert (found is not False) == truth, (steps, counts, low, high)
            if isinstance(found, list):
                t = sum(d * s for d, s in zip(found, steps, strict=True))
                assert all(0 <= d <= n for d, n in zip(found, counts, strict=True))
                assert low <= t and (high is None or t <= high)
    assert decided > 4000


# Sacramento's shape: $17,908,422 out of balance, every step a multiple of $100, tolerance 0.
SACRAMENTO_LIKE = [
    ("police", "expense", 1_027_908_422_00, 927_908_422_00, 1_127_908_422_00, 10_000_000_00),
    ("fire", "expense", 500_000_000_00, 450_000_000_00, 550_000_000_00, 5_000_000_00),
    ("parks", "expense", 20_000_000_00, 18_000_000_00, 22_000_000_00, 200_000_00),
    ("tax", "revenue", 1_520_000_000_00, 1_368_000_000_00, 1_672_000_000_00, 15_000_000_00),
    ("fees", "revenue", 10_000_000_00, 9_000_000_00, 11_000_000_00, 100_00),
]


def test_a_gap_off_the_steps_grid_is_unreachable_and_says_by_how_much():
    reach = reachability(budget(SACRAMENTO_LIKE))
    assert reach.reachable is False and reach.reason == "grid"
    assert reach.start == -17_908_422_00 and reach.grid == 100_00
    assert reach.nearest == (-22_00, 78_00)  # $22 short or $78 over, as the review found
    message = reach.message()
    assert "the city's figures stand at -$17,908,422" in message
    assert "multiples of $100" in message and "between $0 and $0" in message
    assert "-$22 or $78" in message and "rules.tolerance to at least $22" in message


def test_the_tolerance_the_message_asks_for_makes_it_reachable():
    unbalanced = budget(SACRAMENTO_LIKE, tolerance=22_00)
    reach = reachability(unbalanced)
    assert reach.reachable is True  # out of balance at the start, yet a resident can balance
    plan = complete(unbalanced, {})
    assert plan is not None and is_feasible(unbalanced, plan)


def test_a_range_too_narrow_names_the_lines_and_the_numbers():
    rows = [
        ("police", "expense", 1_000_00, 900_00, 1_100_00, 10_00),
        ("fire", "expense", 500_00, 450_00, 550_00, 10_00),
        ("rent", "expense", 300_00, 300_00, 300_00, 10_00, True),
        ("tax", "revenue", 1_500_00, 1_400_00, 1_600_00, 10_00),
    ]
    reach = reachability(budget(rows))
    assert reach.reachable is False and reach.reason == "range"
    assert (reach.low, reach.high) == (-550_00, -50_00)
    message = reach.message()
    assert "the highest a plan reaches is -$50" in message
    assert "achievable range -$550 to -$50" in message
    assert "Dept: Police (cut to its min)" in message and "Dept: Tax (raised to its max)" in message
    assert "locked lines hold $300" in message


def test_steps_that_only_combine_in_one_way_are_found():
    # Steps $30 and $70 (gcd $10), gap $10: only 3 * $70 - 5 * $30 - ... combinations close it.
    rows = [
        ("a", "expense", 1_000_00, 700_00, 1_300_00, 30_00),
        ("b", "expense", 1_000_00, 300_00, 1_700_00, 70_00),
        ("tax", "revenue", 2_000_10, 2_000_10, 2_000_10, 1_00, True),
    ]
    unbalanced = budget(rows)
    assert reachability(unbalanced).reachable is False  # $0.10 off the $10 grid
    rows[2] = ("tax", "revenue", 2_010_00, 2_010_00, 2_010_00, 1_00, True)
    reachable = budget(rows)
    assert reachability(reachable).reachable is True
    plan = complete(reachable, {})
    assert plan is not None and is_feasible(reachable, plan)
    rows[0] = ("a", "expense", 1_000_00, 940_00, 1_060_00, 30_00)  # 2 steps of $30 each way
    rows[1] = ("b", "expense", 1_000_00, 930_00, 1_070_00, 70_00)  # 1 step of $70 each way
    narrow = budget(rows)  # +-$30, +-$60, +-$70 and sums: $10 = $70 - $60 is still there
    assert reachability(narrow).reachable is True
    rows[0] = ("a", "expense", 1_000_00, 970_00, 1_030_00, 30_00)  # one step each way
    rows[1] = ("b", "expense", 930_00, 930_00, 1_000_00, 70_00)  # one step up only
    rows[2] = ("tax", "revenue", 1_940_00, 1_940_00, 1_940_00, 1_00, True)
    # balance = 10 - 30a - 70b for a in -1..1, b in 0..1: 40, 10, -20, -30, -60, -90
    stuck = reachability(budget(rows))
    assert stuck.reachable is False and stuck.reason == "combination"
    assert (stuck.low, stuck.high, stuck.grid) == (-90_00, 40_00, 10_00)
    assert "no combination of whole steps" in stuck.message()
    assert "the achievable range is -$90 to $40" in stuck.message()


@pytest.mark.parametrize("rule", [BalanceRule.SURPLUS_OK, BalanceRule.DEFICIT_LIMIT])
def test_one_sided_rules_need_only_enough_room(rule):
    rows = [*SACRAMENTO_LIKE]
    assert reachability(budget(rows, rule=rule)).reachable is True  # any surplus will do
    tight = [(*row[:3], row[2], row[2], row[5]) for row in rows]  # nothing can move
    reach = reachability(budget(tight, rule=rule))
    assert reach.reachable is False and reach.reason == "range"
    assert "at least $0" in reach.message()


def test_completing_a_plan_moves_it_into_the_rule(rows=SACRAMENTO_LIKE):
    plain = budget(rows, tolerance=100_00)
    plan = {"police": 1_057_908_422_00}  # 4 steps up: a further $40M deficit
    done = complete(plain, plan)
    assert done is not None and is_feasible(plain, done)
    assert done["police"] == plan["police"]  # the resident's own move is kept
    assert complete(replace(plain, rules=Rules(tolerance=0)), plan) is None
