"""How a resident page is shown (language, embedded or not), carried in URLs and hidden form
fields, never in a cookie, so it survives inside third-party iframes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlencode

from budget_sim.model import Budget

DISPLAY_FIELDS = ("lang", "embed", "parent")


@dataclass(frozen=True)
class Display:
    locale: str = "en"
    embed: bool = False
    parent: str | None = None  # the embedding page's origin, taken only from the allow-list

    def params(self) -> list[tuple[str, str]]:
        """The query or hidden-field pairs that reproduce this display (defaults left out)."""
        pairs = []
        if self.locale != "en":
            pairs.append(("lang", self.locale))
        if self.embed:
            pairs.append(("embed", "1"))
            if self.parent:
                pairs.append(("parent", self.parent))
        return pairs

    def query(self, **extra: str) -> str:
        """ "?lang=es&embed=1..." (or "") to append to a resident URL."""
        pairs = self.params() + list(extra.items())
        return "?" + urlencode(pairs) if pairs else ""

    def with_locale(self, locale: str) -> Display:
        return Display(locale, self.embed, self.parent)


def read_display(
    values: Mapping[str, str], budget: Budget | None, locales: tuple[str, ...]
) -> Display:
    """The display asked for by query or form `values`; anything unknown falls back to defaults
    (a wrong language or origin is not an error a resident can fix)."""
    offered = budget.locales if budget is not None else locales
    lang = values.get("lang", "en")
    locale = lang if lang in offered and lang in locales else "en"
    embed = values.get("embed") == "1"
    parent = values.get("parent")
    allowed = budget.embed_origins if budget is not None else ()
    return Display(locale, embed, parent if embed and parent in allowed else None)
