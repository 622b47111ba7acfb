"""Who is asking: the client's network address as the app sees it (through the trusted proxies,
web/app.py), for the audit log, the sign-in throttle and the residents' draft quotas."""

from __future__ import annotations

from starlette.requests import Request


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"
