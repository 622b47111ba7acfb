"""The Jinja environment: autoescaped .html templates, block rendering, gettext, locale money,
root-relative `url_for`."""

from __future__ import annotations

from datetime import datetime

from jinja2 import pass_context
from jinja2.runtime import Context
from jinja2_fragments.starlette import Jinja2Blocks
from markupsafe import Markup

from budget_sim import resources
from budget_sim.money import to_units_text
from budget_sim.web import i18n, urls

HTMX_CONFIG = (
    '{"allowEval":false,"allowScriptTags":false,"includeIndicatorStyles":false,'
    '"selfRequestsOnly":true,"historyCacheSize":0}'
)


def _money(cents: int) -> str:
    return i18n.formatter().money(cents)


def _signed(cents: int) -> str:
    return i18n.formatter().signed(cents)


def _amount(cents: int) -> str:
    return i18n.formatter().amount_text(cents)


def _share(fraction: float) -> str:
    return i18n.formatter().share(fraction)


def _compact(cents: int) -> str:
    return i18n.formatter().compact(cents)


def _number(value: float, digits: int = 0) -> str:
    return i18n.formatter().number(value, digits)


def _datetime(moment: datetime) -> str:
    return i18n.formatter().datetime(moment)


def percent_change(change: int, base: int) -> str:
    return i18n.formatter().percent(change, base)


def _gettext(message: str, /, **variables: object) -> Markup:
    """`_()` in templates: Jinja's "newstyle" gettext (the translation is markup, its
    %(variables)s are escaped, "%%" is a percent sign) without the three context calls Jinja's
    own spends on each message; a recalculation translates some twenty."""
    text = i18n.gettext(message)
    return Markup(text) % variables if variables or "%" in text else Markup(text)


def _ngettext(singular: str, plural: str, num: int, /, **variables: object) -> Markup:
    variables.setdefault("num", num)
    return Markup(i18n.ngettext(singular, plural, num)) % variables


@pass_context
def _url_for(context: Context, name: str, /, **params: object) -> str:
    """Root-relative, unlike Starlette's: right behind a TLS proxy, never another Host's."""
    return urls.link_for(context["request"], name, **params)


def make_templates() -> Jinja2Blocks:
    templates = Jinja2Blocks(directory=resources.templates())
    env = templates.env
    env.autoescape = True  # every template, whatever its extension
    env.auto_reload = False  # templates ship with the package: no stat() on every render
    env.add_extension("jinja2.ext.i18n")  # the {% trans %} tag and `babel extract`
    env.install_gettext_callables(i18n.gettext, i18n.ngettext, newstyle=True)  # type: ignore[attr-defined]
    env.globals.update(_=_gettext, gettext=_gettext, ngettext=_ngettext)
    env.filters.update(
        money=_money,
        compact=_compact,
        signed=_signed,
        number=_number,
        datetime=_datetime,
        units=to_units_text,
        amount=_amount,
        share=_share,
    )
    env.globals.update(
        percent_change=percent_change,
        number_format=i18n.formatter,
        htmx_config=HTMX_CONFIG,
        language_name=i18n.language_name,
        url_for=_url_for,
        current_link=urls.current_link,
    )
    return templates
