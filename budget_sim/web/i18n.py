"""Interface languages: gettext catalogs read with Babel, and locale-aware money and numbers.

Catalogs are the `.po` files in `budget_sim/locales/<lang>/LC_MESSAGES/messages.po`, compiled in
memory at start-up (nothing binary in the repository). The language of a request lives in a
context variable set by the view, so the shared Jinja environment translates per request."""

from __future__ import annotations

import io
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

from babel import Locale, UnknownLocaleError
from babel.dates import format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal, format_percent
from babel.support import NullTranslations, Translations

from budget_sim.money import CENTS_PER_UNIT

CATALOGS = Path(__file__).resolve().parent.parent / "locales"
DOMAIN = "messages"


@cache
def interface_locales() -> tuple[str, ...]:
    """English plus every language with a catalog."""
    found = sorted(p.parent.parent.name for p in CATALOGS.glob(f"*/LC_MESSAGES/{DOMAIN}.po"))
    return ("en", *[lang for lang in found if lang != "en"])


@cache
def language_name(lang: str) -> str:
    """A language's name in itself, from CLDR: "English", "Español", "Português"."""
    try:
        name = Locale.parse(lang).get_display_name(lang) or lang
    except (UnknownLocaleError, ValueError):
        return lang
    return name[:1].upper() + name[1:]


@cache
def translations(lang: str) -> NullTranslations:
    path = CATALOGS / lang / "LC_MESSAGES" / f"{DOMAIN}.po"
    if lang == "en" or not path.is_file():
        return NullTranslations()
    with path.open("rb") as po:
        catalog = read_po(po, locale=lang)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(compiled, domain=DOMAIN)


@dataclass(frozen=True)
class Formatter:
    """Numbers and money for one language in one country (es + US -> es_US: "$1,234")."""

    lang: str = "en"
    country: str = "US"
    currency: str = "USD"
    _style: _Style = field(init=False, repr=False, compare=False)

    @property
    def locale(self) -> Locale:
        return _locale(self.lang, self.country)

    def __post_init__(self) -> None:  # the locale's signs, looked up once per formatter
        object.__setattr__(self, "_style", _style_of(self.lang, self.country, self.currency))

    def money(self, cents: int) -> str:
        """Whole currency units: 123456789 -> "$1,234,568"."""
        units = (abs(cents) + CENTS_PER_UNIT // 2) // CENTS_PER_UNIT
        style = self._style
        text = f"{style.money_before}{style.grouped(units)}{style.money_after}"
        return f"-{text}" if cents < 0 and units else text

    def signed(self, cents: int) -> str:
        """A change, always with its sign: "+$1,234", "-$1,234", "$0"."""
        if cents == 0 or abs(cents) < CENTS_PER_UNIT // 2:
            return self.money(0)
        return ("+" if cents > 0 else "") + self.money(cents)

    def compact(self, cents: int) -> str:
        """Short money for headlines: "$5.0M", "$992.2M" ("992,2 M US$" in Spanish)."""
        units = abs(cents) / CENTS_PER_UNIT
        for size, suffix in ((1e9, "B"), (1e6, "M")):
            if units >= size:
                style = self._style
                number = style.decimal_text(units / size)
                sign = "-" if cents < 0 else ""
                if self.lang == "es":  # Spanish writes millardos/millones in full
                    word = "mil millones" if suffix == "B" else "millones"
                    return f"{sign}{style.symbol}{number} {word}"
                return f"{sign}{style.symbol}{number}{suffix}"
        return self.money(cents)

    def amount_text(self, cents: int) -> str:
        """What an amount field shows: digits grouped the local way, no symbol, cents only when
        there are some: 1700000000 -> "17,000,000", 123450 -> "1,234.50"."""
        style = self._style
        units, rest = divmod(abs(cents), CENTS_PER_UNIT)
        text = style.grouped(units)
        if rest:
            text += f"{style.decimal}{rest:02d}"
        return f"-{text}" if cents < 0 else text

    @property
    def decimal_sign(self) -> str:
        return self._style.decimal

    @property
    def group_sign(self) -> str:
        return self._style.group

    @property
    def money_pattern(self) -> str:
        """Money with "#" for the grouped figure ("$#", "# US$"), for the page's script."""
        style = self._style
        return f"{style.money_before}#{style.money_after}"

    @property
    def symbol(self) -> str:
        return self._style.symbol

    def datetime(self, moment: datetime) -> str:
        """A moment in UTC, written the local way: "November 23, 2026, 7:40 PM UTC"."""
        return format_datetime(moment, format="long", tzinfo=UTC, locale=self.locale).replace(
            "+0000", "UTC"
        )

    def number(self, value: float, digits: int = 0) -> str:
        pattern = "#,##0" + ("." + "0" * digits if digits else "")
        return format_decimal(value, format=pattern, locale=self.locale)

    def share(self, fraction: float) -> str:
        """A part of a whole: 0.2234 -> "22.3%" ("22,3 %" in Spanish)."""
        return self._style.percent_text(fraction * 100, signed=False)

    def percent(self, change: int, base: int) -> str:
        """A change against its base: "+4.8%", "-2.0%", "0%"."""
        if base == 0 or change == 0:
            return self._style.percent_text(0, signed=False, digits=0)
        return self._style.percent_text(change / abs(base) * 100, signed=True)


@cache
def _locale(lang: str, country: str) -> Locale:
    try:
        return Locale.parse(f"{lang}_{country}")
    except (UnknownLocaleError, ValueError):
        return Locale.parse(lang)


@dataclass(frozen=True)
class _Style:
    """A locale's signs and patterns, read from Babel once: Babel parses its patterns again on
    every format call, and a recalculation writes dozens of amounts and shares."""

    decimal: str  # "." or ","
    group: str  # "," or "." or a narrow no-break space
    percent_before: str  # around a percent figure: "" and "%" (en), "" and " %" (es), "%" and ""
    percent_after: str
    money_before: str  # around a grouped whole amount: "$" and "" (en_US), "" and " US$" (es_ES)
    money_after: str
    symbol: str  # "$", "US$", "€"

    def grouped(self, units: int) -> str:
        text = f"{units:,}"
        return text if self.group == "," else text.replace(",", self.group)

    def decimal_text(self, value: float, digits: int = 1) -> str:
        text = f"{value:,.{digits}f}"
        if self.decimal == "." and self.group == ",":
            return text
        return text.replace(",", "\0").replace(".", self.decimal).replace("\0", self.group)

    def percent_text(self, value: float, *, signed: bool, digits: int = 1) -> str:
        rounded = round(value, digits)
        sign = ("+" if rounded > 0 else "-" if rounded < 0 else "") if signed else ""
        if not signed and rounded < 0:
            sign = "-"
        number = self.decimal_text(abs(rounded), digits)
        return f"{sign}{self.percent_before}{number}{self.percent_after}"


@cache
def _style_of(lang: str, country: str, currency: str) -> _Style:
    locale = _locale(lang, country)
    symbols = locale.number_symbols["latn"]
    sample = format_percent(0.5, format="#,##0%", locale=locale)  # "50%", "50 %", "%50"
    percent_before, _, percent_after = sample.partition("50")
    pattern = locale.currency_formats["standard"].pattern.split(";")[0].replace(".00", "")
    if "#,##0" not in pattern:  # a pattern grouped otherwise (e.g. lakhs): plain grouping
        pattern = "¤#,##0"
    symbol = locale.currency_symbols.get(currency, currency)
    money_before, _, money_after = pattern.replace("¤", symbol).partition("#,##0")
    return _Style(
        decimal=symbols["decimal"],
        group=symbols["group"],
        percent_before=percent_before,
        percent_after=percent_after,
        money_before=money_before,
        money_after=money_after,
        symbol=symbol,
    )


_ENGLISH = NullTranslations()
_DEFAULT_FORMATTER = Formatter()
_active: ContextVar[NullTranslations | None] = ContextVar("translations", default=None)
_formatter: ContextVar[Formatter | None] = ContextVar("formatter", default=None)


def activate(lang: str, country: str = "US", currency: str = "USD") -> Formatter:
    """Translate and format what the current request renders for `lang` in `country`."""
    _active.set(translations(lang))
    formatter = Formatter(lang, country, currency)
    _formatter.set(formatter)
    return formatter


def formatter() -> Formatter:
    """The formatter of the current request."""
    return _formatter.get() or _DEFAULT_FORMATTER


def gettext(message: str) -> str:
    return (_active.get() or _ENGLISH).gettext(message)


def ngettext(singular: str, plural: str, count: int) -> str:
    return (_active.get() or _ENGLISH).ngettext(singular, plural, count)
