"""The one place that reads htmx request headers (and those static/simulator.js adds)."""

from __future__ import annotations

from starlette.requests import Request


def wants_fragment(request: Request) -> bool:
    """True for an htmx request that swaps part of the page (not a history restore)."""
    headers = request.headers
    return (
        headers.get("HX-Request") == "true" and headers.get("HX-History-Restore-Request") != "true"
    )


def chart_table_open(request: Request) -> bool:
    """Whether the resident has the money chart's table open (static/simulator.js says so): the
    redrawn chart must keep it open."""
    return request.headers.get("X-Chart-Table") == "open"
