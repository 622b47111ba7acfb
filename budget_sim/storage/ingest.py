"""Storing resident submissions: several in one transaction (group commit), each exactly once
per ballot token, and a writer thread that acknowledges each only after its batch commits."""

from __future__ import annotations

import json
import queue
import threading
from collections.abc import Sequence
from concurrent.futures import Future
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


def save_submissions(
    session: Session, batch: Sequence[NewSubmission], versions: dict[Key, int] | None = None
) -> list[Outcome]:
    """Store a batch in the session's transaction; for each submission, in order, its receipt
    or the exception that refused it alone (the others are stored all the same).

    As if stored one after another: a ballot token already used with the same choices gets
    the original receipt; with other choices, TokenReused (also within the batch). Amounts
    for lines the budget version does not have: ValueError. `versions`: budget version ids
    already known, (slug, digest) -> id; those this batch records or looks up are added."""
    outcomes: list[Outcome] = [""] * len(batch)
    rows: dict[Key, dict] = {}  # the first valid use of each token in this batch
    fresh: dict[Key, NewSubmission] = {}
    now, receipts = datetime.now(UTC), iter(new_receipts(len(batch)))
    for index, new in enumerate(batch):
        try:
            amounts = pack_amounts(new.line_ids, new.amounts)
        except ValueError as error:
            outcomes[index] = error
            continue
        key = (new.budget_slug, new.nonce)
        if key not in rows:
            fresh[key] = new
            rows[key] = {
                "budget_slug": new.budget_slug,
                "nonce": new.nonce,
                "receipt": next(receipts),
                "fingerprint": new.fingerprint,
                "created_at": now,
                "synthetic": new.synthetic,
                "locale": new.locale,
                "amounts": amounts,
                "answers": _answers_json(new),
                "digest": new.budget_digest,
            }
    if not rows:
        return outcomes
    versions = _version_ids(session, list(fresh.values()), {} if versions is None else versions)
    for (slug, _), row in rows.items():
        row["budget_version_id"] = versions[slug, row.pop("digest")]
    table = Submission.__table__  # Core, not the ORM's bulk insert: a third of the cost
    statement = _insert(session, table).on_conflict_do_nothing()
    statement = statement.returning(table.c.budget_slug, table.c.nonce, table.c.id)
    inserted = {(s, n): id_ for s, n, id_ in session.execute(statement, list(rows.values()))}
    _insert_details(session, [(id_, fresh[key]) for key, id_ in inserted.items()])
    stored = {key: (rows[key]["receipt"], rows[key]["fingerprint"]) for key in inserted}
    stored |= _stored(session, [key for key in rows if key not in inserted])
    for index, new in enumerate(batch):
        if outcomes[index] == "":
            receipt, fingerprint = stored[new.budget_slug, new.nonce]
            outcomes[index] = receipt if fingerprint == new.fingerprint else TokenReused(new.nonce)
    return outcomes


def save_submission(session: Session, new: NewSubmission) -> str:
    """Store one submission exactly once per ballot token and return its receipt.

    A retry with the same token and the same choices returns the original receipt;
    the same token with different choices raises TokenReused."""
    (outcome,) = save_submissions(session, [new])
    if isinstance(outcome, Exception):
        raise outcome
    return outcome


class SubmissionWriter:
    """Group commit: a thread that stores every submission queued by this process's requests
    in one transaction, then resolves each one's future: its receipt only once that
    transaction has committed, the exception that refused it alone (TokenReused), or, when the
    batch fails, that failure for every submission in it (none of them was stored).

    Requests queue up while a batch is being committed, so batches grow with the load and the
    cost of a commit (an fsync on SQLite, a WAL flush on PostgreSQL) is shared."""

    def __init__(self, database: Database, max_batch: int = 256) -> None:
        self.database, self.max_batch = database, max_batch
        self._queue: queue.SimpleQueue[tuple[NewSubmission, Future[str]] | None]
        self._queue = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="submission writer", daemon=True)
        self.batches = 0  # committed or failed, since start
        self._versions: dict[Key, int] = {}  # budget version ids committed so far

    def start(self) -> SubmissionWriter:
        self._thread.start()
        return self

    def submit(self, new: NewSubmission) -> Future[str]:
        """Queue a submission; the future holds its receipt once it is committed."""
        future: Future[str] = Future()
        self._queue.put((new, future))
        return future

    def close(self) -> None:
        """Store what is queued, then stop the thread."""
        self._queue.put(None)
        if self._thread.is_alive():
            self._thread.join()

    def _run(self) -> None:
        stopping = False
        while not stopping:
            item = self._queue.get()
            batch = []
            while item is not None:
                new, future = item
                if future.set_running_or_notify_cancel():  # False: nobody waits for it
                    batch.append((new, future))
                if len(batch) >= self.max_batch:
                    break
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
            stopping = item is None
            if batch:
                self._write(batch)

    def _write(self, batch: list[tuple[NewSubmission, Future[str]]]) -> None:
        self.batches += 1
        versions = dict(self._versions)  # a batch rolled back leaves no id behind
        try:
            with self.database.writing() as session:
                outcomes = save_submissions(session, [new for new, _ in batch], versions)
        except Exception as error:  # nothing in this batch was stored: nothing is acknowledged
            for _, future in batch:
                future.set_exception(error)
            return
        self._versions = versions
        for (_, future), outcome in zip(batch, outcomes, strict=True):
            if isinstance(outcome, Exception):
                future.set_exception(outcome)
            else:
                future.set_result(outcome)
