"""Files staff download: CSV, XLSX and Parquet of any table, safe to open in a spreadsheet.

A spreadsheet runs a cell that starts with = + - @ (or a tab or carriage return, which some
programs strip first) as a formula. In CSV such text cells get a leading apostrophe; in XLSX
every text cell is written as text, never as a formula, so the value comes back unchanged.

A large table's XLSX (`write_xlsx_file`) is written by a child process with `xlsx_sheet` (rows
turned into SpreadsheetML by Polars, block by block): the server's memory and GIL stay out of
it. Small workbooks of several sheets (`to_xlsx_book`) use xlsxwriter in process."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path

import polars as pl
from xlsxwriter import Workbook

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
FORMATS = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "parquet": "application/vnd.apache.parquet",
}


def neutralised(frame: pl.DataFrame) -> pl.DataFrame:
    """Text cells that a spreadsheet would run as a formula, prefixed with an apostrophe."""
    risky = pl.col(pl.String).str.starts_with(FORMULA_STARTS[0])
    for start in FORMULA_STARTS[1:]:
        risky = risky | pl.col(pl.String).str.starts_with(start)
    return frame.with_columns(
        pl.when(risky).then("'" + pl.col(pl.String)).otherwise(pl.col(pl.String)).name.keep()
    )


def to_csv(frame: pl.DataFrame) -> bytes:
    """UTF-8 with a BOM (so spreadsheets read the accents right), formulas neutralised."""
    return "\ufeff".encode() + neutralised(frame).write_csv().encode()


XLSX_OPTIONS = {
    "strings_to_formulas": False,
    "strings_to_urls": False,
    "strings_to_numbers": False,
    "remove_timezone": True,  # Excel has no time zones; every time here is UTC
}
SHEET_NAME_MAX = 31  # Excel's limit
SHEET_NAME_BAD = str.maketrans(dict.fromkeys("[]:*?/\\", "-"))


def sheet_names(names: Iterable[str]) -> list[str]:
    """Valid, distinct Excel sheet names for `names` (31 characters, none of []:*?/\\)."""
    taken: set[str] = set()
    found = []
    for name in names:
        base = (name.translate(SHEET_NAME_BAD).strip("'") or "sheet")[:SHEET_NAME_MAX]
        candidate, n = base, 1
        while candidate.lower() in taken:
            n += 1
            suffix = f"~{n}"
            candidate = base[: SHEET_NAME_MAX - len(suffix)] + suffix
        taken.add(candidate.lower())
        found.append(candidate)
    return found


def to_xlsx(frame: pl.DataFrame | pl.LazyFrame, sheet: str = "data") -> bytes:
    """One sheet; text is always text (never a formula). See `write_xlsx_file`."""
    with tempfile.TemporaryDirectory(prefix="budget-sim-xlsx-") as folder:
        target = Path(folder) / "out.xlsx"
        write_xlsx_file(frame, target, sheet)
        return target.read_bytes()


XLSX_TIMEOUT = 600  # seconds a child process may take to write one sheet


def write_xlsx_file(frame: pl.DataFrame | pl.LazyFrame, target: Path, sheet: str = "data") -> None:
    """Write `frame` as a one-sheet XLSX at `target`. The frame goes to a Parquet file (Polars
    streams it, releasing the GIL); a child process (`python -m budget_sim.exports`) turns it
    into XLSX, so the caller's memory grows by about one Parquet buffer, not by the workbook."""
    source = Path(target).with_suffix(".parquet.tmp")
    try:
        if isinstance(frame, pl.LazyFrame):
            frame.sink_parquet(source)
        else:
            frame.write_parquet(source)
        done = subprocess.run(
            [sys.executable, "-m", "budget_sim.exports", str(source), str(target), sheet],
            capture_output=True,
            text=True,
            timeout=XLSX_TIMEOUT,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"writing the XLSX failed: {done.stderr.strip()[-500:]}")
    finally:
        source.unlink(missing_ok=True)


def _xlsx_from_parquet(source: Path, target: Path, sheet: str) -> None:
    """In the child process: the sheet as `xlsx_sheet` writes it (money exact with two decimals,
    times in UTC, text as inline text that is never a formula)."""
    from budget_sim.xlsx_sheet import write_sheet

    write_sheet(pl.read_parquet(source), target, sheet_names([sheet])[0])


def to_xlsx_book(sheets: Mapping[str, pl.DataFrame]) -> bytes:
    """One sheet per table, in order (names made valid for Excel); text is always text."""
    buffer = io.BytesIO()
    utc = pl.col(pl.Datetime(time_zone="*")).dt.convert_time_zone("UTC")
    with Workbook(buffer, XLSX_OPTIONS) as workbook:
        for name, frame in zip(sheet_names(sheets), sheets.values(), strict=True):
            frame.with_columns(utc).write_excel(workbook=workbook, worksheet=name, autofit=True)
    return buffer.getvalue()


def to_parquet(frame: pl.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.write_parquet(buffer)
    return buffer.getvalue()


def encode(frame: pl.DataFrame, fmt: str) -> bytes:
    if fmt == "csv":
        return to_csv(frame)
    if fmt == "xlsx":
        return to_xlsx(frame)
    if fmt == "parquet":
        return to_parquet(frame)
    raise ValueError(f"unknown format {fmt!r}: use csv, xlsx or parquet")


if __name__ == "__main__":  # the child process of write_xlsx_file
    if hasattr(os, "nice"):  # residents' requests come first: the download can wait a little
        os.nice(10)
    _xlsx_from_parquet(Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3])
