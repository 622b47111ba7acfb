"""Quotas on anonymous writes: a counter per key and window, taken atomically in the writer's
transaction (so a refused or failed write counts nothing). Keys are opaque to this module (the
web layer makes them with a keyed hash; no raw address is ever stored here), and a counter is
deleted once its window has passed."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from budget_sim.storage.tables import WriteQuota

PURGE_BATCH = 200  # rows deleted at most per purge, so no write waits long for one


class QuotaExceeded(Exception):
    """A quota is used up until `until`; nothing was counted."""

    def __init__(self, scope: str, until: datetime) -> None:
        super().__init__(f"{scope} quota used up until {until.isoformat()}")
        self.scope, self.until = scope, until


def take(session: Session, scope: str, key: str, limit: int, until: datetime) -> None:
    """Count one use of `key` (a window ending at `until`), or raise QuotaExceeded when its
    `limit` is reached. One statement (an upsert that only adds while under the limit), so
    concurrent writers never count past it."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(WriteQuota).values(key=key, used=1, expires_at=until)
    statement = statement.on_conflict_do_update(
        index_elements=[WriteQuota.key],
        set_={"used": WriteQuota.used + 1},
        where=WriteQuota.used < limit,
    ).returning(WriteQuota.used)
    if limit < 1 or session.execute(statement).scalar_one_or_none() is None:
        raise QuotaExceeded(scope, until)


def purge(session: Session, now: datetime) -> int:
    """Delete (at most PURGE_BATCH) counters whose window has passed; how many."""
    expired = select(WriteQuota.key).where(WriteQuota.expires_at < now).limit(PURGE_BATCH)
    done = session.execute(delete(WriteQuota).where(WriteQuota.key.in_(expired)))
    return done.rowcount  # type: ignore[attr-defined]
