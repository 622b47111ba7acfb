"""Health checks for a load balancer, systemd or a monitor: `/healthz` says the process answers
(it touches nothing else); `/readyz` says the database answers and its schema is this code's."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from budget_sim.storage.migrate import readiness_problem

NOT_CACHED = {"Cache-Control": "no-store"}


async def healthz(_request: Request) -> PlainTextResponse:
    return PlainTextResponse("ok", headers=NOT_CACHED)


async def readyz(request: Request) -> PlainTextResponse:
    problem = await run_in_threadpool(readiness_problem, request.state.database.read_engine)
    if problem:
        return PlainTextResponse(problem, status_code=503, headers=NOT_CACHED)
    return PlainTextResponse("ready", headers=NOT_CACHED)


routes = [
    Route("/healthz", healthz, methods=["GET", "HEAD"]),
    Route("/readyz", readyz, methods=["GET", "HEAD"]),
]
