"""budget.toml from a settings form, and back: what the staff budget pages upload and edit.

`compose_manifest` writes a budget.toml from form fields (texts per language, rules, households,
embed allow-list, open/close dates), starting from an existing budget.toml when one is given so
that what the form does not show (questions, population, currency...) is kept. Nothing here
judges the values: `read_manifest` checks the result, so a form gets exactly the problems a file
would. An empty field leaves its key out (the check then says what is required)."""

from __future__ import annotations

import json
import math
import re
import tomllib
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

TEXT_LOCALES = ("en", "es")  # the languages the settings form has fields for

FIELDS = (
    "slug",
    "city",
    "fiscal_year",
    *(f"{text}_{lang}" for text in ("title", "intro") for lang in TEXT_LOCALES),
    "source",
    "balance",
    "tolerance",
    "min_change_percent",
    "max_change_percent",
    "step_percent",
    "households_count",
    "households_source",
    "embed_origins",
    "opens",
    "closes",
    "timezone",
)

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_DIGITS = re.compile(r"[0-9]{1,15}")
_DECIMAL = re.compile(r"-?[0-9]{1,6}(\.[0-9]{1,6})?")
_RULES = ("balance", "tolerance", "min_change_percent", "max_change_percent", "step_percent")


def _whole(text: str) -> int | str:
    """An int when the text is plain digits; else the text itself, for the check to report in
    its own words."""
    return int(text) if _DIGITS.fullmatch(text) else text


def _number(text: str) -> float | str:
    """A finite float when the text is a plain decimal number; else the text itself."""
    return float(text) if _DECIMAL.fullmatch(text) else text


def _date(text: str) -> date | str:
    try:
        return date.fromisoformat(text) if _ISO_DATE.fullmatch(text) else text
    except ValueError:
        return text


def _set(target: dict[str, Any], key: str, value: Any) -> None:
    """Set `key`, or drop it when the value is empty."""
    if value in ("", None, {}, []):
        target.pop(key, None)
    else:
        target[key] = value


def compose_manifest(fields: Mapping[str, str], base: bytes | None = None) -> bytes:
    """budget.toml for the form `fields` (names in FIELDS), on top of `base` when given."""
    data: dict[str, Any] = tomllib.loads(base.decode("utf-8")) if base else {}
    data.pop("lines_file", None)  # an upload names its own lines file
    value = {name: str(fields.get(name, "")).strip() for name in FIELDS}
    if not base:
        data["slug"] = value["slug"]
    _set(data, "city", value["city"])
    _set(data, "fiscal_year", _whole(value["fiscal_year"]))
    for text in ("title", "intro"):
        texts = dict(data.get(text) or {})
        for lang in TEXT_LOCALES:
            _set(texts, lang, value[f"{text}_{lang}"])
        _set(data, text, texts)
    locales = list(data.get("locales") or ["en"])
    spanish = any(value[f"{text}_es"] for text in ("title", "intro"))
    if spanish and "es" not in locales:
        locales.append("es")
    data["locales"] = locales
    data["embed_origins"] = [
        line.strip() for line in value["embed_origins"].splitlines() if line.strip()
    ]
    source = dict(data.get("source") or {})
    _set(source, "text", value["source"])
    _set(data, "source", source)
    households = dict(data.get("households") or {})
    _set(households, "count", _whole(value["households_count"]))
    _set(households, "source", value["households_source"])
    _set(data, "households", households)
    rules = dict(data.get("rules") or {})
    for name in _RULES:
        raw = value[name]
        if name == "tolerance":
            raw = _whole(raw) if raw else raw
        elif name != "balance" and raw:
            raw = _number(raw)
        _set(rules, name, raw)
    _set(data, "rules", rules)
    for name in ("opens", "closes"):
        _set(data, name, _date(value[name]))
    _set(data, "timezone", value["timezone"])
    return dump_toml(data).encode("utf-8")


def manifest_fields(manifest: bytes) -> dict[str, str]:
    """The settings form's fields for an existing budget.toml (to start a revision from it)."""
    data = tomllib.loads(manifest.decode("utf-8"))
    rules = data.get("rules") or {}
    households = data.get("households") or {}
    fields = {
        "slug": str(data.get("slug", "")),
        "city": str(data.get("city", "")),
        "fiscal_year": str(data.get("fiscal_year", "")),
        "source": str((data.get("source") or {}).get("text", "")),
        "households_count": str(households.get("count", "")),
        "households_source": str(households.get("source", "")),
        "embed_origins": "\n".join(data.get("embed_origins") or []),
        "opens": str(data.get("opens", "")),
        "closes": str(data.get("closes", "")),
        "timezone": str(data.get("timezone", "")),
        **{name: _plain(rules[name]) for name in _RULES if name in rules},
    }
    for text in ("title", "intro"):
        for lang in TEXT_LOCALES:
            fields[f"{text}_{lang}"] = str((data.get(text) or {}).get(lang, ""))
    return fields


def _plain(value: Any) -> str:
    """A number as a person would type it: 10.0 -> "10"."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def dump_toml(data: Mapping[str, Any]) -> str:
    """TOML for plain data (str, int, float, bool, date, lists and tables of them): top-level
    values, then one [table] per table, then one [[table]] per item of a list of tables; what
    sits deeper is written inline. `tomllib.loads(dump_toml(d)) == d`."""
    lines = [f"{_key(k)} = {_value(v)}" for k, v in data.items() if not _is_section(v)]
    for key, item in data.items():
        if isinstance(item, Mapping):
            lines += ["", f"[{_key(key)}]", *(f"{_key(k)} = {_value(v)}" for k, v in item.items())]
    for key, item in data.items():
        if _is_section(item) and not isinstance(item, Mapping):
            for entry in item:
                lines += ["", f"[[{_key(key)}]]"]
                lines += [f"{_key(k)} = {_value(v)}" for k, v in entry.items()]
    return "\n".join(lines) + "\n"


def _is_section(value: Any) -> bool:
    return isinstance(value, Mapping) or (
        isinstance(value, list) and bool(value) and all(isinstance(v, Mapping) for v in value)
    )


def _key(key: str) -> str:
    return key if _BARE_KEY.fullmatch(key) else _string(key)


def _string(text: str) -> str:
    # JSON's escapes are TOML's (\" \\ \b \f \n \r \t \uXXXX); TOML also forbids a raw DEL.
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, Mapping):
        return "{ " + ", ".join(f"{_key(k)} = {_value(v)}" for k, v in value.items()) + " }"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} as TOML")
