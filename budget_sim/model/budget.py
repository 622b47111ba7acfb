"""What a budget is: metadata, rules, resident questions and a typed frame of lines (cents)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from functools import cached_property
from typing import NamedTuple

import polars as pl

LINE_SCHEMA: dict[str, pl.DataType] = {
    "id": pl.String(),
    "department": pl.String(),
    "program": pl.String(),
    "kind": pl.String(),  # "expense" or "revenue"
    "amount": pl.Int64(),  # the city's figure, cents
    "min": pl.Int64(),  # lowest amount a resident may choose, cents
    "max": pl.Int64(),  # highest amount a resident may choose, cents
    "step": pl.Int64(),  # slider step, cents; chosen amounts sit on amount + k * step
    "locked": pl.Boolean(),  # shown but not adjustable
    "offset": pl.Boolean(),  # an accounting offset that may be negative
    "tax": pl.Boolean(),  # a revenue line whose change falls on households
    "description": pl.String(),
    "consequences": pl.String(),  # "-10%: what a 10% cut means | +5%: ..." (may be empty)
    "link": pl.String(),  # https address of more detail about the line (may be empty)
}

KINDS = ("expense", "revenue")


class BalanceRule(StrEnum):
    """How spending must relate to revenue for a plan to be submitted."""

    BALANCED = "balanced"  # |revenue - spending| <= tolerance
    SURPLUS_OK = "surplus_ok"  # revenue - spending >= -tolerance; any surplus is fine
    DEFICIT_LIMIT = "deficit_limit"  # spending - revenue <= tolerance (the allowed deficit)


@dataclass(frozen=True)
class Rules:
    """The city's rules for a budget."""

    balance: BalanceRule = BalanceRule.BALANCED
    tolerance: int = 0  # cents
    min_change_percent: float = -10.0
    max_change_percent: float = 10.0
    step_percent: float = 1.0


@dataclass(frozen=True)
class Option:
    """One answer to a resident question, e.g. a council district and its population."""

    id: str
    label: str
    population: float | None = None  # None when unknown; never guessed
    labels: Mapping[str, str] = field(default_factory=dict, compare=False)  # per locale


@dataclass(frozen=True)
class Question:
    """A question asked of residents (council district, ZIP, age band...)."""

    id: str
    label: str
    kind: str = "choice"  # "choice" or "district"
    required: bool = False
    options: tuple[Option, ...] = ()
    population_note: str = ""
    labels: Mapping[str, str] = field(default_factory=dict, compare=False)  # per locale

    def in_locale(self, lang: str) -> Question:
        """This question with its texts in `lang` (English where a text is missing)."""
        return replace(
            self,
            label=self.labels.get(lang, self.label),
            options=tuple(replace(o, label=o.labels.get(lang, o.label)) for o in self.options),
        )


class LineRule(NamedTuple):
    """What the rules read of one line, as plain Python values (cents)."""

    id: str
    amount: int
    min: int | None
    max: int | None
    step: int | None
    locked: bool
    offset: bool
    revenue: bool


@dataclass(frozen=True)
class Budget:
    """A budget residents can rebalance."""

    slug: str
    city: str
    fiscal_year: int
    title: str
    lines: pl.DataFrame
    rules: Rules = field(default_factory=Rules)
    currency: str = "USD"
    intro: str = ""
    households: int | None = None  # None when unknown: no per-household figure is shown
    households_source: str = ""
    population: int | None = None
    population_source: str = ""
    questions: tuple[Question, ...] = ()
    locales: tuple[str, ...] = ("en",)
    embed_origins: tuple[str, ...] = ()
    source: str = ""
    version: str = ""  # digest of the package files; submissions record it
    country: str = "US"  # ISO 3166 code: with the language, how numbers and money are written
    locale: str = "en"  # the language of the texts in this object
    variants: Mapping[str, Budget] = field(default_factory=dict, compare=False, repr=False)
    opens_at: datetime | None = None  # first moment submissions are taken; None: always
    closes_at: datetime | None = None  # first moment they are no longer taken; None: never
    timezone: str = "UTC"  # IANA name the package's opens/closes dates are read in

    def window(self, now: datetime) -> str:
        """Whether residents may submit at `now` (aware): "open", "not_open_yet" or "closed"."""
        if self.opens_at is not None and now < self.opens_at:
            return "not_open_yet"
        if self.closes_at is not None and now >= self.closes_at:
            return "closed"
        return "open"

    def is_open(self, now: datetime) -> bool:
        return self.window(now) == "open"

    def localized(self, lang: str) -> Budget:
        """This budget with titles, names and descriptions in `lang` (English when not offered)."""
        return self.variants.get(lang, self)

    @property
    def line_ids(self) -> list[str]:
        return self.lines["id"].to_list()

    @cached_property
    def line_rules(self) -> tuple[LineRule, ...]:
        """The lines' rule columns as Python rows, read once: a submission is checked in plain
        Python (`rules.is_feasible`), without a Polars query per request."""
        columns = ["id", "amount", "min", "max", "step", "locked", "offset"]
        revenue = (pl.col("kind") == "revenue").alias("revenue")
        return tuple(LineRule(*row) for row in self.lines.select(*columns, revenue).iter_rows())

    def departments(self) -> list[str]:
        """Department names in the order they first appear."""
        return self.lines["department"].unique(maintain_order=True).to_list()
