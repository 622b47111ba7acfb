"""Reading a city's own budget export (CSV or XLSX, as it comes) into text columns by role.

What can be told safely is detected and reported (BOM, encoding, delimiter, header row, which
column plays which role); what cannot (decimal commas, which column is the amount when none
is named like one) is asked for, and every problem names the option that fixes it. Polars
reads the rows (read_csv; read_excel with the calamine engine, via fastexcel)."""

from __future__ import annotations

import codecs
import csv
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from budget_sim.errors import DataError, Problem

ROLES = ("department", "program", "kind", "amount", "fund", "source_note", "city", "fiscal_year")
# Header names each role is recognised by (compared lower-case, spaces and _ ignored).
SYNONYMS = {
    "department": ("department", "departmentname", "dept", "deptname", "agency", "service"),
    "program": ("program", "programname", "division", "appropriationunit", "unit", "activity"),
    "kind": ("kind", "type", "accounttype", "expenserevenue", "revenueexpense"),
    "amount": (
        "amount",
        "amountusd",
        "adoptedbudget",
        "approvedbudget",
        "budget",
        "adopted",
        "approved",
        "appropriation",
        "total",
    ),
    "fund": ("fund", "funddescription", "fundname"),
    "source_note": ("sourcenote",),
    "city": ("city",),
    "fiscal_year": ("fiscalyear", "fy", "year"),
}
_NUMBER = re.compile(r"[-+(]?[$€£]?\s*[0-9][0-9.,' ]*\)?")
SAMPLE_ROWS = 30  # rows looked at to find the header
DELIMITERS = (",", ";", "\t", "|")
DELIMITER_NAMES = {",": "','", ";": "';'", "\t": "tab", "|": "'|'"}


@dataclass(frozen=True)
class Naming:
    """How messages name the options: the command line's flags, or the upload form's fields."""

    header_row: str = "--header-row N"
    delimiter: str = "--delimiter C"
    encoding: str = "--encoding NAME"
    decimal_comma: str = "--decimal-comma"
    sheet: str = "--sheet NAME"
    column: str = "--column {role}=HEADER"
    kind: str = "--kind expense (or --kind revenue)"
    kind_value: str = "--kind-value {kind}={text}"
    city: str = "--city TEXT"
    fiscal_year: str = "--fiscal-year YYYY"


@dataclass
class ReadOptions:
    header_row: int | None = None  # 1-based row of the header; None: detect
    delimiter: str | None = None
    encoding: str | None = None
    decimal_comma: bool = False
    sheet: str | None = None
    columns: dict[str, str] = field(default_factory=dict)  # role -> header ("" = no such column)
    kind: str | None = None  # every row this kind
    kind_values: dict[str, str] = field(default_factory=dict)  # source text (lower) -> kind
    naming: Naming = field(default_factory=Naming)


@dataclass
class Export:
    """The rows, as text columns named by role, plus `row` (the row number in the file)."""

    frame: pl.DataFrame
    header: list[str]
    notes: list[str]


def _key(name: str) -> str:
    return re.sub(r"[\s_\-/]+", "", name.strip().lower())


def read_export(
    path: Path, data: bytes | None = None, options: ReadOptions | None = None
) -> Export:
    """Read `path` (or `data`, named by path) into an Export; raises DataError naming options."""
    options = options or ReadOptions()
    file = path.name
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".txt", ".xlsx"):
        raise DataError(
            [
                Problem(
                    file, f"unsupported file type {suffix or '(none)'!r}: save it as .csv or .xlsx"
                )
            ]
        )
    raw = data if data is not None else path.read_bytes()
    notes: list[str] = []
    if suffix == ".xlsx":
        rows, read_rest = _xlsx(raw, file, options, notes)
    else:
        rows, read_rest = _csv(raw, file, options, notes)
    index = _header_index(rows, file, options, notes)
    header = [cell.strip() for cell in rows[index]]
    header = [name or f"column {n}" for n, name in enumerate(header, start=1)]
    seen: dict[str, int] = {}
    for position, name in enumerate(header):
        if name in seen:
            header[position] = f"{name} ({position + 1})"
        seen.setdefault(name, position)
    frame = read_rest(index, header)
    roles = _roles(header, file, options, notes, index + 1)
    columns = {role: pl.col(name).fill_null("").str.strip_chars() for role, name in roles.items()}
    frame = frame.select(pl.col("row"), **columns)
    if suffix == ".xlsx":  # number cells: the text the workbook shows, every cent kept
        frame = frame.with_columns(
            _shown(frame, role) for role in ("amount", "fiscal_year") if role in frame.columns
        )
    for role in ROLES:
        if role not in frame.columns:
            frame = frame.with_columns(pl.lit("").alias(role))
    blank = pl.all_horizontal(pl.col(role) == "" for role in ROLES)
    return Export(frame.filter(~blank), header, notes)


def _shown(frame: pl.DataFrame, role: str) -> pl.Expr:
    from budget_sim.data.cells import xlsx_number_text

    values = frame[role].unique().to_list()
    return pl.col(role).replace_strict(values, [xlsx_number_text(v) for v in values])


def _decode(raw: bytes, file: str, options: ReadOptions, notes: list[str]) -> str:
    name = options.naming
    if options.encoding:
        try:
            codec = codecs.lookup(options.encoding).name
        except LookupError:
            raise DataError(
                [
                    Problem(
                        file,
                        f"unknown encoding {options.encoding!r}: give "
                        f"{name.encoding} such as utf-8, cp1252 or latin-1",
                    )
                ]
            ) from None
        try:
            text = raw.decode(codec)
        except UnicodeDecodeError as error:
            raise DataError(
                [
                    Problem(
                        file,
                        f"the file is not {codec} (byte 0x{raw[error.start]:02X} "
                        f"at position {error.start:,}): give another "
                        f"{name.encoding}",
                    )
                ]
            ) from None
        notes.append(f"encoding {codec} (as given)")
        return text.removeprefix("\ufeff")
    for bom, codec in (
        (codecs.BOM_UTF8, "utf-8"),
        (codecs.BOM_UTF16_LE, "utf-16-le"),
        (codecs.BOM_UTF16_BE, "utf-16-be"),
    ):
        if raw.startswith(bom):
            notes.append(f"encoding {codec} (byte order mark found)")
            return raw[len(bom) :].decode(codec, errors="replace")
    try:
        text = raw.decode("utf-8")
        notes.append("encoding utf-8 (detected)")
        return text
    except UnicodeDecodeError as error:
        try:
            text = raw.decode("cp1252")
        except UnicodeDecodeError:
            raise DataError(
                [
                    Problem(
                        file,
                        f"the file is not UTF-8 (byte 0x{raw[error.start]:02X}) "
                        f"nor Windows-1252: give {name.encoding}",
                    )
                ]
            ) from None
        notes.append(
            f"encoding Windows-1252 (detected: not UTF-8; if letters look wrong, give "
            f"{name.encoding})"
        )
        return text


def _csv(raw: bytes, file: str, options: ReadOptions, notes: list[str]):
    text = _decode(raw, file, options, notes)
    sample = text[:200_000].splitlines()[:200]
    delimiter = options.delimiter
    if delimiter is not None:
        delimiter = {"tab": "\t", "\\t": "\t"}.get(delimiter, delimiter)
        if len(delimiter) != 1:
            raise DataError(
                [
                    Problem(
                        file,
                        f"delimiter {options.delimiter!r} is not one character: "
                        f"give {options.naming.delimiter}, e.g. ';' or tab",
                    )
                ]
            )
        notes.append(f"delimiter {DELIMITER_NAMES.get(delimiter, repr(delimiter))} (as given)")
    else:
        delimiter = _sniff(sample, file, options)
        notes.append(f"delimiter {DELIMITER_NAMES[delimiter]} (detected)")
    rows = list(csv.reader(io.StringIO("\n".join(sample[:SAMPLE_ROWS])), delimiter=delimiter))
    utf8 = text.encode("utf-8")

    def read_rest(index: int, header: list[str]) -> pl.DataFrame:
        try:
            frame = pl.read_csv(
                io.BytesIO(utf8),
                has_header=False,
                skip_lines=index + 1,
                separator=delimiter,
                schema=dict.fromkeys(header, pl.String),
                truncate_ragged_lines=True,
                raise_if_empty=False,
                row_index_name="row",
                row_index_offset=index + 2,
            )
        except pl.exceptions.PolarsError as error:
            reason = str(error).strip().splitlines()[0]
            raise DataError(
                [
                    Problem(
                        file,
                        f"the rows cannot be read ({reason}): check "
                        f"{options.naming.delimiter} and the quoting",
                    )
                ]
            ) from None
        return frame.with_columns(pl.col("row").cast(pl.Int64))

    return rows, read_rest


def _sniff(lines: list[str], file: str, options: ReadOptions) -> str:
    """The delimiter that splits the most sample lines into the same number (>1) of fields."""
    best: tuple[int, int, str] | None = None
    for candidate in DELIMITERS:
        widths = [
            len(r)
            for r in csv.reader(io.StringIO("\n".join(lines)), delimiter=candidate)
            if any(cell.strip() for cell in r)
        ]
        common = max(set(widths), key=widths.count) if widths else 1
        if common < 2:
            continue
        score = (widths.count(common), common, candidate)
        if best is None or score[:2] > best[:2]:
            best = score
    if best is None:
        raise DataError(
            [
                Problem(
                    file,
                    "cannot tell how the columns are separated: give "
                    f"{options.naming.delimiter}, e.g. ',' or ';'",
                )
            ]
        )
    return best[2]


def _xlsx(raw: bytes, file: str, options: ReadOptions, notes: list[str]):
    sheet = {"sheet_name": options.sheet} if options.sheet else {"sheet_id": 1}
    try:
        frame = pl.read_excel(
            io.BytesIO(raw),
            engine="calamine",
            **sheet,
            has_header=False,
            infer_schema_length=0,
            drop_empty_rows=False,
            drop_empty_cols=False,
            raise_if_empty=False,
            read_options={"header_row": None, "skip_rows": 0},
        )
    except Exception as error:  # calamine/fastexcel raise their own types
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        hint = (
            f"give {options.naming.sheet} with one of the workbook's sheet names"
            if options.sheet
            else "save it again as .xlsx, or as CSV UTF-8"
        )
        raise DataError([Problem(file, f"cannot read the workbook ({reason}): {hint}")]) from None
    notes.append(f"sheet {options.sheet!r} (as given)" if options.sheet else "the first sheet")
    frame = frame.with_columns(pl.all().cast(pl.String))
    rows = [
        ["" if v is None else str(v) for v in values]
        for values in frame.head(SAMPLE_ROWS).iter_rows()
    ]

    def read_rest(index: int, header: list[str]) -> pl.DataFrame:
        rest = frame.slice(index + 1)
        rest.columns = (header + [f"extra {n}" for n in range(rest.width)])[: rest.width]
        rest = rest.with_row_index("row", offset=index + 2).with_columns(
            pl.col("row").cast(pl.Int64)
        )
        return rest

    return rows, read_rest


def _header_index(rows: list[list[str]], file: str, options: ReadOptions, notes: list[str]) -> int:
    name = options.naming
    if not rows:
        raise DataError(
            [Problem(file, "the file is empty: it needs a header row and rows of amounts")]
        )
    if options.header_row is not None:
        if not 1 <= options.header_row <= len(rows):
            raise DataError(
                [
                    Problem(
                        file,
                        f"header row {options.header_row} is not among the "
                        f"first {len(rows)} rows: give another {name.header_row}",
                    )
                ]
            )
        notes.append(f"header on row {options.header_row} (as given)")
        return options.header_row - 1
    wanted = {_key(h) for h in options.columns.values() if h}
    filled = [sum(bool(cell.strip()) for cell in row) for row in rows]
    named = [i for i, row in enumerate(rows) if wanted and wanted <= {_key(c) for c in row}]
    wide = [n for n in filled if n >= 2]
    usual = max(set(wide), key=lambda n: (wide.count(n), n)) if wide else 2
    headers = [
        i
        for i, row in enumerate(rows)
        if filled[i] >= max(2, usual) and not any(_NUMBER.fullmatch(c.strip()) for c in row)
    ]
    # The first row holding every column named, else the first row of names as wide as the
    # usual row (a title or a note fills one cell, data rows hold numbers); a named column that
    # is missing is then reported by _roles.
    found = (named or headers)[:1]
    if not found:
        raise DataError(
            [
                Problem(
                    file,
                    f"cannot find the header row in the first {len(rows)} rows: give "
                    f"{name.header_row}",
                )
            ]
        )
    index = found[0]
    skipped = sum(bool(n) for n in filled[:index])
    notes.append(
        f"header on row {index + 1} (detected"
        + (
            f"; {skipped} title row{'s' if skipped != 1 else ''} above it skipped)"
            if skipped
            else ")"
        )
    )
    return index


def _roles(
    header: list[str], file: str, options: ReadOptions, notes: list[str], header_row: int
) -> dict[str, str]:
    name = options.naming
    by_key = {_key(h): h for h in reversed(header)}
    roles: dict[str, str] = {}
    problems = []
    for role, wanted in options.columns.items():
        if role not in ROLES:
            problems.append(
                Problem(
                    file,
                    f"unknown role {role!r}: give "
                    f"{name.column.format(role='ROLE')} with ROLE one of "
                    "department, program, kind, amount",
                )
            )
        elif wanted and _key(wanted) not in by_key:
            problems.append(
                Problem(
                    file,
                    f"no column {wanted!r} on header row {header_row} "
                    f"(columns: {', '.join(header)}): give "
                    f"{name.column.format(role=role)} with one of them",
                    row=header_row,
                )
            )
        elif wanted:
            roles[role] = by_key[_key(wanted)]
    for role in ROLES:
        if role in options.columns:
            continue
        found = [
            by_key[k] for k in SYNONYMS[role] if k in by_key and by_key[k] not in roles.values()
        ]
        if found:
            roles[role] = found[0]
    for role in ("department", "amount"):
        if role not in roles and not problems:
            problems.append(
                Problem(
                    file,
                    f"no {role} column found among {', '.join(header)} "
                    f"(header row {header_row}): give "
                    f"{name.column.format(role=role)}",
                    row=header_row,
                )
            )
    if problems:
        raise DataError(problems)
    used = ", ".join(f"{role} = {roles[role]!r}" for role in ROLES if role in roles)
    notes.append(f"columns: {used}")
    ignored = [h for h in header if h not in roles.values()]
    if ignored:
        notes.append(f"ignored columns: {', '.join(ignored)}")
    return roles
