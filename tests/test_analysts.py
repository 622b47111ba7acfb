"""For analysts who script: the documented example runs, the Python functions and the
`insights --json` command give what they promise, on both databases."""

from __future__ import annotations

import json
import re
from pathlib import Path

import polars as pl
import pytest

import budget_sim
import budget_sim.insights
from budget_sim.errors import DataError
from budget_sim.settings import Settings
from budget_sim.storage import Database, NewSubmission, save_many
from tests.test_cli import SLUG, run

DOCS = Path(__file__).resolve().parents[1] / "docs" / "analysts.md"
DATA = Path(__file__).resolve().parents[1] / "budget_data"


def seed(settings: Settings, real: int = 12, demo: int = 3) -> dict[str, int]:
    """`real` residents who raise the first adjustable line by a step (a comment on one), and
    `demo` demo submissions at the city's amounts; returns that line and step."""
    budget = budget_sim.load_budget(DATA / SLUG)
    lines = budget.lines.filter(~pl.col("locked") & (pl.col("kind") == "expense"))
    line = lines.row(0, named=True)
    city = dict(budget.lines.select("id", "amount").iter_rows())
    moved = {**city, line["id"]: line["amount"] + line["step"]}
    database = Database(settings.database_url)
    with database.writing() as session:
        save_many(
            session,
            [
                NewSubmission(SLUG, budget.version, budget.line_ids, f"r{n}", moved, {}, False)
                for n in range(real)
            ]
            + [
                NewSubmission(SLUG, budget.version, budget.line_ids, f"d{n}", city, {}, True)
                for n in range(demo)
            ],
        )
    database.dispose()
    return {"id": line["id"], "amount": line["amount"], "step": line["step"]}


def test_the_documented_example_runs(settings: Settings, capsys):
    seed(settings)
    blocks = re.findall(r"```python\n(.*?)```", DOCS.read_text(), re.DOTALL)
    assert blocks, "docs/analysts.md has no Python example"
    exec(compile(blocks[0], str(DOCS), "exec"), {"DATABASE_URL": settings.database_url})
    printed = capsys.readouterr().out
    assert "Cambridge FY2026" in printed and "12 submissions" in printed


def test_load_submissions_gives_cents_per_line_and_leaves_demo_out(settings: Settings):
    line = seed(settings)
    real = budget_sim.load_submissions(settings.database_url, SLUG)
    every = budget_sim.load_submissions(settings.database_url, SLUG, include_synthetic=True)
    assert (real.height, every.height) == (12, 15)
    assert real.columns[:4] == ["receipt", "submitted_at", "locale", "synthetic"]
    assert real.schema[line["id"]] == pl.Int64
    assert set(real[line["id"]]) == {line["amount"] + line["step"]}
    assert real["submitted_at"].dtype.time_zone == "UTC"  # type: ignore[union-attr]


def test_load_budget_from_a_folder_a_slug_or_nowhere(settings: Settings, tmp_path: Path):
    from_folder = budget_sim.load_budget(DATA / SLUG)
    from_slug = budget_sim.load_budget(SLUG, database_url=settings.database_url)
    assert from_folder.version == from_slug.version and len(from_slug.line_ids) > 100
    with pytest.raises(LookupError, match="no budget 'atlantis'"):
        budget_sim.load_budget("atlantis", database_url=settings.database_url)
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "budget.toml").write_text("title = 'no lines'\n")
    with pytest.raises(DataError):
        budget_sim.load_budget(broken)


def test_insights_json_gives_the_headline_with_n_and_intervals(settings: Settings):
    line = seed(settings)
    result = run(settings, "insights", SLUG, "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert (data["budget"], data["submissions"], data["include_synthetic"]) == (SLUG, 12, False)
    assert data["method"] in budget_sim.insights.METHODS
    assert data["interval"]["level"] == 0.95 and data["interval"]["note"]
    rows = {row["line_id"]: row for row in data["lines"]}
    moved = rows[line["id"]]
    assert moved["n"] == 12 and moved["city_cents"] == line["amount"]
    assert moved["low_cents"] <= moved["headline_cents"] <= moved["high_cents"]
    with_demo = json.loads(run(settings, "insights", SLUG, "--json", "--include-synthetic").stdout)
    assert with_demo["submissions"] == 15
