"""Which method each budget shows as its headline (staff's choice; none stored: the default).
Functions take a Session."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from budget_sim.storage.tables import HeadlineChoice


def chosen_method(session: Session, slug: str) -> str | None:
    """The method staff chose for this budget's headline, or None (the default applies)."""
    return session.execute(
        select(HeadlineChoice.method).where(HeadlineChoice.slug == slug)
    ).scalar_one_or_none()


def choose_method(
    session: Session, slug: str, method: str, *, now: datetime, user_id: int | None
) -> str | None:
    """Store `method` as the budget's headline; the method chosen before (None: the default).
    The caller checks that `method` is one of the aggregation methods."""
    before = chosen_method(session, slug)
    dialect = session.get_bind().dialect.name
    module = postgresql if dialect == "postgresql" else sqlite
    values = {"method": method, "changed_at": now, "changed_by": user_id}
    statement = module.insert(HeadlineChoice).values(slug=slug, **values)
    session.execute(statement.on_conflict_do_update(index_elements=["slug"], set_=values))
    return before
