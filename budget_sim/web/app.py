"""The application factory: routes, middleware, and the resources that live as long as the app."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import AsyncIterator
from typing import TypedDict

from jinja2_fragments.starlette import Jinja2Blocks
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from budget_sim import charts, resources
from budget_sim.settings import Settings, get_settings
from budget_sim.storage import Database, SubmissionWriter
from budget_sim.storage.exports import SubmissionTables
from budget_sim.storage.funnel import FunnelWriter
from budget_sim.web import health, paths
from budget_sim.web.api import routes as api
from budget_sim.web.compression import PublicGZipMiddleware
from budget_sim.web.errors import exception_handlers
from budget_sim.web.insight_cache import InsightCache
from budget_sim.web.limits import BodyLimitMiddleware
from budget_sim.web.registry import FreshBudgetsMiddleware, Registry
from budget_sim.web.resident import drafts, privacy, public_results, receipts, simulator
from budget_sim.web.resident.ballots import BallotSigner
from budget_sim.web.security import SecurityHeadersMiddleware
from budget_sim.web.signing import signing_key
from budget_sim.web.staff import budgets as staff_budgets
from budget_sim.web.staff import (
    council_report,
    headline_choice,
    home,
    insight_exports,
    insights,
    invitations,
    participation,
    sign_in,
    tokens,
    users,
)
from budget_sim.web.staff.budget_upload import UPLOAD_MAX_BYTES
from budget_sim.web.templating import make_templates
from budget_sim.web.urls import BasePathMiddleware, base_path


class State(TypedDict):
    settings: Settings
    budgets: Registry  # slug -> Budget, following the database (every worker)
    database: Database
    submissions: SubmissionWriter  # group commit of resident submissions
    funnel: FunnelWriter  # participation events, written in batches once a second
    templates: Jinja2Blocks
    ballots: BallotSigner
    insights: InsightCache


class BudgetSimApp(Starlette):
    """Starlette with three layers outside even its last-resort 500 handler, so that every
    response, error pages included, is answered for the right client and carries the headers:

    1. forwarded headers (X-Forwarded-For, -Proto) believed only from the trusted proxies, so
       the sign-in throttle, the audit log and the access log see the real client, and https
       behind a TLS proxy is https;
    2. the security headers (CSP, nosniff, framing, HSTS over https);
    3. 400 for a Host the site does not answer to;
    and, if BUDGET_SIM_BASE_URL has a path, that path in front of every redirect."""

    def __init__(self, settings: Settings, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.settings = settings

    def build_middleware_stack(self) -> ASGIApp:
        app = super().build_middleware_stack()  # errors, then the middleware below, then routes
        app = TrustedHostMiddleware(app, allowed_hosts=self.settings.trusted_hosts)
        app = SecurityHeadersMiddleware(app)
        if prefix := base_path(self.settings.base_url):
            app = BasePathMiddleware(app, prefix)
        return ProxyHeadersMiddleware(app, trusted_hosts=self.settings.forwarded_allow_ips)  # type: ignore[arg-type]


def create_app(settings: Settings | None = None) -> Starlette:
    """A budget-sim app for `settings` (default: from the environment)."""
    settings = settings or get_settings()

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[State]:
        database = Database(settings.database_url)
        # vl-convert's first chart takes ~0.5 s: pay it now, beside start-up, not in a request.
        threading.Thread(target=charts.warm_up, name="warm up charts", daemon=True).start()
        insights = InsightCache(
            SubmissionTables(database.read_engine),
            resamples=settings.interval_resamples,
            database=database,  # shares the warm-up and the intervals between workers
        )
        budgets = Registry(settings, database)  # budget_data/ + published, kept current
        if settings.warm_insights:
            insights.warm(budgets.values())
        submissions = SubmissionWriter(database).start()
        funnel = FunnelWriter(database, settings.funnel_retention_days).start()
        try:
            yield {
                "settings": settings,
                "budgets": budgets,
                "database": database,
                "submissions": submissions,
                "funnel": funnel,
                "templates": make_templates(),
                "ballots": BallotSigner(signing_key(settings), settings.ballot_max_age_seconds),
                "insights": insights,
            }
        finally:
            insights.close()
            await submissions.close()  # what is queued is stored first
            await funnel.close()
            database.dispose()

    routes = [
        *paths.routes,  # first: an address with a control character is a 404 before any view
        *health.routes,
        # residents (web/resident/)
        *simulator.routes,
        *receipts.routes,
        *drafts.routes,
        *public_results.routes,
        # staff (web/staff/)
        *sign_in.routes,
        *home.routes,
        *users.routes,
        *invitations.routes,
        *staff_budgets.routes,
        *insights.routes,
        *insight_exports.routes,
        *council_report.routes,
        *headline_choice.routes,
        *participation.routes,
        *privacy.routes,  # residents'
        # the JSON API (web/api/), then the staff page that makes its tokens
        *api.routes,
        *tokens.routes,
        Mount("/static", StaticFiles(directory=resources.static()), name="static"),
    ]
    return BudgetSimApp(
        settings,
        routes=routes,
        middleware=[
            Middleware(PublicGZipMiddleware),  # compresses pages and static files
            Middleware(
                BodyLimitMiddleware,
                max_bytes=settings.max_body_bytes,
                # the one exception: budget files are uploaded here (admins only)
                per_path={staff_budgets.UPLOAD_PATH: UPLOAD_MAX_BYTES},
            ),
            Middleware(FreshBudgetsMiddleware),  # what another worker published, within 0.5 s
        ],
        exception_handlers=exception_handlers,
        lifespan=lifespan,
    )
