"""Storing resident submissions: several in one transaction (group commit), each exactly once
per ballot token, and the writer that acknowledges each only after its batch has committed."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from budget_sim.storage.engine import Database
from budget_sim.storage.submissions import (
    NewSubmission,
    TokenReused,
    _answers_json,
    _insert_details,
    new_receipts,
    pack_amounts,
)
from budget_sim.storage.tables import BudgetVersion, Submission

Outcome = str | Exception  # a receipt, or why this one submission was refused
Key = tuple[str, str]  # (budget slug, ballot nonce): a submission's idempotency key


def _insert(session: Session, table: type):  # type: ignore[no-untyped-def]
    """INSERT for this session's dialect (both have ON CONFLICT DO NOTHING)."""
    dialect = session.get_bind().dialect.name
    return (postgresql if dialect == "postgresql" else sqlite).insert(table)


def _version_ids(
    session: Session, batch: Sequence[NewSubmission], known: dict[Key, int]
) -> dict[Key, int]:
    """(slug, digest) -> id of that budget version, recording the versions not seen before;
    `known` ids (versions are never deleted) are not looked up again, and get the new ones."""
    wanted = {
        (new.budget_slug, new.budget_digest): new.line_ids
        for new in batch
        if (new.budget_slug, new.budget_digest) not in known
    }
    if not wanted:
        return known

    def found() -> dict[Key, int]:
        query = select(BudgetVersion.slug, BudgetVersion.digest, BudgetVersion.id).where(
            BudgetVersion.slug.in_({slug for slug, _ in wanted}),
            BudgetVersion.digest.in_({digest for _, digest in wanted}),
        )
        return {(slug, digest): id_ for slug, digest, id_ in session.execute(query)}

    ids = found()
    missing = [
        {"slug": slug, "digest": digest, "line_ids": json.dumps(list(line_ids))}
        for (slug, digest), line_ids in wanted.items()
        if (slug, digest) not in ids
    ]
    if missing:
        now = datetime.now(UTC)
        statement = _insert(session, BudgetVersion.__table__).on_conflict_do_nothing()
        session.execute(statement, [{**row, "created_at": now} for row in missing])
        ids = found()
    known.update(ids)
    return known


def _stored(session: Session, keys: Sequence[Key]) -> dict[Key, tuple[str, str]]:
    """(slug, nonce) -> (receipt, fingerprint) of these submissions already stored."""
    if not keys:
        return {}
    query = select(
        Submission.budget_slug, Submission.nonce, Submission.receipt, Submission.fingerprint
    ).where(
        Submission.budget_slug.in_({slug for slug, _ in keys}),
        Submission.nonce.in_({nonce for _, nonce in keys}),
    )
    wanted = set(keys)
    return {(s, n): (r, f) for s, n, r, f in session.execute(query) if (s, n) in wanted}


@dataclass
class Prepared:
    """A batch turned into rows before any lock is taken: the first valid use of each ballot
    token becomes a row; the outcomes of the refused ones are already known."""

    batch: Sequence[NewSubmission]
    outcomes: list[Outcome]  # "" until stored
    rows: dict[Key, dict]
    fresh: dict[Key, NewSubmission]


def prepare(batch: Sequence[NewSubmission]) -> Prepared:
    prepared = Prepared(batch, [""] * len(batch), {}, {})
    now, receipts = datetime.now(UTC), iter(new_receipts(len(batch)))
    for index, new in enumerate(batch):
        try:
            amounts = pack_amounts(new.line_ids, new.amounts)
        except ValueError as error:
            prepared.outcomes[index] = error
            continue
        key = (new.budget_slug, new.nonce)
        if key not in prepared.rows:
            prepared.fresh[key] = new
            prepared.rows[key] = {
                "budget_slug": new.budget_slug,
                "nonce": new.nonce,
                "receipt": next(receipts),
                "fingerprint": new.fingerprint,
                "created_at": now,
                "synthetic": new.synthetic,
                "locale": new.locale,
                "amounts": amounts,
                "answers": _answers_json(new),
            }
    return prepared


def store(session: Session, prepared: Prepared, versions: dict[Key, int]) -> list[Outcome]:
    """Store prepared rows in the session's transaction (a few statements for the whole
    batch); the outcome of each submission. `versions` gets the budget version ids used."""
    rows, outcomes = prepared.rows, list(prepared.outcomes)
    if not rows:
        return outcomes
    _version_ids(session, list(prepared.fresh.values()), versions)
    for key, row in rows.items():
        new = prepared.fresh[key]
        row["budget_version_id"] = versions[new.budget_slug, new.budget_digest]
    table = Submission.__table__  # Core, not the ORM's bulk insert: a third of the cost
    statement = _insert(session, table).on_conflict_do_nothing()
    statement = statement.returning(table.c.budget_slug, table.c.nonce, table.c.id)
    inserted = {(s, n): id_ for s, n, id_ in session.execute(statement, list(rows.values()))}
    _insert_details(session, [(id_, prepared.fresh[key]) for key, id_ in inserted.items()])
    stored = {key: (rows[key]["receipt"], rows[key]["fingerprint"]) for key in inserted}
    stored |= _stored(session, [key for key in rows if key not in inserted])
    for index, new in enumerate(prepared.batch):
        if outcomes[index] == "":
            receipt, fingerprint = stored[new.budget_slug, new.nonce]
            outcomes[index] = receipt if fingerprint == new.fingerprint else TokenReused(new.nonce)
    return outcomes


def save_submissions(session: Session, batch: Sequence[NewSubmission]) -> list[Outcome]:
    """Store a batch in the session's transaction; for each submission, in order, its receipt
    or the exception that refused it alone (the others are stored all the same).

    As if stored one after another: a ballot token already used with the same choices gets
    the original receipt; with other choices, TokenReused (also within the batch). Amounts
    for lines the budget version does not have: ValueError."""
    return store(session, prepare(batch), {})


def save_submission(session: Session, new: NewSubmission) -> str:
    """Store one submission exactly once per ballot token and return its receipt.

    A retry with the same token and the same choices returns the original receipt;
    the same token with different choices raises TokenReused."""
    (outcome,) = save_submissions(session, [new])
    if isinstance(outcome, Exception):
        raise outcome
    return outcome


class SubmissionWriter:
    """Group commit for one process: a task on its event loop stores every submission queued
    by concurrent requests in one transaction, then resolves each one's future with its
    receipt only once that transaction has committed, or with the exception that refused it
    alone (TokenReused); when the batch fails, every future gets that failure (none of them
    was stored). Requests queue up while a batch is written, so batches grow with the load
    and share the cost of a commit (an fsync on SQLite, a WAL flush on PostgreSQL).

    On SQLite the transaction runs on the event loop itself, once the write lock (shared with
    other processes) is free: it never waits for Python's GIL while it holds that lock, so
    several worker processes take turns quickly. The loop never waits for the lock; it polls.
    On PostgreSQL, which has no such lock, it runs in a thread of its own."""

    def __init__(self, database: Database, max_batch: int = 256) -> None:
        self.database, self.max_batch = database, max_batch
        self.batches = 0  # written (committed or failed) since start
        self._queue: list[tuple[NewSubmission, asyncio.Future[str]]] = []
        self._ready = asyncio.Event()
        self._closing = False
        self._task: asyncio.Task[None] | None = None
        self._thread = None if database.sqlite else ThreadPoolExecutor(1, "submission writer")
        self._versions: dict[Key, int] = {}  # budget version ids committed so far

    def submit(self, new: NewSubmission) -> asyncio.Future[str]:
        """Queue a submission; the future holds its receipt once it is committed."""
        future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._queue.append((new, future))
        self._ready.set()
        return future

    def start(self) -> SubmissionWriter:
        """Start writing (on the running event loop)."""
        self._task = asyncio.get_running_loop().create_task(self._run(), name="group commit")
        return self

    async def close(self) -> None:
        """Store what is queued, then stop."""
        self._closing = True
        self._ready.set()
        if self._task is not None:
            await self._task
        if self._thread is not None:
            self._thread.shutdown()

    async def _run(self) -> None:
        while True:
            await self._ready.wait()
            self._ready.clear()
            while self._queue:
                batch = [(n, f) for n, f in self._queue[: self.max_batch] if not f.done()]
                del self._queue[: self.max_batch]
                if batch:
                    await self._write(batch)
            if self._closing:
                return

    async def _write(self, batch: list[tuple[NewSubmission, asyncio.Future[str]]]) -> None:
        self.batches += 1
        versions = dict(self._versions)  # a batch rolled back leaves no id behind
        try:
            prepared = prepare([new for new, _ in batch])
            if self._thread is None:
                outcomes = await self._in_loop(prepared, versions)
            else:
                loop = asyncio.get_running_loop()
                outcomes = await loop.run_in_executor(self._thread, self._store, prepared, versions)
        except Exception as error:  # nothing in this batch was stored: nothing is acknowledged
            for _, future in batch:
                if not future.done():
                    future.set_exception(error)
            return
        self._versions = versions
        for (_, future), outcome in zip(batch, outcomes, strict=True):
            if future.done():  # its request went away; it is stored all the same
                continue
            if isinstance(outcome, Exception):
                future.set_exception(outcome)
            else:
                future.set_result(outcome)

    def _store(self, prepared: Prepared, versions: dict[Key, int]) -> list[Outcome]:
        with self.database.writing() as session:
            return store(session, prepared, versions)

    async def _in_loop(self, prepared: Prepared, versions: dict[Key, int]) -> list[Outcome]:
        pause = 0.0002
        while (transaction := self.database.try_writing()) is None:
            await asyncio.sleep(pause)  # another writer is in: try again soon
            pause = min(2 * pause, 0.002)
        with transaction as session:  # no await in here: nothing else runs meanwhile
            return store(session, prepared, versions)
