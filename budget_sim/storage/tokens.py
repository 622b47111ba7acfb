"""Personal API tokens of staff. Only a token's SHA-256 is stored. Functions take a Session."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from budget_sim.storage.staff import Staff, staff_by_id
from budget_sim.storage.tables import ApiToken, StaffUser

TOUCH_EVERY = timedelta(minutes=5)  # last_used_at is kept to this precision: fewer writes


@dataclass(frozen=True)
class TokenInfo:
    id: int
    name: str
    created_at: datetime
    expires_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None
    user_id: int  # the account it belongs to

    def status(self, now: datetime) -> str:
        """ "active", "revoked" or "expired"."""
        if self.revoked_at is not None:
            return "revoked"
        return "expired" if self.expires_at <= now else "active"


@dataclass(frozen=True)
class OwnedToken:
    """A working token of some account, as an admin reviews them."""

    token: TokenInfo
    owner_email: str
    owner_name: str


@dataclass(frozen=True)
class TokenOwner:
    token_id: int
    user: Staff
    last_used_at: datetime | None


def _utc(moment: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; everything stored here is UTC."""
    if moment is None:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _info(row: ApiToken) -> TokenInfo:
    return TokenInfo(
        row.id,
        row.name,
        _utc(row.created_at),  # type: ignore[arg-type]
        _utc(row.expires_at),  # type: ignore[arg-type]
        _utc(row.last_used_at),
        _utc(row.revoked_at),
        row.user_id,
    )


def create_token(
    session: Session,
    *,
    user_id: int,
    name: str,
    token_hash: str,
    now: datetime,
    lifetime: timedelta,
) -> int:
    return session.execute(
        insert(ApiToken)
        .values(
            user_id=user_id,
            name=name,
            token_hash=token_hash,
            created_at=now,
            expires_at=now + lifetime,
        )
        .returning(ApiToken.id)
    ).scalar_one()


def list_tokens(session: Session, user_id: int) -> list[TokenInfo]:
    """Every token of an account, newest first (revoked and expired ones too)."""
    rows = session.scalars(
        select(ApiToken).where(ApiToken.user_id == user_id).order_by(ApiToken.id.desc())
    )
    return [_info(row) for row in rows]


def working_tokens(session: Session, now: datetime, *, except_user: int) -> list[OwnedToken]:
    """Every token that still works (not revoked, not expired), of accounts other than
    `except_user`, newest first, with its owner."""
    rows = session.execute(
        select(ApiToken, StaffUser.email, StaffUser.name)
        .join(StaffUser, StaffUser.id == ApiToken.user_id)
        .where(
            ApiToken.user_id != except_user,
            ApiToken.revoked_at.is_(None),
            ApiToken.expires_at > now,
        )
        .order_by(ApiToken.id.desc())
    )
    return [OwnedToken(_info(row), email, name) for row, email, name in rows]


def count_active(session: Session, user_id: int, now: datetime) -> int:
    return session.execute(
        select(func.count())
        .select_from(ApiToken)
        .where(
            ApiToken.user_id == user_id,
            ApiToken.revoked_at.is_(None),
            ApiToken.expires_at > now,
        )
    ).scalar_one()


def revoke_token(
    session: Session, token_id: int, user_id: int | None, now: datetime
) -> TokenInfo | None:
    """Revoke a token of the account `user_id` (None: of any account, as an admin may); None
    when there is no such unrevoked token."""
    owned = () if user_id is None else (ApiToken.user_id == user_id,)
    done = session.execute(
        update(ApiToken)
        .where(ApiToken.id == token_id, ApiToken.revoked_at.is_(None), *owned)
        .values(revoked_at=now)
    )
    if not done.rowcount:  # type: ignore[attr-defined]
        return None
    return _info(session.get_one(ApiToken, token_id))


def find_token(session: Session, token_hash: str, now: datetime) -> TokenOwner | None:
    """The owner of a token that is neither revoked nor expired, if the account is active."""
    row = session.execute(
        select(ApiToken)
        .join(StaffUser, StaffUser.id == ApiToken.user_id)
        .where(
            ApiToken.token_hash == token_hash,
            ApiToken.revoked_at.is_(None),
            ApiToken.expires_at > now,
            StaffUser.active.is_(True),
        )
    ).scalar_one_or_none()
    if row is None:
        return None
    user = staff_by_id(session, row.user_id)
    if user is None:  # pragma: no cover - the join above found it
        return None
    return TokenOwner(row.id, user, _utc(row.last_used_at))


def touch_token(session: Session, owner: TokenOwner, now: datetime) -> None:
    """Record that a token was used (at most once per TOUCH_EVERY)."""
    if owner.last_used_at is not None and now - owner.last_used_at < TOUCH_EVERY:
        return
    session.execute(update(ApiToken).where(ApiToken.id == owner.token_id).values(last_used_at=now))
