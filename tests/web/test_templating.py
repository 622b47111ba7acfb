"""The templates' translation callables and the locale formatter, both hand-tuned for the
recalculation's speed: they must still say what Jinja's i18n extension and Babel say."""

from __future__ import annotations

import pytest
from babel import Locale
from babel.numbers import format_currency, format_percent

from budget_sim.web import i18n
from budget_sim.web.templating import make_templates


@pytest.fixture
def env():
    return make_templates().env


def render(env, source: str, **values: object) -> str:
    return env.from_string(source).render(**values)


def test_translated_text_is_markup_and_its_values_are_escaped(env):
    i18n.activate("en")
    html = render(
        env,
        "{{ _('Your comment on %(program)s', program=name) }}",
        name="<b>Parks & Rec</b>",
    )
    assert html == "Your comment on &lt;b&gt;Parks &amp; Rec&lt;/b&gt;"


def test_a_doubled_percent_sign_is_one_percent_sign_with_or_without_values(env):
    i18n.activate("en")
    assert render(env, "{{ _('100%% of %(what)s', what='it') }}") == "100% of it"
    assert render(env, "{{ _('Only 100%%') }}") == "Only 100%"
    assert render(env, "{{ _('Plain <text>') }}") == "Plain <text>"  # ours: not escaped


def test_spanish_is_used_when_the_request_asks_for_it(env):
    try:
        i18n.activate("es")
        assert render(env, "{{ _('Yours') }}") == i18n.translations("es").gettext("Yours")
        assert render(env, "{{ _('Yours') }}") != "Yours"
    finally:
        i18n.activate("en")


def test_ngettext_picks_the_form_and_fills_num(env):
    i18n.activate("en")
    source = "{{ ngettext('%(num)s line', '%(num)s lines', n) }}"
    assert render(env, source, n=1) == "1 line"
    assert render(env, source, n=3) == "3 lines"


LOCALES = [
    ("en", "US", "USD"),
    ("es", "US", "USD"),
    ("es", "ES", "EUR"),
    ("fr", "FR", "EUR"),
    ("de", "DE", "EUR"),
    ("pt", "BR", "BRL"),
    ("nl", "NL", "EUR"),
]


@pytest.mark.parametrize(("lang", "country", "currency"), LOCALES)
def test_money_and_shares_are_written_as_babel_writes_them(lang, country, currency):
    formatter = i18n.Formatter(lang, country, currency)
    locale = Locale.parse(f"{lang}_{country}")
    whole = locale.currency_formats["standard"].pattern.split(";")[0].replace(".00", "")
    for units in (0, 7, 1_234, 1_234_567, 987_654_321):
        expected = format_currency(
            units, currency, format=whole, locale=locale, currency_digits=False
        )
        assert formatter.money(units * 100) == expected
        assert formatter.money(-units * 100) == (f"-{expected}" if units else expected)
    for fraction in (0.0, 0.05, 0.4201, 0.999, 1.0):
        assert formatter.share(fraction) == format_percent(
            fraction, format="#,##0.0%", locale=locale
        )
    group, decimal = formatter.group_sign, formatter.decimal_sign
    assert formatter.amount_text(1_700_000_000) == f"17{group}000{group}000"
    assert formatter.amount_text(123_450) == f"1{group}234{decimal}50"
