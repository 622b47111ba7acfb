"""The resident's simulator: the list of budgets, a budget's simulator page (embedded in a
city's page or not), its recalculation as the resident moves the amounts, and submitting. The
receipt a submission leads to is in receipts.py, drafts in drafts.py."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from budget_sim.forms import N_, ParsedForm, line_field
from budget_sim.model import Budget, is_feasible
from budget_sim.storage import NewSubmission, TokenReused
from budget_sim.web import i18n
from budget_sim.web.display import Display, read_display
from budget_sim.web.htmx import chart_table_open, wants_fragment
from budget_sim.web.resident import funnel
from budget_sim.web.resident.ballots import ExpiredBallot, ForgedBallot
from budget_sim.web.resident.budget_page import (
    budget_in_path,
    read_form,
    render_simulator,
    resident_headers,
    show,
)
from budget_sim.web.resident.pages import simulator_page
from budget_sim.web.resident.receipts import RECEIPT_ROUTE
from budget_sim.web.security import same_origin
from budget_sim.web.windows import now, resident_notice


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
    budget, display = show(budget_in_path(request), request.query_params, request)
    ballot = request.state.ballots.issue(budget.slug)
    funnel.record(request, budget, "opened", ballot)
    notice = resident_notice(budget, now())  # outside the submission window: say so
    page = simulator_page(budget, ballot, display=display, notice=notice)
    return render_simulator(request, budget, page)


def embed(request: Request) -> Response:
    """The simulator without the site's header and footer, for a city's iframe (static/embed.js);
    `parent` (the embedding page's origin) is kept only if the budget allows it."""
    budget, display = show(budget_in_path(request), {**request.query_params, "embed": "1"}, request)
    ballot = request.state.ballots.issue(budget.slug)
    funnel.record(request, budget, "opened", ballot)
    notice = resident_notice(budget, now())
    page = simulator_page(budget, ballot, display=display, notice=notice)
    return render_simulator(request, budget, page)


async def recalculate(request: Request) -> Response:
    """Totals for the amounts in the form: the summary blocks for htmx, else the whole page."""
    form, raw = await read_form(request, budget_in_path(request))
    budget, display = show(budget_in_path(request), raw, request)
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
            {
                "page": page,
                "display": display,
                "fragment": True,
                "chart_table_open": chart_table_open(request),
            },
            block_name="summary",
            status_code=status,
            headers=resident_headers(budget),
        )
    else:
        response = render_simulator(request, budget, page, status=status)
    response.headers["Vary"] = "HX-Request"
    return response


async def submit(request: Request) -> Response:
    """Validate, store, and only after the commit redirect to the permalink."""
    if not same_origin(request):
        raise HTTPException(403, N_("Submissions must come from this site's own form."))
    form, raw = await read_form(request, budget_in_path(request))
    budget, display = show(budget_in_path(request), raw, request)
    if form.honeypot_filled:
        raise HTTPException(400, N_("This form was filled in by a robot."))
    ballots = request.state.ballots
    closed = resident_notice(budget, now(), refused=True)
    if closed:  # before opens or after closes: nothing is stored, the choices stay on the page
        page = simulator_page(
            budget, ballots.issue(budget.slug), form, display=display, notice=closed
        )
        return render_simulator(request, budget, page, status=403)
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
        return render_simulator(request, budget, page, status=422)
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
    return render_simulator(request, budget, page, status=422)


def _reset(form: ParsedForm, target: str) -> None:
    """Put one line ("*": every line) back at the city's amount, as "Reset" asks."""
    for line_id in list(form.typed) if target == "*" else [target]:
        form.amounts.pop(line_id, None)
        form.typed.pop(line_id, None)
        form.errors.pop(line_field(line_id), None)


routes = [
    Route("/", home, name="home"),
    Route("/b/{slug}", simulator, name="simulator", methods=["GET"]),
    Route("/b/{slug}/embed", embed, name="embed", methods=["GET"]),
    Route("/b/{slug}", recalculate, name="recalculate", methods=["POST"]),
    Route("/b/{slug}/submit", submit, name="submit", methods=["POST"]),
]
