"""The streamed XLSX writer: a spreadsheet program reads back every value as it was (checked with
fastexcel, the calamine reader), text is never a formula, and big sheets stream in blocks."""

from __future__ import annotations

import zipfile
from datetime import UTC, date, datetime
from decimal import Decimal

import polars as pl
import pytest

from budget_sim import xlsx_sheet
from budget_sim.exports import write_xlsx_file


def _frame() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "receipt": ["r-1", "r-2", "r-3"],
            "police": pl.Series(
                [Decimal("17000000.00"), Decimal("-0.01"), None], dtype=pl.Decimal(20, 2)
            ),
            "count": [1, None, -7],
            "share": [0.25, float("inf"), None],
            "synthetic": [True, False, None],
            "submitted_at": pl.Series(
                [datetime(2026, 12, 5, 18, 30, 15, tzinfo=UTC), None, None]
            ).dt.convert_time_zone("America/Chicago"),
            "day": [date(2026, 1, 31), None, date(1999, 12, 31)],
            "comment": ['=HYPERLINK("http://x","y")', "  a < b & c > d\r\nline two", "bell\x07end"],
        }
    )


def test_every_value_reads_back_as_written(tmp_path):
    target = tmp_path / "out.xlsx"
    xlsx_sheet.write_sheet(_frame(), target, "Budget 'FY26'")
    back = pl.read_excel(target, sheet_name="Budget 'FY26'")
    assert back.columns == _frame().columns
    assert back["receipt"].to_list() == ["r-1", "r-2", "r-3"]
    assert back["police"].to_list() == [17_000_000.0, -0.01, None]
    assert back["count"].to_list() == [1, None, -7]
    assert back["share"].to_list() == [0.25, None, None]  # infinity has no spreadsheet value
    assert back["synthetic"].to_list() == [True, False, None]
    assert back["submitted_at"].to_list()[0] == datetime(2026, 12, 5, 18, 30, 15)  # in UTC
    assert back["day"].to_list()[0] == date(2026, 1, 31)
    comments = back["comment"].to_list()
    assert comments[0] == '=HYPERLINK("http://x","y")'  # text, not a formula
    assert comments[1] == "  a < b & c > d\r\nline two"  # spaces, escapes and line breaks kept
    assert comments[2] == "bellend"  # a character XML cannot hold is dropped, not the cell


def test_a_header_with_a_character_xml_cannot_hold_still_opens(tmp_path):
    """Column names come from budgets and questions: one with a control character is written
    without it, not as a workbook Excel refuses to open."""
    target = tmp_path / "out.xlsx"
    xlsx_sheet.write_sheet(pl.DataFrame({"answer.why\x0bnot <this>": ["yes"]}), target, "data")
    back = pl.read_excel(target)
    assert back.columns == ["answer.whynot <this>"]
    assert back.row(0) == ("yes",)


def test_the_sheet_has_no_formula_and_a_frozen_header(tmp_path):
    target = tmp_path / "out.xlsx"
    xlsx_sheet.write_sheet(_frame(), target, "data")
    with zipfile.ZipFile(target) as book:
        assert book.testzip() is None
        sheet = book.read("xl/worksheets/sheet1.xml").decode()
        styles = book.read("xl/styles.xml").decode()
    assert "<f>" not in sheet
    assert 'state="frozen"' in sheet
    assert '<c s="2"><v>17000000.00</v></c>' in sheet  # money: exact text, format 0.00
    assert 'numFmtId="2"' in styles


def test_a_sheet_larger_than_one_block_keeps_every_row_in_order(tmp_path, monkeypatch):
    monkeypatch.setattr(xlsx_sheet, "ROWS_PER_BLOCK", 7)
    amounts = pl.Series([Decimal(n) / 100 for n in range(50)], dtype=pl.Decimal(20, 2))
    frame = pl.DataFrame({"n": range(50), "amount": amounts})
    target = tmp_path / "out.xlsx"
    xlsx_sheet.write_sheet(frame, target, "s")
    back = pl.read_excel(target)
    assert back["n"].to_list() == list(range(50))
    assert back["amount"].to_list() == pytest.approx([n / 100 for n in range(50)])


def test_an_empty_table_is_a_header_only_workbook(tmp_path):
    target = tmp_path / "out.xlsx"
    write_xlsx_file(_frame().clear(), target, "data")  # through the child process
    with zipfile.ZipFile(target) as book:
        sheet = book.read("xl/worksheets/sheet1.xml").decode()
    assert sheet.count("<row>") == 1 and "submitted_at" in sheet
