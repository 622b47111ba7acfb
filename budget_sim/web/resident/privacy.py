"""The privacy page for residents: what the site records and for how long (English, Spanish)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from budget_sim.web import i18n
from budget_sim.web.display import read_display


def privacy(request: Request) -> Response:
    display = read_display(request.query_params, None, i18n.interface_locales())
    i18n.activate(display.locale)
    settings = request.state.settings
    return request.state.templates.TemplateResponse(
        request,
        "resident/privacy.html",
        {
            "display": display,
            "draft_days": settings.draft_max_age_days,
            "funnel_days": settings.funnel_retention_days,
            "ballot_hours": settings.ballot_max_age_seconds // 3600,
        },
    )


routes = [Route("/privacy", privacy, name="privacy", methods=["GET"])]
