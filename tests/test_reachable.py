"""`budget-sim check` proves a resident can submit: an unreachable balance rule is reported
with its numbers, a budget that starts out of balance but can be balanced passes, every
shipped budget passes, and `demo` on an unreachable budget is one line, not a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from budget_sim.data import load_package
from budget_sim.model import is_feasible
from budget_sim.model.reach import complete, reachability
from budget_sim.settings import Settings
from tests.test_cli import one_line_error, run

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = sorted(p.name for p in (ROOT / "budget_data").iterdir() if (p / "budget.toml").is_file())

MANIFEST = """slug = "{slug}"
city = "Sacramento-like"
fiscal_year = 2026
currency = "USD"
locales = ["en"]

[title]
en = "A budget published out of balance"

[source]
text = "Made-up figures for tests, shaped like Sacramento FY2026 (off the $100 grid by $78)."

[rules]
balance = "balanced"
tolerance = {tolerance}
"""
# Out of balance by -$17,908,422 as published; permits move in $100 steps and every other
# step (the default 1%, two significant digits) is a multiple of $100: the gap is $78 off.
LINES = """id,department,program,kind,amount,step
police,Police,Patrol,expense,700000000,
fire,Fire,Suppression,expense,317908422,
parks,Parks,Maintenance,expense,50000000,
tax,Taxes,Property tax,revenue,1000000000,
fees,Fees,Permits,revenue,50000000,100
"""


def package(root: Path, tolerance: str, slug: str = "off-grid-fy2026") -> Path:
    folder = root / slug
    folder.mkdir(parents=True)
    (folder / "budget.toml").write_text(MANIFEST.format(slug=slug, tolerance=tolerance))
    (folder / "lines.csv").write_text(LINES)
    return folder


def test_check_reports_an_unreachable_rule_with_its_numbers(tmp_path: Path):
    folder = package(tmp_path, "0")
    result = run(None, "check", str(folder))
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    line = result.stdout.strip()
    assert line.startswith("off-grid-fy2026/budget.toml, column 'rules.tolerance': ")
    assert "no resident can submit" in line
    assert "the city's figures stand at -$17,908,422" in line
    assert "multiples of $100" in line and "-$22 or $78" in line
    assert "1 problem(s)" in result.stderr


def test_check_accepts_a_budget_that_starts_out_of_balance_when_balance_is_reachable(
    tmp_path: Path,
):
    folder = package(tmp_path, "22")
    result = run(None, "check", str(folder))
    assert result.exit_code == 0, result.output
    assert "no problems found" in result.stdout
    budget = load_package(folder)
    plan = complete(budget, {})
    assert plan and plan != {} and is_feasible(budget, plan)  # a resident can get there


@pytest.mark.parametrize("slug", SHIPPED)
def test_every_shipped_budget_can_be_submitted(slug: str):
    assert reachability(load_package(ROOT / "budget_data" / slug)).reachable is True
    result = run(None, "check", str(ROOT / "budget_data" / slug))
    assert result.exit_code == 0, result.output


def test_demo_on_an_unreachable_budget_is_one_line(settings: Settings, tmp_path: Path):
    package(tmp_path / "data", "0")
    data = settings.model_copy(update={"data_dir": tmp_path / "data"})
    error = one_line_error(run(data, "demo", "off-grid-fy2026", "--residents", "5"))
    assert "no resident can submit" in error and "-$22 or $78" in error


def test_demo_on_a_reachable_unbalanced_budget_adds_plans(settings: Settings, tmp_path: Path):
    package(tmp_path / "data", "22")
    data = settings.model_copy(update={"data_dir": tmp_path / "data"})
    result = run(data, "demo", "off-grid-fy2026", "--residents", "40", "--seed", "3")
    assert result.exit_code == 0, result.output
    assert "Added 40 synthetic submissions" in result.stdout
