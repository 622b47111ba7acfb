"""Resident pages: the list of budgets, the simulator, submitting, and the receipt permalink."""

from __future__ import annotations

import math
from collections.abc import Mapping
from functools import partial

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from budget_sim.forms import (
    N_,
    FormTooLarge,
    ParsedForm,
    line_field,
    max_fields,
    parse_resident_form,
    parse_urlencoded,
)
from budget_sim.model import Budget, is_feasible
from budget_sim.storage import (
    DraftContent,
    NewSubmission,
    TokenReused,
    get_draft,
    get_submission,
)
from budget_sim.storage import results as results_db
from budget_sim.storage.quotas import QuotaExceeded
from budget_sim.web import i18n, registry
from budget_sim.web.display import Display, read_display
from budget_sim.web.htmx import wants_fragment
from budget_sim.web.resident import draft_limits, funnel
from budget_sim.web.resident.ballots import ExpiredBallot, ForgedBallot
from budget_sim.web.resident.pages import SimulatorPage, simulator_page
from budget_sim.web.security import content_security_policy, same_origin
from budget_sim.web.staff.auth import client_address
from budget_sim.web.urls import absolute, link_for, path_for
from budget_sim.web.windows import now, resident_notice

FORM_TYPE = "application/x-www-form-urlencoded"
RECEIPT_BIGGEST = 5  # the receipt opens with the resident's largest changes


def _budget(request: Request) -> Budget:
    budget = request.state.budgets.get(request.path_params["slug"])
    if budget is None:
        raise HTTPException(404, N_("There is no budget at this address."))
    return budget


def _show(
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


def _resident_headers(budget: Budget, *, private: bool = False) -> dict[str, str]:
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


def _render(
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
        headers=_resident_headers(budget, private=private),
    )


async def _read_form(request: Request, budget: Budget) -> tuple[ParsedForm, Mapping[str, str]]:
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


def home(request: Request) -> Response:
    display = read_display(request.query_params, None, i18n.interface_locales())
    i18n.activate(display.locale)
    moment = now()
    budgets = sorted(
        (b for b in request.state.budgets.values() if b.is_open(moment)),
        key=lambda b: (b.slug != request.state.settings.default_budget, b.city, -b.fiscal_year),
    )
    return request.state.templates.TemplateResponse(
        request,
        "resident/index.html",
        {"budgets": [b.localized(display.locale) for b in budgets], "display": display},
    )


def simulator(request: Request) -> Response:
    budget, display = _show(_budget(request), request.query_params, request)
    ballot = request.state.ballots.issue(budget.slug)
    funnel.record(request, budget, "opened", ballot)
    notice = resident_notice(budget, now())  # outside the submission window: say so
    page = simulator_page(budget, ballot, display=display, notice=notice)
    return _render(request, budget, page)


def embed(request: Request) -> Response:
    """The simulator without the site's header and footer, for a city's iframe (static/embed.js);
    `parent` (the embedding page's origin) is kept only if the budget allows it."""
    budget, display = _show(_budget(request), {**request.query_params, "embed": "1"}, request)
    ballot = request.state.ballots.issue(budget.slug)
    funnel.record(request, budget, "opened", ballot)
    notice = resident_notice(budget, now())
    page = simulator_page(budget, ballot, display=display, notice=notice)
    return _render(request, budget, page)


async def recalculate(request: Request) -> Response:
    """Totals for the amounts in the form: the summary blocks for htmx, else the whole page."""
    form, raw = await _read_form(request, _budget(request))
    budget, display = _show(_budget(request), raw, request)
    if form.reset:
        _reset(form, form.reset)
    ballot = form.ballot or request.state.ballots.issue(budget.slug)
    fragment = wants_fragment(request)
    moved = funnel.changed_line(request, form.reset)
    page = simulator_page(  # htmx gets the summary and the rows that changed, not every line
        budget, ballot, form, display=display, fragment=fragment, live={moved} if moved else ()
    )
    status = 422 if form.foreign else 200  # fields our own form never sends: a crafted request
    if form.ballot and not form.foreign:
        funnel.record(
            request,
            budget,
            "change",
            form.ballot,
            within=page.ready,
            line_id=moved,
            answers=form.answers,
        )
    if fragment:
        response = request.state.templates.TemplateResponse(
            request,
            "resident/simulator.html",
            {"page": page, "display": display, "fragment": True},
            block_name="summary",
            status_code=status,
            headers=_resident_headers(budget),
        )
    else:
        response = _render(request, budget, page, status=status)
    response.headers["Vary"] = "HX-Request"
    return response


async def submit(request: Request) -> Response:
    """Validate, store, and only after the commit redirect to the permalink."""
    if not same_origin(request):
        raise HTTPException(403, N_("Submissions must come from this site's own form."))
    form, raw = await _read_form(request, _budget(request))
    budget, display = _show(_budget(request), raw, request)
    if form.honeypot_filled:
        raise HTTPException(400, N_("This form was filled in by a robot."))
    ballots = request.state.ballots
    closed = resident_notice(budget, now(), refused=True)
    if closed:  # before opens or after closes: nothing is stored, the choices stay on the page
        page = simulator_page(
            budget, ballots.issue(budget.slug), form, display=display, notice=closed
        )
        return _render(request, budget, page, status=403)
    try:
        nonce = ballots.nonce(form.ballot, budget.slug)
    except ExpiredBallot:
        notice = i18n.gettext(
            "This page was open for a long time, so nothing was saved yet. "
            "Your choices are kept: check them and submit again."
        )
        return _try_again(request, budget, form, display, notice)
    except ForgedBallot as error:
        raise HTTPException(
            403, N_("This form was not issued by this site for this budget.")
        ) from error
    if not form.ok or not is_feasible(budget, form.amounts):
        page = simulator_page(budget, form.ballot, form, display=display, attempted=True)
        funnel.record(request, budget, "refused", form.ballot, answers=form.answers)
        return _render(request, budget, page, status=422)
    amounts = {line.id: form.amounts.get(line.id, line.amount) for line in budget.line_rules}
    new = NewSubmission(
        budget_slug=budget.slug,
        budget_digest=budget.version,
        line_ids=list(amounts),  # every line, in the budget's order
        nonce=nonce,
        amounts=amounts,
        answers=form.answers,
        comments=form.comments,
        locale=display.locale,
    )
    try:  # acknowledged (the 303) only once the transaction holding it has committed
        receipt = await request.state.submissions.submit(new)
    except TokenReused:
        notice = i18n.gettext(
            "This form was already submitted with different amounts. "
            "Your new choices are below: submit again to send them as a new budget."
        )
        return _try_again(request, budget, form, display, notice)
    funnel.record(request, budget, "submitted", form.ballot, answers=form.answers)
    # the app's own path (the base path is added on the way out, web/urls.py), from the route
    # itself rather than by trying every route of the app in turn
    url = RECEIPT_ROUTE.url_path_for("receipt", slug=budget.slug, receipt=receipt)
    return RedirectResponse(f"{url}{display.query()}", status_code=303)


def _try_again(
    request: Request, budget: Budget, form: ParsedForm, display: Display, notice: str
) -> Response:
    """Nothing was stored: the resident's choices again, a fresh ballot, and why (422)."""
    ballot = request.state.ballots.issue(budget.slug)
    page = simulator_page(budget, ballot, form, display=display, attempted=True, notice=notice)
    return _render(request, budget, page, status=422)


def receipt(request: Request) -> Response:
    current = _budget(request)
    budget, display = _show(current, request.query_params, request)
    with request.state.database.reading() as session:
        stored = get_submission(session, budget.slug, request.path_params["receipt"])
        results_public = results_db.is_public(session, budget.slug)
    if stored is None:
        raise HTTPException(404, i18n.gettext("There is no submitted budget at this address."))
    if stored.budget_version != current.version:  # made before a revision: show that version
        database = request.state.database
        made_against = registry.budget_at(database, current.slug, stored.budget_version)
        if made_against is not None:
            budget, display = _show(made_against, request.query_params)
    # the budget only: answers and comments are for the city's staff, not for whoever has the link
    page = simulator_page(budget, "", ParsedForm(amounts=stored.amounts), display=display)
    changed = [
        (department.name, line)
        for department in page.departments
        for line in department.lines
        if line.change
    ]
    changed.sort(key=lambda pair: -abs(pair[1].change))
    return request.state.templates.TemplateResponse(
        request,
        "resident/receipt.html",
        {
            "page": page,
            "stored": stored,
            "biggest": changed[:RECEIPT_BIGGEST],
            "changed_count": len(changed),
            "display": display,
            "share_link": absolute(
                request, path_for(request, "receipt", slug=current.slug, receipt=stored.receipt)
            ),
            "results_link": f"{link_for(request, 'public_results', slug=current.slug)}"
            f"{Display(display.locale).query()}"  # the full site, not the frame
            if results_public
            else None,
        },
        headers=_resident_headers(current, private=True),  # framed by today's allow-list
    )


def _reset(form: ParsedForm, target: str) -> None:
    """Put one line ("*": every line) back at the city's amount, as "Reset" asks."""
    for line_id in list(form.typed) if target == "*" else [target]:
        form.amounts.pop(line_id, None)
        form.typed.pop(line_id, None)
        form.errors.pop(line_field(line_id), None)


async def save_draft_link(request: Request) -> Response:
    """Store what the resident has so far and send them to its link."""
    if not same_origin(request):
        raise HTTPException(403, N_("Drafts must come from this site's own form."))
    form, raw = await _read_form(request, _budget(request))
    budget, display = _show(_budget(request), raw, request)
    try:
        request.state.ballots.nonce(form.ballot, budget.slug)
    except ExpiredBallot:
        pass  # a draft is not a vote: an old page may still save its work
    except ForgedBallot as error:
        raise HTTPException(
            403, N_("This form was not issued by this site for this budget.")
        ) from error
    if not form.ok:  # save nothing rather than drop what cannot be read (LOW-4)
        notice = i18n.gettext(
            "Nothing was saved: some of what you typed cannot be kept. "
            "Fix the fields marked below, then save the draft again."
        )
        page = simulator_page(budget, form.ballot, form, display=display, notice=notice)
        return _render(request, budget, page, status=422)
    baseline = dict(budget.lines.select("id", "amount").iter_rows())
    content = DraftContent(
        amounts={k: v for k, v in form.amounts.items() if baseline.get(k) != v},
        answers=form.answers,
        comments=form.comments,
    )
    size = draft_limits.too_large(content)
    if size is not None:
        notice = i18n.gettext(
            "This draft is too long to save (%(size)s KB; at most %(limit)s KB), so nothing was "
            "saved. Your choices are still below: shorten some comments and save again, or submit."
        ) % {"size": math.ceil(size / 1024), "limit": draft_limits.DRAFT_MAX_BYTES // 1024}
        page = simulator_page(budget, form.ballot, form, display=display, notice=notice)
        return _render(request, budget, page, status=413)
    moment = now()
    try:
        key = await run_in_threadpool(
            partial(
                draft_limits.store,
                request.state.database,
                request.state.settings,
                request.state.ballots.secret_key,
                slug=budget.slug,
                content=content,
                ballot=form.ballot,
                address=client_address(request),
                now=moment,
            )
        )
    except QuotaExceeded as over:
        minutes = max(1, math.ceil((over.until - moment).total_seconds() / 60))
        notice = i18n.gettext(
            "Many drafts were saved from this page or your network address in the last hour, so "
            "nothing was saved this time. Your choices are still below: save again in "
            "%(minutes)s min, or submit them."
        ) % {"minutes": minutes}
        page = simulator_page(budget, form.ballot, form, display=display, notice=notice)
        response = _render(request, budget, page, status=429)
        response.headers["Retry-After"] = str(minutes * 60)
        return response
    url = path_for(request, "draft", slug=budget.slug, key=key)
    return RedirectResponse(f"{url}{display.query()}", status_code=303)


def draft(request: Request) -> Response:
    """A saved draft, ready to change and submit (410 once it has expired)."""
    budget, display = _show(_budget(request), request.query_params, request)
    settings = request.state.settings
    with request.state.database.reading() as session:
        stored = get_draft(session, budget.slug, request.path_params["key"])
    if stored is None:
        raise HTTPException(
            404,
            i18n.gettext(
                "There is no saved draft at this address. Drafts are kept for %(days)s days."
            )
            % {"days": settings.draft_max_age_days},
        )
    if draft_limits.expired(stored.created_at, settings, now()):
        raise HTTPException(
            410,
            i18n.gettext(
                "This draft has expired: drafts are kept for %(days)s days after they are saved. "
                "Open the budget to start again."
            )
            % {"days": settings.draft_max_age_days},
        )
    content = stored.content
    form = ParsedForm(
        amounts=dict(content.amounts),
        answers=dict(content.answers),
        comments=dict(content.comments),
    )
    link = absolute(
        request, path_for(request, "draft", slug=budget.slug, key=request.path_params["key"])
    )
    ballot = request.state.ballots.issue(budget.slug)
    funnel.record(request, budget, "opened", ballot, answers=form.answers)
    page = simulator_page(
        budget,
        ballot,
        form,
        display=display,
        draft_link=f"{link}{Display(display.locale).query()}",  # the full site, not the frame
    )
    return _render(request, budget, page, private=True)


routes = [
    Route("/", home, name="home"),
    Route("/b/{slug}", simulator, name="simulator", methods=["GET"]),
    Route("/b/{slug}/embed", embed, name="embed", methods=["GET"]),
    Route("/b/{slug}", recalculate, name="recalculate", methods=["POST"]),
    Route("/b/{slug}/submit", submit, name="submit", methods=["POST"]),
    Route("/b/{slug}/r/{receipt}", receipt, name="receipt"),
    Route("/b/{slug}/draft", save_draft_link, name="save_draft", methods=["POST"]),
    Route("/b/{slug}/d/{key}", draft, name="draft", methods=["GET"]),
]
RECEIPT_ROUTE = next(route for route in routes if route.name == "receipt")
