"""`budget-sim import` on cities' exports as they come: each messy file below is written here,
byte by byte, imported with the command's options, checked as `budget-sim check` checks, and
its totals compared with the source to the cent. A resident must be able to balance each."""

from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
import xlsxwriter
from click.testing import CliRunner

from budget_sim.cli import main
from budget_sim.data import check_package, load_package
from budget_sim.data.export_read import ReadOptions
from budget_sim.data.importer import convert, import_source
from budget_sim.errors import DataError
from budget_sim.model import Budget, apply_plan, check, summarize
from budget_sim.money import parse_amount
from tests.conftest import source_csv


def balanced_plan(budget: Budget, start: dict[str, int] | None = None) -> dict[str, int]:
    """A plan that meets the balance rule, found by moving the largest steps first (each line
    within its own min, max and step), starting from `start`; the lines of `start` stay."""
    plan = dict(start or {})
    need = summarize(budget, apply_plan(budget, plan)).balance  # bring this to 0
    rows = sorted(
        budget.lines.filter(~pl.col("locked")).iter_rows(named=True), key=lambda row: -row["step"]
    )
    rows = [row for row in rows if row["id"] not in plan]
    for row in rows:
        sign = 1 if row["kind"] == "revenue" else -1  # the balance's change per step up
        steps = abs(need) // row["step"] * (1 if -need * sign > 0 else -1)
        steps = max(
            (row["min"] - row["amount"]) // row["step"],
            min((row["max"] - row["amount"]) // row["step"], steps),
        )
        plan[row["id"]] = row["amount"] + steps * row["step"]
        need += sign * steps * row["step"]
    if abs(need) > budget.rules.tolerance:  # one step past the target, where it lands closer
        for row in rows:
            sign = 1 if row["kind"] == "revenue" else -1
            step = row["step"] * (1 if -need * sign > 0 else -1)
            if (
                row["min"] <= plan[row["id"]] + step <= row["max"]
                and abs(need + sign * step) <= budget.rules.tolerance
            ):
                plan[row["id"]] += step
                need += sign * step
                break
    return plan


def assert_residents_can_balance(budget: Budget, *, after_moving_the_top: bool = True) -> None:
    """Balance is reachable from the city's figures, and (unless one line outweighs all the
    others' room) again after moving the line with the largest step one step either way."""
    assert check(budget, balanced_plan(budget)) == []
    if not after_moving_the_top:
        return
    top = budget.lines.filter(~pl.col("locked")).sort("step", descending=True).row(0, named=True)
    for moved in (top["amount"] + top["step"], top["amount"] - top["step"]):
        assert check(budget, balanced_plan(budget, {top["id"]: moved})) == []


def totals(budget: Budget) -> dict[str, int]:
    return dict(budget.lines.group_by("kind").agg(pl.col("amount").sum()).iter_rows())


def cents(text: str) -> int:
    return int(Decimal(text) * 100)


# ------------------------------------------------------------ a Socrata-style export


SOCRATA_HEADER = (
    "Fiscal Year,Fund Description,Department Name,Program Name,Account Type,Adopted Budget"
)
SOCRATA_ROWS = [
    ("Police", "Patrol", "Expense", "412345678.00"),
    ("Police", "Patrol", "Expense", "1234.56"),
    ("Police", "Patrol", "Expense", "-20000.10"),
    ("Police", "Investigations", "Expense", "2500000.00"),
    ("Parks & Recreation", "", "Expense", "9999999.99"),
    ("Parks & Recreation", "Trees", "Expense", "1000000.00"),
    ("Parks & Recreation", "Trees", "Expense", "250.50"),
    ("Property Tax", "Residential", "Revenue", "300000000.00"),
    ("Property Tax", "Residential", "Revenue", "100000000.01"),
    ("Sales Tax", "", "Revenue", "25000000.00"),
]


def money_text(amount: str) -> str:
    value = Decimal(amount)
    text = f"${abs(value):,.2f}"
    return f"-{text}" if value < 0 else text


def socrata_export(path: Path) -> Path:
    lines = [
        '"City of Springfield - FY2026 Adopted Budget",,,,,',
        "Source: data.springfield.gov,,,,,",
        SOCRATA_HEADER,
        *(f'2026,General Fund,{d},{p},{k},"{money_text(a)}"' for d, p, k, a in SOCRATA_ROWS),
    ]
    path.write_bytes(b"\xef\xbb\xbf" + "\r\n".join(lines).encode("utf-8") + b"\r\n")
    return path


def test_socrata_export_with_bom_crlf_title_rows_and_dollar_amounts(tmp_path):
    source = socrata_export(tmp_path / "socrata_budget_export.csv")
    result = CliRunner().invoke(
        main,
        [
            "import",
            str(source),
            "--dest",
            str(tmp_path / "data"),
            "--city",
            "Springfield, IL",
            "--slug",
            "springfield-fy2026",
        ],
    )
    assert result.exit_code == 0, result.output
    out = result.output
    assert "encoding utf-8 (byte order mark found)" in out
    assert "delimiter ',' (detected)" in out
    assert "header on row 3 (detected; 2 title rows above it skipped)" in out
    assert "currency symbols removed in 10 rows; thousands separators removed in 9 rows" in out
    assert "summed 7 rows into 3 lines" in out
    folder = tmp_path / "data" / "springfield-fy2026"
    assert check_package(folder) == []
    budget = load_package(folder)
    expected = {"expense": 0, "revenue": 0}
    for _, _, kind, amount in SOCRATA_ROWS:
        expected[kind.lower()] += cents(amount)
    assert totals(budget) == expected
    lines = {row["program"]: row["amount"] for row in budget.lines.iter_rows(named=True)}
    assert lines["Patrol"] == 41234567800 + 123456 - 2000010
    assert lines["Parks & Recreation"] == 999999999  # an empty program: the department's line
    assert lines["Residential"] == 40000000001
    assert budget.city == "Springfield, IL" and budget.fiscal_year == 2026
    assert_residents_can_balance(budget)
    toml = (folder / "budget.toml").read_text("utf-8")
    assert "# The importer set it to half the largest slider step" in toml


# ------------------------------------------------------------ ; + Windows-1252 + decimal comma


GERMAN_ROWS = [
    ("Straßenbau", "Brücken", "Aufwand", "1.234.567,89"),
    ("Straßenbau", "Brücken", "Aufwand", "10,01"),
    ("Straßenbau", "Gehwege", "Aufwand", "250.000"),
    ("Bürgerbüro", "", "Aufwand", "99.999,5"),
    ("Steuern", "Gewerbesteuer", "Ertrag", "1.500.000,00"),
    ("Steuern", "Grundsteuer", "Ertrag", "84.578,40"),
]


def german_export(path: Path) -> Path:
    text = "Haushalt 2025;;;\r\nFachbereich;Produkt;Typ;Betrag\r\n" + "".join(
        f"{d};{p};{k};{a}\r\n" for d, p, k, a in GERMAN_ROWS
    )
    path.write_bytes(text.encode("cp1252"))
    return path


def german_cents(text: str) -> int:
    return cents(text.replace(".", "").replace(",", "."))


def test_semicolon_windows_1252_decimal_comma_with_a_type_column(tmp_path):
    source = german_export(tmp_path / "haushalt_2025.csv")
    args = [
        "import",
        str(source),
        "--dest",
        str(tmp_path / "data"),
        "--city",
        "Münster",
        "--fiscal-year",
        "2025",
        "--column",
        "department=Fachbereich",
        "--column",
        "program=Produkt",
        "--column",
        "kind=Typ",
        "--column",
        "amount=Betrag",
        "--kind-value",
        "expense=Aufwand",
        "--kind-value",
        "revenue=Ertrag",
    ]
    without_comma = CliRunner().invoke(main, args)
    assert without_comma.exit_code == 1
    assert (
        "'1.234.567,89' is not an amount: it looks like a decimal comma: give "
        "--decimal-comma" in without_comma.output
    )
    assert not (tmp_path / "data").exists()
    result = CliRunner().invoke(main, [*args, "--decimal-comma"])
    assert result.exit_code == 0, result.output
    assert "encoding Windows-1252 (detected" in result.output
    assert "delimiter ';' (detected)" in result.output
    assert "header on row 2 (detected; 1 title row above it skipped)" in result.output
    assert "summed 2 rows into 1 lines" in result.output
    folder = tmp_path / "data" / "munster-fy2025"
    assert check_package(folder) == []
    budget = load_package(folder)
    expected = {"expense": 0, "revenue": 0}
    for _, _, kind, amount in GERMAN_ROWS:
        expected["expense" if kind == "Aufwand" else "revenue"] += german_cents(amount)
    assert totals(budget) == expected
    names = set(budget.lines["department"]) | set(budget.lines["program"])
    assert {"Straßenbau", "Brücken", "Bürgerbüro"} <= names
    assert_residents_can_balance(budget)


def test_unknown_kind_value_names_the_option(tmp_path):
    source = german_export(tmp_path / "haushalt_2025.csv")
    with pytest.raises(DataError) as raised:
        convert(
            source,
            options=ReadOptions(
                decimal_comma=True,
                columns={
                    "department": "Fachbereich",
                    "program": "Produkt",
                    "kind": "Typ",
                    "amount": "Betrag",
                },
            ),
            city="Münster",
            fiscal_year=2025,
        )
    messages = [p.message for p in raised.value.problems]
    assert messages[0] == (
        "kind 'Aufwand' (4 rows, first on row 3) is neither expense nor revenue: give "
        "--kind-value expense=Aufwand or --kind-value revenue=Aufwand"
    )


# ------------------------------------------------------------ XLSX with merged title cells


XLSX_ROWS = [
    ("Public Works", "Streets", 1250000.25),
    ("Public Works", "Streets", 99.75),
    ("Public Works", "Fleet", 333333.33),
    ("Library", None, 4100000.1),
    ("Fire", "Suppression", 12345678901.23),
]


def merged_workbook(path: Path) -> Path:
    workbook = xlsxwriter.Workbook(str(path))
    workbook.add_worksheet("Cover").write(0, 0, "see the next sheet")
    sheet = workbook.add_worksheet("Adopted")
    bold = workbook.add_format({"bold": True})
    sheet.merge_range(0, 0, 0, 2, "City of Springfield - FY2025 Adopted Budget", bold)
    sheet.merge_range(1, 0, 1, 2, "Source: Budget Office, June 2025")
    sheet.write_row(3, 0, ["Department", "Division", "FY2025 Adopted"])
    for offset, (department, division, amount) in enumerate(XLSX_ROWS, start=4):
        sheet.write(offset, 0, department)
        if division:
            sheet.write(offset, 1, division)
        sheet.write_number(offset, 2, amount)
    total = sum(Decimal(str(a)) for _, _, a in XLSX_ROWS)
    sheet.write(4 + len(XLSX_ROWS), 0, "TOTAL")
    sheet.write_number(4 + len(XLSX_ROWS), 2, float(total))
    workbook.close()
    return path


def test_xlsx_with_merged_title_cells_on_a_named_sheet(tmp_path):
    source = merged_workbook(tmp_path / "adopted_budget_fy2025.xlsx")
    made = import_source(
        source,
        tmp_path / "data",
        options=ReadOptions(sheet="Adopted", kind="expense", columns={"amount": "FY2025 Adopted"}),
        city="Springfield",
        fiscal_year=2025,
    )
    assert "header on row 4 (detected; 2 title rows above it skipped)" in made.notes
    assert any(note.startswith("left out row 10 ('TOTAL'") for note in made.notes)
    assert check_package(made.folder) == []
    budget = load_package(made.folder)
    expected = sum(cents(str(amount)) for _, _, amount in XLSX_ROWS)
    assert totals(budget) == {"expense": expected}
    fire = budget.lines.filter(pl.col("department") == "Fire")["amount"].item()
    assert fire == 1234567890123
    assert budget.lines.filter(pl.col("department") == "Library")["program"].item() == "Library"
    assert_residents_can_balance(budget, after_moving_the_top=False)  # Fire is 99.95% of it


def test_without_a_kind_the_message_names_the_options(tmp_path):
    source = merged_workbook(tmp_path / "adopted.xlsx")
    with pytest.raises(DataError) as raised:
        convert(
            source,
            options=ReadOptions(sheet="Adopted", columns={"amount": "FY2025 Adopted"}),
            city="X",
            fiscal_year=2025,
        )
    [problem] = raised.value.problems
    assert "--kind expense (or --kind revenue)" in problem.message
    assert "--column kind=HEADER" in problem.message
    with pytest.raises(DataError) as raised:
        convert(source, options=ReadOptions(sheet="Nope"), city="X", fiscal_year=2025)
    assert "--sheet NAME" in raised.value.problems[0].message


# ------------------------------------------------------------ every message names its option


@pytest.mark.parametrize(
    ("text", "options", "kwargs", "option"),
    [
        ("a;b\n1;2\n", ReadOptions(columns={"department": "x"}), {}, "--column department="),
        ("Dept,Amount\nA,1\n", ReadOptions(kind="expense"), {"fiscal_year": 2025}, "--city"),
        ("Dept,Amount\nA,1\n", ReadOptions(kind="expense"), {"city": "C"}, "--fiscal-year"),
        (
            "Dept,Amount\nA,1.234\n",
            ReadOptions(kind="expense"),
            {"city": "C", "fiscal_year": 2025},
            "--column amount=HEADER",
        ),
        (
            'Dept,Amount\nA,"1,5"\n',
            ReadOptions(kind="expense"),
            {"city": "C", "fiscal_year": 2025},
            "--decimal-comma",
        ),
        (
            "Dept,Amount\nA,1\n",
            ReadOptions(kind="expense", encoding="klingon"),
            {"city": "C", "fiscal_year": 2025},
            "--encoding",
        ),
        (
            "Dept,Amount\nA,1\n",
            ReadOptions(kind="expense", header_row=9),
            {"city": "C", "fiscal_year": 2025},
            "--header-row",
        ),
        (
            "Dept,Amount\nA,1\n",
            ReadOptions(kind="expense", delimiter="ab"),
            {"city": "C", "fiscal_year": 2025},
            "--delimiter",
        ),
        (
            "Dept,Program,Amount\n,P,1\n",
            ReadOptions(kind="expense"),
            {"city": "C", "fiscal_year": 2025},
            "--column department=",
        ),
    ],
)
def test_every_message_names_the_option_that_fixes_it(tmp_path, text, options, kwargs, option):
    source = tmp_path / "export.csv"
    source.write_text(text, encoding="utf-8")
    with pytest.raises(DataError) as raised:
        convert(source, options=options, **kwargs)
    assert raised.value.problems
    for problem in raised.value.problems:
        assert option in problem.message, problem


def test_cli_bad_pairs_exit_2_with_one_line(tmp_path):
    source = tmp_path / "x.csv"
    source.write_text("Dept,Amount\nA,1\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["import", str(source), "--column", "color=Dept"])
    assert result.exit_code == 2
    assert "--column" in result.output and "department, program, kind, amount" in result.output


# ------------------------------------------------------------ the budget_sources layout


def source_totals(path: Path) -> dict[str, int]:
    found = {"expense": 0, "revenue": 0}
    with path.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            found[row["kind"]] += parse_amount(row["amount_usd"], allow_negative=True)
    return found


@pytest.mark.parametrize(
    ("name", "slug", "lines"),
    [
        ("cambridge_fy2026_general_fund.csv", "cambridge-fy2026", 114),
        ("chicago_fy2026_general_fund.csv", "chicago-fy2026", 181),
        ("oakland_fy2023_general_fund.csv", "oakland-fy2023", 349),
        ("philadelphia_fy2024_general_fund.csv", "philadelphia-fy2024", 69),
        ("sacramento_fy2026_general_fund.csv", "sacramento-fy2026", 41),
    ],
)
def test_budget_sources_files_import_unchanged_and_balanceable(tmp_path, name, slug, lines):
    made = import_source(source_csv(name), tmp_path)
    assert made.folder == tmp_path / slug
    assert sorted(path.name for path in made.folder.iterdir()) == ["budget.toml", "lines.csv"]
    budget = load_package(made.folder)
    assert budget.lines.height == lines
    assert {k: totals(budget).get(k, 0) for k in ("expense", "revenue")} == source_totals(
        source_csv(name)
    )
    assert budget.lines.filter(pl.col("amount") < 0)["locked"].all()
    text = (made.folder / "lines.csv").read_text(encoding="utf-8")
    assert "source_note" in text.splitlines()[0] and "@" in text  # provenance kept per row
    assert "amounts unchanged" in budget.source
    assert budget.rules.tolerance > 0
    assert_residents_can_balance(budget)


def test_sacramento_default_rule_is_reachable_where_tolerance_0_was_not(tmp_path):
    budget = load_package(
        import_source(source_csv("sacramento_fy2026_general_fund.csv"), tmp_path).folder
    )
    summary = summarize(budget, apply_plan(budget, {}))
    assert summary.baseline_spending - summary.baseline_revenue == 1790842200  # as published
    steps = budget.lines.filter(~pl.col("locked"))["step"]
    assert budget.rules.tolerance * 2 >= steps.max()
    plan = balanced_plan(budget)
    assert plan and check(budget, plan) == []


def test_import_refuses_to_overwrite(tmp_path):
    source = source_csv("cambridge_fy2026_general_fund.csv")
    folder = import_source(source, tmp_path).folder
    before = {path.name: path.read_bytes() for path in folder.iterdir()}
    with pytest.raises(DataError) as raised:
        import_source(source, tmp_path)
    [problem] = raised.value.problems
    assert problem.file == str(folder) and "never overwrites" in problem.message
    assert "--slug" in problem.message
    assert {path.name: path.read_bytes() for path in folder.iterdir()} == before


def test_a_data_row_with_an_extra_cell_does_not_move_the_header(tmp_path):
    source = tmp_path / "export.csv"
    source.write_text('Dept,Program,Amount\nA,P,1000\nB\nC,"two\nlines",2000\nD,Q,3000,note\n')
    made = convert(source, options=ReadOptions(kind="expense"), city="X", fiscal_year=2025)
    assert "header on row 1 (detected)" in made.notes
    assert "left out 1 row with no amount (row 3)" in made.notes
    rows = list(csv.DictReader(made.lines_csv.splitlines(keepends=True)))
    assert [(row["program"], row["amount"]) for row in rows] == [
        ("P", "1000"),
        ("two lines", "2000"),  # residents read one line; the source keeps its line break
        ("Q", "3000"),
    ]
