"""Reading one cell of a budget file: amounts in currency units, booleans, XLSX number text.

Every parser raises ValueError with a message that says what was found and what to write."""

from __future__ import annotations

import math
import re
from decimal import Decimal, InvalidOperation

from budget_sim.money import parse_amount, to_units_text

EXAMPLE = "e.g. 1250000 or 1250000.50"
_PLAIN = re.compile(r"-?[0-9]+(\.[0-9]+)?")
_CURRENCY = re.compile(r"[$€£¥₹]|\b(?:USD|EUR|GBP|CAD|US\$)\b", re.IGNORECASE)
# 1,234 / 1,234,567.89 / 1 234 / 1'234 (space, no-break space, narrow no-break space, apostrophe)
_THOUSANDS = re.compile(r"-?[0-9]{1,3}([,'\u00a0\u202f ][0-9]{3})+(\.[0-9]+)?")
_SEPARATORS = re.compile(r"[,'\u00a0\u202f ]")
_SCIENTIFIC = re.compile(r"-?[0-9]+(\.[0-9]+)?[eE][-+]?[0-9]+")
_TOO_PRECISE = re.compile(r"-?[0-9]+\.[0-9]{3,}")
_NOT_A_NUMBER = {"nan", "inf", "infinity", "-inf", "+inf", "-infinity", "+infinity", "-nan"}

TRUE_WORDS = {"true", "yes", "1"}
FALSE_WORDS = {"false", "no", "0", ""}


def _negative_note(cleaned: str, allow_negative: bool) -> str:
    if cleaned.startswith("-") and not allow_negative:
        return " (and only lines with offset=true may be negative)"
    return ""


def parse_money(raw: str, *, allow_negative: bool) -> int:
    """Currency units with at most 2 decimals ("1234", "-5.5") -> cents.

    Raises ValueError naming the exact problem and, where there is one, the plain text to write."""
    text = raw.strip()
    if not text:
        raise ValueError(f"is empty: write an amount in currency units, {EXAMPLE}")
    if text.lower() in _NOT_A_NUMBER:
        raise ValueError(f"{text!r} is not a number: write an amount in currency units, {EXAMPLE}")
    issues: list[str] = []
    cleaned = text
    if _CURRENCY.search(cleaned):
        issues.append("a currency symbol")
        cleaned = _CURRENCY.sub("", cleaned).strip()
    if cleaned.startswith("(") and cleaned.endswith(")"):
        issues.append("parentheses for a negative amount")
        cleaned = "-" + cleaned[1:-1].strip()
    if _THOUSANDS.fullmatch(cleaned):
        issues.append("thousands separators")
        cleaned = _SEPARATORS.sub("", cleaned)
    if _SCIENTIFIC.fullmatch(cleaned):
        issues.append("scientific notation")
        cleaned = format(Decimal(cleaned), "f")
    if issues:
        found = " and ".join(issues)
        if _PLAIN.fullmatch(cleaned) and not _TOO_PRECISE.fullmatch(cleaned):
            note = _negative_note(cleaned, allow_negative)
            raise ValueError(f"{text!r} has {found}: write {cleaned}{note}")
        raise ValueError(f"{text!r} has {found}: write a plain amount in currency units, {EXAMPLE}")
    if _TOO_PRECISE.fullmatch(text):
        raise ValueError(
            f"{text!r} has more than 2 decimals: amounts are currency units with at most "
            "2 decimals (cents)"
        )
    try:
        cents = parse_amount(text, allow_negative=True)
    except ValueError as error:
        raise ValueError(f"{text!r} is not a plain amount: {error}") from None
    if cents < 0 and not allow_negative:
        raise ValueError(f"{text!r} is negative: only lines with offset=true may be negative")
    return cents


def parse_bool(raw: str) -> bool:
    """true/false/yes/no/1/0 (any case) or empty (= false)."""
    word = raw.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ValueError(
        f"{raw.strip()!r} is not true or false: write true, false, yes, no, 1, 0 "
        "or leave the cell empty (= false)"
    )


def xlsx_number_text(raw: str) -> str:
    """The exact text of a number cell as the workbook shows it.

    fastexcel turns a numeric cell into text with up to 20 significant digits
    (12345678901.23 -> "12345678901.229999542"). The shortest text that reads back as the same
    double is what the spreadsheet displays, so it is used instead: no cent is lost or invented.
    Text that is not a plain number is returned unchanged, for the amount parser to judge."""
    text = raw.strip()
    if not (_PLAIN.fullmatch(text) or _SCIENTIFIC.fullmatch(text)):
        return raw
    value = float(text)
    if not math.isfinite(value):
        return raw
    try:
        shortest = Decimal(repr(value))
    except InvalidOperation:  # pragma: no cover - repr of a finite float is always a decimal
        return raw
    plain = format(shortest, "f")
    if "." in plain:
        plain = plain.rstrip("0").rstrip(".")
    return "0" if plain in ("-0", "") else plain


def units(cents: int) -> str:
    """Cents as the plain text a budget file holds (123450 -> "1234.50")."""
    return to_units_text(cents)
