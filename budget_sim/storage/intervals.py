"""The headline's bootstrap intervals, stored once computed so that every worker serves the
one computation instead of repeating it (web/insight_cache.py decides who computes)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from budget_sim.storage.tables import SharedInterval

KEEP_PER_BUDGET = 32  # older states of the submissions are not asked for again


@dataclass(frozen=True)
class StoredInterval:
    method: str
    resamples: int
    rows: int
    bounds: bytes  # Arrow IPC, as the caller wrote it


def stored_interval(session: Session, key: str) -> StoredInterval | None:
    row = session.execute(select(SharedInterval).where(SharedInterval.key == key)).scalar()
    if row is None:
        return None
    return StoredInterval(row.method, row.resamples, row.rows, row.bounds)


def store_interval(
    session: Session, slug: str, key: str, interval: StoredInterval, now: datetime
) -> None:
    """Keep `interval` under `key` (a second store of the same key keeps the first), and only
    the newest KEEP_PER_BUDGET of the budget."""
    try:
        with session.begin_nested():
            session.add(
                SharedInterval(
                    slug=slug,
                    key=key,
                    method=interval.method,
                    resamples=interval.resamples,
                    rows=interval.rows,
                    bounds=interval.bounds,
                    created_at=now,
                )
            )
    except IntegrityError:
        return
    newest = (
        select(SharedInterval.id)
        .where(SharedInterval.slug == slug)
        .order_by(SharedInterval.id.desc())
        .limit(KEEP_PER_BUDGET)
    )
    session.execute(
        delete(SharedInterval).where(SharedInterval.slug == slug, SharedInterval.id.not_in(newest))
    )
