"""The order departments and lines are shown in, as a package's `order` key states it."""

from __future__ import annotations

import re

import polars as pl

ORDERS = ("file", "largest")
_NUMBER = re.compile(r"(\d+)")


def natural_key(text: str) -> tuple[tuple[int, int | str], ...]:
    """Names compared with their numbers as numbers: "2nd Ward" before "10th Ward"."""
    return tuple(
        (0, int(part)) if part.isdigit() else (1, part.casefold())
        for part in _NUMBER.split(text)
        if part
    )


def ordered(frame: pl.DataFrame, order: str) -> pl.DataFrame:
    """The lines in the stated order. "file": as in lines.csv. "largest": departments by the
    city's total, largest first, and the lines of each by amount, largest first; equal amounts
    by name, numbers as numbers. Revenue and spending are shown apart, so each is ordered
    within itself."""
    if order == "file" or frame.is_empty():
        return frame
    rows = frame.select("department", "program", "kind", "amount").rows()
    totals: dict[tuple[str, str], int] = {}
    for department, _, kind, amount in rows:
        totals[(department, kind)] = totals.get((department, kind), 0) + amount

    def key(index: int) -> tuple:
        department, program, kind, amount = rows[index]
        return (
            kind != "expense",
            -totals[(department, kind)],
            natural_key(department),
            -amount,
            natural_key(program),
        )

    return frame[sorted(range(len(rows)), key=key)]
