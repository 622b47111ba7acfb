"""budget.toml: metadata, rules and resident questions, checked strictly (unknown keys are
problems, so a typo cannot pass silently)."""

from __future__ import annotations

import ipaddress
import re
import tomllib
import types
import typing
from datetime import date, datetime, time, timedelta
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from budget_sim.data.cells import parse_money
from budget_sim.errors import Problem
from budget_sim.model.budget import BalanceRule, Option, Question, Rules

SLUG = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")
LOCALE = re.compile(r"[a-z]{2,3}(-[A-Za-z0-9]{2,8})*")
_HOST = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*")
_HOST_PORT = re.compile(r"(?P<host>\[[^\]]*\]|[^:\[\]]*)(:(?P<port>[^:]*))?")
_PORT = re.compile(r"[1-9][0-9]{0,4}")
_ZONE = re.compile(r"[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+){0,2}")
_LOOPBACK = ipaddress.IPv4Network("127.0.0.0/8")


def _slug(value: str) -> str:
    if not SLUG.fullmatch(value):
        raise ValueError(
            f"{value!r} is not a valid id: use 1 to 64 characters a-z, 0-9 and '-', starting "
            "with a letter or digit"
        )
    return value


def _locale(value: str) -> str:
    if not LOCALE.fullmatch(value):
        raise ValueError(f"{value!r} is not a locale code: write e.g. en, es or pt-BR")
    return value


def _text(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty")
    return value.strip()


def _localized(value: dict[str, str]) -> dict[str, str]:
    if "en" not in value:
        raise ValueError('needs an English text: add en = "..."')
    return value


def _label(value: Any) -> Any:
    return {"en": value} if isinstance(value, str) else value


def _loopback(host: str) -> bool:
    """localhost, [::1] or an address in 127.0.0.0/8: browsers treat these as secure contexts."""
    if host in ("localhost", "[::1]"):
        return True
    try:
        return ipaddress.IPv4Address(host) in _LOOPBACK
    except ValueError:
        return False


def _origin(value: str) -> str:
    """An embed origin, https://host[:port] and nothing else (it goes into CSP frame-ancestors
    and is compared with a browser's origin string); http:// only for loopback hosts."""
    problem = None
    scheme, sep, rest = value.partition("://")
    if not value or any(c.isspace() for c in value) or any(c in value for c in ";,\"'"):
        problem = "it must not contain spaces, ';', ',' or quotes"
    elif not value.isascii() or not value.isprintable():
        problem = "it must contain only printable ASCII characters"
    elif "*" in value:
        problem = "wildcards are not allowed: list each origin"
    elif not sep or scheme not in ("https", "http"):
        problem = "it must start with https://"
    elif any(c in rest for c in "/?#@\\"):
        problem = "write the origin only, without a path, query or user: https://host[:port]"
    else:
        match = _HOST_PORT.fullmatch(rest)
        host, port = (match.group("host"), match.group("port")) if match else (rest, None)
        if match is None or not (host == "[::1]" or _HOST.fullmatch(host)):
            problem = "the host must be a lower-case name such as www.example.org"
        elif port is not None and not (_PORT.fullmatch(port) and int(port) <= 65535):
            problem = "the port must be a number from 1 to 65535"
        elif scheme == "http" and not _loopback(host):
            problem = (
                "it must use https:// (http:// is allowed only for loopback hosts: "
                "localhost, 127.x.x.x and [::1])"
            )
        elif port == {"https": "443", "http": "80"}[scheme]:
            problem = f"leave out the default port :{port}, as browsers do"
    if problem:
        raise ValueError(f"{value!r} is not an allowed embed origin: {problem}")
    return value


def _tolerance(value: Any) -> Any:
    """Whole currency units (may have 2 decimals) -> cents."""
    if isinstance(value, bool):
        raise ValueError("must be an amount in currency units, e.g. 500000")
    if isinstance(value, int | float):
        value = repr(value) if isinstance(value, float) else str(value)
    if not isinstance(value, str):
        raise ValueError("must be an amount in currency units, e.g. 500000")
    return parse_money(value, allow_negative=False)


def _date(value: Any) -> Any:
    """A TOML date (opens = 2026-03-01) or the same as an ISO text; never a date-time."""
    if isinstance(value, datetime):
        raise ValueError("write a date without a time, e.g. 2026-03-01")
    if isinstance(value, str):
        try:
            if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
                raise ValueError
            return date.fromisoformat(value)
        except ValueError:
            message = f"{value!r} is not a date: write YYYY-MM-DD, e.g. 2026-03-01"
            raise ValueError(message) from None
    return value


def _timezone(value: str) -> str:
    try:
        if not _ZONE.fullmatch(value) or value in ("localtime", "posixrules"):
            raise ValueError
        ZoneInfo(value)
    except (ValueError, OSError, ZoneInfoNotFoundError):
        raise ValueError(
            f"unknown time zone {value!r}: use an IANA name such as America/New_York or UTC"
        ) from None
    return value


def _balance(value: str) -> str:
    if value not in {rule.value for rule in BalanceRule}:
        choices = ", ".join(rule.value for rule in BalanceRule)
        raise ValueError(f"unknown balance rule {value!r}: use {choices}")
    return value


Slug = Annotated[str, AfterValidator(_slug)]
Locale = Annotated[str, AfterValidator(_locale)]
Text = Annotated[str, AfterValidator(_text)]
Localized = Annotated[dict[Locale, Text], AfterValidator(_localized)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class SourceModel(_Strict):
    text: Text


class CountModel(_Strict):
    count: int | None = Field(default=None, gt=0)
    source: Text


class RulesModel(_Strict):
    balance: Annotated[str, AfterValidator(_balance)] = BalanceRule.BALANCED.value
    tolerance: Annotated[int, BeforeValidator(_tolerance)] = 0
    min_change_percent: float = Field(default=-10.0, ge=-100, le=0)
    max_change_percent: float = Field(default=10.0, ge=0, le=1000)
    step_percent: float = Field(default=1.0, gt=0, le=100)

    def value(self) -> Rules:
        return Rules(
            balance=BalanceRule(self.balance),
            tolerance=self.tolerance,
            min_change_percent=float(self.min_change_percent),
            max_change_percent=float(self.max_change_percent),
            step_percent=float(self.step_percent),
        )


class OptionModel(_Strict):
    id: Slug
    label: Annotated[Localized, BeforeValidator(_label)]
    population: float | None = Field(default=None, ge=0)


class QuestionModel(_Strict):
    id: Slug
    kind: Literal["district", "choice"] = "choice"
    required: bool = False
    label: Annotated[Localized, BeforeValidator(_label)]
    population_note: str = ""
    options: list[OptionModel] = Field(min_length=1)

    @field_validator("options")
    @classmethod
    def _unique_options(cls, options: list[OptionModel]) -> list[OptionModel]:
        _require_unique([option.id for option in options], "option id")
        return options

    @field_validator("options")
    @classmethod
    def _populations_cite_a_source(
        cls, options: list[OptionModel], info: ValidationInfo
    ) -> list[OptionModel]:
        """A population table (options with a population) is used to weight residents: it
        needs its source, in `population_note`."""
        if any(o.population is not None for o in options) and not (
            info.data.get("population_note", "").strip()
        ):
            raise ValueError(
                "options give populations but population_note is empty: cite where the "
                "figures come from (publisher, table, vintage, address)"
            )
        return options


class Manifest(_Strict):
    slug: Slug
    city: Text
    fiscal_year: int = Field(ge=1900, le=2200)
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] = "USD"
    country: Annotated[str, Field(pattern=r"^[A-Z]{2}$")] = "US"
    locales: list[Locale] = Field(default_factory=lambda: ["en"], min_length=1)
    embed_origins: list[Annotated[str, AfterValidator(_origin)]] = Field(default_factory=list)
    lines_file: str | None = None
    title: Localized
    intro: Localized | None = None
    source: SourceModel
    households: CountModel | None = None
    population: CountModel | None = None
    rules: RulesModel = Field(default_factory=RulesModel)
    questions: list[QuestionModel] = Field(default_factory=list)
    opens: Annotated[date | None, BeforeValidator(_date)] = None  # first day submissions are taken
    closes: Annotated[date | None, BeforeValidator(_date)] = None  # last day they are taken
    timezone: Annotated[str, AfterValidator(_timezone)] = "UTC"  # where those days are counted
    order: Literal["file", "largest"] = "file"  # how departments and lines are shown (data.order)

    @field_validator("closes")
    @classmethod
    def _closes_after_opens(cls, closes: date | None, info: ValidationInfo) -> date | None:
        opens = info.data.get("opens")
        if closes is not None and opens is not None and closes < opens:
            raise ValueError(
                f"closes ({closes.isoformat()}) is before opens ({opens.isoformat()}): "
                "the last day must be on or after the first"
            )
        return closes

    @field_validator("locales")
    @classmethod
    def _english_offered(cls, locales: list[str]) -> list[str]:
        if "en" not in locales:
            raise ValueError('must include "en"')
        _require_unique(locales, "locale")
        return locales

    @field_validator("lines_file")
    @classmethod
    def _plain_file_name(cls, name: str | None) -> str | None:
        if name is not None and (
            not re.fullmatch(r"[A-Za-z0-9_.-]+\.(csv|xlsx)", name) or name.startswith(".")
        ):
            raise ValueError(
                f"{name!r} is not allowed: name a .csv or .xlsx file in the package folder, "
                "e.g. lines.csv"
            )
        return name

    @field_validator("questions")
    @classmethod
    def _unique_questions(cls, questions: list[QuestionModel]) -> list[QuestionModel]:
        _require_unique([question.id for question in questions], "question id")
        return questions

    def rules_value(self) -> Rules:
        return self.rules.value()

    def window(self) -> tuple[datetime | None, datetime | None]:
        """(first moment open, first moment closed): from 00:00 on `opens` to the end of
        `closes`, in the package's time zone; None where no date is set."""
        zone = ZoneInfo(self.timezone)
        opens_at = datetime.combine(self.opens, time(), zone) if self.opens else None
        closes_at = (
            datetime.combine(self.closes + timedelta(days=1), time(), zone) if self.closes else None
        )
        return opens_at, closes_at

    def questions_value(self) -> tuple[Question, ...]:
        return tuple(
            Question(
                id=question.id,
                label=question.label["en"],
                kind=question.kind,
                required=question.required,
                options=tuple(
                    Option(option.id, option.label["en"], option.population, option.label)
                    for option in question.options
                ),
                population_note=question.population_note.strip(),
                labels=question.label,
            )
            for question in self.questions
        )


def _require_unique(values: list[str], what: str) -> None:
    seen = set()
    for value in values:
        if value in seen:
            raise ValueError(f"{what} {value!r} appears more than once: each must be unique")
        seen.add(value)


def _key_path(loc: tuple[int | str, ...]) -> str:
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part != "[key]":
            path += f".{part}" if path else str(part)
    return path


def _model_at(loc: tuple[int | str, ...]) -> type[BaseModel] | None:
    """The pydantic model whose keys live at `loc` (to list allowed keys), if any."""
    model: Any = Manifest
    for part in loc:
        if isinstance(part, int):
            continue
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            return None
        info = model.model_fields.get(str(part))
        if info is None:
            return None
        model = _inner_model(info.annotation)
    return model if isinstance(model, type) and issubclass(model, BaseModel) else None


def _inner_model(annotation: Any) -> Any:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    origin = typing.get_origin(annotation)
    if origin in (list, typing.Union, types.UnionType, Annotated):
        for arg in typing.get_args(annotation):
            found = _inner_model(arg)
            if found is not None:
                return found
    return None


def _problem(file: str, error: Any) -> Problem:
    loc = tuple(error["loc"])
    path = _key_path(loc)
    kind = error["type"]
    if kind == "extra_forbidden":
        parent = _model_at(loc[:-1])
        allowed = f": allowed keys here are {', '.join(parent.model_fields)}" if parent else ""
        return Problem(file, f"unknown key {str(loc[-1])!r}{allowed}", column=path)
    if kind == "missing":
        return Problem(file, f"required key {str(loc[-1])!r} is missing", column=path)
    message = str(error["msg"]).removeprefix("Value error, ")
    if "[key]" in loc:
        message = f"key {error['input']!r}: {message}"
    elif kind != "value_error" and not isinstance(error.get("input"), dict | list):
        message = f"{message} (found {error['input']!r})"
    return Problem(file, message, column=path or None)


def read_manifest(
    data: bytes, file: str, folder: str
) -> tuple[Manifest | None, Rules, list[Problem]]:
    """Parse and check budget.toml; `folder` is the package folder's name (= the slug).

    Returns the manifest (None when unusable), the rules to read the lines with (the defaults
    when [rules] itself is unusable, so the lines can still be checked) and every problem."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        return None, Rules(), [Problem(file, "file is not valid UTF-8: save it as UTF-8", row=line)]
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        found = re.search(r"at line (\d+)", str(error))
        return (
            None,
            Rules(),
            [
                Problem(
                    file,
                    f"not valid TOML: {error}",
                    row=int(found.group(1)) if found else None,
                )
            ],
        )
    try:
        manifest = Manifest.model_validate(raw)
    except ValidationError as error:
        return None, _fallback_rules(raw), [_problem(file, item) for item in error.errors()]
    if manifest.slug != folder:
        return (
            manifest,
            manifest.rules_value(),
            [
                Problem(
                    file,
                    f"slug {manifest.slug!r} does not match the folder name {folder!r}: they must "
                    "be equal",
                    column="slug",
                )
            ],
        )
    return manifest, manifest.rules_value(), []


def _fallback_rules(raw: dict[str, Any]) -> Rules:
    try:
        return RulesModel.model_validate(raw.get("rules", {})).value()
    except ValidationError:
        return Rules()
