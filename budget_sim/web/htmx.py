"""The one place that reads htmx request headers."""

from __future__ import annotations

from starlette.requests import Request


def wants_fragment(request: Request) -> bool:
    """True for an htmx request that swaps part of the page (not a history restore)."""
    headers = request.headers
    return (
        headers.get("HX-Request") == "true" and headers.get("HX-History-Restore-Request") != "true"
    )
