"""Drafts: a resident saves what they have so far and gets a link to come back to it (no
account; limited per page and per network address, capped in size, expiring: draft_limits.py),
and the saved draft, ready to change and submit."""

from __future__ import annotations

import math
from functools import partial

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from budget_sim.forms import N_, ParsedForm
from budget_sim.storage import DraftContent, get_draft
from budget_sim.storage.quotas import QuotaExceeded
from budget_sim.web import i18n
from budget_sim.web.clients import client_address
from budget_sim.web.display import Display
from budget_sim.web.resident import draft_limits, funnel
from budget_sim.web.resident.ballots import ExpiredBallot, ForgedBallot
from budget_sim.web.resident.budget_page import budget_in_path, read_form, render_simulator, show
from budget_sim.web.resident.pages import simulator_page
from budget_sim.web.security import same_origin
from budget_sim.web.urls import absolute, path_for
from budget_sim.web.windows import now


async def save_draft_link(request: Request) -> Response:
    """Store what the resident has so far and send them to its link."""
    if not same_origin(request):
        raise HTTPException(403, N_("Drafts must come from this site's own form."))
    form, raw = await read_form(request, budget_in_path(request))
    budget, display = show(budget_in_path(request), raw, request)
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
        return render_simulator(request, budget, page, status=422)
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
        return render_simulator(request, budget, page, status=413)
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
        response = render_simulator(request, budget, page, status=429)
        response.headers["Retry-After"] = str(minutes * 60)
        return response
    url = path_for(request, "draft", slug=budget.slug, key=key)
    return RedirectResponse(f"{url}{display.query()}", status_code=303)


def draft(request: Request) -> Response:
    """A saved draft, ready to change and submit (410 once it has expired)."""
    budget, display = show(budget_in_path(request), request.query_params, request)
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
    return render_simulator(request, budget, page, private=True)


routes = [
    Route("/b/{slug}/draft", save_draft_link, name="save_draft", methods=["POST"]),
    Route("/b/{slug}/d/{key}", draft, name="draft", methods=["GET"]),
]
