"""Benchmark-only app factory, for `uvicorn --app-dir benchmarks --factory bench_app:create_app`.

`create_app`: the real app (`budget_sim.web.create_app()`, same middleware, same settings)
plus `GET /_bench/trivial`, a tiny PlainTextResponse: the yardstick the recalculation
fragment is compared with on the same server process. Never used by the app itself."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from budget_sim.web import create_app as create_real_app

TRIVIAL_PATH = "/_bench/trivial"


async def trivial(_request: Request) -> PlainTextResponse:
    """Async like the recalculation view, so neither pays a thread-pool hop."""
    return PlainTextResponse("ok")


def create_app() -> Starlette:
    app = create_real_app()
    app.router.routes.append(Route(TRIVIAL_PATH, trivial, methods=["GET"]))
    return app
