"""Which budgets publish their results, and submission counts per budget. Functions take a
Session."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from budget_sim.storage.tables import PublicResults, Submission


def set_public(
    session: Session, slug: str, published: bool, *, now: datetime, user_id: int | None
) -> bool:
    """Publish (or withdraw) a budget's results; True when this changed anything."""
    if is_public(session, slug) == published:
        return False
    dialect = session.get_bind().dialect.name
    module = postgresql if dialect == "postgresql" else sqlite
    values = {"published": published, "changed_at": now, "changed_by": user_id}
    statement = module.insert(PublicResults).values(slug=slug, **values)
    session.execute(statement.on_conflict_do_update(index_elements=["slug"], set_=values))
    return True


def is_public(session: Session, slug: str) -> bool:
    return bool(
        session.execute(
            select(PublicResults.published).where(PublicResults.slug == slug)
        ).scalar_one_or_none()
    )


def public_slugs(session: Session) -> set[str]:
    return set(session.scalars(select(PublicResults.slug).where(PublicResults.published.is_(True))))


def submission_counts(session: Session) -> dict[str, tuple[int, int]]:
    """Per budget slug: (residents' submissions, demo submissions), flagged ones left out."""
    rows = session.execute(
        select(Submission.budget_slug, Submission.synthetic, func.count())
        .where(Submission.flagged.is_(False))
        .group_by(Submission.budget_slug, Submission.synthetic)
    ).all()
    counts: dict[str, tuple[int, int]] = {}
    for slug, synthetic, count in rows:
        residents, demo = counts.get(slug, (0, 0))
        counts[slug] = (residents, demo + count) if synthetic else (residents + count, demo)
    return counts
