"""The shipped budget packages load cleanly and hold the published figures to the cent."""

from __future__ import annotations

import csv
from pathlib import Path

import polars as pl
import pytest

from budget_sim.data import check_package, load_all, load_package
from budget_sim.data.importer import display_name
from budget_sim.model import LINE_SCHEMA, apply_plan, summarize
from budget_sim.money import parse_amount
from tests.conftest import source_csv

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "budget_data"

PACKAGES = {
    "cambridge-fy2026": ("cambridge_fy2026_general_fund.csv", 108, 6),
    "chicago-fy2026": ("chicago_fy2026_general_fund.csv", 128, 53),
    "oakland-fy2023": ("oakland_fy2023_general_fund.csv", 285, 64),
}


def source_amounts(name: str) -> dict[tuple[str, str, str], int]:
    """(kind, department, program) -> cents, straight from the budget_sources file; an empty
    program stands for the whole department, as in the packages, and names are read as the
    import step shows them (a leading org code such as "501110 - " left out)."""
    amounts = {}
    with source_csv(name).open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            program = row["program"] or row["department"]
            key = (row["kind"], display_name(row["department"]), display_name(program))
            assert key not in amounts
            amounts[key] = parse_amount(row["amount_usd"], allow_negative=True)
    return amounts


@pytest.mark.parametrize("slug", PACKAGES)
def test_package_has_no_problems(slug):
    assert check_package(DATA / slug) == []
    budget = load_package(DATA / slug)
    assert budget.slug == slug
    assert budget.lines.schema == pl.Schema(LINE_SCHEMA)
    assert budget.source and (DATA / slug / "PROVENANCE.md").is_file()


def test_load_all_finds_the_three_packages():
    assert set(load_all(DATA)) >= set(PACKAGES)


@pytest.mark.parametrize("slug", PACKAGES)
def test_every_amount_equals_the_source(slug):
    name, expense_rows, revenue_rows = PACKAGES[slug]
    assert source_csv(name).parent == DATA / slug  # beside the package's PROVENANCE.md
    expected = source_amounts(name)
    lines = load_package(DATA / slug).lines
    actual = {
        (row["kind"], row["department"], row["program"]): row["amount"]
        for row in lines.iter_rows(named=True)
    }
    assert actual == expected
    counts = dict(lines.group_by("kind").len().iter_rows())
    assert counts == {"expense": expense_rows, "revenue": revenue_rows}
    totals = dict(lines.group_by("kind").agg(pl.col("amount").sum()).iter_rows())
    for kind in ("expense", "revenue"):
        assert totals[kind] == sum(cents for key, cents in expected.items() if key[0] == kind)


def test_published_totals():
    totals = {
        slug: dict(
            load_package(DATA / slug).lines.group_by("kind").agg(pl.col("amount").sum()).iter_rows()
        )
        for slug in PACKAGES
    }
    assert totals["cambridge-fy2026"] == {"expense": 99218132000, "revenue": 99218132000}
    assert totals["chicago-fy2026"] == {"expense": 625120739200, "revenue": 624618161700}
    assert totals["oakland-fy2023"] == {"expense": 76023833200, "revenue": 76023833200}


def test_chicago_starts_out_of_balance_by_the_published_gap():
    budget = load_package(DATA / "chicago-fy2026")
    summary = summarize(budget, apply_plan(budget, {}))
    assert summary.baseline_spending - summary.baseline_revenue == 502577500  # $5,025,775
    assert budget.rules.tolerance == 100000000
    assert summary.gap == 502577500 - 100000000
    assert not summary.meets_rule


@pytest.mark.parametrize("slug", ["cambridge-fy2026", "oakland-fy2023"])
def test_balanced_packages_start_balanced(slug):
    budget = load_package(DATA / slug)
    summary = summarize(budget, apply_plan(budget, {}))
    assert summary.balance == 0 and summary.meets_rule
    assert budget.rules.tolerance == 50000000


def test_oakland_has_285_expense_lines_and_one_locked_offset():
    lines = load_package(DATA / "oakland-fy2023").lines
    assert lines.filter(pl.col("kind") == "expense").height == 285
    negative = lines.filter(pl.col("amount") < 0)
    assert negative.height == 1
    row = negative.row(0, named=True)
    assert (row["program"], row["amount"]) == ("Overhead: Recovery and Taken", -2278205000)
    assert row["offset"] and row["locked"] and row["min"] == row["max"] == row["amount"]
    assert "overhead" in row["description"].lower()
    assert lines.filter(pl.col("offset"))["id"].to_list() == [row["id"]]


def test_households_only_for_cambridge():
    budgets = {slug: load_package(DATA / slug) for slug in PACKAGES}
    cambridge = budgets["cambridge-fy2026"]
    assert cambridge.households == 46184
    assert "2014-2018" in cambridge.households_source
    assert "American Community Survey" in cambridge.households_source
    assert budgets["chicago-fy2026"].households is None
    assert budgets["oakland-fy2023"].households is None
    assert "unknown" in budgets["chicago-fy2026"].households_source.lower()
    populations = {slug: budget.population for slug, budget in budgets.items()}
    assert populations == {
        "cambridge-fy2026": 118403,
        "chicago-fy2026": 2746388,
        "oakland-fy2023": 440646,
    }
    assert all("2020" in budget.population_source for budget in budgets.values())


def test_district_populations():
    cambridge, chicago, oakland = (
        [q for q in load_package(DATA / slug).questions if q.kind == "district"]
        for slug in PACKAGES
    )
    [neighborhood] = cambridge
    assert neighborhood.kind == "district" and len(neighborhood.options) == 13
    assert all(option.population is None for option in neighborhood.options)
    assert "not available" in neighborhood.population_note
    assert neighborhood.options[0].label == "East Cambridge"

    [ward] = chicago
    assert ward.kind == "district" and len(ward.options) == 50
    assert [option.label for option in ward.options] == [f"Ward {n}" for n in range(1, 51)]
    assert {option.population for option in ward.options} == {54927.76}
    assert 2746388 / 50 == 54927.76
    assert "ideal" in ward.population_note.lower()
    assert "not a ward count" in ward.population_note

    [district] = oakland
    assert district.kind == "district" and len(district.options) == 7
    assert {option.population for option in district.options} == {round(440646 / 7, 2)}
    assert "ideal" in district.population_note.lower()


@pytest.mark.parametrize("slug", PACKAGES)
def test_revenue_flags(slug):
    lines = load_package(DATA / slug).lines
    revenue = lines.filter(pl.col("kind") == "revenue")
    assert revenue["tax"].any()
    assert lines.filter(pl.col("tax"))["kind"].unique().to_list() == ["revenue"]
    locked = revenue.filter(pl.col("locked"))
    assert locked.height >= 1 and (locked["description"].str.len_chars() > 0).all()
    # Adjustable taxes move within +-5% on their step grid.
    taxes = revenue.filter(pl.col("tax") & ~pl.col("locked"))
    assert (taxes["max"] - taxes["amount"] <= taxes["amount"] * 5 // 100).all()
    assert ((taxes["max"] - taxes["amount"]) % taxes["step"] == 0).all()
    assert ((taxes["amount"] - taxes["min"]) % taxes["step"] == 0).all()


def test_intergovernmental_revenue_is_locked():
    cambridge = load_package(DATA / "cambridge-fy2026").lines
    assert cambridge.filter(pl.col("department") == "Intergovernmental Revenue")["locked"].all()
    chicago = load_package(DATA / "chicago-fy2026").lines
    for program in ("State Income Tax", "Personal Property Replacement Tax"):
        assert chicago.filter(pl.col("program") == program)["locked"].all()
    assert chicago.filter(pl.col("department") == "Proceeds and Transfers In")["locked"].all()
    oakland = load_package(DATA / "oakland-fy2023").lines
    assert oakland.filter(pl.col("department") == "Interfund Transfers")["locked"].all()


# ---------------------------------------------- Sacramento and Philadelphia, through the importer

IMPORTED = {
    "sacramento-fy2026": ("sacramento_fy2026_general_fund.csv", 31, 10),
    "philadelphia-fy2024": ("philadelphia_fy2024_general_fund.csv", 69, 0),
}


def source_rows(name: str) -> list[dict[str, str]]:
    with source_csv(name).open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.mark.parametrize("slug", IMPORTED)
def test_imported_package_has_no_problems_and_its_provenance(slug):
    assert check_package(DATA / slug) == []
    budget = load_package(DATA / slug)
    assert budget.slug == slug and list(budget.locales) == ["en", "es"]
    provenance = (DATA / slug / "PROVENANCE.md").read_text("utf-8")
    name = IMPORTED[slug][0]
    assert f"budget-sim import ../shared/budget_sources/{name} --dest budget_data" in provenance
    assert "translations by the budget-sim" in provenance
    assert "translations by the budget-sim project" in budget.source


@pytest.mark.parametrize("slug", IMPORTED)
def test_imported_amounts_equal_the_source_to_the_cent(slug):
    """Every source row is one line with its amount; a department in two funds is two lines
    named by fund; an empty program is the department's own line."""
    name, expense_rows, revenue_rows = IMPORTED[slug]
    assert source_csv(name).parent == DATA / slug
    rows = source_rows(name)
    funds: dict[tuple[str, str, str], set[str]] = {}
    for row in rows:
        program = row["program"] or row["department"]
        funds.setdefault((row["kind"], row["department"], program), set()).add(row["fund"])
    expected = {}
    for row in rows:
        program = row["program"] or row["department"]
        key = (row["kind"], row["department"], program)
        if len(funds[key]) > 1:
            key = (row["kind"], row["department"], f"{program} ({row['fund']})")
        assert key not in expected
        expected[key] = parse_amount(row["amount_usd"], allow_negative=True)
    lines = load_package(DATA / slug).lines
    actual = {
        (row["kind"], row["department"], row["program"]): row["amount"]
        for row in lines.iter_rows(named=True)
    }
    assert actual == expected
    counts = dict(lines.group_by("kind").len().iter_rows())
    assert counts.get("expense", 0) == expense_rows and counts.get("revenue", 0) == revenue_rows


def test_imported_published_totals():
    sacramento = load_package(DATA / "sacramento-fy2026")
    totals = dict(sacramento.lines.group_by("kind").agg(pl.col("amount").sum()).iter_rows())
    assert totals == {"expense": 85665055400, "revenue": 83874213200}
    philadelphia = load_package(DATA / "philadelphia-fy2024")
    assert philadelphia.lines["amount"].sum() == 619541400000
    assert (philadelphia.lines["kind"] == "expense").all()


def test_sacramento_starts_out_of_balance_and_philadelphia_keeps_its_total():
    sacramento = load_package(DATA / "sacramento-fy2026")
    summary = summarize(sacramento, apply_plan(sacramento, {}))
    assert summary.baseline_spending - summary.baseline_revenue == 1790842200  # $17,908,422
    assert not summary.meets_rule
    assert sacramento.rules.tolerance == 240000000
    philadelphia = load_package(DATA / "philadelphia-fy2024")
    summary = summarize(philadelphia, apply_plan(philadelphia, {}))
    assert summary.fixed_envelope and summary.balance == 0 and summary.meets_rule
    assert philadelphia.rules.tolerance == 850000000


@pytest.mark.parametrize("slug", IMPORTED)
def test_imported_budgets_can_be_balanced_and_read_in_spanish(slug):
    from tests.test_import import assert_residents_can_balance

    budget = load_package(DATA / slug)
    assert_residents_can_balance(budget)
    spanish = budget.localized("es")
    assert spanish.title.startswith(("Presupuesto", "Gastos"))
    english = dict(zip(budget.lines["id"], budget.lines["program"], strict=True))
    translated = dict(zip(spanish.lines["id"], spanish.lines["program"], strict=True))
    assert english.keys() == translated.keys()
    same = [line_id for line_id in english if english[line_id] == translated[line_id]]
    assert same in ([], ["office-of-innovation-and-technology-oit-911"])  # "OIT: 911" stays
    locked = budget.lines.filter(pl.col("locked"))
    assert locked.height == 1 and "bond" in locked["description"].item()


def test_oakland_names_lose_their_org_codes_but_keep_their_ids():
    """The codes stay in the source file and in the line ids; residents read plain names."""
    lines = load_package(DATA / "oakland-fy2023").lines
    programs = lines["program"].to_list()
    assert not [name for name in programs if name[:1].isdigit() and " - " in name]
    assert "Office of OPR Director" in programs
    row = lines.filter(pl.col("program") == "Office of OPR Director").row(0, named=True)
    assert row["id"] == "oakland-parks-and-recreation-501110-office-of-opr-director"
    with source_csv("oakland_fy2023_general_fund.csv").open(encoding="utf-8") as handle:
        assert "501110 - Office of OPR Director" in handle.read()


def test_departments_in_the_stated_order_and_wards_by_number():
    chicago = load_package(DATA / "chicago-fy2026")
    expense = chicago.lines.filter(pl.col("kind") == "expense")
    totals = expense.group_by("department", maintain_order=True).agg(pl.col("amount").sum())
    assert totals["amount"].to_list() == sorted(totals["amount"].to_list(), reverse=True)
    council = expense.filter(pl.col("department") == "City Council")["program"].to_list()
    wards = [name for name in council if name.endswith("Ward Council Office")]
    assert [int("".join(c for c in name.split()[0] if c.isdigit())) for name in wards] == list(
        range(1, 51)
    )


@pytest.mark.parametrize("slug", ["chicago-fy2026", "oakland-fy2023"])
def test_every_name_has_a_spanish_translation(slug):
    budget = load_package(DATA / slug)
    assert budget.locales == ("en", "es")
    spanish = budget.localized("es").lines
    english = budget.lines
    assert spanish["amount"].to_list() == english["amount"].to_list()  # same lines, same order
    assert spanish["department"].str.len_chars().min() > 0
    changed = (spanish["program"] != english["program"]).sum()
    assert changed > 0.9 * english.height  # a few names are the same in both (e.g. "Gas")
