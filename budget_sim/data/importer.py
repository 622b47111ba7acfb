"""`import_source`: a file in the budget_sources column layout -> a package skeleton folder."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import tempfile
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from budget_sim.data.cells import parse_money, xlsx_number_text
from budget_sim.data.lines import LINE_ID, column_problems, dedup_key
from budget_sim.data.package import check_package
from budget_sim.data.table import read_table
from budget_sim.errors import DataError, Problem
from budget_sim.model.budget import KINDS

SOURCE_COLUMNS = (
    "city",
    "fiscal_year",
    "fund",
    "department",
    "program",
    "kind",
    "amount_usd",
    "source_note",
)
LINE_COLUMNS = (
    "id",
    "department",
    "program",
    "kind",
    "amount",
    "locked",
    "offset",
    "tax",
    "description",
    "source_note",
)
NEGATIVE_NOTE = (
    "Published as a negative amount: an accounting credit or offset inside the budget, not a "
    "service. Shown as published and fixed."
)


@dataclass
class _SourceRow:
    row: int
    city: str
    fiscal_year: int
    fund: str
    department: str
    program: str
    kind: str
    amount: str  # the source text, unchanged
    negative: bool
    note: str


_ORG_CODE = re.compile(r"^\d{4,8}\s+-\s+")


def display_name(name: str) -> str:
    """A department or program name as residents read it: a leading accounting code dropped
    ("501110 - Zoo" -> "Zoo") and runs of spaces made one. The source keeps the name as
    published (its line id and source file still carry the code)."""
    return re.sub(r"\s+", " ", _ORG_CODE.sub("", name)).strip() or name.strip()


def slugify(text: str, limit: int = 64) -> str:
    """Readable ascii slug: "Parks & Recreation: Trees" -> "parks-and-recreation-trees"."""
    text = re.sub(r"(?<=\w)['\u2019](?=\w)", "", text.replace("&", " and "))
    ascii_text = unicodedata.normalize("NFKD", text)
    ascii_text = ascii_text.encode("ascii", "ignore").decode().lower()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text).strip("-")
    if len(slug) > limit:
        cut = slug[:limit]
        slug = cut.rsplit("-", 1)[0] if "-" in cut[limit // 2 :] else cut
    return slug.strip("-") or "line"


def line_ids(rows: list[tuple[str, str]], limit: int = 64) -> list[str]:
    """Unique readable ids from (department, program): the department alone when the program
    is empty or repeats it, the program alone when it starts with the department's name.
    Later duplicates get -2, -3, ..."""
    ids: list[str] = []
    used: set[str] = set()
    for department, program in rows:
        head, tail = slugify(department, limit), slugify(program or department, limit)
        if tail == head or tail.startswith(f"{head}-"):
            base = tail
        else:
            base = slugify(f"{department} {program}", limit)
        candidate, number = base, 1
        while candidate in used:
            number += 1
            suffix = f"-{number}"
            candidate = base[: limit - len(suffix)].rstrip("-") + suffix
        used.add(candidate)
        ids.append(candidate)
    return ids


def _read_source(source_csv: Path) -> list[_SourceRow]:
    file = source_csv.name
    table, problems = read_table(source_csv, file)
    if table is None:
        raise DataError(problems)
    problems.extend(column_problems(table, SOURCE_COLUMNS, lambda name: name in SOURCE_COLUMNS))
    if any(name not in table.header for name in SOURCE_COLUMNS):
        raise DataError(problems)

    def cell(cells: list[str], name: str) -> str:
        position = table.index(name)
        return "" if position is None else cells[position].strip()

    rows: list[_SourceRow] = []
    first_city: tuple[int, str] | None = None
    first_year: tuple[int, int] | None = None
    keys: dict[tuple[str, ...], int] = {}
    for number, cells in table.rows:
        found: list[Problem] = []

        def fail(column: str, message: str, found: list[Problem] = found, number: int = number):
            found.append(Problem(file, message, row=number, column=column))

        city, year_text = cell(cells, "city"), cell(cells, "fiscal_year")
        department, kind = cell(cells, "department"), cell(cells, "kind").lower()
        amount = cell(cells, "amount_usd")
        if table.from_workbook:
            amount = xlsx_number_text(amount)
            year_text = xlsx_number_text(year_text)
        if not city:
            fail("city", "city is empty: write the city, e.g. Cambridge, MA")
        elif first_city and city != first_city[1]:
            fail(
                "city",
                f"city {city!r} differs from {first_city[1]!r} on row {first_city[0]}: "
                "a source file holds one city",
            )
        first_city = first_city or ((number, city) if city else None)
        year = int(year_text) if re.fullmatch(r"[0-9]{4}", year_text) else 0
        if not year:
            fail(
                "fiscal_year",
                f"{year_text!r} is not a fiscal year: write the year in which "
                "the fiscal year ends, e.g. 2026",
            )
        elif first_year and year != first_year[1]:
            fail(
                "fiscal_year",
                f"fiscal year {year} differs from {first_year[1]} on row "
                f"{first_year[0]}: a source file holds one fiscal year",
            )
        first_year = first_year or ((number, year) if year else None)
        if not department:
            fail("department", "department is empty: name the department (or revenue category)")
        if kind not in KINDS:
            fail("kind", f"{cell(cells, 'kind')!r} is not a kind: write expense or revenue")
        negative = False
        try:
            negative = parse_money(amount, allow_negative=True) < 0
        except ValueError as error:
            fail("amount_usd", f"amount_usd {error}")
        program = cell(cells, "program") or department
        key = dedup_key(cell(cells, "fund"), department, program, kind)
        if department and key in keys:
            fail(
                "program",
                f"same fund, department, program and kind as row {keys[key]}: a "
                "source file has one row per fund, department and program",
            )
        keys.setdefault(key, number)
        problems.extend(found)
        if found:
            continue
        source_row = _SourceRow(
            number,
            city,
            year,
            cell(cells, "fund"),
            department,
            program,
            kind,
            amount,
            negative,
            cell(cells, "source_note"),
        )
        rows.append(source_row)
    if problems:
        raise DataError(problems)
    return _name_funds_apart(rows)


def _name_funds_apart(rows: list[_SourceRow]) -> list[_SourceRow]:
    """Where one department and program appear in several funds (e.g. Sacramento's General Fund
    and Measure U Fund), add the fund to the program name so every line is distinct."""
    funds: dict[tuple[str, ...], set[str]] = {}
    for row in rows:
        funds.setdefault(dedup_key(row.department, row.program, row.kind), set()).add(row.fund)
    for row in rows:
        if len(funds[dedup_key(row.department, row.program, row.kind)]) > 1:
            row.program = f"{row.program} ({row.fund})"
    return rows


def toml_string(text: str) -> str:
    """A TOML basic string (JSON escapes are valid TOML; DEL must be escaped too)."""
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")


def _manifest(slug: str, file: str, rows: list[_SourceRow]) -> str:
    city, year = rows[0].city, rows[0].fiscal_year
    funds = list(dict.fromkeys(row.fund for row in rows if row.fund))
    expense = sum(row.kind == "expense" for row in rows)
    revenue = len(rows) - expense
    notes = list(dict.fromkeys(row.note for row in rows if row.note))
    title = f"{city} budget, fiscal year {year}"
    source = (
        f"Imported from {file}: {expense} expense and {revenue} revenue rows"
        + (f" ({'; '.join(funds)})" if funds else "")
        + ", amounts unchanged."
        + "".join(f"\n- {note}" for note in notes)
    )
    intro = (
        f"This is {city}'s budget for fiscal year {year}. Move spending and revenue up or down "
        "to show how you would balance it, then send your plan."
    )
    return f"""\
# Budget package made by `budget-sim import {file}`. Amounts in lines.csv are copied unchanged.
# Review every key; budget_data/README.md documents them all.
slug = {toml_string(slug)}
city = {toml_string(city)}
fiscal_year = {year}
currency = "USD"
locales = ["en"]
embed_origins = []

[title]
en = {toml_string(title)}

[intro]
en = {toml_string(intro)}

[source]
text = {toml_string(source)}

# Add [households] count/source and [population] count/source only from a published figure.
# Absent means unknown: no per-household amount is shown.

[rules]
balance = "balanced"
tolerance = 0
min_change_percent = -10
max_change_percent = 10
step_percent = 1
"""


def _lines_csv(rows: list[_SourceRow]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(LINE_COLUMNS)
    ids = line_ids([(row.department, row.program) for row in rows])
    for line_id, row in zip(ids, rows, strict=True):
        assert LINE_ID.fullmatch(line_id), line_id
        flag = "true" if row.negative else "false"
        description = NEGATIVE_NOTE if row.negative else ""
        writer.writerow(
            (
                line_id,
                display_name(row.department),
                display_name(row.program),
                row.kind,
                row.amount,
                flag,
                flag,
                "false",
                description,
                row.note,
            )
        )
    return out.getvalue()


def import_source(source_csv: Path, dest_dir: Path, *, slug: str | None = None) -> Path:
    """Turn a budget_sources-style file (city, fiscal_year, fund, department, program, kind,
    amount_usd, source_note) into the package folder `dest_dir/<slug>` and return it.

    Amounts are copied unchanged; each row's source_note is kept in lines.csv and the distinct
    notes in budget.toml [source]. A negative row becomes a locked offset line. Raises DataError
    for a bad source file (with rows and columns) or when the package folder already exists."""
    source_csv, dest_dir = Path(source_csv), Path(dest_dir)
    rows = _read_source(source_csv)
    if not rows:
        raise DataError([Problem(source_csv.name, "file has no rows to import")])
    slug = slug or f"{slugify(rows[0].city.split(',')[0])}-fy{rows[0].fiscal_year}"
    if not LINE_ID.fullmatch(slug):
        raise DataError(
            [
                Problem(
                    source_csv.name,
                    f"{slug!r} is not a valid slug: use 1 to 64 characters a-z, 0-9 and '-'",
                )
            ]
        )
    target = dest_dir / slug
    if target.exists():
        raise DataError(
            [
                Problem(
                    str(target),
                    "a package folder already exists here: import "
                    "never overwrites; choose another slug or remove the folder",
                )
            ]
        )
    dest_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".import-", dir=dest_dir))
    try:
        package = staging / slug
        package.mkdir()
        (package / "budget.toml").write_text(_manifest(slug, source_csv.name, rows), "utf-8")
        (package / "lines.csv").write_text(_lines_csv(rows), "utf-8")
        problems = check_package(package)
        if problems:  # pragma: no cover - a checked source always makes a valid package
            raise DataError(problems)
        package.rename(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target
