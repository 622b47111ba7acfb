"""Staff sign-in: a throttle that slows guessing without locking staff out, and a password check
that runs outside any database transaction.

An attempt goes through three steps:
1. a short write transaction reads the recent failures under a lock per account and address
   (`storage.sign_ins`), and either refuses the attempt (429, saying when to try again; it is
   not counted, so refusals never extend the wait) or reserves it as a failure;
2. the argon2 check runs in a small pool of its own (never inside a transaction, so SQLite's
   single writer never waits for it, and at most PASSWORD_CHECKS_AT_ONCE at a time);
3. a second short transaction records the outcome and, on success, starts the session.
An unknown email is checked against a dummy hash, so the time taken does not say whether an
account exists."""

from __future__ import annotations

import asyncio
import ipaddress
import math
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from budget_sim import accounts
from budget_sim.storage import Database
from budget_sim.storage import sign_ins as sign_ins_db
from budget_sim.storage import staff as staff_db
from budget_sim.web.clients import client_address
from budget_sim.web.security import same_origin
from budget_sim.web.sessions import now, set_session_cookie
from budget_sim.web.staff.auth import has_control, printable, render
from budget_sim.web.urls import absolute, path_for

EMAIL_MAX = 254
NO_MATCH = "That email and password do not match an active account."
T = TypeVar("T")

_checks = ThreadPoolExecutor(accounts.PASSWORD_CHECKS_AT_ONCE, thread_name_prefix="password")


async def hashing(work: Callable[..., T], *args: object) -> T:
    """Run argon2 work off the event loop, in the password pool (waiting there costs no thread
    of the shared pool that resident requests use)."""
    return await asyncio.get_running_loop().run_in_executor(_checks, work, *args)


def safe_next(target: str | None) -> str:
    """Only our own staff pages: never an open redirect."""
    if (
        target
        and target.startswith("/staff")
        and not target.startswith("//")
        and "\\" not in target
    ):
        return target
    return "/staff"


@dataclass(frozen=True)
class Refused:
    scope: str  # "account" or "address"
    until: datetime


@dataclass(frozen=True)
class Reserved:
    attempt_id: int
    user: staff_db.Staff | None


def _wait(history: sign_ins_db.History) -> Refused | None:
    """Whether this attempt must wait, and until when (the later of the two waits)."""
    waits = []
    until = accounts.next_attempt_at(
        history.address.count, history.address.latest, accounts.ADDRESS_FREE_FAILURES
    )
    if until is not None:
        waits.append(Refused("address", until))
    if history.pair:  # only an address that failed for this account is slowed by its failures
        until = accounts.next_attempt_at(
            history.account.count, history.account.latest, accounts.ACCOUNT_FREE_FAILURES
        )
        if until is not None:
            waits.append(Refused("account", until))
    return max(waits, key=lambda refused: refused.until, default=None)


def reserve(database: Database, email: str, address: str) -> Refused | Reserved:
    """Step 1: refuse the attempt, or reserve it (as a failure) and find the account."""
    with database.writing() as session:
        sign_ins_db.lock(session, email, address)
        moment = now()  # once the lock is held: attempts are recorded in the order they count
        history = sign_ins_db.history(session, email, address, moment - accounts.THROTTLE_WINDOW)
        refused = _wait(history)
        if refused is not None and refused.until > moment:
            staff_db.audit(
                session,
                "sign-in refused: throttled",
                now=moment,
                detail=f"{refused.scope} {email}",
                address=address,
            )
            return refused
        attempt_id = sign_ins_db.reserve(session, email, address, moment)
        return Reserved(attempt_id, staff_db.staff_by_email(session, email))


def finish(
    database: Database,
    reserved: Reserved,
    *,
    good: bool,
    new_hash: str | None,
    email: str,
    address: str,
) -> str | None:
    """Step 3: record the outcome; on success start a session and return its cookie token."""
    user, moment = reserved.user, now()
    with database.writing() as session:
        if not (user and good and user.active):
            sign_ins_db.failed(session, reserved.attempt_id, moment)
            staff_db.audit(
                session,
                "sign-in failed",
                now=moment,
                user_id=user.id if user else None,
                detail=email,
                address=address,
            )
            return None
        sign_ins_db.succeeded(session, reserved.attempt_id)
        if new_hash and user.password_hash:
            staff_db.replace_password_hash(session, user.id, user.password_hash, new_hash)
        token = accounts.new_token()
        staff_db.start_session(
            session, user.id, accounts.token_digest(token), accounts.new_token(), moment
        )
        staff_db.audit(session, "signed in", now=moment, user_id=user.id, address=address)
    return token


def wait_message(refused: Refused, moment: datetime) -> str:
    seconds = max(1, math.ceil((refused.until - moment).total_seconds()))
    if seconds < 90:
        wait = f"{seconds} second{'s' if seconds != 1 else ''}"
    else:
        wait = f"{math.ceil(seconds / 60)} minutes"
    who = (
        "this account from your network address"
        if refused.scope == "account"
        else "your network address"
    )
    return (
        f"Too many failed sign-ins for {who}. For your security, wait {wait} before trying "
        f"again (until {refused.until.strftime('%H:%M:%S UTC')})."
    )


def needs_https(request: Request) -> str | None:
    """Why sign-in cannot work here, if it cannot: over plain http to anything but this
    computer, browsers drop the session cookie (it is Secure), so signing in would silently
    lead back to this page."""
    host = request.url.hostname or ""
    if request.url.scheme == "https" or host == "localhost" or host.endswith(".localhost"):
        return None
    try:
        if ipaddress.ip_address(host.strip("[]")).is_loopback:
            return None
    except ValueError:
        pass
    base = request.state.settings.base_url
    where = (
        f"Open {absolute(request, path_for(request, 'staff_login'))} instead."
        if base and base.startswith("https://")
        else "Ask whoever runs this site to serve it over HTTPS (see docs/deploy.md)."
    )
    return f"Staff sign-in needs HTTPS: this page was opened over plain http. {where}"


async def login_page(request: Request) -> Response:
    return render(
        request,
        "login.html",
        {"next": safe_next(request.query_params.get("next")), "insecure": needs_https(request)},
    )


async def login(request: Request) -> Response:
    if not same_origin(request):
        raise HTTPException(403, "Sign in from this site's own page.")
    form = await request.form(max_files=0, max_fields=10)
    email = str(form.get("email", "")).strip().lower()[:EMAIL_MAX]
    password = str(form.get("password", ""))[: accounts.PASSWORD_MAX_CHARS]
    target = safe_next(str(form.get("next", "")))

    def page(error: str, status: int, headers: dict[str, str] | None = None) -> Response:
        response = render(
            request, "login.html", {"next": target, "email": email, "error": error}, status
        )
        response.headers.update(headers or {})
        return response

    insecure = needs_https(request)
    if insecure:  # nothing is checked or recorded: the browser would drop the session anyway
        return render(
            request, "login.html", {"next": target, "email": email, "insecure": insecure}, 400
        )
    if not email or not password:
        return page("Enter your email and password.", 400)
    if has_control(email):
        email = printable(email)
        return page(
            "An email address holds no control characters (such as NUL): type it again.", 400
        )
    database, address = request.state.database, client_address(request)
    outcome = await run_in_threadpool(reserve, database, email, address)
    if isinstance(outcome, Refused):
        moment = now()
        retry = max(1, math.ceil((outcome.until - moment).total_seconds()))
        return page(wait_message(outcome, moment), 429, {"Retry-After": str(retry)})
    stored = outcome.user.password_hash if outcome.user else None
    good = await hashing(accounts.verify_password, stored, password)
    new_hash = None
    if good and stored and accounts.needs_rehash(stored):
        new_hash = await hashing(accounts.hash_password, password)
    token = await run_in_threadpool(
        finish, database, outcome, good=good, new_hash=new_hash, email=email, address=address
    )
    if token is None:
        return page(NO_MATCH, 401)
    response = RedirectResponse(target, status_code=303)
    set_session_cookie(response, token)
    return response


routes = [
    Route("/staff/login", login_page, name="staff_login", methods=["GET"]),
    Route("/staff/login", login, name="staff_login_post", methods=["POST"]),
]
