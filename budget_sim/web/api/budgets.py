"""GET /api/v1/budgets: every budget the caller may see, with its submission counts, its
submission window and where its submissions and insight tables are."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from budget_sim.storage import results as results_db
from budget_sim.web.api.guard import Caller, api_view
from budget_sim.web.json_api import PREFIX, JsonResponse
from budget_sim.web.sessions import now
from budget_sim.web.windows import staff_window


@api_view
async def list_budgets(request: Request, caller: Caller) -> Response:
    """Every budget the caller may see, with its submission counts."""
    budgets = [b for s, b in sorted(request.state.budgets.items()) if caller.user.may_see(s)]

    def counts() -> tuple[dict[str, tuple[int, int]], set[str]]:
        with request.state.database.reading() as session:
            return results_db.submission_counts(session), results_db.public_slugs(session)

    found, public = await run_in_threadpool(counts)
    moment = now()
    items = []
    for budget in budgets:
        residents, demo = found.get(budget.slug, (0, 0))
        items.append(
            {
                "slug": budget.slug,
                "title": budget.title,
                "city": budget.city,
                "fiscal_year": budget.fiscal_year,
                "currency": budget.currency,
                "lines": budget.line_ids,
                "questions": [q.id for q in budget.questions],
                "submissions": residents,
                "demo_submissions": demo,
                "window": staff_window(budget, moment),
                "opens_at": budget.opens_at,
                "closes_at": budget.closes_at,
                "results_public": budget.slug in public,
                "urls": {
                    "submissions": f"{PREFIX}/budgets/{budget.slug}/submissions",
                    "insights": f"{PREFIX}/budgets/{budget.slug}/insights",
                },
            }
        )
    return JsonResponse({"budgets": items})
