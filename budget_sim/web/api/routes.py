"""The API's route table, and its answer to anything else under /api/: a JSON 404, or 405 for
a known path asked with another method than GET."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match, Route

from budget_sim.web.api.budgets import list_budgets
from budget_sim.web.api.insights import insight_table, insights
from budget_sim.web.api.submissions import submissions
from budget_sim.web.json_api import PREFIX, error_response
from budget_sim.web.sessions import NO_STORE


async def api_fallback(request: Request) -> Response:
    """Anything else under /api/: a JSON 404, or 405 for a known path with another method."""
    for route in api_routes:
        match, _ = route.matches(request.scope)
        if match == Match.PARTIAL:
            response = error_response(405, "method_not_allowed", "The API is read-only: use GET.")
            response.headers["Allow"] = "GET, HEAD"
            break
    else:
        response = error_response(
            404, "not_found", f"There is no API endpoint here; they live under {PREFIX}/."
        )
    response.headers.update(NO_STORE)
    return response


api_routes = [
    Route(f"{PREFIX}/budgets", list_budgets, name="api_budgets", methods=["GET"]),
    Route(
        f"{PREFIX}/budgets/{{slug}}/submissions",
        submissions,
        name="api_submissions",
        methods=["GET"],
    ),
    Route(f"{PREFIX}/budgets/{{slug}}/insights", insights, name="api_insights", methods=["GET"]),
    Route(
        f"{PREFIX}/budgets/{{slug}}/insights/{{table}}",
        insight_table,
        name="api_insight_table",
        methods=["GET"],
    ),
]
ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
routes = [
    *api_routes,
    Route("/api/{rest:path}", api_fallback, methods=ALL_METHODS),
]
