"""The read-only JSON API under /api/v1/ for staff, and the page where staff make personal API
tokens for their scripts.

Who may call it: a signed-in browser (the staff session cookie, same-origin only) or a script
sending `Authorization: Bearer <token>`. A token acts with its owner's role and budgets; only its
SHA-256 is stored; it stops working when revoked, when it expires or when its account is
disabled. Answers are never cached and carry no CORS headers (no other site can read them).
Errors are `{"error": {"code": ..., "message": ...}}`. Money in insight tables is in currency
units as decimal strings (columns named *_amount); submissions give integer cents
(`amounts_cents`)."""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import wraps
from typing import Any

import polars as pl
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Match, Route

from budget_sim import accounts
from budget_sim.insights import report
from budget_sim.model import Budget
from budget_sim.storage import results as results_db
from budget_sim.storage import staff as staff_db
from budget_sim.storage import tokens as tokens_db
from budget_sim.storage.exports import removed_lines
from budget_sim.web.bearer import BadToken, token_owner
from budget_sim.web.paths import ROW
from budget_sim.web.staff.auth import (
    NO_STORE,
    SignedIn,
    client_address,
    load_session,
    now,
    render,
    same_origin,
    staff_view,
)
from budget_sim.web.staff.insights import export_frame, filter_problem, load_report, load_table
from budget_sim.web.windows import staff_window

logger = logging.getLogger("budget_sim")

PREFIX = "/api/v1"
TOKEN_PREFIX = "bsk_"  # lets secret scanners recognise a leaked token
TOKEN_LIFETIMES = {"30": timedelta(days=30), "90": timedelta(days=90), "365": timedelta(days=365)}
TOKEN_NAME_MAX = 100
TOKENS_PER_ACCOUNT = 10  # active ones
PAGE_DEFAULT, PAGE_MAX = 100, 1000
WHOLE = re.compile(r"[0-9]{1,9}")  # ASCII digits only ("١٢" is not a number here), never huge
CODES = {
    400: "bad_request",
    401: "not_authenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
}
HOW_TO_AUTHENTICATE = (
    "Sign in to the staff pages, or send a personal API token (make one at /staff/tokens) "
    "as the header `Authorization: Bearer <token>`."
)


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def _json_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


class JsonResponse(Response):
    """JSON that also writes exact decimals (as strings) and dates (ISO 8601)."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        text = json.dumps(content, default=_json_value, ensure_ascii=False, allow_nan=False)
        return text.encode()


def error_response(status: int, code: str, message: str) -> Response:
    response = JsonResponse({"error": {"code": code, "message": message}}, status_code=status)
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="budget-sim"'
    return response


@dataclass(frozen=True)
class Caller:
    user: staff_db.Staff
    via: str  # "token" or "session"


def _authenticate(request: Request) -> Caller:
    """The caller, by bearer token if one is sent (no fallback to the cookie), else by the
    staff session cookie on a same-origin request (blocking)."""
    header = request.headers.get("authorization")
    if header is not None:
        try:
            return Caller(token_owner(request, header), "token")
        except BadToken as error:
            raise ApiError(401, error.code, error.message) from None
    signed_in = load_session(request)
    if signed_in is None:
        raise ApiError(401, "not_authenticated", HOW_TO_AUTHENTICATE)
    if not same_origin(request):
        raise ApiError(
            403, "cross_origin", "The session cookie works only from this site's own pages."
        )
    return Caller(signed_in.user, "session")


View = Callable[[Request, Caller], Awaitable[Response]]


def api_view(view: View) -> Callable[[Request], Awaitable[Response]]:
    """Authenticate, run the view, answer every problem as a JSON error; never cached."""

    @wraps(view)
    async def guarded(request: Request) -> Response:
        try:
            caller = await run_in_threadpool(_authenticate, request)
            response = await view(request, caller)
        except ApiError as error:
            response = error_response(error.status, error.code, error.message)
        except HTTPException as error:
            code = CODES.get(error.status_code, "error")
            response = error_response(error.status_code, code, str(error.detail))
        except Exception:
            logger.exception("unhandled error on %s %s", request.method, request.url.path)
            response = error_response(
                500, "server_error", "Nothing you sent caused this. Try again in a moment."
            )
        response.headers.update(NO_STORE)
        return response

    return guarded


def _budget(request: Request, caller: Caller) -> Budget:
    """The budget named in the path if the caller may see it (404 otherwise: no leak)."""
    slug = request.path_params["slug"]
    budget = request.state.budgets.get(slug)
    if budget is None or not caller.user.may_see(slug):
        raise ApiError(404, "not_found", f"There is no budget {slug!r} that you can see.")
    return budget


def _audit(request: Request, caller: Caller, action: str, detail: str) -> None:
    with request.state.database.writing() as session:
        staff_db.audit(
            session,
            action,
            now=now(),
            user_id=caller.user.id,
            detail=f"{detail} via={caller.via}",
            address=client_address(request),
        )


def _filters(request: Request, budget: Budget) -> report.Filters:
    problem = filter_problem(budget, request.query_params)
    if problem:
        raise ApiError(400, "bad_filter", problem)
    return report.Filters.from_query(request.query_params)


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


def _int_param(request: Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    if not WHOLE.fullmatch(raw) or not low <= int(raw) <= high:
        raise ApiError(400, f"bad_{name}", f"{name} must be a whole number from {low} to {high}.")
    return int(raw)


def _flag(request: Request, name: str) -> bool:
    raw = request.query_params.get(name, "0")
    if raw not in ("0", "1"):
        raise ApiError(400, f"bad_{name}", f"{name} must be 1 or 0.")
    return raw == "1"


def _submission(row: dict[str, Any], line_ids: list[str], removed: list[str]) -> dict[str, Any]:
    return {
        "receipt": row["receipt"],
        "submitted_at": row["submitted_at"],
        "locale": row["locale"],
        "synthetic": row["synthetic"],
        "revision": row["revision"],
        "budget_version": row["budget_version"],
        "amounts_cents": {line: row[line] for line in line_ids},
        # lines a later revision removed, for the submissions made when they existed
        "removed_amounts_cents": {line: row[line] for line in removed if row[line] is not None},
        "answers": {
            k.removeprefix("answer."): v
            for k, v in row.items()
            if k.startswith("answer.") and v is not None
        },
        "comments": {
            k.removeprefix("comment").removeprefix("."): v
            for k, v in row.items()
            if k.startswith("comment") and v is not None
        },
    }


@api_view
async def submissions(request: Request, caller: Caller) -> Response:
    """A page of submissions in the order they were stored: `?after=<next of the previous
    page>&limit=<1..1000>&synthetic=1&set_aside=1`. Amounts in integer cents."""
    budget = _budget(request, caller)
    limit = _int_param(request, "limit", PAGE_DEFAULT, 1, PAGE_MAX)
    after = request.query_params.get("after", "")
    include_synthetic = _flag(request, "synthetic")
    include_set_aside = _flag(request, "set_aside")

    def page() -> tuple[pl.DataFrame, int, bool]:
        table = load_table(
            request,
            budget,
            include_synthetic=include_synthetic,
            include_set_aside=include_set_aside,
        )
        start = 0
        if after:
            found = table.with_row_index("__row").filter(pl.col("receipt") == after)["__row"]
            if found.is_empty():
                raise ApiError(
                    400,
                    "bad_after",
                    "after must be the `next` value of a previous page; this one names no "
                    "submission here (it may have been flagged since): start again without it.",
                )
            start = int(found[0]) + 1
        rows = table.slice(start, limit)
        _audit(
            request,
            caller,
            "api read submissions",
            f"{budget.slug} start={start} rows={rows.height} synthetic={include_synthetic}"
            + (" set_aside=True" if include_set_aside else ""),
        )
        return rows, table.height, start + rows.height < table.height

    rows, total, more = await run_in_threadpool(page)
    line_ids = budget.line_ids
    removed = removed_lines(rows, line_ids)
    items = [_submission(row, line_ids, removed) for row in rows.iter_rows(named=True)]
    following = items[-1]["receipt"] if more and items else None
    query = f"?after={following}&limit={limit}" + ("&synthetic=1" if include_synthetic else "")
    query += "&set_aside=1" if include_set_aside else ""
    return JsonResponse(
        {
            "budget": budget.slug,
            "currency": budget.currency,
            "lines": line_ids,
            "total": total,
            "count": len(items),
            "submissions": items,
            "next": following,
            "next_url": f"{PREFIX}/budgets/{budget.slug}/submissions{query}" if following else None,
        }
    )


def _query(request: Request) -> str:
    return f"?{request.url.query}" if request.url.query else ""


@api_view
async def insights(request: Request, caller: Caller) -> Response:
    """The insight tables of a budget under the dashboard's filters (synthetic, segment,
    weights): their names, sizes and columns."""
    budget = _budget(request, caller)
    filters = _filters(request, budget)
    results = await run_in_threadpool(load_report, request, budget, filters)
    base = f"{PREFIX}/budgets/{budget.slug}/insights"
    tables = []
    for name, frame in results.tables.items():
        exported = export_frame(name, frame.clear())
        tables.append(
            {
                "name": name,
                "rows": frame.height,
                "columns": exported.columns,
                "url": f"{base}/{name}{_query(request)}",
            }
        )
    return JsonResponse(
        {
            "budget": budget.slug,
            "filters": asdict(filters),
            "submissions": results.table.height,
            "tables": tables,
        }
    )


def _column_type(dtype: pl.DataType) -> str:
    if isinstance(dtype, pl.Decimal):
        return "decimal"
    if dtype.is_integer():
        return "integer"
    if dtype.is_float():
        return "number"
    if dtype == pl.Boolean:
        return "boolean"
    if dtype == pl.Date:
        return "date"
    if isinstance(dtype, pl.Datetime):
        return "datetime"
    return "string"


def _finite(value: Any) -> Any:
    return None if isinstance(value, float) and not math.isfinite(value) else value


@api_view
async def insight_table(request: Request, caller: Caller) -> Response:
    """One insight table as rows of JSON objects; money as decimal strings (*_amount)."""
    budget = _budget(request, caller)
    filters = _filters(request, budget)
    name = request.path_params["table"]

    def build() -> pl.DataFrame:
        results = load_report(request, budget, filters)
        if name not in results.tables:
            raise ApiError(
                404,
                "not_found",
                f"This budget has no insight table {name!r} under these filters. "
                f"Its tables: {', '.join(results.tables)}.",
            )
        frame = export_frame(name, results.tables[name])
        detail = " ".join(f"{k}={v}" for k, v in asdict(filters).items())
        _audit(
            request,
            caller,
            "api read insight table",
            f"{budget.slug} {name} rows={frame.height} {detail}",
        )
        return frame

    frame = await run_in_threadpool(build)
    rows = [{k: _finite(v) for k, v in row.items()} for row in frame.iter_rows(named=True)]
    return JsonResponse(
        {
            "budget": budget.slug,
            "table": name,
            "filters": asdict(filters),
            "currency": budget.currency,
            "columns": [{"name": c, "type": _column_type(t)} for c, t in frame.schema.items()],
            "rows": rows,
        }
    )


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


# --- Personal API tokens (a staff page) ---


def _token_context(request: Request, signed_in: SignedIn) -> dict[str, Any]:
    moment = now()
    with request.state.database.reading() as session:
        tokens = tokens_db.list_tokens(session, signed_in.user.id)
        others = (
            tokens_db.working_tokens(session, moment, except_user=signed_in.user.id)
            if signed_in.user.role == "admin"
            else []
        )
    return {
        "me": signed_in,
        "tokens": tokens,
        "others": others,
        "moment": moment,
        "lifetimes": TOKEN_LIFETIMES,
        "name_max": TOKEN_NAME_MAX,
        "per_account": TOKENS_PER_ACCOUNT,
        "revoked": request.query_params.get("revoked"),
        "api": PREFIX,
    }


@staff_view()
async def tokens_page(request: Request, signed_in: SignedIn) -> Response:
    context = await run_in_threadpool(_token_context, request, signed_in)
    return render(request, "tokens.html", context)


@staff_view()
async def create_token(request: Request, signed_in: SignedIn, form: dict[str, str]) -> Response:
    """Make a token and show it once; only its SHA-256 is kept."""
    name = form.get("name", "").strip()
    days = form.get("days", "")
    problems = {}
    if not name or len(name) > TOKEN_NAME_MAX:
        problems["name"] = (
            f"Name the token after the script that uses it (1 to {TOKEN_NAME_MAX} characters)."
        )
    if days not in TOKEN_LIFETIMES:
        problems["days"] = f"Choose how long it works: {', '.join(TOKEN_LIFETIMES)} days."
    secret = TOKEN_PREFIX + accounts.new_token()

    def create() -> str | None:
        moment = now()
        with request.state.database.writing() as session:
            if tokens_db.count_active(session, signed_in.user.id, moment) >= TOKENS_PER_ACCOUNT:
                return (
                    f"You already have {TOKENS_PER_ACCOUNT} working tokens: revoke one you no "
                    "longer use first."
                )
            token_id = tokens_db.create_token(
                session,
                user_id=signed_in.user.id,
                name=name,
                token_hash=accounts.token_digest(secret),
                now=moment,
                lifetime=TOKEN_LIFETIMES[days],
            )
            staff_db.audit(
                session,
                "created API token",
                now=moment,
                user_id=signed_in.user.id,
                detail=f"id={token_id} {name!r} for {days} days",
                address=client_address(request),
            )
        return None

    if not problems:
        refused = await run_in_threadpool(create)
        if refused:
            problems["name"] = refused
    context = await run_in_threadpool(_token_context, request, signed_in)
    if problems:
        return render(request, "tokens.html", {**context, "problems": problems, "form": form}, 400)
    return render(request, "tokens.html", {**context, "created": {"name": name, "secret": secret}})


@staff_view()
async def revoke_token(request: Request, signed_in: SignedIn, form: dict[str, str]) -> Response:
    """Revoke one of the account's own tokens (an admin: anyone's); it stops working at once."""
    token_id = request.path_params["token_id"]
    owner = None if signed_in.user.role == "admin" else signed_in.user.id

    def revoke() -> tokens_db.TokenInfo | None:
        moment = now()
        with request.state.database.writing() as session:
            revoked = tokens_db.revoke_token(session, token_id, owner, moment)
            if revoked is not None:
                staff_db.audit(
                    session,
                    "revoked API token",
                    now=moment,
                    user_id=signed_in.user.id,
                    detail=f"id={token_id} {revoked.name!r}"
                    + (
                        f" of user {revoked.user_id}"
                        if revoked.user_id != signed_in.user.id
                        else ""
                    ),
                    address=client_address(request),
                )
        return revoked

    if await run_in_threadpool(revoke) is None:
        raise HTTPException(404, "You have no working API token with this number.")
    return RedirectResponse(f"/staff/tokens?revoked={token_id}", status_code=303)


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
    Route("/staff/tokens", tokens_page, name="staff_tokens", methods=["GET"]),
    Route("/staff/tokens", create_token, name="staff_token_create", methods=["POST"]),
    Route(
        f"/staff/tokens/{{token_id:{ROW}}}/revoke",
        revoke_token,
        name="staff_token_revoke",
        methods=["POST"],
    ),
]
