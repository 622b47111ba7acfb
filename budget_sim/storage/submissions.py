"""Storing and reading resident submissions. Functions take a Session; callers own transactions."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path

import polars as pl
from sqlalchemy import Engine, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from budget_sim.storage.tables import BudgetPackage, BudgetVersion, Comment, Submission

SLUG = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")
MISSING = -(2**63)  # in a packed row: no amount for this line
_COMPACT_JSON = json.JSONEncoder(separators=(",", ":"))  # made once: one per fingerprint costs


def pack_amounts(line_ids: Sequence[str], amounts: Mapping[str, int]) -> bytes:
    """Cents per line as little-endian int64 in `line_ids` order (MISSING where absent)."""
    unknown = set(amounts) - set(line_ids)
    if unknown:
        raise ValueError(f"amounts for lines the budget version does not have: {sorted(unknown)}")
    return struct.pack(f"<{len(line_ids)}q", *(amounts.get(i, MISSING) for i in line_ids))


def unpack_amounts(line_ids: Sequence[str], packed: bytes) -> dict[str, int]:
    values = struct.unpack(f"<{len(line_ids)}q", packed)
    return {i: v for i, v in zip(line_ids, values, strict=True) if v != MISSING}


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

    @cached_property
    def fingerprint(self) -> str:
        normalised = {
            "amounts": dict(sorted(self.amounts.items())),
            "answers": dict(sorted(self.answers.items())),
            "comments": dict(sorted(self.comments.items())),
        }
        payload = _COMPACT_JSON.encode(normalised)  # json.dumps(..., separators=(",", ":"))
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
    """An unguessable permalink id (128 bits from the OS CSPRNG). It starts with a letter or
    digit: a leading "-" would make spreadsheets read it as a formula, so exports would have to
    neutralise it and residents could not find their receipt in the file."""
    return new_receipts(1)[0]


def new_receipts(count: int) -> list[str]:
    """`count` receipts as `new_receipt` makes them (each `secrets.token_urlsafe(16)`), from
    one read of the OS CSPRNG."""
    receipts: list[str] = []
    while len(receipts) < count:
        pool = secrets.token_bytes(16 * (count - len(receipts) + 1))
        for start in range(0, len(pool), 16):
            receipt = base64.urlsafe_b64encode(pool[start : start + 16]).rstrip(b"=").decode()
            if receipt[0].isalnum() and len(receipts) < count:
                receipts.append(receipt)
    return receipts


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


def _answers_json(new: NewSubmission) -> str:
    return json.dumps({k: v for k, v in sorted(new.answers.items()) if v}, ensure_ascii=False)


def _insert_details(session: Session, rows: Sequence[tuple[int, NewSubmission]]) -> None:
    comments = [
        {"submission_id": sid, "line_id": line_id, "text": text}
        for sid, new in rows
        for line_id, text in new.comments.items()
        if text
    ]
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
                "amounts": pack_amounts(first.line_ids, new.amounts),
                "answers": _answers_json(new),
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
    comments = session.execute(
        select(Comment.line_id, Comment.text).where(Comment.submission_id == row.id)
    ).all()
    version, line_ids = session.execute(
        select(BudgetVersion.digest, BudgetVersion.line_ids).where(
            BudgetVersion.id == row.budget_version_id
        )
    ).one()
    return StoredSubmission(
        receipt=row.receipt,
        budget_slug=row.budget_slug,
        created_at=row.created_at,
        amounts=unpack_amounts(json.loads(line_ids), row.amounts),
        answers=json.loads(row.answers),
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


ROW_SCHEMA = {
    "submission_id": pl.Int64,
    "receipt": pl.String,
    "submitted_at": pl.String,  # as stored; converted to UTC datetimes below
    "locale": pl.String,
    "synthetic": pl.Int64,
    "version_id": pl.Int64,
    "amounts": pl.Binary,
    "answers": pl.String,
}


def submission_rows(
    engine: Engine, slug: str, *, after_id: int = 0, set_aside: bool = False
) -> pl.DataFrame:
    """Every unflagged submission of a budget with an id above `after_id` (with `set_aside`,
    flagged ones too), in id order: submission_id, receipt, submitted_at (UTC), locale,
    synthetic, version_id, amounts (packed), answers (JSON text). Demo submissions included."""
    query = (
        "SELECT id AS submission_id, receipt, created_at AS submitted_at, locale, "
        "CAST(synthetic AS INTEGER) AS synthetic, budget_version_id AS version_id, amounts, "
        f"answers FROM submissions WHERE {_where(slug, after_id, set_aside)} ORDER BY id"
    )
    frame = read_frame(engine, query, ROW_SCHEMA)
    return frame.with_columns(
        submitted_at=_utc(frame["submitted_at"]), synthetic=pl.col("synthetic") != 0
    )


def comment_rows(
    engine: Engine, slug: str, *, after_id: int = 0, set_aside: bool = False
) -> pl.DataFrame:
    """The comments of a budget's unflagged submissions above `after_id` (with `set_aside`,
    flagged ones' too): submission_id, line_id ("" for the whole budget), text."""
    query = (
        "SELECT submission_id, line_id, text FROM comments WHERE submission_id IN "
        f"(SELECT id FROM submissions WHERE {_where(slug, after_id, set_aside)})"
    )
    schema = {"submission_id": pl.Int64, "line_id": pl.String, "text": pl.String}
    return read_frame(engine, query, schema)


@dataclass(frozen=True)
class StoredVersion:
    """A version of a budget submissions were made against: its digest (Budget.version), the
    number of the uploaded revision with those files (None for a package on disk), and its
    line ids in packing order."""

    digest: str
    revision: int | None
    line_ids: list[str]


def stored_versions(engine: Engine, slug: str) -> dict[int, StoredVersion]:
    """Every stored version of a budget, by id, with its revision number when it was uploaded."""
    with engine.connect() as connection:
        rows = connection.execute(
            select(BudgetVersion.id, BudgetVersion.digest, BudgetVersion.line_ids).where(
                BudgetVersion.slug == slug
            )
        ).all()
        packages = connection.execute(
            select(BudgetPackage.digest, BudgetPackage.revision).where(BudgetPackage.slug == slug)
        ).all()
    revisions = {digest[:16]: revision for digest, revision in packages}
    return {
        version: StoredVersion(digest, revisions.get(digest[:16]), json.loads(line_ids))
        for version, digest, line_ids in rows
    }


@dataclass(frozen=True)
class Stamp:
    """The state of a budget's submissions, from an index alone: it changes whenever one is
    stored, set aside or restored. `aside` sums the ids set aside and their squares, so that
    setting one aside and restoring another changes it too."""

    unflagged: int
    highest_id: int  # of the unflagged ones
    flagged: int
    aside: tuple[int, int]


def submission_stamp(engine: Engine, slug: str) -> Stamp:
    mine = Submission.budget_slug == slug
    with engine.connect() as connection:  # two index range scans; the second is tiny
        unflagged, highest = connection.execute(
            select(func.count(), func.max(Submission.id)).where(mine, Submission.flagged.is_(False))
        ).one()
        flagged, total, squares = connection.execute(
            select(
                func.count(), func.sum(Submission.id), func.sum(Submission.id * Submission.id)
            ).where(mine, Submission.flagged.is_(True))
        ).one()
    return Stamp(unflagged, highest or 0, flagged, (int(total or 0), int(squares or 0)))


def set_submission_aside(session: Session, slug: str, receipt: str, aside: bool) -> bool | None:
    """Set a submission aside (flag it: insights, exports and public results leave it out) or
    restore it. True if that changed it, False if it already was, None if there is none."""
    flagged = session.execute(
        select(Submission.flagged).where(
            Submission.budget_slug == slug, Submission.receipt == receipt
        )
    ).scalar_one_or_none()
    if flagged is None:
        return None
    if flagged == aside:
        return False
    session.execute(
        update(Submission)
        .where(Submission.budget_slug == slug, Submission.receipt == receipt)
        .values(flagged=aside)
    )
    return True


def set_aside_receipts(session: Session, slug: str, limit: int = 100) -> list[str]:
    """The receipts of a budget's submissions set aside, latest first."""
    return list(
        session.scalars(
            select(Submission.receipt)
            .where(Submission.budget_slug == slug, Submission.flagged.is_(True))
            .order_by(Submission.id.desc())
            .limit(limit)
        )
    )


def _where(slug: str, after_id: int, set_aside: bool = False) -> str:
    # connectorx takes no bound parameters: only safe slugs and integers reach the SQL text.
    if not SLUG.fullmatch(slug):
        raise ValueError(f"not a budget slug: {slug!r}")
    flagged = "" if set_aside else " AND flagged = FALSE"
    return f"budget_slug = '{slug}'{flagged} AND id > {int(after_id)}"


def _utc(times: pl.Series) -> pl.Series:
    """Stored times as UTC datetimes (SQLite keeps them as UTC text)."""
    if times.dtype == pl.String:
        return times.str.to_datetime(time_zone="UTC")
    if isinstance(times.dtype, pl.Datetime):
        zoned = times.dtype.time_zone
        return times.dt.convert_time_zone("UTC") if zoned else times.dt.replace_time_zone("UTC")
    return times


def read_frame(engine: Engine, query: str, schema: Mapping[str, pl.DataType]) -> pl.DataFrame:
    """A query's result as a Polars frame with these columns (in this order).

    PostgreSQL: through Arrow (connectorx), no Python rows. SQLite: through Python's own sqlite3
    driver, because connectorx links a second copy of SQLite into the process, and two copies
    on one database file release each other's POSIX locks (sqlite.org/howtocorrupt.html §2.2):
    the next read fails with "disk I/O error". Rows are fetched in one call and turned into
    columns at once; see BENCHMARKS.md for the cost."""
    if engine.url.get_backend_name() == "sqlite":
        connection = engine.raw_connection()
        try:
            rows = connection.cursor().execute(query).fetchall()
        finally:
            connection.close()
        columns = zip(*rows, strict=True) if rows else ([] for _ in schema)
        return pl.DataFrame(
            [
                pl.Series(name, values, dtype=dtype)
                for (name, dtype), values in zip(schema.items(), columns, strict=True)
            ]
        )
    frame = pl.read_database_uri(query, _connectorx_uri(engine), engine="connectorx")
    if frame.is_empty():
        return pl.DataFrame(schema=schema)
    return frame.rename(dict(zip(frame.columns, schema, strict=True))).cast(
        {k: v for k, v in schema.items() if v != pl.String or frame.schema[k] != pl.Datetime}
    )
