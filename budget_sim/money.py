"""Money as integer cents: strict parsing of typed amounts and plain formatting."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

CENTS_PER_UNIT = 100
# ASCII digits only, no sign, no separators, at most two decimals; 13 digits cover any city budget.
_AMOUNT = re.compile(r"[0-9]{1,13}(\.[0-9]{1,2})?")


def parse_amount(text: str, *, allow_negative: bool = False) -> int:
    """Parse a typed amount in currency units ("1234", "1234.5") into integer cents.

    Raises ValueError with a message a resident or analyst can act on.
    """
    if text.isascii() and text.isdigit() and len(text) <= 13:  # whole units, the usual case
        return int(text) * CENTS_PER_UNIT
    value = text.strip()
    negative = allow_negative and value.startswith("-")
    digits = value[1:] if negative else value
    if not _AMOUNT.fullmatch(digits):
        if value.startswith("-") and not allow_negative:
            raise ValueError("must not be negative")
        raise ValueError(
            "must be a plain number such as 1250000 or 1250000.50 "
            "(digits 0-9, no currency symbol, no thousands separators, at most 2 decimals)"
        )
    units, _, fraction = digits.partition(".")
    cents = int(units) * CENTS_PER_UNIT + int(fraction.ljust(2, "0") or 0)
    return -cents if negative else cents


def to_units_text(cents: int) -> str:
    """Cents back to the plain text a form field holds: 123450 -> "1234.50", 100 -> "1"."""
    sign = "-" if cents < 0 else ""
    units, rest = divmod(abs(cents), CENTS_PER_UNIT)
    return f"{sign}{units}" if rest == 0 else f"{sign}{units}.{rest:02d}"


def format_money(cents: int, symbol: str = "$") -> str:
    """Whole-unit money for display: 123456789 -> "$1,234,568"; negatives as "-$5"."""
    sign = "-" if cents < 0 else ""
    units = (abs(cents) + CENTS_PER_UNIT // 2) // CENTS_PER_UNIT
    return f"{sign}{symbol}{units:,}"


def format_compact(cents: int, symbol: str = "$") -> str:
    """Short money for headlines: 502577500 -> "$5.0M", 1234500 -> "$12,345"."""
    sign = "-" if cents < 0 else ""
    units = abs(cents) / CENTS_PER_UNIT
    for size, suffix in ((1e9, "B"), (1e6, "M")):
        if units >= size:
            return f"{sign}{symbol}{units / size:,.1f}{suffix}"
    return format_money(cents, symbol)


def largest_remainder(values: Sequence[float], total: int | None = None) -> list[int]:
    """`values` rounded to whole numbers that add up to `total` (default: their sum, rounded):
    each is rounded down, then the units still missing go to the largest remainders (Hamilton's
    method), so shown parts add up to the shown total. NaN counts as 0."""
    clean = [0.0 if math.isnan(v) else v for v in values]
    target = round(math.fsum(clean)) if total is None else total
    floors = [math.floor(v) for v in clean]
    missing = target - sum(floors)
    if not 0 <= missing <= len(clean):
        raise ValueError(f"parts adding up to {math.fsum(clean)} cannot make {target}")
    order = sorted(range(len(clean)), key=lambda i: clean[i] - floors[i], reverse=True)
    for i in order[:missing]:
        floors[i] += 1
    return floors
