"""What the staff views of one budget's submissions share (the dashboard, the downloads, the
participation page, the report for council): the budget in the path if this account (or token)
may see it, the dashboard's filters read from the query (a clear 400 when they make no sense
here), and the audit log of what staff read and downloaded."""

from __future__ import annotations

from dataclasses import asdict

from starlette.exceptions import HTTPException
from starlette.requests import Request

from budget_sim.insights import report
from budget_sim.model import Budget
from budget_sim.storage import staff as staff_db
from budget_sim.web.clients import client_address
from budget_sim.web.insight_tables import filter_problem
from budget_sim.web.sessions import now
from budget_sim.web.staff.export_auth import Downloader


def visible_budget(request: Request, signed_in: Downloader) -> Budget:
    """The budget named in the path, if this account may see it; 404 otherwise."""
    slug = request.path_params["slug"]
    budget = request.state.budgets.get(slug)
    if budget is None or not signed_in.user.may_see(slug):
        raise HTTPException(404, "There is no budget at this address that your account can see.")
    return budget


def audit(request: Request, signed_in: Downloader, action: str, detail: str) -> None:
    """Record a staff action in the audit log (blocking)."""
    with request.state.database.writing() as session:
        staff_db.audit(
            session,
            action,
            now=now(),
            user_id=signed_in.user.id,
            detail=detail,
            address=client_address(request),
        )


def read_filters(request: Request, budget: Budget) -> report.Filters:
    """The dashboard's filters from the query; a clear 400 when they make no sense here."""
    problem = filter_problem(budget, request.query_params)
    if problem:
        raise HTTPException(400, f"Cannot apply these filters: {problem}")
    return report.Filters.from_query(request.query_params)


def describe(filters: report.Filters) -> str:
    """The filters in a line, for the audit log and the workbook's about sheet."""
    return " ".join(f"{key}={value}" for key, value in asdict(filters).items())
