"""From an export's rows to budget lines: amounts read to the cent, kinds mapped, total rows
left out, rows of one department and program summed into one line (Polars, vectorised).

Amounts are read safely or not at all: a currency symbol, thousands separators that sit every
three digits, parentheses for a negative; a decimal comma only when asked for."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from budget_sim.data.export_read import Export, ReadOptions
from budget_sim.errors import DataError, Problem
from budget_sim.money import format_money

CURRENCY = r"(?i)US\$|[$€£¥₹]|\b(?:USD|EUR|GBP|CAD)\b"
SPACES = r"[\s\u00a0\u202f']"
POINT = r"^[-+]?(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.[0-9]{1,2})?$"
COMMA = r"^[-+]?(?:[0-9]{1,3}(?:\.[0-9]{3})+|[0-9]+)(?:,[0-9]{1,2})?$"
TOTAL = r"(?i)^(?:grand\s+)?totals?\b"
KIND_WORDS = {
    "expense": (
        "expense",
        "expenses",
        "expenditure",
        "expenditures",
        "spending",
        "appropriation",
        "appropriations",
        "e",
    ),
    "revenue": ("revenue", "revenues", "income", "receipts", "r"),
}
MAX_LISTED = 10


@dataclass
class Summed:
    lines: pl.DataFrame  # fund, department, program, kind, amount (cents), rows, source_note
    city: str
    fiscal_year: int
    notes: list[str]


def _listed(rows: list[int]) -> str:
    shown = ", ".join(str(r) for r in rows[:MAX_LISTED])
    return shown + (f" and {len(rows) - MAX_LISTED:,} more" if len(rows) > MAX_LISTED else "")


def _cents(options: ReadOptions) -> tuple[pl.Expr, pl.Expr, pl.Expr, pl.Expr]:
    """(valid, cents, had a currency symbol, had thousands separators) for column "amount"."""
    text = pl.col("amount")
    paren = text.str.contains(r"^\(.*\)$")
    bare = text.str.replace(r"^\((.*)\)$", "$1").str.replace_all(CURRENCY, "")
    bare = bare.str.replace_all(SPACES, "")
    bare = pl.when(paren).then(pl.lit("-") + bare).otherwise(bare)
    thousands, point = (".", ",") if options.decimal_comma else (",", ".")
    valid = bare.str.contains(COMMA if options.decimal_comma else POINT)
    plain = bare.str.replace_all(thousands, "", literal=True).str.replace(point, ".", literal=True)
    negative = plain.str.starts_with("-")
    parts = plain.str.strip_chars("+-").str.split_exact(".", 1)
    whole = parts.struct.field("field_0").cast(pl.Int64, strict=False)
    fraction = parts.struct.field("field_1").fill_null("").str.pad_end(2, "0")
    cents = whole * 100 + fraction.cast(pl.Int64, strict=False)
    cents = pl.when(negative).then(-cents).otherwise(cents)
    separators = bare.str.contains(r"[0-9]" + ("\\." if options.decimal_comma else ",") + "[0-9]")
    return (
        valid,
        cents,
        text.str.contains(CURRENCY),
        separators | text.str.contains(r"[0-9][ '\u00a0\u202f][0-9]"),
    )


def _amount_hint(text: str, options: ReadOptions) -> str:
    name = options.naming
    import re

    if not options.decimal_comma and re.search(r"^[^,]*[0-9],[0-9]{1,2}$|[0-9]\.[0-9]{3},", text):
        return f"it looks like a decimal comma: give {name.decimal_comma}"
    if options.decimal_comma and re.search(r"[0-9],[0-9]{3}\.[0-9]", text):
        return f"it looks like a decimal point: leave out {name.decimal_comma}"
    if re.search(r"[.,][0-9]{3,}$", text) and not re.search(r"[0-9]{1,3}([.,][0-9]{3})+$", text):
        return (
            "it has more than 2 decimals: amounts are read to the cent, so round it in the "
            f"file, or map another column with {name.column.format(role='amount')}"
        )
    return f"if this is not the amount column, give {name.column.format(role='amount')}"


def sum_lines(
    export: Export, file: str, options: ReadOptions, *, city: str | None, fiscal_year: int | None
) -> Summed:
    """The export's lines, one per fund, department, program and kind; raises DataError."""
    name, notes, problems = options.naming, list(export.notes), []
    frame = export.frame
    if fiscal_year is not None and frame["fiscal_year"].str.len_chars().max():
        years = frame["fiscal_year"].str.replace(r"\.0$", "")
        frame = frame.filter(years == str(fiscal_year))
        notes.append(f"kept the {frame.height:,} rows of fiscal year {fiscal_year}")
    empty = frame.filter(pl.col("amount") == "")
    frame = frame.filter(pl.col("amount") != "")
    if empty.height:
        notes.append(
            f"left out {empty.height:,} row{'s' if empty.height != 1 else ''} with no "
            f"amount (row{'s' if empty.height != 1 else ''} {_listed(empty['row'].to_list())})"
        )
    valid, cents, currency, separators = _cents(options)
    frame = frame.with_columns(valid=valid, cents=cents, currency=currency, separators=separators)
    for row, text in frame.filter(~pl.col("valid")).select("row", "amount").head(MAX_LISTED).rows():
        problems.append(
            Problem(
                file,
                f"amount {text!r} is not an amount: {_amount_hint(text, options)}",
                row=row,
                column="amount",
            )
        )
    bad = frame.filter(~pl.col("valid")).height
    if bad > MAX_LISTED:
        problems.append(
            Problem(
                file, f"{bad - MAX_LISTED:,} more rows have amounts that are not amounts, as above"
            )
        )
    if problems:
        raise DataError(problems)
    flags = frame.select(pl.col("currency").sum(), pl.col("separators").sum()).row(0)
    if flags[0] or flags[1]:
        notes.append(
            "amounts read to the cent: "
            + "; ".join(
                f"{what} in {count:,} row{'s' if count != 1 else ''}"
                for what, count in (
                    ("currency symbols removed", flags[0]),
                    ("thousands separators removed", flags[1]),
                )
                if count
            )
        )
    if options.decimal_comma:
        notes.append("decimal comma (as given)")
    frame = _kinds(frame, file, options, notes)
    totals = frame.filter(pl.col("department").str.contains(TOTAL) & (pl.col("program") == ""))
    if totals.height:
        frame = frame.filter(~pl.col("row").is_in(totals["row"].implode()))
        for row, text, total in totals.select("row", "department", "cents").rows():
            notes.append(
                f"left out row {row} ({text!r}, {format_money(total)}): a total, not a "
                f"line; the other rows sum to {format_money(frame['cents'].sum())}"
            )
    missing = frame.filter(pl.col("department") == "")
    for row in missing["row"].head(MAX_LISTED).to_list():
        problems.append(
            Problem(
                file,
                "department is empty: fill it in, or give "
                f"{name.column.format(role='department')} for another column",
                row=row,
                column="department",
            )
        )
    the_city = city or _single(frame, "city", file, name.city, problems)
    year_text = (
        str(fiscal_year)
        if fiscal_year
        else _single(frame, "fiscal_year", file, name.fiscal_year, problems).removesuffix(".0")
    )
    if year_text and not (year_text.isdigit() and len(year_text) == 4):
        problems.append(
            Problem(
                file,
                f"fiscal year {year_text!r} is not a year: give "
                f"{name.fiscal_year}, the year the fiscal year ends in",
            )
        )
    if problems:
        raise DataError(problems)
    return Summed(_group(frame, notes), the_city, int(year_text), notes)


def _single(frame: pl.DataFrame, role: str, file: str, option: str, problems: list[Problem]) -> str:
    values = frame.filter(pl.col(role) != "")[role].unique(maintain_order=True).to_list()
    if len(values) == 1:
        return values[0]
    what = role.replace("_", " ")
    if not values:
        problems.append(Problem(file, f"the file has no {what} column: give {option}"))
    else:
        problems.append(
            Problem(
                file,
                f"the file holds several values of {what} ({', '.join(values[:5])}): give {option}",
            )
        )
    return ""


def _kinds(frame: pl.DataFrame, file: str, options: ReadOptions, notes: list[str]) -> pl.DataFrame:
    name = options.naming
    if options.kind:
        notes.append(f"every row is {options.kind} (as given)")
        return frame.with_columns(kind=pl.lit(options.kind))
    if not frame["kind"].str.len_chars().max():
        raise DataError(
            [
                Problem(
                    file,
                    "the file has no kind column telling spending from "
                    f"revenue: give {name.kind}, or "
                    f"{name.column.format(role='kind')}",
                )
            ]
        )
    words = {word: kind for kind, all_words in KIND_WORDS.items() for word in all_words}
    words.update({text.strip().lower(): kind for text, kind in options.kind_values.items()})
    key = pl.col("kind").str.to_lowercase().str.strip_chars()
    unknown = frame.filter(~key.is_in(list(words)))
    problems = [
        Problem(
            file,
            f"kind {text!r} ({count:,} rows, first on row {row}) is neither expense nor "
            f"revenue: give {name.kind_value.format(kind='expense', text=text)} or "
            f"{name.kind_value.format(kind='revenue', text=text)}",
            row=row,
            column="kind",
        )
        for text, count, row in unknown.group_by("kind", maintain_order=True)
        .agg(pl.len(), pl.col("row").first())
        .rows()
    ]
    if problems:
        raise DataError(problems)
    mapped = frame.with_columns(kind=key.replace_strict(words))
    counts = dict(mapped.group_by("kind").len().rows())
    notes.append("kinds: " + ", ".join(f"{counts.get(k, 0):,} {k} rows" for k in KIND_WORDS))
    return mapped


def _group(frame: pl.DataFrame, notes: list[str]) -> pl.DataFrame:
    """One line per fund, department, program and kind (names compared ignoring case and
    spacing; the first spelling is kept); an empty program is the department's own line."""

    def norm(column: str) -> pl.Expr:
        return pl.col(column).str.replace_all(r"\s+", " ").str.to_lowercase()

    frame = frame.with_columns(
        program=pl.when(pl.col("program") == "").then("department").otherwise("program")
    )
    lines = (
        frame.group_by(
            norm("fund").alias("f"),
            norm("department").alias("d"),
            norm("program").alias("p"),
            "kind",
            maintain_order=True,
        )
        .agg(
            pl.col("fund", "department", "program").first(),
            pl.col("cents").sum().alias("amount"),
            pl.len().alias("rows"),
            pl.col("source_note")
            .filter(pl.col("source_note") != "")
            .unique(maintain_order=True)
            .str.join("; ")
            .alias("source_note"),
        )
        .drop("f", "d", "p")
    )
    summed = lines.filter(pl.col("rows") > 1)
    if summed.height:
        notes.append(
            f"summed {summed['rows'].sum():,} rows into {summed.height:,} lines "
            "(rows of the same department and program)"
        )
    zero = lines.filter(pl.col("amount") == 0)
    if zero.height:
        notes.append(
            f"left out {zero.height:,} line{'s' if zero.height != 1 else ''} that sum "
            f"to 0: {', '.join(zero['program'].head(5).to_list())}"
        )
    lines = lines.filter(pl.col("amount") != 0)
    notes.append(f"{lines.height:,} lines from {frame.height:,} rows")
    return lines
