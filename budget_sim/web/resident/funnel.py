"""Recording the participation funnel from the resident pages, without cookies or addresses.

A visit is known by its ballot token (web/resident/ballots.py), which the resident's form
carries; an event is keyed by an HMAC-SHA256 of the ballot's nonce with the site's signing key,
so the events cannot be joined to a stored submission (whose row keeps the nonce) by anyone
without that key. An event holds the budget, the step, the time, whether the plan kept the rules,
the line just changed and the answers to the budget's questions: never an address, a cookie,
an amount or a comment. Recording only queues the event (storage/funnel.py FunnelWriter)."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from functools import lru_cache

from starlette.requests import Request

from budget_sim.model import Budget, compile_budget
from budget_sim.storage.funnel import Event
from budget_sim.web.resident.ballots import BallotSigner, ExpiredBallot, ForgedBallot

MAX_TOKEN = 256  # ours are about 110 characters
LINE_HEADER = "X-Budget-Line"  # set by static/simulator.js: the line whose input changed


def ballot_key(secret: str, nonce: str) -> str:
    message = f"budget-sim funnel\0{nonce}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


@lru_cache(maxsize=8192)  # a page recalculates many times with the same token: check it once
def _key_of(ballots: BallotSigner, token: str, slug: str) -> str | None:
    try:
        nonce = ballots.nonce(token, slug)
    except (ExpiredBallot, ForgedBallot):
        return None
    return ballot_key(ballots.secret_key, nonce)


def record(
    request: Request,
    budget: Budget,
    kind: str,
    token: str,
    *,
    within: bool = False,
    line_id: str | None = None,
    answers: Mapping[str, str] | None = None,
) -> None:
    """Queue one event of this ballot (nothing when the token is not a valid one)."""
    if len(token) > MAX_TOKEN:  # not one of ours: never a key of the cache
        return
    key = _key_of(request.state.ballots, token, budget.slug)
    if key is None:
        return
    if line_id is not None and line_id not in compile_budget(budget).index:
        line_id = None
    known = {q.id: {o.id for o in q.options} for q in budget.questions}
    given = {q: o for q, o in (answers or {}).items() if o in known.get(q, ())}
    request.state.funnel.record(
        Event(
            budget_slug=budget.slug,
            ballot=key,
            kind=kind,
            at=datetime.now(UTC),
            within=within,
            line_id=line_id,
            answers=json.dumps(given, sort_keys=True) if given else "{}",
        )
    )


def changed_line(request: Request, reset: str) -> str | None:
    """The line this recalculation changed: named by the page's script, or the line reset."""
    if reset and reset != "*":
        return reset
    return request.headers.get(LINE_HEADER) or None
