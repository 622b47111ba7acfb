"""Every interface message is translated into Spanish: extracted from the code and templates the
same way `budget_sim/locales/update_catalogs.py` does, and looked up in the catalog."""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[1]  # the checkout: code and templates
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None}
METHODS = [("budget_sim/**.py", "python"), ("templates/**.html", "jinja2")]
OPTIONS = {"templates/**.html": {"extensions": "jinja2.ext.i18n"}}


def messages_in_use() -> set[str]:
    found = extract_from_dir(ROOT, method_map=METHODS, options_map=OPTIONS, keywords=KEYWORDS)
    return {m[2] if isinstance(m[2], str) else m[2][0] for m in found}


def test_every_message_has_a_spanish_translation():
    path = ROOT / "budget_sim" / "locales" / "es" / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as po:
        catalog = read_po(po, locale="es")
    translated = {m.id for m in catalog if m.id and m.string and not m.fuzzy}
    used = messages_in_use()
    assert len(used) > 80  # the extraction itself works
    assert sorted(used - translated) == []
