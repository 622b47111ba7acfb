"""Budget packages uploaded by admins: revisions of (budget.toml, lines file), drafts until
published. Functions take a Session; callers own transactions. Nothing here reads the files:
`budget_sim.data` does."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import ColumnElement, Engine, func, inspect, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from budget_sim.errors import Conflict, NotFound
from budget_sim.storage.tables import BudgetPackage, StaffUser

DRAFT, PUBLISHED = "draft", "published"


@dataclass(frozen=True)
class Revision:
    """One stored revision, without its files (for lists)."""

    slug: str
    revision: int
    status: str
    digest: str
    opens_at: datetime | None
    closes_at: datetime | None
    created_at: datetime
    published_at: datetime | None
    created_by: str | None  # the admin's email

    @property
    def version(self) -> str:
        """The budget version submissions record (Budget.version)."""
        return self.digest[:16]


@dataclass(frozen=True)
class StoredPackage(Revision):
    """A revision with its files."""

    manifest: bytes = b""
    lines_name: str = ""
    lines: bytes = b""


def _utc(moment: datetime | None) -> datetime | None:
    """SQLite gives naive datetimes back; everything stored is UTC."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


def _columns(row: BudgetPackage, email: str | None) -> dict:
    return {
        "slug": row.slug,
        "revision": row.revision,
        "status": row.status,
        "digest": row.digest,
        "opens_at": _utc(row.opens_at),
        "closes_at": _utc(row.closes_at),
        "created_at": _utc(row.created_at),
        "published_at": _utc(row.published_at),
        "created_by": email,
    }


def _stored(row: BudgetPackage, email: str | None = None) -> StoredPackage:
    return StoredPackage(
        **_columns(row, email),
        manifest=row.manifest.encode("utf-8"),
        lines_name=row.lines_name,
        lines=row.lines,
    )


def has_packages_table(engine: Engine) -> bool:
    """False on a database not yet migrated to 0004 (it then holds no packages)."""
    return inspect(engine).has_table(BudgetPackage.__tablename__)


def add_revision(
    session: Session,
    *,
    slug: str,
    manifest: bytes,
    lines_name: str,
    lines: bytes,
    digest: str,
    opens_at: datetime | None,
    closes_at: datetime | None,
    created_by: int | None,
    now: datetime,
) -> tuple[int, bool]:
    """Store a draft revision of `slug`; (its revision number, whether it is new). The same
    files uploaded again give the existing revision back instead of a copy. Raises Conflict when
    another upload took the number first (the UNIQUE constraint decides)."""
    existing = session.execute(
        select(BudgetPackage.revision).where(
            BudgetPackage.slug == slug, BudgetPackage.digest == digest
        )
    ).scalar()
    if existing is not None:
        return existing, False
    latest = session.execute(
        select(func.max(BudgetPackage.revision)).where(BudgetPackage.slug == slug)
    ).scalar()
    revision = (latest or 0) + 1
    row = BudgetPackage(
        slug=slug,
        revision=revision,
        manifest=manifest.decode("utf-8"),
        lines_name=lines_name,
        lines=lines,
        digest=digest,
        status=DRAFT,
        opens_at=opens_at,
        closes_at=closes_at,
        created_by=created_by,
        created_at=now,
    )
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError as error:
        raise Conflict(f"revision {revision} of {slug} was just stored by someone else") from error
    return revision, True


def _with_email(
    session: Session, *conditions: ColumnElement[bool]
) -> list[tuple[BudgetPackage, str | None]]:
    query = (
        select(BudgetPackage, StaffUser.email)
        .outerjoin(StaffUser, StaffUser.id == BudgetPackage.created_by)
        .where(*conditions)
        .order_by(BudgetPackage.slug, BudgetPackage.revision.desc())
    )
    return [(row, email) for row, email in session.execute(query).all()]


def get_revision(session: Session, slug: str, revision: int) -> StoredPackage | None:
    found = _with_email(session, BudgetPackage.slug == slug, BudgetPackage.revision == revision)
    return _stored(*found[0]) if found else None


def current_published(session: Session, slug: str) -> StoredPackage | None:
    """The newest published revision of `slug`: the one residents get."""
    found = _with_email(session, BudgetPackage.slug == slug, BudgetPackage.status == PUBLISHED)
    return _stored(*found[0]) if found else None


def published_packages(session: Session) -> list[StoredPackage]:
    """The newest published revision of every slug that has one."""
    newest = (
        select(BudgetPackage.slug, func.max(BudgetPackage.revision).label("revision"))
        .where(BudgetPackage.status == PUBLISHED)
        .group_by(BudgetPackage.slug)
        .subquery()
    )
    rows = session.execute(
        select(BudgetPackage)
        .join(
            newest,
            (newest.c.slug == BudgetPackage.slug) & (newest.c.revision == BudgetPackage.revision),
        )
        .order_by(BudgetPackage.slug)
    ).scalars()
    return [_stored(row) for row in rows]


def revision_of_version(session: Session, slug: str, version: str) -> StoredPackage | None:
    """The revision whose files have this version (the first 16 hex digits of the digest)."""
    found = _with_email(
        session, BudgetPackage.slug == slug, BudgetPackage.digest.startswith(version)
    )
    return _stored(*found[0]) if found else None


def list_revisions(session: Session) -> list[Revision]:
    """Every revision, without files: by slug, newest first."""
    columns = [c for c in BudgetPackage.__table__.columns if c.name not in ("manifest", "lines")]
    query = (
        select(*columns, StaffUser.email)
        .outerjoin(StaffUser, StaffUser.id == BudgetPackage.created_by)
        .order_by(BudgetPackage.slug, BudgetPackage.revision.desc())
    )
    return [
        Revision(
            slug=row.slug,
            revision=row.revision,
            status=row.status,
            digest=row.digest,
            opens_at=_utc(row.opens_at),
            closes_at=_utc(row.closes_at),
            created_at=_utc(row.created_at),  # type: ignore[arg-type]
            published_at=_utc(row.published_at),
            created_by=row.email,
        )
        for row in session.execute(query)
    ]


def published_revisions(session: Session) -> dict[str, int]:
    """slug -> its newest published revision: what decides which stored package residents get.
    One scan of a covering index (status, slug, revision), never of the files: cheap enough
    for every process to ask about twice a second (web/registry.py)."""
    rows = session.execute(
        select(BudgetPackage.slug, func.max(BudgetPackage.revision))
        .where(BudgetPackage.status == PUBLISHED)
        .group_by(BudgetPackage.slug)
    )
    return {slug: revision for slug, revision in rows.all()}  # noqa: C416 (Rows, not pairs)


def publish(session: Session, slug: str, revision: int, now: datetime) -> bool:
    """Publish a draft; True when it changed, False when it was already published.
    Raises NotFound for no such revision, Conflict when a newer revision is published (it would
    not be the one residents get).

    The slug's revisions are locked first (SELECT ... FOR UPDATE on PostgreSQL; SQLite's
    BEGIN IMMEDIATE already lets one writer in at a time), so two admins publishing at the same
    moment are taken one after the other: whichever order, the newer revision ends up the
    newest published, and the older one is refused once the newer is in."""
    session.execute(
        select(BudgetPackage.id)
        .where(BudgetPackage.slug == slug)
        .order_by(BudgetPackage.revision)  # one order for everyone: no deadlock
        .with_for_update()
    ).all()
    target = get_revision(session, slug, revision)
    if target is None:
        raise NotFound(f"{slug} has no revision {revision}")
    if target.status == PUBLISHED:
        return False
    current = current_published(session, slug)
    if current is not None and current.revision > revision:
        raise Conflict(
            f"revision {current.revision} of {slug}, newer than {revision}, is already published"
        )
    session.execute(
        update(BudgetPackage)
        .where(BudgetPackage.slug == slug, BudgetPackage.revision == revision)
        .values(status=PUBLISHED, published_at=now)
    )
    return True
