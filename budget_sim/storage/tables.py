"""SQLAlchemy tables. Every "one per X" rule is a UNIQUE constraint, not a check in Python."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
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
    __table_args__ = (
        UniqueConstraint("budget_slug", "nonce"),
        # What a budget's insights read: its unflagged rows by id (covers the staleness check).
        Index("ix_submissions_budget_slug_flagged_id", "budget_slug", "flagged", "id"),
    )

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
    # Cents per line as little-endian int64, in the order of its budget version's line_ids
    # (INT64_MIN: no amount): one row per submission, read into Polars without a row per line.
    amounts: Mapped[bytes] = mapped_column(LargeBinary)
    answers: Mapped[str] = mapped_column(Text, default="{}", server_default="{}")  # JSON object


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
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


class WriteQuota(Base):
    """How many anonymous writes (drafts) one page or one network address made in a window.
    The key is a keyed hash (HMAC) of the scope, the subject and the window, never a raw
    address; a row is deleted once its window has passed."""

    __tablename__ = "write_quotas"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    used: Mapped[int] = mapped_column(Integer)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


class StaffUser(Base):
    """A member of the city's budget staff. Never deleted: disabled, so the audit log holds."""

    __tablename__ = "staff_users"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)  # stored lower-case
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))  # "admin" or "analyst"
    budgets: Mapped[str] = mapped_column(Text, default="*")  # "*" or a JSON list of slugs
    password_hash: Mapped[str | None] = mapped_column(String(255), nullable=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    invite_hash: Mapped[str | None] = mapped_column(String(64), unique=True, nullable=True)
    invite_expires_at: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True), nullable=True
    )
    # What the pending one-time link (invite_hash) is for: "invite" or "reset"; None: no link
    # was ever made after migration 0011 (a link then is an invitation).
    invite_purpose: Mapped[str | None] = mapped_column(String(16), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class StaffSession(Base):
    """A signed-in browser. The cookie holds a random token; only its SHA-256 is stored."""

    __tablename__ = "staff_sessions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class LoginAttempt(Base):
    """Every sign-in attempt, for throttling per account and per address, and for the audit."""

    __tablename__ = "login_attempts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    email: Mapped[str] = mapped_column(String(254), index=True)
    address: Mapped[str] = mapped_column(String(64), index=True)
    success: Mapped[bool] = mapped_column(Boolean)


class AuditEntry(Base):
    """What a member of staff did, when, from where. Append-only."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"), nullable=True)
    action: Mapped[str] = mapped_column(String(64))
    detail: Mapped[str] = mapped_column(Text, default="")
    address: Mapped[str] = mapped_column(String(64), default="")


class BudgetPackage(Base):
    """A budget package uploaded by an admin: one row per revision, never changed except from
    draft to published. The newest published revision of a slug is the one residents get."""

    __tablename__ = "budget_packages"
    __table_args__ = (
        UniqueConstraint("slug", "revision"),
        # Covers "the newest published revision of each slug" without reading the files: every
        # process asks it about twice a second (web/registry.py).
        Index("ix_budget_packages_published", "status", "slug", "revision"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), index=True)
    revision: Mapped[int] = mapped_column(Integer)  # 1, 2, ... per slug
    manifest: Mapped[str] = mapped_column(Text)  # budget.toml, as checked
    lines_name: Mapped[str] = mapped_column(String(64))  # lines.csv or lines.xlsx
    lines: Mapped[bytes] = mapped_column(LargeBinary)
    digest: Mapped[str] = mapped_column(String(64))  # SHA-256 of budget.toml + lines file
    status: Mapped[str] = mapped_column(String(16))  # "draft" or "published"
    opens_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    closes_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class PublicResults(Base):
    """Whether staff chose to publish a budget's results page and open data. One row per budget,
    changed in place; the audit log keeps the history."""

    __tablename__ = "public_results"

    slug: Mapped[str] = mapped_column(String(64), primary_key=True)
    published: Mapped[bool] = mapped_column(Boolean, default=False)
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    changed_by: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"), nullable=True)


class HeadlineChoice(Base):
    """The method staff chose as a budget's headline on the dashboard and the public page. One
    row per budget, changed in place (no row: the default, `budget_sim.insights.HEADLINE`); the
    audit log keeps the history."""

    __tablename__ = "headline_choices"

    slug: Mapped[str] = mapped_column(String(64), primary_key=True)
    method: Mapped[str] = mapped_column(String(32))
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    changed_by: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"), nullable=True)


class ApiToken(Base):
    """A personal API token of a member of staff. Only the SHA-256 of the secret is stored; it
    acts with its owner's role and budgets, and stops working when revoked, expired or when the
    account is disabled."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class SharedInterval(Base):
    """The headline's bootstrap intervals of one view of one state of a budget's submissions,
    computed by one worker and read by every other (web/insight_cache.py). `key` is a digest of
    the budget version, the filters, the submissions' stamp and the number of resamples; only
    the newest few per budget are kept."""

    __tablename__ = "insight_intervals"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), index=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    method: Mapped[str] = mapped_column(String(16))
    resamples: Mapped[int] = mapped_column(Integer)
    rows: Mapped[int] = mapped_column(Integer)  # residents in each resample
    bounds: Mapped[bytes] = mapped_column(LargeBinary)  # Arrow IPC: line_id, low, high
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class FunnelEvent(Base):
    """One step of a resident's visit, for the participation funnel: the page opened (a ballot
    issued), a recalculation (`within`: its plan kept the budget's rules), a submit refused, a
    submission. `ballot` is an HMAC (with the site's signing key) of the ballot's nonce, so it
    cannot be joined to a submission; no address, cookie or amount is kept. Deleted
    `funnel_retention_days` after it was recorded (storage/funnel.py)."""

    __tablename__ = "funnel_events"
    __table_args__ = (Index("ix_funnel_events_budget_slug_at", "budget_slug", "at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    budget_slug: Mapped[str] = mapped_column(String(64))
    ballot: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))  # opened, change, refused, submitted
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    within: Mapped[bool] = mapped_column(Boolean, default=False)
    line_id: Mapped[str | None] = mapped_column(String(64), nullable=True)  # the line changed
    answers: Mapped[str] = mapped_column(Text, default="{}")  # JSON: question id -> option id
