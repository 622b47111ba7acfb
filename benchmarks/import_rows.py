"""How long `budget-sim import` takes on a raw line-item export of N rows (issue 12).

Writes a messy export (UTF-8 BOM, CRLF, two title rows, "$1,234.56" amounts, 40 departments
x 10 programs, N rows: account-level line items) as CSV, and the same rows as XLSX, then
imports each `--trials` times in this process and prints the median wall time.

    .venv/bin/python benchmarks/import_rows.py --rows 100000 --trials 5
"""

from __future__ import annotations

import argparse
import csv
import io
import random
import statistics
import tempfile
import time
from pathlib import Path

import xlsxwriter

from budget_sim.data.export_read import ReadOptions
from budget_sim.data.importer import import_source
from budget_sim.money import parse_amount


def rows(count: int, seed: int = 12) -> list[tuple[str, str, str, int]]:
    rng = random.Random(seed)
    found = []
    for n in range(count):
        department = f"Department {n % 40:02d}"
        program = f"Program {(n // 40) % 10}"
        kind = "Revenue" if n % 40 >= 36 else "Expense"
        found.append((department, program, kind, rng.randint(100, 50_000_000)))
    return found


def write_csv(path: Path, data: list[tuple[str, str, str, int]]) -> None:
    lines = [
        '"City of Benchmark - Adopted Budget",,,',
        "Source: generated,,,",
        "Department Name,Program Name,Account Type,Adopted Budget",
    ]
    lines += [f'{d},{p},{k},"${c // 100:,}.{c % 100:02d}"' for d, p, k, c in data]
    path.write_bytes(b"\xef\xbb\xbf" + "\r\n".join(lines).encode() + b"\r\n")


def write_xlsx(path: Path, data: list[tuple[str, str, str, int]]) -> None:
    workbook = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    sheet = workbook.add_worksheet()
    sheet.write(0, 0, "City of Benchmark - Adopted Budget")
    sheet.write_row(2, 0, ["Department Name", "Program Name", "Account Type", "Adopted Budget"])
    for n, (d, p, k, c) in enumerate(data, start=3):
        sheet.write_row(n, 0, [d, p, k, c / 100])
    workbook.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--trials", type=int, default=5)
    args = parser.parse_args()
    data = rows(args.rows)
    expected = sum(c for *_, c in data)
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        for suffix, writer in ((".csv", write_csv), (".xlsx", write_xlsx)):
            source = root / f"export{suffix}"
            writer(source, data)
            times = []
            for trial in range(args.trials):
                started = time.perf_counter()
                made = import_source(
                    source,
                    root / f"out{suffix}{trial}",
                    options=ReadOptions(),
                    city="Benchmark",
                    fiscal_year=2026,
                )
                times.append(time.perf_counter() - started)
            table = list(csv.DictReader(io.StringIO(made.lines_csv)))
            total = sum(parse_amount(row["amount"]) for row in table)
            assert total == expected, (total, expected)  # to the cent
            lines = len(table)
            print(
                f"{suffix}: {args.rows:,} rows ({source.stat().st_size / 1e6:.1f} MB) -> "
                f"{lines} lines; median {statistics.median(times):.2f} s over {args.trials} "
                f"(min {min(times):.2f}, max {max(times):.2f}); total "
                f"{expected / 100:,.2f}, equal to the source to the cent"
            )


if __name__ == "__main__":
    main()
