"""The upload form's mapping step: a city's own export (not a lines file in the package layout)
is read with the same options as `budget-sim import`, given as form fields, and becomes the
package's lines.csv; what the importer detected is kept as comments at the top of budget.toml,
which the preview shows."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

from budget_sim.data.cells import units
from budget_sim.data.export_read import Naming, ReadOptions
from budget_sim.data.importer import Imported, convert
from budget_sim.errors import DataError, Problem

FIELDS = (
    "map_header_row",
    "map_delimiter",
    "map_encoding",
    "map_decimal_comma",
    "map_sheet",
    "map_department",
    "map_program",
    "map_kind",
    "map_amount",
    "map_kind_all",
    "map_kind_expense",
    "map_kind_revenue",
)
FORM_NAMING = Naming(
    header_row='"Header row" (under "Your file\'s columns")',
    delimiter='"Column separator"',
    encoding='"Text encoding"',
    decimal_comma='"Amounts use a decimal comma"',
    sheet='"Sheet"',
    column='"Column for {role}"',
    kind='"Every row is" spending or revenue',
    kind_value='"Text that means {kind}" ({text})',
    city='"City"',
    fiscal_year='"Fiscal year"',
)
PACKAGE_COLUMNS = {"id", "department", "program", "kind", "amount"}
NOTES_START = "# How the uploaded file was read:"


def wanted(fields: dict[str, str]) -> bool:
    """Whether the admin filled in any mapping field."""
    return any(fields.get(name, "").strip() for name in FIELDS)


def looks_like_package(lines_name: str, data: bytes) -> bool:
    """Whether the file's first non-empty row names the package columns (id, department...)."""
    if lines_name.endswith(".xlsx"):
        try:
            import polars as pl

            first = pl.read_excel(io.BytesIO(data), has_header=False, infer_schema_length=0).head(5)
        except Exception:  # unreadable: let the package check say why
            return True
        rows = [[str(v or "") for v in row] for row in first.iter_rows()]
    else:
        text = data[:20_000].decode("utf-8-sig", errors="replace")
        rows = list(csv.reader(io.StringIO("\n".join(text.splitlines()[:5]))))
    for row in rows:
        if any(cell.strip() for cell in row):
            return {cell.strip().lower() for cell in row} >= PACKAGE_COLUMNS
    return True


def options(fields: dict[str, str]) -> tuple[ReadOptions, list[Problem]]:
    """The importer's options from the form; a header row that is not a number is a problem."""
    value = {name: fields.get(name, "").strip() for name in FIELDS}
    problems = []
    header_row = None
    if value["map_header_row"]:
        if re.fullmatch(r"[0-9]{1,4}", value["map_header_row"]) and int(value["map_header_row"]):
            header_row = int(value["map_header_row"])
        else:
            problems.append(
                Problem(
                    "upload form", "the header row is a row number, e.g. 3", column="map_header_row"
                )
            )
    columns = {
        role: value[f"map_{role}"]
        for role in ("department", "program", "kind", "amount")
        if value[f"map_{role}"]
    }
    kinds = {
        value[f"map_kind_{kind}"]: kind
        for kind in ("expense", "revenue")
        if value[f"map_kind_{kind}"]
    }
    kind = value["map_kind_all"] if value["map_kind_all"] in ("expense", "revenue") else None
    return ReadOptions(
        header_row=header_row,
        delimiter=value["map_delimiter"] or None,
        encoding=value["map_encoding"] or None,
        decimal_comma=bool(value["map_decimal_comma"]),
        sheet=value["map_sheet"] or None,
        columns=columns,
        kind=kind,
        kind_values=kinds,
        naming=FORM_NAMING,
    ), problems


def import_export(
    file_name: str, data: bytes, fields: dict[str, str]
) -> tuple[Imported | None, list[Problem]]:
    """The export read with the form's options; (None, problems) when it cannot be."""
    read, problems = options(fields)
    if problems:
        return None, problems
    year = fields.get("fiscal_year", "").strip()
    try:
        made = convert(
            Path(file_name),
            data,
            read,
            slug=fields.get("slug", "").strip() or None,
            city=fields.get("city", "").strip() or None,
            fiscal_year=int(year) if re.fullmatch(r"[0-9]{4}", year) else None,
        )
    except DataError as error:
        return None, error.problems
    return made, []


def filled_in(fields: dict[str, str], made: Imported, base: bytes | None) -> dict[str, str]:
    """The form's fields, with what the admin left empty taken from the import (a new budget
    only): the tolerance the importer worked out, its title and source text."""
    import tomllib

    filled = dict(fields)
    if not fields.get("tolerance", "").strip():
        filled["tolerance"] = units(made.tolerance)
    if base is None:
        made_toml = tomllib.loads(made.manifest)
        for field, value in (
            ("city", made_toml["city"]),
            ("fiscal_year", str(made_toml["fiscal_year"])),
            ("title_en", made_toml["title"]["en"]),
            ("source", made_toml["source"]["text"]),
        ):
            if not filled.get(field, "").strip():
                filled[field] = value
    return filled


def with_notes(manifest: bytes, file_name: str, made: Imported) -> bytes:
    """budget.toml with what the importer noticed as comments at its top."""
    notes = "".join(f"#   {note}\n" for note in made.notes)
    head = f"{NOTES_START} {file_name}\n{notes}"
    return head.encode("utf-8") + manifest


def notes_in(manifest: bytes) -> tuple[str, list[str]]:
    """(file name, notes) from a budget.toml that `with_notes` wrote, else ("", [])."""
    text = manifest.decode("utf-8", errors="replace")
    if not text.startswith(NOTES_START):
        return "", []
    first, *rest = text.splitlines()
    notes = []
    for line in rest:
        if not line.startswith("#   "):
            break
        notes.append(line[4:])
    return first[len(NOTES_START) :].strip(), notes


def package_tolerance(fields: dict[str, str], lines_name: str, lines: bytes) -> str:
    """For a lines file in the package layout sent with an empty tolerance: the importer's
    workable default (half the largest step), or "" when the lines cannot be read yet."""
    from budget_sim.data import compose_manifest, read_package_files
    from budget_sim.data.tolerance import reach

    slug = fields.get("slug", "").strip() or "upload"
    manifest = compose_manifest({**fields, "slug": slug, "tolerance": "0"})
    budget, problems = read_package_files(slug, manifest, lines_name, lines)
    if budget is None or problems:
        return ""
    return units(reach(budget.lines).tolerance)
