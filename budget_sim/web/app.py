"""The application factory: routes, middleware, and the resources that live as long as the app."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import AsyncIterator
from typing import TypedDict

from jinja2_fragments.starlette import Jinja2Blocks
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

from budget_sim import charts
from budget_sim.model import Budget
from budget_sim.settings import PROJECT_ROOT, Settings, get_settings
from budget_sim.storage import Database
from budget_sim.storage.exports import SubmissionTables
from budget_sim.web import (
    api,
    paths,
    public_results,
    resident,
    staff,
    staff_budgets,
    staff_insights,
)
from budget_sim.web.ballots import BallotSigner
from budget_sim.web.budget_upload import UPLOAD_MAX_BYTES
from budget_sim.web.compression import PublicGZipMiddleware
from budget_sim.web.errors import exception_handlers
from budget_sim.web.insight_cache import InsightCache
from budget_sim.web.limits import BodyLimitMiddleware
from budget_sim.web.registry import load_budgets
from budget_sim.web.security import SecurityHeadersMiddleware
from budget_sim.web.signing import signing_key
from budget_sim.web.templating import make_templates


class State(TypedDict):
    settings: Settings
    budgets: dict[str, Budget]
    database: Database
    templates: Jinja2Blocks
    ballots: BallotSigner
    insights: InsightCache


def create_app(settings: Settings | None = None) -> Starlette:
    """A budget-sim app for `settings` (default: from the environment)."""
    settings = settings or get_settings()

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[State]:
        database = Database(settings.database_url)
        # vl-convert's first chart takes ~0.5 s: pay it now, beside start-up, not in a request.
        threading.Thread(target=charts.warm_up, name="warm up charts", daemon=True).start()
        insights = InsightCache(
            SubmissionTables(database.read_engine), resamples=settings.interval_resamples
        )
        budgets = load_budgets(settings, database)  # budget_data/ + published
        if settings.warm_insights:
            insights.warm(budgets.values())
        try:
            yield {
                "settings": settings,
                "budgets": budgets,
                "database": database,
                "templates": make_templates(),
                "ballots": BallotSigner(signing_key(settings), settings.ballot_max_age_seconds),
                "insights": insights,
            }
        finally:
            insights.close()
            database.dispose()

    routes = [
        *paths.routes,  # first: an address with a control character is a 404 before any view
        *resident.routes,
        *public_results.routes,
        *staff.routes,
        *staff_budgets.routes,
        *staff_insights.routes,
        *api.routes,
        Mount("/static", StaticFiles(directory=PROJECT_ROOT / "static"), name="static"),
    ]
    return Starlette(
        routes=routes,
        middleware=[
            Middleware(PublicGZipMiddleware),  # outermost: compresses pages and static files
            Middleware(SecurityHeadersMiddleware),
            Middleware(
                BodyLimitMiddleware,
                max_bytes=settings.max_body_bytes,
                # the one exception: budget files are uploaded here (admins only)
                per_path={staff_budgets.UPLOAD_PATH: UPLOAD_MAX_BYTES},
            ),
        ],
        exception_handlers=exception_handlers,
        lifespan=lifespan,
    )
