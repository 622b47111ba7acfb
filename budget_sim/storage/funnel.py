"""Participation funnel events: written in batches by a background task, outside every
resident's request and outside the submissions' transactions; read per budget for the staff
page; deleted once older than the retention period.

A request only appends a tuple to a list (well under a microsecond); `FunnelWriter` stores what
has queued once a second (or sooner past `max_batch`), in one INSERT, and then deletes a batch of
events past retention. A resident dragging a slider recalculates several times a second: those
"change" events of one ballot, queued one after another, are stored as one (the funnel reads of
them only whether any was within the rules, the last line and the last answers), so the table
grows by residents, not by key presses. Events still queued when a process is killed are lost
(they are statistics, not votes); a clean stop writes them first."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import polars as pl
from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from budget_sim.storage.engine import Database
from budget_sim.storage.tables import FunnelEvent

LOG = logging.getLogger(__name__)
KINDS = ("opened", "change", "refused", "submitted")
PURGE_BATCH = 1000  # events deleted at most per write, so no write waits long for it
SCHEMA = {
    "ballot": pl.String,
    "kind": pl.String,
    "at": pl.Datetime("us", "UTC"),
    "within": pl.Boolean,
    "line_id": pl.String,
    "answers": pl.String,
}


@dataclass(frozen=True)
class Event:
    budget_slug: str
    ballot: str  # an HMAC of the ballot's nonce (web/resident/funnel.py), never the nonce itself
    kind: str
    at: datetime
    within: bool = False
    line_id: str | None = None
    answers: str = "{}"

    def merged(self, later: Event) -> Event:
        """This "change" event and a `later` one of the same ballot, as the funnel reads them:
        the first moment, within the rules if either was, the last line and answers given."""
        return Event(
            budget_slug=self.budget_slug,
            ballot=self.ballot,
            kind=self.kind,
            at=self.at,
            within=self.within or later.within,
            line_id=later.line_id or self.line_id,
            answers=later.answers if later.answers != "{}" else self.answers,
        )

    def row(self) -> dict:
        return {
            "budget_slug": self.budget_slug,
            "ballot": self.ballot,
            "kind": self.kind,
            "at": self.at,
            "within": self.within,
            "line_id": self.line_id,
            "answers": self.answers,
        }


def save_events(session: Session, events: Sequence[Event]) -> None:
    """Store events in the session's transaction (one statement)."""
    if events:
        session.execute(insert(FunnelEvent.__table__), [event.row() for event in events])


def purge_events(session: Session, before: datetime) -> int:
    """Delete (at most PURGE_BATCH) events recorded before `before`; how many."""
    old = select(FunnelEvent.id).where(FunnelEvent.at < before).limit(PURGE_BATCH)
    done = session.execute(delete(FunnelEvent).where(FunnelEvent.id.in_(old)))
    return done.rowcount  # type: ignore[attr-defined]


def load_events(session: Session, slug: str) -> pl.DataFrame:
    """Every stored event of a budget, oldest first (columns: SCHEMA)."""
    query = (
        select(
            FunnelEvent.ballot,
            FunnelEvent.kind,
            FunnelEvent.at,
            FunnelEvent.within,
            FunnelEvent.line_id,
            FunnelEvent.answers,
        )
        .where(FunnelEvent.budget_slug == slug)
        .order_by(FunnelEvent.at, FunnelEvent.id)
    )
    rows = [
        (b, k, at if at.tzinfo else at.replace(tzinfo=UTC), w, line, a)
        for b, k, at, w, line, a in session.execute(query)
    ]
    return pl.DataFrame(rows, schema=SCHEMA, orient="row")


class FunnelWriter:
    """Stores queued events every `interval` seconds (sooner once `max_batch` are queued) and
    purges those older than `retention_days`. Like the submissions' writer, on SQLite it takes
    the write lock from the event loop without waiting for it (so it never holds the lock while
    waiting for the GIL); on PostgreSQL it writes from a thread of its own."""

    def __init__(
        self,
        database: Database,
        retention_days: int,
        *,
        interval: float = 1.0,
        max_batch: int = 2000,
    ) -> None:
        self.database, self.retention = database, timedelta(days=retention_days)
        self.interval, self.max_batch = interval, max_batch
        self.written = 0  # events stored since start
        self._queue: list[Event] = []
        self._latest: dict[tuple[str, str], int] = {}  # (budget, ballot) -> its last in _queue
        self._full = asyncio.Event()
        self._closing = False
        self._task: asyncio.Task[None] | None = None
        self._thread = None if database.sqlite else ThreadPoolExecutor(1, "funnel writer")

    def record(self, event: Event) -> None:
        """Queue an event (never waits, never fails the request); a "change" right after
        another of the same ballot is folded into it."""
        key = (event.budget_slug, event.ballot)
        latest = self._latest.get(key)
        if event.kind == "change" and latest is not None and self._queue[latest].kind == "change":
            self._queue[latest] = self._queue[latest].merged(event)
            return
        self._latest[key] = len(self._queue)
        self._queue.append(event)
        if len(self._queue) >= self.max_batch:
            self._full.set()

    def start(self) -> FunnelWriter:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="funnel events")
        return self

    async def flush(self) -> None:
        """Store what is queued now (and purge a batch of old events)."""
        batch, self._queue, self._latest = self._queue, [], {}
        now = datetime.now(UTC)
        if self._thread is None:
            pause = 0.0005
            while (transaction := self.database.try_writing()) is None:
                await asyncio.sleep(pause)
                pause = min(2 * pause, 0.005)
            with transaction as session:  # no await in here
                self._write(session, batch, now)
        else:
            loop = asyncio.get_running_loop()
            await loop.run_in_executor(self._thread, self._write_new, batch, now)
        self.written += len(batch)

    def _write(self, session: Session, batch: list[Event], now: datetime) -> None:
        save_events(session, batch)
        purge_events(session, now - self.retention)

    def _write_new(self, batch: list[Event], now: datetime) -> None:
        with self.database.writing() as session:
            self._write(session, batch, now)

    async def close(self) -> None:
        """Store what is queued, then stop."""
        self._closing = True
        self._full.set()
        if self._task is not None:
            await self._task
        if self._thread is not None:
            self._thread.shutdown()

    async def _run(self) -> None:
        while not self._closing:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._full.wait(), self.interval)
            self._full.clear()
            if self._queue or self._closing:
                try:
                    await self.flush()
                except Exception:  # statistics: never take the site down; the batch is lost
                    LOG.exception("a batch of funnel events could not be stored")
