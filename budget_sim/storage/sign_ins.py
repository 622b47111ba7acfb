"""Sign-in attempts, for the throttle: what failed lately for an account, an address and the
pair, read and reserved atomically. Functions take a Session inside `Database.writing()`.

An attempt is reserved before its password is checked: its row is written as a failure in the
same transaction that read the counts, under a lock per account and per address, so concurrent
attempts see each other (on SQLite writes are serialised anyway; on PostgreSQL an advisory
transaction lock does it). The check itself runs outside any transaction; a success then
turns the row into one."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import ColumnElement, func, insert, select, update
from sqlalchemy.orm import Session

from budget_sim.storage.tables import LoginAttempt

ADDRESS_MAX = 64  # the column's width


@dataclass(frozen=True)
class Failures:
    count: int
    latest: datetime | None


@dataclass(frozen=True)
class History:
    """Failed sign-ins since some moment (pending checks count as failures)."""

    account: Failures  # for this email, from anywhere
    address: Failures  # from this address, for any email
    pair: int  # for this email from this address, since the pair's last success


def _normal(email: str) -> str:
    return email.strip().lower()


def _lock_id(name: str) -> int:
    """A signed 64-bit key for PostgreSQL's advisory locks."""
    return int.from_bytes(
        hashlib.blake2b(name.encode(), digest_size=8).digest(), "big", signed=True
    )


def lock(session: Session, email: str, address: str) -> None:
    """Hold the account's and the address's sign-in lock until the transaction ends. Taken in
    one order (by key), so two attempts never wait on each other in a circle."""
    if session.get_bind().dialect.name != "postgresql":
        return  # SQLite: one writer at a time already
    keys = sorted(
        {_lock_id(f"sign-in account {_normal(email)}"), _lock_id(f"sign-in address {address}")}
    )
    for key in keys:
        session.execute(select(func.pg_advisory_xact_lock(key)))


def _failures(session: Session, since: datetime, *conditions: ColumnElement[bool]) -> Failures:
    count, latest = session.execute(
        select(func.count(), func.max(LoginAttempt.at)).where(
            LoginAttempt.at >= since, LoginAttempt.success.is_(False), *conditions
        )
    ).one()
    return Failures(count, None if latest is None else _utc(latest))


def history(session: Session, email: str, address: str, since: datetime) -> History:
    """The failures since `since` that decide whether this attempt may be checked now."""
    email, address = _normal(email), address[:ADDRESS_MAX]
    pair = (LoginAttempt.email == email, LoginAttempt.address == address)
    cleared = session.execute(
        select(func.max(LoginAttempt.at)).where(
            *pair, LoginAttempt.at >= since, LoginAttempt.success.is_(True)
        )
    ).scalar_one()
    return History(
        account=_failures(session, since, LoginAttempt.email == email),
        address=_failures(session, since, LoginAttempt.address == address),
        pair=_failures(session, max(since, _utc(cleared)) if cleared else since, *pair).count,
    )


def reserve(session: Session, email: str, address: str, now: datetime) -> int:
    """Record an attempt about to be checked, as a failure until `succeeded` says otherwise
    (one that never finishes, say in a crash, stays a failure). Returns its id."""
    return session.execute(
        insert(LoginAttempt)
        .values(at=now, email=_normal(email), address=address[:ADDRESS_MAX], success=False)
        .returning(LoginAttempt.id)
    ).scalar_one()


def succeeded(session: Session, attempt_id: int) -> None:
    session.execute(update(LoginAttempt).where(LoginAttempt.id == attempt_id).values(success=True))


def failed(session: Session, attempt_id: int, now: datetime) -> None:
    """The attempt's password did not match: it failed now (the wait runs from its answer)."""
    session.execute(update(LoginAttempt).where(LoginAttempt.id == attempt_id).values(at=now))


def _utc(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes; everything stored here is UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
