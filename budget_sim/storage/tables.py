"""SQLAlchemy tables. Every "one per X" rule is a UNIQUE constraint, not a check in Python."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# SQLite only makes INTEGER PRIMARY KEY an auto-incrementing rowid; PostgreSQL wants BIGINT.
BigId = BigInteger().with_variant(Integer(), "sqlite")

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class BudgetVersion(Base):
    """One version of a budget package, identified by the digest of its files."""

    __tablename__ = "budget_versions"
    __table_args__ = (UniqueConstraint("slug", "digest"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    slug: Mapped[str] = mapped_column(String(64))
    digest: Mapped[str] = mapped_column(String(64))
    line_ids: Mapped[str] = mapped_column(Text)  # JSON list, in the package's order
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Submission(Base):
    """A resident's submitted budget. Append-only."""

    __tablename__ = "submissions"
    __table_args__ = (UniqueConstraint("budget_slug", "nonce"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    budget_slug: Mapped[str] = mapped_column(String(64), index=True)
    budget_version_id: Mapped[int] = mapped_column(ForeignKey("budget_versions.id"))
    nonce: Mapped[str] = mapped_column(String(64))  # from the ballot token: the idempotency key
    receipt: Mapped[str] = mapped_column(String(64), unique=True)  # unguessable permalink id
    fingerprint: Mapped[str] = mapped_column(String(64))  # digest of the normalised payload
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    synthetic: Mapped[bool] = mapped_column(Boolean, default=False)  # made by `budget-sim demo`
    flagged: Mapped[bool] = mapped_column(Boolean, default=False)
    locale: Mapped[str] = mapped_column(String(16), default="en", server_default="en")


class Allocation(Base):
    """The amount a submission gives one line, in cents. One row per submission and line."""

    __tablename__ = "allocations"

    submission_id: Mapped[int] = mapped_column(
        ForeignKey("submissions.id", ondelete="CASCADE"), primary_key=True
    )
    line_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    amount: Mapped[int] = mapped_column(BigInteger)


class Answer(Base):
    """A resident's answer to one of the budget's questions. One per submission and question."""

    __tablename__ = "answers"

    submission_id: Mapped[int] = mapped_column(
        ForeignKey("submissions.id", ondelete="CASCADE"), primary_key=True
    )
    question_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(200))


class Comment(Base):
    """A resident's comment on one line, or on the whole budget (line_id ""). One per pair."""

    __tablename__ = "comments"

    submission_id: Mapped[int] = mapped_column(
        ForeignKey("submissions.id", ondelete="CASCADE"), primary_key=True
    )
    line_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    text: Mapped[str] = mapped_column(Text)


class Draft(Base):
    """A resident's unfinished budget, saved behind an unguessable link (no account, no cookie).
    Immutable: saving again makes a new draft."""

    __tablename__ = "drafts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    budget_slug: Mapped[str] = mapped_column(String(64))
    key: Mapped[str] = mapped_column(String(64), unique=True)
    payload: Mapped[str] = mapped_column(Text)  # JSON: amounts (cents), answers, comments
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
