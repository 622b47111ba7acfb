"""What the resident views of a budget share: the budget in the path, the language and frame it
is shown in, the posted simulator form, and the simulator page answered with the headers
resident pages carry (framed only by the budget's allow-listed origins)."""

from __future__ import annotations

from collections.abc import Mapping

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from budget_sim.forms import (
    N_,
    FormTooLarge,
    ParsedForm,
    max_fields,
    parse_resident_form,
    parse_urlencoded,
)
from budget_sim.model import Budget
from budget_sim.web import i18n
from budget_sim.web.display import Display, read_display
from budget_sim.web.resident.pages import SimulatorPage
from budget_sim.web.security import content_security_policy

FORM_TYPE = "application/x-www-form-urlencoded"


def budget_in_path(request: Request) -> Budget:
    budget = request.state.budgets.get(request.path_params["slug"])
    if budget is None:
        raise HTTPException(404, N_("There is no budget at this address."))
    return budget


def show(
    budget: Budget, values: Mapping[str, str], request: Request | None = None
) -> tuple[Budget, Display]:
    """The budget in the language asked for, and how to show it; sets the request's language
    (kept on the request too, so an error page is shown in it). `to_lang` is the language
    button of the simulator: the same plan, shown in another language."""
    if values.get("to_lang"):
        values = {**values, "lang": values["to_lang"]}
    display = read_display(values, budget, i18n.interface_locales())
    i18n.activate(display.locale, budget.country, budget.currency)
    if request is not None:
        request.state.locale = display.locale
    return budget.localized(display.locale), display


def resident_headers(budget: Budget, *, private: bool = False) -> dict[str, str]:
    """Resident pages may be framed by the budget's allow-listed origins, nobody else. A
    `private` page (a receipt or a draft: whoever has its link sees a resident's choices and
    comments) is kept by no cache but the resident's own browser, and not even there."""
    headers = {"Content-Security-Policy": content_security_policy(budget.embed_origins)}
    if private:  # and kept out of search engines, whoever shares the link
        headers["Cache-Control"] = "private, no-store"
        headers["X-Robots-Tag"] = "noindex, nofollow"
    return headers


_TRANSLATED: dict[tuple[str, str, str], bool] = {}


def names_translated(budget: Budget) -> bool:
    """Whether `budget` (a language variant) shows department or program names translated from
    the city's English ones; the page then says so (the city's names stay the source)."""
    key = (budget.slug, budget.version, budget.locale)
    if key not in _TRANSLATED:
        english = budget.variants.get("en", budget).lines
        _TRANSLATED[key] = budget.locale != "en" and not (
            english["program"].equals(budget.lines["program"])
            and english["department"].equals(budget.lines["department"])
        )
    return _TRANSLATED[key]


def render_simulator(
    request: Request,
    budget: Budget,
    page: SimulatorPage,
    *,
    status: int = 200,
    private: bool = False,
) -> Response:
    return request.state.templates.TemplateResponse(
        request,
        "resident/simulator.html",
        {
            "page": page,
            "display": page.display,
            "fragment": False,
            "names_translated": names_translated(budget),
        },
        status_code=status,
        headers=resident_headers(budget, private=private),
    )


async def read_form(request: Request, budget: Budget) -> tuple[ParsedForm, Mapping[str, str]]:
    """The parsed form and its raw single values (for the display fields). No field is refused
    for its size below the body cap (settings.max_body_bytes): a comment box allows 2,000
    characters, up to 9 bytes each urlencoded (18 KB), and one sent longer comes back in its
    box with a message, with everything else the resident typed."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != FORM_TYPE:
        raise HTTPException(415, N_("Send the form as application/x-www-form-urlencoded."))
    try:
        body = await request.body()
        items = parse_urlencoded(body, max_fields(budget), max(len(body), 1))
    except FormTooLarge as error:  # more fields than this budget's form has: not our page
        raise HTTPException(
            400, N_("The form could not be read: it has more fields than this budget's form.")
        ) from error
    raw = dict(items)
    locale = read_display(raw, budget, i18n.interface_locales()).locale  # amounts as typed there
    decimal = i18n.Formatter(locale, budget.country, budget.currency).decimal_sign
    return parse_resident_form(items, budget, decimal=decimal), raw
