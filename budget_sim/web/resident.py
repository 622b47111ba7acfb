"""Resident pages: the list of budgets, the simulator, submitting, and the receipt permalink."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from budget_sim.forms import ParsedForm, max_fields, parse_resident_form
from budget_sim.model import Budget, check
from budget_sim.storage import NewSubmission, TokenReused, get_submission, save_submission
from budget_sim.web.ballots import ExpiredBallot, ForgedBallot
from budget_sim.web.htmx import wants_fragment
from budget_sim.web.pages import simulator_page
from budget_sim.web.security import content_security_policy

FORM_TYPE = "application/x-www-form-urlencoded"
SUMMARY_BLOCKS = ["summary", "department_totals"]


def _budget(request: Request) -> Budget:
    budget = request.state.budgets.get(request.path_params["slug"])
    if budget is None:
        raise HTTPException(404, "There is no budget at this address.")
    return budget


def _resident_headers(budget: Budget) -> dict[str, str]:
    """Resident pages may be framed by the budget's allow-listed origins, nobody else."""
    return {"Content-Security-Policy": content_security_policy(budget.embed_origins)}


def _render(request: Request, budget: Budget, page: object, *, status: int = 200) -> Response:
    return request.state.templates.TemplateResponse(
        request,
        "resident/simulator.html",
        {"page": page, "fragment": False},
        status_code=status,
        headers=_resident_headers(budget),
    )


async def _read_form(request: Request, budget: Budget) -> ParsedForm:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != FORM_TYPE:
        raise HTTPException(415, f"Send the form as {FORM_TYPE}.")
    form = await request.form(max_files=0, max_fields=max_fields(budget), max_part_size=16 * 1024)
    return parse_resident_form(form.multi_items(), budget)


def home(request: Request) -> Response:
    budgets = sorted(
        request.state.budgets.values(),
        key=lambda b: (b.slug != request.state.settings.default_budget, b.city, -b.fiscal_year),
    )
    return request.state.templates.TemplateResponse(
        request, "resident/index.html", {"budgets": budgets}
    )


def simulator(request: Request) -> Response:
    budget = _budget(request)
    page = simulator_page(budget, request.state.ballots.issue(budget.slug))
    return _render(request, budget, page)


async def recalculate(request: Request) -> Response:
    """Totals for the amounts in the form: the summary blocks for htmx, else the whole page."""
    budget = _budget(request)
    form = await _read_form(request, budget)
    ballot = form.ballot or request.state.ballots.issue(budget.slug)
    page = simulator_page(budget, ballot, form)
    if wants_fragment(request):
        response = request.state.templates.TemplateResponse(
            request,
            "resident/simulator.html",
            {"page": page, "fragment": True},
            block_names=SUMMARY_BLOCKS,
            headers=_resident_headers(budget),
        )
    else:
        response = _render(request, budget, page)
    response.headers["Vary"] = "HX-Request"
    return response


def _same_origin(request: Request) -> bool:
    """Fetch Metadata first; without it, an Origin header (if any) must be ours."""
    site = request.headers.get("sec-fetch-site")
    if site is not None:
        return site in ("same-origin", "none")
    origin = request.headers.get("origin")
    if origin is None:
        return True
    own = f"{request.url.scheme}://{request.url.netloc}"
    return origin == own


async def submit(request: Request) -> Response:
    """Validate, store, and only after the commit redirect to the permalink."""
    budget = _budget(request)
    if not _same_origin(request):
        raise HTTPException(403, "Submissions must come from this site's own form.")
    form = await _read_form(request, budget)
    if form.honeypot_filled:
        raise HTTPException(400, "This form was filled in by a robot.")
    ballots = request.state.ballots
    try:
        nonce = ballots.nonce(form.ballot, budget.slug)
    except ExpiredBallot:
        page = simulator_page(
            budget,
            ballots.issue(budget.slug),
            form,
            attempted=True,
            notice="This page was open for a long time, so nothing was saved yet. "
            "Your choices are kept: check them and submit again.",
        )
        return _render(request, budget, page, status=422)
    except ForgedBallot as error:
        raise HTTPException(
            403, "This form was not issued by this site for this budget."
        ) from error
    if not form.ok or check(budget, form.amounts):
        page = simulator_page(budget, form.ballot, form, attempted=True)
        return _render(request, budget, page, status=422)
    amounts = {
        line_id: form.amounts.get(line_id, baseline)
        for line_id, baseline in budget.lines.select("id", "amount").iter_rows()
    }
    new = NewSubmission(
        budget_slug=budget.slug,
        budget_digest=budget.version,
        line_ids=budget.line_ids,
        nonce=nonce,
        amounts=amounts,
        answers=form.answers,
    )
    try:
        receipt = await run_in_threadpool(_store, request, new)
    except TokenReused:
        page = simulator_page(
            budget,
            ballots.issue(budget.slug),
            form,
            attempted=True,
            notice="This form was already submitted with different amounts. "
            "Your new choices are below: submit again to send them as a new budget.",
        )
        return _render(request, budget, page, status=422)
    url = request.url_for("receipt", slug=budget.slug, receipt=receipt)
    return RedirectResponse(url, status_code=303)


def _store(request: Request, new: NewSubmission) -> str:
    with request.state.database.writing() as session:
        return save_submission(session, new)


def receipt(request: Request) -> Response:
    budget = _budget(request)
    with request.state.database.reading() as session:
        stored = get_submission(session, budget.slug, request.path_params["receipt"])
    if stored is None:
        raise HTTPException(404, "There is no submitted budget at this address.")
    form = ParsedForm(amounts=stored.amounts, answers=stored.answers)
    page = simulator_page(budget, "", form)
    return request.state.templates.TemplateResponse(
        request,
        "resident/receipt.html",
        {"page": page, "stored": stored},
        headers=_resident_headers(budget),
    )


routes = [
    Route("/", home, name="home"),
    Route("/b/{slug}", simulator, name="simulator", methods=["GET"]),
    Route("/b/{slug}", recalculate, name="recalculate", methods=["POST"]),
    Route("/b/{slug}/submit", submit, name="submit", methods=["POST"]),
    Route("/b/{slug}/r/{receipt}", receipt, name="receipt"),
]
