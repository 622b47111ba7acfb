"""Reading a CSV or XLSX file into a header and rows of text, with every file-level problem.

Nothing here knows what the columns mean: `lines` and `importer` do. Every cell is read as text
(never inferred), so a late text value or a huge number cannot change how the file is read."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from budget_sim.errors import Problem

MAX_FILE_BYTES = 5 * 1024 * 1024
MAX_ROWS = 1000  # data rows, not counting the header
MAX_CELL_CHARS = 1000

_UTF8_BOM = b"\xef\xbb\xbf"
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
_BAD_BYTE = re.compile("[\udc80-\udcff]")  # invalid UTF-8 bytes after surrogateescape decoding
SAVE_AS_UTF8 = "save as CSV UTF-8 (in Excel: File > Save As > CSV UTF-8)"


@dataclass
class Table:
    """A file's header and data rows, all text. `rows` holds (spreadsheet row number, cells);
    the header is row 1 in a CSV, and in a workbook the row it sits on."""

    file: str
    header: list[str]
    header_row: int = 1
    rows: list[tuple[int, list[str]]] = field(default_factory=list)
    from_workbook: bool = False

    def index(self, name: str) -> int | None:
        """Position of the first column with this name, or None."""
        try:
            return self.header.index(name)
        except ValueError:
            return None


def read_table(path: Path, file: str) -> tuple[Table | None, list[Problem]]:
    """Read `path` (.csv or .xlsx); `file` is the name problems carry. Returns the table (None when
    the file cannot be read at all) and the file-level problems found."""
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".xlsx"):
        allowed = "a .csv file (CSV UTF-8) or an .xlsx workbook"
        if suffix in (".xls", ".xlsm", ".xlsb", ".ods"):
            return None, [Problem(file, f"{suffix} files are not read: save it as {allowed}")]
        return None, [Problem(file, f"unsupported file type {suffix or '(none)'!r}: use {allowed}")]
    try:
        size = path.stat().st_size
    except OSError as error:
        return None, [Problem(file, f"cannot read the file: {error.strerror or error}")]
    if size > MAX_FILE_BYTES:
        return None, [Problem(file, f"file is {size:,} bytes; at most {MAX_FILE_BYTES:,} allowed")]
    if suffix == ".csv":
        return _from_records(file, *_csv_records(path.read_bytes(), file), from_workbook=False)
    return _from_records(file, *_xlsx_records(path, file), from_workbook=True)


def _csv_records(data: bytes, file: str) -> tuple[list[tuple[int, list[str]]], list[Problem]]:
    if data.startswith(_UTF16_BOMS) or _looks_utf16(data):
        return [], [Problem(file, f"file is UTF-16: {SAVE_AS_UTF8}")]
    if data.startswith(_UTF8_BOM):
        data = data[len(_UTF8_BOM) :]
    text = data.decode("utf-8", errors="surrogateescape")
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    records: list[tuple[int, list[str]]] = []
    try:
        for number, record in enumerate(reader, start=1):
            records.append((number, record))
    except csv.Error as error:
        row = len(records) + 1
        return records, [
            Problem(
                file,
                f"the CSV quoting is broken ({error}): a cell that starts with a double quote "
                'must end with one, and a quote inside a quoted cell is written ""',
                row=row,
            )
        ]
    return records, []


def _looks_utf16(data: bytes) -> bool:
    """UTF-16 without a BOM: every other byte of the (ASCII) header is NUL."""
    head = data[:200]
    return len(head) >= 4 and head.count(0) * 3 >= len(head)


def _xlsx_records(path: Path, file: str) -> tuple[list[tuple[int, list[str]]], list[Problem]]:
    try:
        frame = pl.read_excel(
            path,
            sheet_id=1,
            has_header=False,
            infer_schema_length=0,  # every column as text
            drop_empty_rows=False,  # keep sheet row numbers
            drop_empty_cols=False,
            raise_if_empty=False,
            read_options={"header_row": None, "skip_rows": 0},
        )
    except Exception as error:  # calamine/fastexcel raise their own types for unreadable workbooks
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        return [], [
            Problem(
                file,
                f"cannot read the workbook ({reason}): save it again as .xlsx (Excel Workbook) "
                "or as CSV UTF-8",
            )
        ]
    records = [
        (number, ["" if value is None else str(value) for value in values])
        for number, values in enumerate(frame.iter_rows(), start=1)
    ]
    return records, []


def _clean(text: str) -> str:
    """Invalid bytes (already reported) become U+FFFD so later messages can be printed."""
    return _BAD_BYTE.sub("\ufffd", text)


def _blank(cells: list[str]) -> bool:
    return all(not cell.strip() for cell in cells)


def _from_records(
    file: str,
    records: list[tuple[int, list[str]]],
    problems: list[Problem],
    *,
    from_workbook: bool,
) -> tuple[Table | None, list[Problem]]:
    if problems and not records:
        return None, problems
    content = [(number, cells) for number, cells in records if not _blank(cells)]
    if not content:
        return None, [
            *problems,
            Problem(file, "file is empty: it needs a header row and one row per budget line"),
        ]
    header_row, raw_header = content[0]
    header = [_clean(name).strip().lstrip("\ufeff").strip() for name in raw_header]
    data = content[1:]
    if len(header) == 1 and not from_workbook:
        for separator, name in ((";", "';'"), ("\t", "tabs")):
            if separator in raw_header[0]:
                return None, [
                    *problems,
                    Problem(file, f"file uses {name} as separator: use ','", row=header_row),
                ]
    # Spreadsheets often leave unnamed, empty columns at the right: drop those silently.
    width = len(header)
    while (
        width
        and not header[width - 1]
        and all(len(cells) < width or not cells[width - 1].strip() for _, cells in data)
    ):
        width -= 1
    header = header[:width]
    table = Table(file, header, header_row, from_workbook=from_workbook)
    problems = [*problems, *_header_problems(file, header_row, header, raw_header)]
    if not data:
        problems.append(
            Problem(file, "file has only a header row: add one row per budget line", row=header_row)
        )
    if len(data) > MAX_ROWS:
        problems.append(
            Problem(file, f"file has {len(data):,} rows of lines; at most {MAX_ROWS:,} allowed")
        )
    for number, cells in data:
        if len(cells) > width and _blank(cells[width:]):
            cells = cells[:width]
        if len(cells) != width and not from_workbook:
            problems.append(
                Problem(
                    file,
                    f"row has {len(cells)} fields but the header has {width}: every row needs "
                    "exactly one field per column (quote cells that contain commas)",
                    row=number,
                )
            )
            continue
        cells = (cells + [""] * width)[:width]
        problems.extend(_cell_problems(file, number, header, cells))
        table.rows.append((number, [_clean(cell) for cell in cells]))
    return table, problems


def _header_problems(
    file: str, row: int, header: list[str], raw_header: list[str]
) -> list[Problem]:
    problems = _cell_problems(file, row, header, raw_header[: len(header)])
    seen: dict[str, int] = {}
    for position, name in enumerate(header, start=1):
        if not name:
            problems.append(
                Problem(file, f"column {position} has no name: name it or delete it", row=row)
            )
            continue
        if name in seen:
            problems.append(
                Problem(
                    file,
                    f"column name {name!r} appears more than once (columns {seen[name]} and "
                    f"{position}): each column name must appear once",
                    row=row,
                    column=name,
                )
            )
        else:
            seen[name] = position
    return problems


def _cell_problems(file: str, row: int, header: list[str], cells: list[str]) -> list[Problem]:
    problems = []
    for position, cell in enumerate(cells):
        column = header[position] if position < len(header) and header[position] else None
        bad = _BAD_BYTE.search(cell)
        if bad:
            byte = ord(bad.group()) - 0xDC00
            problems.append(
                Problem(
                    file,
                    f"text is not valid UTF-8 (byte 0x{byte:02X}; the file was probably saved "
                    f"as Windows-1252/Latin-1): {SAVE_AS_UTF8}",
                    row=row,
                    column=column,
                )
            )
        if "\x00" in cell:
            problems.append(
                Problem(file, "cell contains a NUL character (\\0): remove it", row, column)
            )
        if len(cell) > MAX_CELL_CHARS:
            problems.append(
                Problem(
                    file,
                    f"cell has {len(cell):,} characters; at most {MAX_CELL_CHARS:,} allowed",
                    row,
                    column,
                )
            )
    return problems
