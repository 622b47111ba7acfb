"""Budget packages on disk: every bad input is reported with file, row, column and what to write.

Broken packages are real files written into tmp_path (CSV and XLSX); nothing is mocked."""

from __future__ import annotations

import hashlib
from pathlib import Path

import polars as pl
import pytest
import xlsxwriter

from budget_sim.data import check_package, load_all, load_package
from budget_sim.errors import DataError, Problem
from budget_sim.model import LINE_SCHEMA, BalanceRule
from budget_sim.model.limits import default_max, default_min, default_step

MANIFEST = """\
slug = "demo"
city = "Demo City"
fiscal_year = 2026
[title]
en = "Demo budget"
[source]
text = "Invented for tests"
[rules]
tolerance = 100
"""
HEADER = "id,department,program,kind,amount"
ROWS = [
    "parks,Parks,Maintenance,expense,1000",
    "police,Police,Patrol,expense,2000",
    "taxes,Taxes,Property,revenue,3000",
]


def write_package(
    root: Path,
    lines: str | bytes | None = None,
    *,
    manifest: str = MANIFEST,
    name: str = "demo",
    lines_name: str = "lines.csv",
) -> Path:
    folder = root / name
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "budget.toml").write_text(manifest, encoding="utf-8")
    if lines is None:
        lines = "\n".join([HEADER, *ROWS]) + "\n"
    data = lines.encode("utf-8") if isinstance(lines, str) else lines
    (folder / lines_name).write_bytes(data)
    return folder


def csv_text(header: str = HEADER, *rows: str) -> str:
    return "\n".join([header, *rows]) + "\n"


def one_problem(folder: Path) -> Problem:
    problems = check_package(folder)
    assert len(problems) == 1, problems
    return problems[0]


def write_xlsx(path: Path, rows: list[list[object]], *, start_row: int = 0) -> Path:
    workbook = xlsxwriter.Workbook(str(path))
    sheet = workbook.add_worksheet()
    for offset, row in enumerate(rows):
        for column, value in enumerate(row):
            if isinstance(value, tuple):  # (formula, the value the workbook shows)
                sheet.write_formula(start_row + offset, column, value[0], None, value[1])
            elif value is not None:
                sheet.write(start_row + offset, column, value)
    workbook.add_worksheet("notes").write(0, 0, "ignored: only the first sheet is read")
    workbook.close()
    return path


# ------------------------------------------------------------------ valid packages


def test_valid_package_loads_with_exact_schema_and_cents(tmp_path):
    folder = write_package(tmp_path)
    assert check_package(folder) == []
    budget = load_package(folder)
    assert budget.slug == "demo" and budget.city == "Demo City" and budget.fiscal_year == 2026
    assert budget.title == "Demo budget" and budget.intro == "" and budget.source
    assert budget.lines.schema == pl.Schema(LINE_SCHEMA)
    assert list(budget.lines.columns) == list(LINE_SCHEMA)
    assert budget.lines["amount"].to_list() == [100000, 200000, 300000]
    assert budget.lines["description"].to_list() == ["", "", ""]
    assert budget.rules.balance is BalanceRule.BALANCED
    assert budget.rules.tolerance == 10000
    assert budget.households is None and budget.population is None
    assert budget.questions == () and budget.locales == ("en",) and budget.embed_origins == ()


def test_default_limits_come_from_the_model_expressions(tmp_path):
    rows = ["a,A,A,expense,1234567.89", "b,B,B,expense,0", "c,C,C,expense,55", "d,D,D,revenue,999"]
    budget = load_package(write_package(tmp_path, csv_text(HEADER, *rows)))
    rules = budget.rules
    expected = (
        pl.DataFrame({"amount": [123456789, 0, 5500, 99900]}, schema={"amount": pl.Int64})
        .with_columns(step=default_step(rules.step_percent))
        .with_columns(
            min=default_min(rules.min_change_percent), max=default_max(rules.max_change_percent)
        )
    )
    for column in ("step", "min", "max"):
        assert budget.lines[column].to_list() == expected[column].to_list()


def test_version_is_sha256_of_manifest_and_lines(tmp_path):
    folder = write_package(tmp_path)
    digest = hashlib.sha256(
        (folder / "budget.toml").read_bytes() + (folder / "lines.csv").read_bytes()
    ).hexdigest()
    assert load_package(folder).version == digest[:16]
    (folder / "lines.csv").write_text(csv_text(HEADER, *ROWS[:2]), encoding="utf-8")
    assert load_package(folder).version != digest[:16]


def test_optional_columns_locked_offset_tax_explicit_limits(tmp_path):
    header = "id,department,program,kind,amount,min,max,step,locked,offset,tax,description"
    rows = [
        "parks,Parks,Maintenance,expense,1000,900,1100,50,no,no,no,Trees and lawns",
        "debt,Debt,Service,expense,500,,,,YES,,,Fixed by bonds",
        "credit,Overhead,Recovery,expense,-250,,,,1,true,0,",
        "levy,Taxes,Property,revenue,3000.50,2900.50,3100.50,100,false,FALSE,True,",
    ]
    budget = load_package(write_package(tmp_path, csv_text(header, *rows)))
    lines = {row["id"]: row for row in budget.lines.iter_rows(named=True)}
    assert lines["parks"] | {} == {
        "id": "parks", "department": "Parks", "program": "Maintenance", "kind": "expense",
        "amount": 100000, "min": 90000, "max": 110000, "step": 5000, "locked": False,
        "offset": False, "tax": False, "description": "Trees and lawns",
        "consequences": "", "link": "",
    }  # fmt: skip
    assert (lines["debt"]["min"], lines["debt"]["max"], lines["debt"]["locked"]) == (
        50000, 50000, True,
    )  # fmt: skip
    assert lines["credit"]["amount"] == -25000 and lines["credit"]["offset"]
    assert lines["credit"]["min"] == lines["credit"]["max"] == -25000
    assert lines["levy"]["tax"] and lines["levy"]["min"] == 290050


def test_offset_line_may_be_negative_with_default_limits(tmp_path):
    header = "id,department,program,kind,amount,offset"
    budget = load_package(write_package(tmp_path, csv_text(header, "x,X,X,expense,-1000,true")))
    row = budget.lines.row(0, named=True)
    assert (row["amount"], row["step"], row["min"], row["max"]) == (-100000, 1000, -110000, -90000)


def test_locale_description_and_consequence_columns_are_allowed(tmp_path):
    header = f"{HEADER},description_en,description_es,consequence_cut_10"
    folder = write_package(tmp_path, csv_text(header, "a,A,A,expense,1,Parks,Parques,Fewer"))
    assert load_package(folder).lines["description"].to_list() == ["Parks"]


@pytest.mark.parametrize(
    ("cell", "message"),
    [
        ("-5%: Fewer hours | 5: More", "cannot read '5: More'"),
        ("0%: Nothing", "cannot read '0%: Nothing'"),
        ("-5%: A | -5%: B", "each level may appear only once"),
    ],
)
def test_unreadable_consequences_are_reported(tmp_path, cell, message):
    header = f"{HEADER},consequences"
    problem = one_problem(write_package(tmp_path, csv_text(header, f'a,A,A,expense,1,"{cell}"')))
    assert (problem.row, problem.column) == (2, "consequences") and message in problem.message


@pytest.mark.parametrize(
    "link", ["http://example.org", "javascript:alert(1)", "https://x.org/a b", "www.x.org"]
)
def test_links_must_be_https_addresses(tmp_path, link):
    problem = one_problem(
        write_package(tmp_path, csv_text(f"{HEADER},link", f"a,A,A,expense,1,{link}"))
    )
    assert problem.column == "link" and "https://" in problem.message


def test_utf8_bom_and_crlf_are_accepted(tmp_path):
    data = b"\xef\xbb\xbf" + csv_text(HEADER, *ROWS).replace("\n", "\r\n").encode()
    assert load_package(write_package(tmp_path, data)).lines.height == 3


def test_blank_rows_are_skipped_and_rows_keep_spreadsheet_numbers(tmp_path):
    text = csv_text(HEADER, ROWS[0], "", ",,,,", "bad,B,B,expense,abc")
    problem = one_problem(write_package(tmp_path, text))
    assert (problem.row, problem.column) == (5, "amount")


def test_quoted_cells_with_commas_and_newlines(tmp_path):
    text = csv_text(HEADER, 'a,"Parks, Recreation","Trees\nand lawns",expense,5')
    budget = load_package(write_package(tmp_path, text))
    assert budget.lines["department"].to_list() == ["Parks, Recreation"]


# ------------------------------------------------------------------ columns and header


def test_missing_columns_are_listed_in_one_problem(tmp_path):
    problem = one_problem(write_package(tmp_path, "id,department,program\na,A,A\n"))
    assert problem.file == "demo/lines.csv" and problem.row == 1
    assert problem.message.startswith("missing required columns: kind, amount")


def test_unknown_column_is_a_problem(tmp_path):
    problem = one_problem(write_package(tmp_path, csv_text(f"{HEADER},colour", "a,A,A,expense,1,")))
    assert (problem.row, problem.column) == (1, "colour")
    assert "unknown column 'colour'" in problem.message and "allowed columns are" in problem.message


def test_unknown_column_suggests_the_lower_case_name(tmp_path):
    text = csv_text("id,department,program,kind,Amount", "a,A,A,expense,1")
    messages = [p.message for p in check_package(write_package(tmp_path, text))]
    assert any("did you mean 'amount'?" in message for message in messages)
    assert any("missing required column: amount" in message for message in messages)


def test_duplicate_header_names_are_rejected(tmp_path):
    problem = one_problem(
        write_package(tmp_path, csv_text(f"{HEADER},amount", "a,A,A,expense,1,2"))
    )
    assert (problem.row, problem.column) == (1, "amount")
    assert "appears more than once (columns 5 and 6)" in problem.message


def test_column_without_a_name_but_with_data(tmp_path):
    problem = one_problem(write_package(tmp_path, csv_text(f"{HEADER},", "a,A,A,expense,1,x")))
    assert problem.row == 1 and "column 6 has no name" in problem.message


def test_trailing_empty_unnamed_columns_are_ignored(tmp_path):
    assert (
        check_package(write_package(tmp_path, csv_text(f"{HEADER},,", "a,A,A,expense,1,,"))) == []
    )


# ------------------------------------------------------------------ file-level problems


@pytest.mark.parametrize("data", [b"", b"\n\n", b" \r\n"])
def test_empty_file(tmp_path, data):
    problem = one_problem(write_package(tmp_path, data))
    assert problem.row is None and problem.message.startswith("file is empty")


def test_header_only(tmp_path):
    problem = one_problem(write_package(tmp_path, HEADER + "\n"))
    assert problem.row == 1 and "only a header row" in problem.message


def test_utf16_file(tmp_path):
    problem = one_problem(write_package(tmp_path, csv_text(HEADER, *ROWS).encode("utf-16")))
    assert problem.message.startswith("file is UTF-16: save as CSV UTF-8")


def test_utf16_without_bom(tmp_path):
    problem = one_problem(write_package(tmp_path, csv_text(HEADER, *ROWS).encode("utf-16-le")))
    assert problem.message.startswith("file is UTF-16: save as CSV UTF-8")


def test_invalid_utf8_names_row_and_column(tmp_path):
    text = csv_text(HEADER, ROWS[0], "cafe,Café,Food,expense,5")
    problem = one_problem(write_package(tmp_path, text.encode("cp1252")))
    assert (problem.row, problem.column) == (3, "department")
    assert "not valid UTF-8 (byte 0xE9" in problem.message
    assert "save as CSV UTF-8" in problem.message


def test_semicolon_separated_file(tmp_path):
    text = csv_text("id;department;program;kind;amount", "a;A;A;expense;1")
    problem = one_problem(write_package(tmp_path, text))
    assert problem.row == 1 and problem.message == "file uses ';' as separator: use ','"


def test_ragged_rows(tmp_path):
    text = csv_text(HEADER, ROWS[0], "b,B,B,expense,2,extra", "c,C,C,expense")
    problems = check_package(write_package(tmp_path, text))
    assert [(p.row, p.column) for p in problems] == [(3, None), (4, None)]
    assert problems[0].message.startswith("row has 6 fields but the header has 5")
    assert problems[1].message.startswith("row has 4 fields but the header has 5")


def test_broken_quoting(tmp_path):
    text = csv_text(HEADER, ROWS[0], 'b,"Parks"x,B,expense,2')
    problem = one_problem(write_package(tmp_path, text))
    assert problem.row == 3 and "CSV quoting is broken" in problem.message


def test_nul_character(tmp_path):
    problem = one_problem(write_package(tmp_path, csv_text(HEADER, "a,Pa\x00rks,A,expense,1")))
    assert (problem.row, problem.column) == (2, "department") and "NUL" in problem.message


def test_cell_over_1000_characters(tmp_path):
    text = csv_text(f"{HEADER},description", f"a,A,A,expense,1,{'x' * 1001}")
    problem = one_problem(write_package(tmp_path, text))
    assert (problem.row, problem.column) == (2, "description")
    assert problem.message == "cell has 1,001 characters; at most 1,000 allowed"


def test_too_many_rows(tmp_path):
    rows = [f"l{n},D{n},P,expense,1" for n in range(1001)]
    problem = one_problem(write_package(tmp_path, csv_text(HEADER, *rows)))
    assert "1,001 rows of lines; at most 1,000 allowed" in problem.message


def test_unsupported_lines_file_type(tmp_path):
    folder = write_package(
        tmp_path, manifest=MANIFEST.replace("[title]", 'lines_file = "x.xls"\n[title]')
    )
    problem = next(p for p in check_package(folder) if p.column == "lines_file")
    assert "name a .csv or .xlsx file" in problem.message


def test_missing_lines_file(tmp_path):
    folder = write_package(tmp_path)
    (folder / "lines.csv").unlink()
    problem = one_problem(folder)
    assert problem.file == "demo/lines.csv" and "file not found" in problem.message


def test_lines_file_key_must_exist(tmp_path):
    manifest = MANIFEST.replace("[title]", 'lines_file = "other.csv"\n[title]')
    problem = one_problem(write_package(tmp_path, manifest=manifest))
    assert problem.column == "lines_file" and "'other.csv' not found" in problem.message


def test_lines_file_key_selects_another_file(tmp_path):
    manifest = MANIFEST.replace("[title]", 'lines_file = "budget-2026.csv"\n[title]')
    folder = write_package(tmp_path, manifest=manifest, lines_name="budget-2026.csv")
    assert load_package(folder).lines.height == 3


def test_missing_manifest_and_missing_folder(tmp_path):
    folder = write_package(tmp_path)
    (folder / "budget.toml").unlink()
    assert one_problem(folder).file == "demo/budget.toml"
    assert "not a folder" in one_problem(tmp_path / "nope").message


# ------------------------------------------------------------------ cells


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        ("", "amount is empty: write an amount in currency units"),
        ("abc", "amount 'abc' is not a plain amount: must be a plain number"),
        ("NaN", "amount 'NaN' is not a number"),
        ("inf", "amount 'inf' is not a number"),
        ("-Infinity", "amount '-Infinity' is not a number"),
        ('"1,234"', "amount '1,234' has thousands separators: write 1234"),
        ('"1,234,567.50"', "amount '1,234,567.50' has thousands separators: write 1234567.50"),
        ("$1234", "amount '$1234' has a currency symbol: write 1234"),
        (
            '"$1,234.00"',
            "amount '$1,234.00' has a currency symbol and thousands separators: write 1234.00",
        ),
        (
            "(1234)",
            "amount '(1234)' has parentheses for a negative amount: write -1234 (and only lines "
            "with offset=true may be negative)",
        ),
        ("12.345", "amount '12.345' has more than 2 decimals"),
        ("-100", "amount '-100' is negative: only lines with offset=true may be negative"),
        ("1e6", "amount '1e6' has scientific notation: write 1000000"),
        ("１２", "amount '１２' is not a plain amount"),
        ("1_000", "amount '1_000' is not a plain amount"),
        ('"1.234,50"', "amount '1.234,50' is not a plain amount"),
    ],
)
def test_bad_amounts(tmp_path, amount, message):
    problem = one_problem(write_package(tmp_path, csv_text(HEADER, f"a,A,A,expense,{amount}")))
    assert (problem.file, problem.row, problem.column) == ("demo/lines.csv", 2, "amount")
    assert problem.message.startswith(message), problem.message


def test_parentheses_on_offset_line_suggests_minus(tmp_path):
    text = csv_text(f"{HEADER},offset", "a,A,A,expense,(1234),true")
    problem = one_problem(write_package(tmp_path, text))
    assert problem.message == "amount '(1234)' has parentheses for a negative amount: write -1234"


def test_amount_with_spaces_is_trimmed(tmp_path):
    budget = load_package(write_package(tmp_path, csv_text(HEADER, "a,A,A,expense, 12.5 ")))
    assert budget.lines["amount"].to_list() == [1250]


@pytest.mark.parametrize("column", ["min", "max", "step"])
def test_bad_limit_cells_name_their_column(tmp_path, column):
    text = csv_text(f"{HEADER},{column}", 'a,A,A,expense,1000,"1,000"')
    problem = one_problem(write_package(tmp_path, text))
    assert (problem.row, problem.column) == (2, column)
    assert problem.message == f"{column} '1,000' has thousands separators: write 1000"


def test_negative_min_needs_offset(tmp_path):
    problem = one_problem(
        write_package(tmp_path, csv_text(f"{HEADER},min", "a,A,A,expense,10,-10"))
    )
    assert problem.column == "min" and "only lines with offset=true" in problem.message


@pytest.mark.parametrize("step", ["0", "-5"])
def test_step_must_be_positive(tmp_path, step):
    problem = one_problem(
        write_package(tmp_path, csv_text(f"{HEADER},step", f"a,A,A,expense,10,{step}"))
    )
    assert (problem.row, problem.column) == (2, "step")
    assert problem.message == f"step {step} is not allowed: step must be greater than 0"


def test_min_greater_than_max(tmp_path):
    text = csv_text(f"{HEADER},min,max", "a,A,A,expense,1000,1100,900")
    problems = check_package(write_package(tmp_path, text))
    assert problems[0].column == "min" and problems[0].row == 2
    assert problems[0].message == "min 1100 is greater than max 900: min must be at most max"


def test_min_above_amount_and_max_below_amount(tmp_path):
    text = csv_text(
        f"{HEADER},min,max,step", "a,A,A,expense,1000,1010,2000,10", "b,B,B,expense,1000,0,990,10"
    )
    problems = check_package(write_package(tmp_path, text))
    assert [(p.row, p.column) for p in problems] == [(2, "min"), (3, "max")]
    assert (
        problems[0].message == "min 1010 is above the amount 1000: min must be at most the amount"
    )
    assert (
        problems[1].message == "max 990 is below the amount 1000: max must be at least the amount"
    )


def test_limits_off_the_step_grid_say_which_values_would_do(tmp_path):
    text = csv_text(
        f"{HEADER},min,max,step", "a,A,A,expense,1000,905,1100,10", "b,B,B,expense,1000,900,1234,"
    )
    problems = check_package(write_package(tmp_path, text))
    assert [(p.row, p.column) for p in problems] == [(2, "min"), (3, "max")]
    assert problems[0].message == (
        "min 905 is not on the step grid: with amount 1000 and step 10, min must be the amount "
        "minus a whole number of steps, e.g. 900 or 910"
    )
    assert problems[1].message == (
        "max 1234 is not on the step grid: with amount 1000 and step 10 (derived from "
        "step_percent 1%), max must be the amount plus a whole number of steps, e.g. 1230 or 1240"
    )


def test_locked_line_with_other_limits(tmp_path):
    text = csv_text(f"{HEADER},min,max,locked", "a,A,A,expense,1000,900,1000,true")
    problem = one_problem(write_package(tmp_path, text))
    assert problem.column == "min"
    assert problem.message == (
        "min 900 differs from the amount 1000 on a locked line: leave min empty (a locked line "
        "stays at its amount)"
    )


@pytest.mark.parametrize("column", ["locked", "offset", "tax"])
def test_bad_boolean(tmp_path, column):
    text = csv_text(f"{HEADER},{column}", "a,A,A,revenue,1,maybe")
    problem = one_problem(write_package(tmp_path, text))
    assert (problem.row, problem.column) == (2, column)
    assert problem.message.startswith(
        "'maybe' is not true or false: write true, false, yes, no, 1, 0"
    )


def test_tax_only_on_revenue(tmp_path):
    problem = one_problem(write_package(tmp_path, csv_text(f"{HEADER},tax", "a,A,A,expense,1,yes")))
    assert problem.column == "tax" and "only for revenue lines" in problem.message


@pytest.mark.parametrize(
    ("line_id", "message"),
    [
        ("Parks", "'Parks' is not a valid line id"),
        ("parks dept", "'parks dept' is not a valid line id"),
        ("-parks", "'-parks' is not a valid line id"),
        ("x" * 65, f"'{'x' * 65}' is not a valid line id"),
        ("", "id is empty"),
    ],
)
def test_bad_line_ids(tmp_path, line_id, message):
    problem = one_problem(write_package(tmp_path, csv_text(HEADER, f"{line_id},A,A,expense,1")))
    assert (problem.row, problem.column) == (2, "id")
    assert problem.message.startswith(message)


def test_duplicate_line_ids(tmp_path):
    text = csv_text(HEADER, "a,A,A,expense,1", "b,B,B,expense,1", "a,C,C,expense,1")
    problem = one_problem(write_package(tmp_path, text))
    assert (problem.row, problem.column) == (4, "id")
    assert problem.message == "line id 'a' is already used on row 2: ids must be unique"


def test_duplicate_department_program_kind_after_normalising(tmp_path):
    rows = [
        "a,Parks,Trees,expense,1",
        "b,parks ,Trees,expense,1",
        "c,Ｐａｒｋｓ,  trees,expense,1",
        "d,Parks,Trees,revenue,1",
    ]
    problems = check_package(write_package(tmp_path, csv_text(HEADER, *rows)))
    assert [(p.row, p.column) for p in problems] == [(3, "program"), (4, "program")]
    assert all(p.message.startswith("same department, program and kind as row 2") for p in problems)


@pytest.mark.parametrize(
    ("row", "column", "message"),
    [
        ("a,,A,expense,1", "department", "department is empty"),
        ("a,A,,expense,1", "program", "program is empty"),
        ("a,A,A,spending,1", "kind", "'spending' is not a kind: write expense or revenue"),
    ],
)
def test_required_texts(tmp_path, row, column, message):
    problem = one_problem(write_package(tmp_path, csv_text(HEADER, row)))
    assert (problem.row, problem.column) == (2, column) and problem.message.startswith(message)


def test_every_problem_is_reported_at_once(tmp_path):
    manifest = MANIFEST.replace('city = "Demo City"', 'city = "Demo City"\ncolour = "red"')
    text = csv_text(HEADER, "Bad Id,A,A,expense,1", "b,B,B,cost,1", "c,C,C,expense,$5", "d,D,D")
    problems = check_package(write_package(tmp_path, text, manifest=manifest))
    where = [(p.file, p.row, p.column) for p in problems]
    assert where == [
        ("demo/budget.toml", None, "colour"),
        ("demo/lines.csv", 5, None),
        ("demo/lines.csv", 2, "id"),
        ("demo/lines.csv", 3, "kind"),
        ("demo/lines.csv", 4, "amount"),
    ]
    with pytest.raises(DataError) as raised:
        load_package(tmp_path / "demo")
    assert raised.value.problems == problems
    assert "demo/lines.csv, row 4, column 'amount': amount '$5' has a currency symbol" in str(
        raised.value
    )


# ------------------------------------------------------------------ XLSX


def test_xlsx_numbers_keep_every_cent(tmp_path):
    folder = tmp_path / "demo"
    folder.mkdir()
    (folder / "budget.toml").write_text(MANIFEST, encoding="utf-8")
    write_xlsx(
        folder / "lines.xlsx",
        [
            ["id", "department", "program", "kind", "amount", "locked", "min"],
            ["big", "A", "A", "expense", 12345678901.23, False, None],
            ["small", "B", "B", "expense", 0.1 + 0.2, None, None],
            ["whole", "C", "C", "revenue", 1234, True, None],
            ["text", "D", "D", "revenue", "1234.5", "yes", None],
            ["limit", "E", "E", "expense", 100.1, None, 90.1],
        ],
    )
    budget = load_package(folder)
    assert budget.lines["amount"].to_list() == [1234567890123, 30, 123400, 123450, 10010]
    assert budget.lines["locked"].to_list() == [False, False, True, True, False]
    assert budget.lines["min"][4] == 9010


def test_xlsx_problems_use_sheet_row_numbers(tmp_path):
    folder = tmp_path / "demo"
    folder.mkdir()
    (folder / "budget.toml").write_text(MANIFEST, encoding="utf-8")
    write_xlsx(
        folder / "lines.xlsx",
        [
            ["id", "department", "program", "kind", "amount"],
            ["a", "A", "A", "expense", 12.345],
            [None],
            ["b", "B", "B", "expense", "1,234"],
            ["c", "C", "C", "expense", "NaN"],
            ["d", "D", "D", "expense", ("=1/0", "#DIV/0!")],
            ["e", "E", "E", "expense", ("=2*3", 6)],
        ],
        start_row=2,
    )
    problems = check_package(folder)
    assert [(p.file, p.row, p.column) for p in problems] == [
        ("demo/lines.xlsx", 4, "amount"),
        ("demo/lines.xlsx", 6, "amount"),
        ("demo/lines.xlsx", 7, "amount"),
        ("demo/lines.xlsx", 8, "amount"),
    ]
    assert "'12.345' has more than 2 decimals" in problems[0].message
    assert problems[1].message == "amount '1,234' has thousands separators: write 1234"
    assert problems[2].message.startswith("amount 'NaN' is not a number")
    assert problems[3].message.startswith("amount is empty")  # error cells have no value


def test_xlsx_duplicate_header_and_missing_column(tmp_path):
    folder = tmp_path / "demo"
    folder.mkdir()
    (folder / "budget.toml").write_text(MANIFEST, encoding="utf-8")
    write_xlsx(
        folder / "lines.xlsx", [["id", "department", "id", "kind"], ["a", "A", "a", "expense"]]
    )
    problems = check_package(folder)
    assert [(p.row, p.column) for p in problems] == [(1, "id"), (1, None)]
    assert "appears more than once" in problems[0].message
    assert problems[1].message.startswith("missing required columns: program, amount")


def test_xlsx_that_is_not_a_workbook(tmp_path):
    folder = write_package(tmp_path, b"id,department\n", lines_name="lines.xlsx")
    (folder / "lines.csv").unlink(missing_ok=True)
    problem = one_problem(folder)
    assert problem.file == "demo/lines.xlsx" and problem.message.startswith(
        "cannot read the workbook"
    )


def test_xlsx_empty_sheet(tmp_path):
    folder = tmp_path / "demo"
    folder.mkdir()
    (folder / "budget.toml").write_text(MANIFEST, encoding="utf-8")
    write_xlsx(folder / "lines.xlsx", [])
    assert one_problem(folder).message.startswith("file is empty")


# ------------------------------------------------------------------ budget.toml


def manifest_problems(tmp_path, manifest: str) -> list[Problem]:
    return check_package(write_package(tmp_path, manifest=manifest))


def test_toml_syntax_error_has_line(tmp_path):
    [problem] = manifest_problems(tmp_path, MANIFEST.replace("fiscal_year = 2026", "fiscal_year ="))
    assert (problem.file, problem.row) == ("demo/budget.toml", 3)
    assert problem.message.startswith("not valid TOML: Invalid value")


def test_unknown_keys_anywhere(tmp_path):
    manifest = MANIFEST.replace("tolerance = 100", "tolerence = 100").replace(
        'text = "Invented for tests"', 'text = "x"\nurl = "y"'
    )
    problems = manifest_problems(tmp_path, manifest + "titel = 1\n")
    assert [p.column for p in problems] == ["source.url", "rules.tolerence", "rules.titel"]
    assert problems[1].message == (
        "unknown key 'tolerence': allowed keys here are balance, tolerance, min_change_percent, "
        "max_change_percent, step_percent"
    )


def test_unknown_top_level_key_lists_allowed_keys(tmp_path):
    [problem] = manifest_problems(tmp_path, "titel = 'x'\n" + MANIFEST)
    assert problem.column == "titel"
    assert problem.message.startswith("unknown key 'titel': allowed keys here are slug, city")


def test_unknown_balance_rule(tmp_path):
    manifest = MANIFEST.replace("[rules]", '[rules]\nbalance = "strict"')
    [problem] = manifest_problems(tmp_path, manifest)
    assert problem.column == "rules.balance"
    assert (
        problem.message == "unknown balance rule 'strict': use balanced, surplus_ok, deficit_limit"
    )


def test_missing_required_keys(tmp_path):
    manifest = MANIFEST.replace('city = "Demo City"\n', "").replace(
        '[source]\ntext = "Invented for tests"\n', ""
    )
    problems = manifest_problems(tmp_path, manifest)
    assert [(p.column, p.message) for p in problems] == [
        ("city", "required key 'city' is missing"),
        ("source", "required key 'source' is missing"),
    ]


def test_title_needs_english(tmp_path):
    [problem] = manifest_problems(tmp_path, MANIFEST.replace('en = "Demo budget"', 'fr = "Budget"'))
    assert problem.column == "title" and 'needs an English text: add en = "..."' in problem.message


def test_slug_must_match_folder(tmp_path):
    [problem] = manifest_problems(tmp_path, MANIFEST.replace('slug = "demo"', 'slug = "other"'))
    assert problem.column == "slug"
    assert (
        problem.message == "slug 'other' does not match the folder name 'demo': they must be equal"
    )


def test_wrong_types_are_not_coerced(tmp_path):
    [problem] = manifest_problems(
        tmp_path, MANIFEST.replace("fiscal_year = 2026", 'fiscal_year = "2026"')
    )
    assert problem.column == "fiscal_year" and "(found '2026')" in problem.message


@pytest.mark.parametrize(
    ("origin", "reason"),
    [
        ("*", "wildcards are not allowed"),
        ("https://*.example.org", "wildcards are not allowed"),
        ("http://example.org", "it must use https://"),
        ("example.org", "it must start with https://"),
        ("https://example.org/budget", "without a path"),
        ("https://example.org;", "must not contain spaces, ';'"),
        ("https://a.org https://b.org", "must not contain spaces"),
        ("'https://example.org'", "must not contain spaces, ';', ',' or quotes"),
        ("https://Example.org", "the host must be a lower-case name"),
        ("https://example.org:99999", "the port must be a number from 1 to 65535"),
    ],
)
def test_bad_embed_origins(tmp_path, origin, reason):
    manifest = MANIFEST.replace(
        "[title]", f"embed_origins = [{origin!r}]\n[title]".replace("'", '"', 0)
    )
    manifest = MANIFEST.replace("[title]", f'embed_origins = ["""{origin}"""]\n[title]')
    [problem] = manifest_problems(tmp_path, manifest)
    assert problem.column == "embed_origins[0]"
    assert problem.message.startswith(f"{origin!r} is not an allowed embed origin: ")
    assert reason in problem.message


def test_good_embed_origins(tmp_path):
    manifest = MANIFEST.replace(
        "[title]",
        'embed_origins = ["https://example.org", "https://budget.city.gov:8443"]\n[title]',
    )
    budget = load_package(write_package(tmp_path, manifest=manifest))
    assert budget.embed_origins == ("https://example.org", "https://budget.city.gov:8443")


@pytest.mark.parametrize(
    ("rules", "column", "message"),
    [
        ("tolerance = 12.345", "rules.tolerance", "'12.345' has more than 2 decimals"),
        ("tolerance = -5", "rules.tolerance", "'-5' is negative"),
        ("min_change_percent = 5", "rules.min_change_percent", "less than or equal to 0"),
        ("max_change_percent = -5", "rules.max_change_percent", "greater than or equal to 0"),
        ("step_percent = 0", "rules.step_percent", "greater than 0"),
    ],
)
def test_bad_rules(tmp_path, rules, column, message):
    manifest = MANIFEST.replace("tolerance = 100", rules)
    [problem] = manifest_problems(tmp_path, manifest)
    assert problem.column == column and message in problem.message


def test_rules_and_counts_are_read(tmp_path):
    manifest = (
        MANIFEST.replace(
            "tolerance = 100",
            'balance = "deficit_limit"\ntolerance = 1234.5\n'
            "min_change_percent = -20\nmax_change_percent = 5\nstep_percent = 2",
        )
        + """
[households]
count = 46184
source = "ACS"
[population]
source = "unknown"
"""
    )
    budget = load_package(write_package(tmp_path, manifest=manifest))
    assert budget.rules.balance is BalanceRule.DEFICIT_LIMIT and budget.rules.tolerance == 123450
    assert (budget.rules.min_change_percent, budget.rules.max_change_percent) == (-20.0, 5.0)
    assert budget.rules.step_percent == 2.0
    assert (budget.households, budget.households_source) == (46184, "ACS")
    assert (budget.population, budget.population_source) == (None, "unknown")


def test_households_count_must_be_positive(tmp_path):
    [problem] = manifest_problems(tmp_path, MANIFEST + '[households]\ncount = 0\nsource = "x"\n')
    assert problem.column == "households.count" and "greater than 0" in problem.message


QUESTIONS = """
[[questions]]
id = "district"
kind = "district"
label = { en = "Which district?" }
population_note = "Ideal populations"
options = [
  { id = "d-1", label = "District 1", population = 54927.76 },
  { id = "d-2", label = { en = "District 2" } },
]
[[questions]]
id = "age"
required = true
label = { en = "Age?" }
options = [{ id = "under-30", label = "Under 30" }]
"""


def test_questions_are_read(tmp_path):
    budget = load_package(write_package(tmp_path, manifest=MANIFEST + QUESTIONS))
    district, age = budget.questions
    assert (district.id, district.kind, district.required, district.label) == (
        "district", "district", False, "Which district?",
    )  # fmt: skip
    assert district.population_note == "Ideal populations"
    assert [(o.id, o.label, o.population) for o in district.options] == [
        ("d-1", "District 1", 54927.76),
        ("d-2", "District 2", None),
    ]
    assert (age.kind, age.required, age.options[0].label) == ("choice", True, "Under 30")


@pytest.mark.parametrize(
    ("change", "column", "message"),
    [
        (
            ('id = "d-2"', 'id = "d-1"'),
            "questions[0].options",
            "option id 'd-1' appears more than once",
        ),
        (
            ('kind = "district"', 'kind = "ward"'),
            "questions[0].kind",
            "Input should be 'district' or 'choice'",
        ),
        (
            ("population = 54927.76", "population = -1"),
            "questions[0].options[0].population",
            "greater than or equal to 0",
        ),
        (
            ('id = "age"', 'id = "district"'),
            "questions",
            "question id 'district' appears more than once",
        ),
        (('id = "d-1"', 'id = "D 1"'), "questions[0].options[0].id", "'D 1' is not a valid id"),
        (
            ("required = true", "requird = true"),
            "questions[1].requird",
            "unknown key 'requird'",
        ),
        (  # a population table weights residents: its source is required
            ('population_note = "Ideal populations"\n', ""),
            "questions[0].options",
            "options give populations but population_note is empty: cite where the figures",
        ),
    ],
)
def test_bad_questions(tmp_path, change, column, message):
    [problem] = manifest_problems(tmp_path, MANIFEST + QUESTIONS.replace(*change))
    assert problem.column == column and message in problem.message, problem


def test_bad_manifest_still_checks_the_lines(tmp_path):
    manifest = MANIFEST.replace('city = "Demo City"', 'city = ""')
    problems = check_package(
        write_package(tmp_path, csv_text(HEADER, "a,A,A,expense,x"), manifest=manifest)
    )
    assert [(p.file, p.column) for p in problems] == [
        ("demo/budget.toml", "city"),
        ("demo/lines.csv", "amount"),
    ]


# ------------------------------------------------------------------ load_all


def test_load_all_keys_by_slug(tmp_path):
    write_package(tmp_path)
    write_package(
        tmp_path, manifest=MANIFEST.replace('slug = "demo"', 'slug = "second"'), name="second"
    )
    (tmp_path / "not-a-package").mkdir()
    (tmp_path / "README.md").write_text("docs", encoding="utf-8")
    budgets = load_all(tmp_path)
    assert list(budgets) == ["demo", "second"]
    assert budgets["second"].slug == "second"


def test_load_all_reports_problems_of_every_package(tmp_path):
    write_package(tmp_path, csv_text(HEADER, "a,A,A,expense,x"))
    write_package(
        tmp_path, manifest=MANIFEST.replace('slug = "demo"', 'slug = "wrong"'), name="second"
    )
    with pytest.raises(DataError) as raised:
        load_all(tmp_path)
    assert [(p.file, p.column) for p in raised.value.problems] == [
        ("demo/lines.csv", "amount"),
        ("second/budget.toml", "slug"),
    ]


def test_load_all_missing_folder(tmp_path):
    with pytest.raises(DataError, match="budget data folder not found"):
        load_all(tmp_path / "missing")
