"""Storing and reading resident submissions. Functions take a Session; callers own transactions."""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
from sqlalchemy import Engine, func, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from budget_sim.storage.tables import Allocation, Answer, BudgetVersion, Comment, Submission

SLUG = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")


class TokenReused(Exception):
    """The ballot token was already used for a different budget choice."""


@dataclass(frozen=True)
class NewSubmission:
    """A validated submission, ready to store (amounts in cents by line id)."""

    budget_slug: str
    budget_digest: str
    line_ids: Sequence[str]
    nonce: str
    amounts: Mapping[str, int]
    answers: Mapping[str, str]
    synthetic: bool = False
    comments: Mapping[str, str] = field(default_factory=dict)  # line id ("" overall) -> text
    locale: str = "en"

    @property
    def fingerprint(self) -> str:
        normalised = {
            "amounts": dict(sorted(self.amounts.items())),
            "answers": dict(sorted(self.answers.items())),
            "comments": dict(sorted(self.comments.items())),
        }
        payload = json.dumps(normalised, separators=(",", ":"))
        return hashlib.sha256(payload.encode()).hexdigest()


@dataclass(frozen=True)
class StoredSubmission:
    receipt: str
    budget_slug: str
    created_at: datetime
    amounts: dict[str, int]
    answers: dict[str, str]
    synthetic: bool
    comments: dict[str, str]
    locale: str
    budget_version: str = ""  # the version (Budget.version) of the budget it was made against


def new_receipt() -> str:
    """An unguessable permalink id (128 bits from the OS CSPRNG)."""
    return secrets.token_urlsafe(16)


def _insert_ignoring_conflicts(session: Session, table: type, values: dict) -> int | None:
    """INSERT ... ON CONFLICT DO NOTHING RETURNING id: the new id, or None if a row existed."""
    dialect = session.get_bind().dialect.name
    module = postgresql if dialect == "postgresql" else sqlite
    statement = module.insert(table).values(**values).on_conflict_do_nothing()
    return session.execute(statement.returning(table.id)).scalar_one_or_none()


def budget_version_id(session: Session, slug: str, digest: str, line_ids: Sequence[str]) -> int:
    """The id of this budget version, recording it on first use."""
    values = {
        "slug": slug,
        "digest": digest,
        "line_ids": json.dumps(list(line_ids)),
        "created_at": datetime.now(UTC),
    }
    new_id = _insert_ignoring_conflicts(session, BudgetVersion, values)
    if new_id is not None:
        return new_id
    query = select(BudgetVersion.id).where(
        BudgetVersion.slug == slug, BudgetVersion.digest == digest
    )
    return session.execute(query).scalar_one()


def save_submission(session: Session, new: NewSubmission) -> str:
    """Store a submission exactly once per ballot token and return its receipt.

    A retry with the same token and the same choices returns the original receipt;
    the same token with different choices raises TokenReused.
    """
    version_id = budget_version_id(session, new.budget_slug, new.budget_digest, new.line_ids)
    receipt = new_receipt()
    submission_id = _insert_ignoring_conflicts(
        session,
        Submission,
        {
            "budget_slug": new.budget_slug,
            "budget_version_id": version_id,
            "nonce": new.nonce,
            "receipt": receipt,
            "fingerprint": new.fingerprint,
            "created_at": datetime.now(UTC),
            "synthetic": new.synthetic,
            "locale": new.locale,
        },
    )
    if submission_id is None:
        existing = session.execute(
            select(Submission.receipt, Submission.fingerprint).where(
                Submission.budget_slug == new.budget_slug, Submission.nonce == new.nonce
            )
        ).one()
        if existing.fingerprint != new.fingerprint:
            raise TokenReused(new.nonce)
        return existing.receipt
    _insert_details(session, [(submission_id, new)])
    return receipt


def _insert_details(session: Session, rows: Sequence[tuple[int, NewSubmission]]) -> None:
    allocations = [
        {"submission_id": sid, "line_id": line_id, "amount": amount}
        for sid, new in rows
        for line_id, amount in new.amounts.items()
    ]
    answers = [
        {"submission_id": sid, "question_id": qid, "value": value}
        for sid, new in rows
        for qid, value in new.answers.items()
        if value
    ]
    comments = [
        {"submission_id": sid, "line_id": line_id, "text": text}
        for sid, new in rows
        for line_id, text in new.comments.items()
        if text
    ]
    # Core inserts (executemany), not the ORM's bulk path: a thousand submissions of Cambridge
    # are 114,000 allocation rows.
    session.execute(Allocation.__table__.insert(), allocations)
    if answers:
        session.execute(Answer.__table__.insert(), answers)
    if comments:
        session.execute(Comment.__table__.insert(), comments)


def save_many(session: Session, batch: Sequence[NewSubmission]) -> int:
    """Store a batch of fresh submissions (demo data) in one transaction; returns how many."""
    if not batch:
        return 0
    first = batch[0]
    version_id = budget_version_id(session, first.budget_slug, first.budget_digest, first.line_ids)
    now = datetime.now(UTC)
    ids = session.scalars(
        insert(Submission).returning(Submission.id, sort_by_parameter_order=True),
        [
            {
                "budget_slug": new.budget_slug,
                "budget_version_id": version_id,
                "nonce": new.nonce,
                "receipt": new_receipt(),
                "fingerprint": new.fingerprint,
                "created_at": now,
                "synthetic": new.synthetic,
                "locale": new.locale,
            }
            for new in batch
        ],
    ).all()
    _insert_details(session, list(zip(ids, batch, strict=True)))
    return len(ids)


def get_submission(session: Session, slug: str, receipt: str) -> StoredSubmission | None:
    """The submission behind a receipt, or None."""
    row = session.execute(
        select(Submission).where(Submission.budget_slug == slug, Submission.receipt == receipt)
    ).scalar_one_or_none()
    if row is None:
        return None
    amounts = session.execute(
        select(Allocation.line_id, Allocation.amount).where(Allocation.submission_id == row.id)
    ).all()
    answers = session.execute(
        select(Answer.question_id, Answer.value).where(Answer.submission_id == row.id)
    ).all()
    comments = session.execute(
        select(Comment.line_id, Comment.text).where(Comment.submission_id == row.id)
    ).all()
    version = session.execute(
        select(BudgetVersion.digest).where(BudgetVersion.id == row.budget_version_id)
    ).scalar_one()
    return StoredSubmission(
        receipt=row.receipt,
        budget_slug=row.budget_slug,
        created_at=row.created_at,
        amounts=dict(amounts),
        answers=dict(answers),
        synthetic=row.synthetic,
        comments=dict(comments),
        locale=row.locale,
        budget_version=version,
    )


def count_submissions(session: Session, slug: str) -> int:
    """How many submissions a budget has (synthetic ones included)."""
    return session.execute(
        select(func.count()).select_from(Submission).where(Submission.budget_slug == slug)
    ).scalar_one()


def _connectorx_uri(engine: Engine) -> str:
    url = engine.url
    if url.get_backend_name() == "sqlite":
        return f"sqlite://{Path(url.database).resolve()}"
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def allocations_frame(engine: Engine, slug: str, *, include_synthetic: bool = True) -> pl.DataFrame:
    """Every stored allocation of a budget as a long frame (submission_id, line_id, amount),
    read through Arrow (connectorx), never through Python row tuples."""
    if not SLUG.fullmatch(slug):  # connectorx takes no bound parameters: allow only safe slugs
        raise ValueError(f"not a budget slug: {slug!r}")
    synthetic = "" if include_synthetic else " AND s.synthetic = FALSE"
    where = f"WHERE s.budget_slug = '{slug}' AND s.flagged = FALSE{synthetic}"
    joined = "FROM allocations a JOIN submissions s ON s.id = a.submission_id"
    if engine.url.get_backend_name() == "sqlite":
        # One text per line, built by SQLite in C and split by Polars: no row per allocation
        # ever becomes a Python object (see read_frame for why not connectorx here).
        packed = read_frame(
            engine,
            "SELECT a.line_id AS line_id, "
            f"group_concat(a.submission_id || ',' || a.amount, ';') AS packed {joined} {where} "
            "GROUP BY a.line_id",
        )
        frame = (
            packed.with_columns(pl.col("packed").str.split(";"))
            .explode("packed")
            .with_columns(
                pl.col("packed")
                .str.split_exact(",", 1)
                .struct.rename_fields(["submission_id", "amount"])
            )
            .unnest("packed")
            .select("submission_id", "line_id", "amount")
        )
    else:
        query = f"SELECT a.submission_id, a.line_id, a.amount {joined} {where}"
        frame = read_frame(engine, query)
    return frame.cast({"submission_id": pl.Int64, "line_id": pl.String, "amount": pl.Int64})


def read_frame(engine: Engine, query: str) -> pl.DataFrame:
    """A query's result as a Polars frame.

    PostgreSQL: through Arrow (connectorx), no Python rows. SQLite: through Python's own sqlite3
    driver, because connectorx links a second copy of SQLite into the process, and two copies
    on one database file release each other's POSIX locks (sqlite.org/howtocorrupt.html §2.2):
    the next read fails with "disk I/O error". Correct first; see BENCHMARKS.md for the cost."""
    if engine.url.get_backend_name() == "sqlite":
        with engine.connect() as connection:
            return pl.read_database(query, connection)
    return pl.read_database_uri(query, _connectorx_uri(engine), engine="connectorx")
