"""Budget lines: from a table of text to the typed frame a Budget holds (LINE_SCHEMA, cents)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

import polars as pl

from budget_sim.data.cells import parse_bool, parse_money, units, xlsx_number_text
from budget_sim.data.table import Table
from budget_sim.errors import Problem
from budget_sim.model.budget import KINDS, LINE_SCHEMA, Rules
from budget_sim.model.consequences import parse_consequences
from budget_sim.model.limits import default_max, default_min, default_step

REQUIRED_COLUMNS = ("id", "department", "program", "kind", "amount")
OPTIONAL_COLUMNS = (
    "min",
    "max",
    "step",
    "locked",
    "offset",
    "tax",
    "description",
    "consequences",
    "link",
    "source_note",
)
LOCALIZED_PREFIXES = ("department_", "program_", "description_", "consequences_")
FREE_PREFIXES = (*LOCALIZED_PREFIXES, "consequence_")  # per-locale texts (consequence_: legacy)
BOOL_COLUMNS = ("locked", "offset", "tax")
LINE_ID = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")
_LINK = re.compile(r"https://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[^\s\"'<>]*)?")
_FREE_SUFFIX = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")


def is_allowed_column(name: str) -> bool:
    if name in REQUIRED_COLUMNS or name in OPTIONAL_COLUMNS:
        return True
    return any(
        name.startswith(prefix) and _FREE_SUFFIX.fullmatch(name[len(prefix) :])
        for prefix in FREE_PREFIXES
    )


def dedup_key(*texts: str) -> tuple[str, ...]:
    """How names are compared for duplicates: NFKC, casefold, trimmed, inner spaces collapsed."""
    return tuple(" ".join(unicodedata.normalize("NFKC", t).casefold().split()) for t in texts)


def column_problems(
    table: Table, required: tuple[str, ...], allowed: Callable[[str], bool]
) -> list[Problem]:
    """Missing required columns (all listed in one problem) and unknown columns (one each)."""
    header_row = table.header_row
    problems = []
    missing = [name for name in required if name not in table.header]
    if missing:
        problems.append(
            Problem(
                table.file,
                f"missing required column{'s' if len(missing) > 1 else ''}: "
                f"{', '.join(missing)} (the header must name {', '.join(required)})",
                row=header_row,
            )
        )
    for name in dict.fromkeys(table.header):
        if name and not allowed(name):
            hint = ""
            lowered = name.strip().lower().replace(" ", "_")
            if lowered != name and allowed(lowered):
                hint = f" (did you mean {lowered!r}? column names are lower case)"
            problems.append(
                Problem(
                    table.file,
                    f"unknown column {name!r}{hint}: allowed columns are "
                    f"{', '.join(REQUIRED_COLUMNS + OPTIONAL_COLUMNS)}, description_<locale> "
                    "and consequence_<...>",
                    row=header_row,
                    column=name,
                )
            )
    return problems


@dataclass
class _Line:
    row: int
    id: str
    department: str
    program: str
    kind: str
    amount: int
    min: int | None
    max: int | None
    step: int | None
    locked: bool
    offset: bool
    tax: bool
    description: str
    consequences: str
    link: str  # https address of more detail, or ""
    texts: dict[str, str]  # localized columns present in the file, e.g. program_es


class _RowReader:
    """Reads the cells of one row by column name, collecting problems."""

    def __init__(self, table: Table, row: int, cells: list[str], problems: list[Problem]):
        self.table, self.row, self.cells, self.problems = table, row, cells, problems
        self.ok = True

    def text(self, column: str) -> str:
        position = self.table.index(column)
        return "" if position is None else self.cells[position].strip()

    def has(self, column: str) -> bool:
        return self.table.index(column) is not None

    def fail(self, column: str | None, message: str) -> None:
        self.ok = False
        if column is not None and not self.has(column) and column in REQUIRED_COLUMNS:
            return  # the missing column is reported once, not on every row
        self.problems.append(Problem(self.table.file, message, row=self.row, column=column))

    def boolean(self, column: str) -> bool:
        try:
            return parse_bool(self.text(column))
        except ValueError as error:
            self.fail(column, str(error))
            return False

    def money(self, column: str, *, allow_negative: bool, optional: bool) -> int | None:
        text = self.text(column)
        if optional and not text:
            return None
        if self.table.from_workbook:
            text = xlsx_number_text(text)
        try:
            return parse_money(text, allow_negative=allow_negative)
        except ValueError as error:
            self.fail(column, f"{column} {error}")
            return None


def _read_line(reader: _RowReader) -> _Line | None:
    line_id = reader.text("id")
    if not line_id:
        reader.fail("id", "id is empty: every line needs an id such as parks-maintenance")
    elif not LINE_ID.fullmatch(line_id):
        reader.fail(
            "id",
            f"{line_id!r} is not a valid line id: use 1 to 64 characters a-z, 0-9 and '-', "
            "starting with a letter or digit (e.g. parks-maintenance)",
        )
    department, program = reader.text("department"), reader.text("program")
    if not department:
        reader.fail("department", "department is empty: name the department")
    if not program:
        reader.fail(
            "program",
            "program is empty: name the program, or repeat the department name for a line "
            "that is a whole department",
        )
    kind = reader.text("kind").lower()
    if kind not in KINDS:
        reader.fail("kind", f"{reader.text('kind')!r} is not a kind: write expense or revenue")
    locked, offset, tax = (reader.boolean(column) for column in BOOL_COLUMNS)
    if tax and kind == "expense":
        reader.fail("tax", "tax=true is only for revenue lines (a tax residents pay)")
    amount = reader.money("amount", allow_negative=offset, optional=False)
    low = reader.money("min", allow_negative=offset, optional=True)
    high = reader.money("max", allow_negative=offset, optional=True)
    step = reader.money("step", allow_negative=True, optional=True)
    if step is not None and step <= 0:
        reader.fail("step", f"step {units(step)} is not allowed: step must be greater than 0")
    if low is not None and high is not None and low > high:
        reader.fail(
            "min", f"min {units(low)} is greater than max {units(high)}: min must be at most max"
        )
    if locked and amount is not None:
        for column, value in (("min", low), ("max", high)):
            if value is not None and value != amount:
                reader.fail(
                    column,
                    f"{column} {units(value)} differs from the amount {units(amount)} on a "
                    f"locked line: leave {column} empty (a locked line stays at its amount)",
                )
    description = reader.text("description") or reader.text("description_en")
    link = reader.text("link")
    if link and not _LINK.fullmatch(link):
        reader.fail(
            "link",
            f"link {link!r} is not allowed: write a full https:// address without spaces or "
            "quotes, e.g. https://www.cambridgema.gov/budget",
        )
    consequences = reader.text("consequences") or reader.text("consequences_en")
    for column in ("consequences", *localized_columns(reader.table.header, "consequences_")):
        try:
            parse_consequences(reader.text(column))
        except ValueError as error:
            reader.fail(column, f"{column}: {error}")
    texts = {
        column: reader.text(column)
        for column in localized_columns(reader.table.header, *LOCALIZED_PREFIXES)
    }
    if not reader.ok or amount is None:
        return None
    return _Line(
        reader.row,
        line_id,
        department,
        program,
        kind,
        amount,
        low,
        high,
        step,
        locked,
        offset,
        tax,
        description,
        consequences,
        link,
        texts,
    )


def localized_columns(header: list[str], *prefixes: str) -> list[str]:
    """Header names such as program_es (allowed per-locale text columns) with these prefixes."""
    return [
        name
        for name in dict.fromkeys(header)
        if any(name.startswith(p) and _FREE_SUFFIX.fullmatch(name[len(p) :]) for p in prefixes)
    ]


def _duplicate_problems(file: str, lines: list[_Line]) -> list[Problem]:
    problems = []
    ids: dict[str, int] = {}
    names: dict[tuple[str, ...], _Line] = {}
    for line in lines:
        if line.id in ids:
            problems.append(
                Problem(
                    file,
                    f"line id {line.id!r} is already used on row {ids[line.id]}: ids must be "
                    "unique",
                    row=line.row,
                    column="id",
                )
            )
        else:
            ids[line.id] = line.row
        key = dedup_key(line.department, line.program, line.kind)
        if key in names:
            first = names[key]
            problems.append(
                Problem(
                    file,
                    f"same department, program and kind as row {first.row} "
                    f"({first.department!r} / {first.program!r}, {line.kind}; names are compared "
                    "ignoring case, spacing and full-width letters): merge the two lines or name "
                    "them apart",
                    row=line.row,
                    column="program",
                )
            )
        else:
            names[key] = line
    return problems


def _grid_problems(file: str, frame: pl.DataFrame, rules: Rules) -> list[Problem]:
    """Explicit min/max must bracket the amount and sit on amount + k * step."""
    problems = []
    for line in frame.iter_rows(named=True):
        amount, step = line["amount"], line["step"]
        step_text = f"step {units(step)}"
        if not line["step_given"]:
            step_text += f" (derived from step_percent {line['step_percent']:g}%)"
        for column, value in (("min", line["min_given"]), ("max", line["max_given"])):
            if value is None or line["locked"]:
                continue
            if column == "min" and value > amount:
                message = (
                    f"min {units(value)} is above the amount {units(amount)}: min must "
                    "be at most the amount"
                )
            elif column == "max" and value < amount:
                message = (
                    f"max {units(value)} is below the amount {units(amount)}: max must "
                    "be at least the amount"
                )
            elif (value - amount) % step:
                below = amount + ((value - amount) // step) * step
                message = (
                    f"{column} {units(value)} is not on the step grid: with amount "
                    f"{units(amount)} and {step_text}, {column} must be the amount "
                    f"{'minus' if column == 'min' else 'plus'} a whole number of steps, "
                    f"e.g. {units(below)} or {units(below + step)}"
                )
            else:
                continue
            problems.append(Problem(file, message, row=line["row"], column=column))
    return problems


def _frame(lines: list[_Line], rules: Rules) -> pl.DataFrame:
    schema = {
        **LINE_SCHEMA,
        "row": pl.Int64(),
        "min_given": pl.Int64(),
        "max_given": pl.Int64(),
        "step_given": pl.Boolean(),
    }
    data = {
        "id": [line.id for line in lines],
        "department": [line.department for line in lines],
        "program": [line.program for line in lines],
        "kind": [line.kind for line in lines],
        "amount": [line.amount for line in lines],
        "min": [line.min for line in lines],
        "max": [line.max for line in lines],
        "step": [line.step for line in lines],
        "locked": [line.locked for line in lines],
        "offset": [line.offset for line in lines],
        "tax": [line.tax for line in lines],
        "description": [line.description for line in lines],
        "consequences": [line.consequences for line in lines],
        "link": [line.link for line in lines],
        "row": [line.row for line in lines],
        "min_given": [line.min for line in lines],
        "max_given": [line.max for line in lines],
        "step_given": [line.step is not None for line in lines],
    }
    frame = pl.DataFrame(data, schema=schema)
    text_columns = list(dict.fromkeys(name for line in lines for name in line.texts))
    frame = frame.with_columns(
        pl.Series(name, [line.texts.get(name, "") for line in lines], pl.String())
        for name in text_columns
    )
    frame = frame.with_columns(step=pl.coalesce(pl.col("step"), default_step(rules.step_percent)))
    locked = pl.col("locked")
    return frame.with_columns(
        min=pl.when(locked)
        .then(pl.col("amount"))
        .otherwise(pl.coalesce(pl.col("min"), default_min(rules.min_change_percent))),
        max=pl.when(locked)
        .then(pl.col("amount"))
        .otherwise(pl.coalesce(pl.col("max"), default_max(rules.max_change_percent))),
        step_percent=pl.lit(rules.step_percent),
    )


def read_lines(table: Table, rules: Rules) -> tuple[pl.DataFrame | None, list[Problem]]:
    """The lines of a budget as a LINE_SCHEMA frame, followed by any per-locale text columns
    (program_es...), or None when there are problems; and every problem found."""
    problems = column_problems(table, REQUIRED_COLUMNS, is_allowed_column)
    lines = []
    for row, cells in table.rows:
        line = _read_line(_RowReader(table, row, cells, problems))
        if line is not None:
            lines.append(line)
    problems.extend(_duplicate_problems(table.file, lines))
    if not lines:
        return None, problems
    frame = _frame(lines, rules)
    problems.extend(_grid_problems(table.file, frame, rules))
    if problems:
        return None, problems
    extra = [name for name in frame.columns if name.startswith(LOCALIZED_PREFIXES)]
    typed = [pl.col(name).cast(dtype) for name, dtype in LINE_SCHEMA.items()]
    return frame.select(*typed, *extra), []
