"""The receipt of a submission, at its permanent link: the budget the resident sent (as the
budget was when they sent it), their largest changes first; never their answers or comments,
which are for the city's staff, not for whoever has the link."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from budget_sim.forms import ParsedForm
from budget_sim.storage import get_submission
from budget_sim.storage import results as results_db
from budget_sim.web import i18n, registry
from budget_sim.web.display import Display
from budget_sim.web.resident.budget_page import budget_in_path, resident_headers, show
from budget_sim.web.resident.pages import simulator_page
from budget_sim.web.urls import absolute, link_for, path_for

RECEIPT_BIGGEST = 5  # the receipt opens with the resident's largest changes


def receipt(request: Request) -> Response:
    current = budget_in_path(request)
    budget, display = show(current, request.query_params, request)
    with request.state.database.reading() as session:
        stored = get_submission(session, budget.slug, request.path_params["receipt"])
        results_public = results_db.is_public(session, budget.slug)
    if stored is None:
        raise HTTPException(404, i18n.gettext("There is no submitted budget at this address."))
    if stored.budget_version != current.version:  # made before a revision: show that version
        database = request.state.database
        made_against = registry.budget_at(database, current.slug, stored.budget_version)
        if made_against is not None:
            budget, display = show(made_against, request.query_params)
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
        headers=resident_headers(current, private=True),  # framed by today's allow-list
    )


routes = [Route("/b/{slug}/r/{receipt}", receipt, name="receipt")]
RECEIPT_ROUTE = routes[0]
