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


_SPACES = " \u00a0\u202f\u2009"  # spaces people and locales put between digit groups
_CURRENCY = re.compile(r"^(?:US\$|USD|\$)\s*|\s*(?:US\$|USD|\$)$")
_TYPED = re.compile(r"[0-9.,]+")
NOT_AN_AMOUNT = "must be an amount such as 17,000,000 or 17000000"
TOO_MANY_DIGITS = "is too large for any line of a city budget"


def _grouped(text: str, separator: str) -> str | None:
    """ "17,000,000" with "," -> "17000000"; None unless the first group has 1 to 3 digits and
    every later group exactly 3."""
    first, *rest = text.split(separator)
    if not 1 <= len(first) <= 3 or not first.isdigit():
        return None
    if not all(len(part) == 3 and part.isdigit() for part in rest):
        return None
    return first + "".join(rest)


def parse_typed_amount(text: str, *, decimal: str = ".", allow_negative: bool = False) -> int:
    """An amount as a resident types it, in cents: "17,000,000", "17000000", "$17,000,000",
    "17 000 000", "17.000.000" (two dots cannot be a decimal sign), "1.234,56". `decimal` is
    the locale's decimal sign: a lone separator followed by exactly three digits ("17.000")
    groups digits unless it is that sign (then it would be three decimals, and is refused).
    Up to two decimals. Raises ValueError with a message a resident can act on
    (NOT_AN_AMOUNT, "must not be negative", TOO_MANY_DIGITS)."""
    value = text.strip()
    if value.isascii() and value.isdigit():
        units, fraction = value, ""
    else:
        value = _CURRENCY.sub("", value)
        negative = value.startswith(("-", "\u2212"))
        if negative:
            if not allow_negative:
                raise ValueError("must not be negative")
            value = value[1:].lstrip()
        value = _CURRENCY.sub("", value)
        for space in _SPACES:  # spaces only ever group digits
            value = value.replace(space, "")
        if not value or not _TYPED.fullmatch(value):
            raise ValueError(NOT_AN_AMOUNT)
        units, fraction = _split(value, decimal)
        if negative:
            return -_cents(units, fraction)
    return _cents(units, fraction)


def _split(value: str, decimal: str) -> tuple[str, str]:
    """Whole units and the fraction's digits of `value` (digits, "," and "." only)."""
    marks = [ch for ch in value if ch in ".,"]
    if not marks:
        return value, ""
    if len(set(marks)) == 2:  # both: the last one is the decimal sign, the other groups
        point = value.rindex(marks[-1])
        whole, fraction = value[:point], value[point + 1 :]
        separator = "," if marks[-1] == "." else "."
        if marks.count(marks[-1]) != 1 or not 1 <= len(fraction) <= 2:
            raise ValueError(NOT_AN_AMOUNT)
        units = _grouped(whole, separator)
    elif len(marks) > 1:  # one sign, several times: it groups
        units, fraction = _grouped(value, marks[0]), ""
    else:
        whole, _, fraction = value.partition(marks[0])
        if len(fraction) == 3 and marks[0] != decimal:  # "17,000" where "," groups digits
            units, fraction = _grouped(value, marks[0]), ""
        else:  # "17.5", "17,50": a decimal sign (three decimals, "17.000" in English: no)
            units = whole if whole.isdigit() and 1 <= len(fraction) <= 2 else None
    if units is None or (fraction and not fraction.isdigit()):
        raise ValueError(NOT_AN_AMOUNT)
    return units, fraction


def _cents(units: str, fraction: str) -> int:
    if len(units.lstrip("0")) > 13:
        raise ValueError(TOO_MANY_DIGITS)
    return int(units) * CENTS_PER_UNIT + int(fraction.ljust(2, "0") or 0)


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
