"""`import_source`: a city's budget export (CSV or XLSX) -> a package skeleton folder.

`export_read` reads the file and tells the roles of its columns, `summing` turns its rows into
lines; this module names the lines, writes budget.toml (with a workable tolerance, see
`tolerance`) and lines.csv, and checks the result as `budget-sim check` would."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import tempfile
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from budget_sim.data.cells import units
from budget_sim.data.export_read import ReadOptions, read_export
from budget_sim.data.lines import LINE_ID, dedup_key
from budget_sim.data.package import check_package
from budget_sim.data.summing import Summed, sum_lines
from budget_sim.data.tolerance import reach
from budget_sim.errors import DataError, Problem
from budget_sim.money import format_money

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
MAX_LINES = 1000
NEGATIVE_NOTE = (
    "Published as a negative amount: an accounting credit or offset inside the budget, not a "
    "service. Shown as published and fixed."
)


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


@dataclass
class Imported:
    """What an import made: the lines.csv and budget.toml texts, and what it noticed."""

    slug: str
    lines_csv: str
    manifest: str
    notes: list[str] = field(default_factory=list)
    tolerance: int = 0  # cents
    folder: Path | None = None


def _name_funds_apart(lines: pl.DataFrame) -> pl.DataFrame:
    """Where one department and program appear in several funds (e.g. Sacramento's General Fund
    and Measure U Fund), add the fund to the program name so every line is distinct."""
    keys = [dedup_key(d, p, k) for d, p, k in lines.select("department", "program", "kind").rows()]
    funds: dict[tuple[str, ...], set[str]] = {}
    for key, fund in zip(keys, lines["fund"].to_list(), strict=True):
        funds.setdefault(key, set()).add(fund)
    programs = [
        f"{program} ({fund})" if len(funds[key]) > 1 and fund else program
        for key, program, fund in zip(keys, lines["program"], lines["fund"], strict=True)
    ]
    return lines.with_columns(program=pl.Series(programs, dtype=pl.String))


def toml_string(text: str) -> str:
    """A TOML basic string (JSON escapes are valid TOML; DEL must be escaped too)."""
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")


def _manifest(slug: str, file: str, summed: Summed, tolerance_comment: str, tolerance: int) -> str:
    lines, city, year = summed.lines, summed.city, summed.fiscal_year
    funds = [fund for fund in lines["fund"].unique(maintain_order=True).to_list() if fund]
    counts = dict(lines.group_by("kind").len().rows())
    notes = list(dict.fromkeys(n for n in lines["source_note"].to_list() if n))
    title = f"{city} budget, fiscal year {year}"
    source = (
        f"Imported from {file}: {counts.get('expense', 0)} expense and "
        f"{counts.get('revenue', 0)} revenue lines"
        + (f" ({'; '.join(funds)})" if funds else "")
        + ", amounts unchanged."
        + "".join(f"\n- {note}" for note in notes[:20])
    )
    intro = (
        f"This is {city}'s budget for fiscal year {year}. Move spending and revenue up or down "
        "to show how you would balance it, then send your plan."
    )
    read = "".join(f"#   {note}\n" for note in summed.notes)
    return f"""\
# Budget package made by `budget-sim import {file}`. Amounts in lines.csv are the source's,
# summed by department and program where the source has several rows for one.
# How the file was read:
{read}# Review every key; budget_data/README.md documents them all.
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
{tolerance_comment}tolerance = {units(tolerance)}
min_change_percent = -10
max_change_percent = 10
step_percent = 1
"""


def _lines_csv(lines: pl.DataFrame, file: str) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(LINE_COLUMNS)
    ids = line_ids(lines.select("department", "program").rows())
    for line_id, row in zip(ids, lines.iter_rows(named=True), strict=True):
        assert LINE_ID.fullmatch(line_id), line_id
        negative = row["amount"] < 0
        flag = "true" if negative else "false"
        note = row["source_note"] or (
            f"{file}, {row['rows']:,} rows summed" if row["rows"] > 1 else f"{file}"
        )
        writer.writerow(
            (
                line_id,
                display_name(row["department"]),
                display_name(row["program"]),
                row["kind"],
                units(row["amount"]),
                flag,
                flag,
                "false",
                NEGATIVE_NOTE if negative else "",
                note,
            )
        )
    return out.getvalue()


def _tolerance(lines: pl.DataFrame, notes: list[str]) -> tuple[int, str]:
    """The default tolerance and the budget.toml comment that explains it."""
    found = reach(
        lines.select("department", "program", "kind", "amount", locked=pl.col("amount") < 0)
    )
    if not found.largest_step:
        notes.append("tolerance $0: no line can move within -10%..+10% in whole steps")
        return 0, "# tolerance: no line can move, so the budget must balance as published.\n"
    comment = (
        "# tolerance: how far from balance a plan may be and still be sent, in currency units.\n"
        f"# The importer set it to half the largest slider step ({format_money(found.largest_step)}"
        f", {found.largest_line}), rounded up:\n"
        "# moving lines one step at a time, residents can then always get within it of balance.\n"
    )
    if not found.reachable():
        comment += (
            f"# WARNING: the published balance ({format_money(found.balance)}) is further from 0 "
            "than residents can move it\n# with these limits: widen min_change_percent and "
            "max_change_percent, or set a larger tolerance.\n"
        )
        notes.append(
            f"warning: balance cannot be reached with lines moving within -10%..+10%; "
            f"the published balance is {format_money(found.balance)}: edit the rules "
            "in budget.toml"
        )
    notes.append(
        f"tolerance {format_money(found.tolerance)}: half the largest slider step "
        f"({found.largest_line})" + (", so balance is reachable" if found.reachable() else "")
    )
    return found.tolerance, comment


def convert(
    source: Path,
    data: bytes | None = None,
    options: ReadOptions | None = None,
    *,
    slug: str | None = None,
    city: str | None = None,
    fiscal_year: int | None = None,
) -> Imported:
    """The package texts for the export `source` (or `data`, named by `source`); raises DataError
    with every problem, each naming the option that fixes it."""
    options = options or ReadOptions()
    file = Path(source).name
    export = read_export(Path(source), data, options)
    summed = sum_lines(export, file, options, city=city, fiscal_year=fiscal_year)
    if not summed.lines.height:
        raise DataError([Problem(file, "file has no rows to import")])
    summed.lines = _name_funds_apart(summed.lines)
    if summed.lines.height > MAX_LINES:
        raise DataError(
            [
                Problem(
                    file,
                    f"{summed.lines.height:,} lines after summing by "
                    f"department and program; at most {MAX_LINES:,}: give "
                    f"{options.naming.column.format(role='program')} with a "
                    "coarser column, or with nothing after = to sum by department",
                )
            ]
        )
    slug = slug or f"{slugify(summed.city.split(',')[0])}-fy{summed.fiscal_year}"
    if not LINE_ID.fullmatch(slug):
        raise DataError(
            [
                Problem(
                    file,
                    f"{slug!r} is not a valid slug: give --slug with 1 to 64 "
                    "characters a-z, 0-9 and '-'",
                )
            ]
        )
    tolerance, comment = _tolerance(summed.lines, summed.notes)
    return Imported(
        slug=slug,
        lines_csv=_lines_csv(summed.lines, file),
        manifest=_manifest(slug, file, summed, comment, tolerance),
        notes=summed.notes,
        tolerance=tolerance,
    )


def import_source(
    source: Path,
    dest_dir: Path,
    *,
    slug: str | None = None,
    options: ReadOptions | None = None,
    city: str | None = None,
    fiscal_year: int | None = None,
) -> Imported:
    """Import the export `source` into the new package folder `dest_dir/<slug>` (never over an
    existing one); `folder` of the result is that folder. Raises DataError."""
    source, dest_dir = Path(source), Path(dest_dir)
    made = convert(source, None, options, slug=slug, city=city, fiscal_year=fiscal_year)
    target = dest_dir / made.slug
    if target.exists():
        raise DataError(
            [
                Problem(
                    str(target),
                    "a package folder already exists here: import "
                    "never overwrites; give another --slug or remove the folder",
                )
            ]
        )
    dest_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".import-", dir=dest_dir))
    try:
        package = staging / made.slug
        package.mkdir()
        (package / "budget.toml").write_text(made.manifest, "utf-8")
        (package / "lines.csv").write_text(made.lines_csv, "utf-8")
        problems = check_package(package)
        if problems:  # pragma: no cover - summed lines always make a valid package
            raise DataError(problems)
        package.rename(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    made.folder = target
    return made
