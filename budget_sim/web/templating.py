"""The Jinja environment: autoescaped .html templates, block rendering, money filters."""

from __future__ import annotations

from jinja2_fragments.starlette import Jinja2Blocks

from budget_sim.money import format_compact, format_money, to_units_text
from budget_sim.settings import PROJECT_ROOT

HTMX_CONFIG = (
    '{"allowEval":false,"allowScriptTags":false,"includeIndicatorStyles":false,'
    '"selfRequestsOnly":true,"historyCacheSize":0}'
)


def signed_money(cents: int) -> str:
    """ "+$1,234" / "-$1,234" / "$0": a change, always with its sign."""
    if cents == 0:
        return format_money(0)
    return ("+" if cents > 0 else "") + format_money(cents)


def percent_change(change: int, base: int) -> str:
    if base == 0 or change == 0:
        return "0%"
    return f"{change / abs(base) * 100:+.1f}%"


def make_templates() -> Jinja2Blocks:
    templates = Jinja2Blocks(directory=PROJECT_ROOT / "templates")
    env = templates.env
    env.autoescape = True  # every template, whatever its extension
    env.filters.update(
        money=format_money,
        compact=format_compact,
        signed=signed_money,
        units=to_units_text,
    )
    env.globals.update(percent_change=percent_change, htmx_config=HTMX_CONFIG)
    return templates
