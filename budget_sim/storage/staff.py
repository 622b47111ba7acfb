"""Staff accounts, sessions and the audit log. Functions take a Session (sign-in attempts:
`sign_ins`)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from budget_sim.errors import Conflict
from budget_sim.storage.tables import (
    ApiToken,
    AuditEntry,
    StaffSession,
    StaffUser,
)

ALL_BUDGETS = "*"


@dataclass(frozen=True)
class Staff:
    id: int
    email: str
    name: str
    role: str
    budgets: tuple[str, ...] | None  # None: every budget
    active: bool
    has_password: bool
    password_hash: str | None
    link_purpose: str | None = None  # the pending one-time link: "invite", "reset" or None
    link_expires_at: datetime | None = None

    def link_state(self, now: datetime) -> str:
        """ "": no pending link; else "invite"/"reset", with "-expired" once it has expired."""
        if self.link_purpose is None or self.link_expires_at is None:
            return ""
        return self.link_purpose + ("-expired" if self.link_expires_at <= now else "")

    def may_see(self, slug: str) -> bool:
        return self.budgets is None or slug in self.budgets


def _staff(row: StaffUser) -> Staff:
    budgets = None if row.budgets == ALL_BUDGETS else tuple(json.loads(row.budgets))
    return Staff(
        row.id,
        row.email,
        row.name,
        row.role,
        budgets,
        row.active,
        row.password_hash is not None,
        row.password_hash,
        (row.invite_purpose or "invite") if row.invite_hash else None,
        _utc(row.invite_expires_at) if row.invite_hash and row.invite_expires_at else None,
    )


def create_staff(
    session: Session,
    *,
    email: str,
    name: str,
    role: str,
    budgets: Sequence[str] | None,
    password_hash: str | None,
    now: datetime,
    invite_hash: str | None = None,
    invite_expires_at: datetime | None = None,
) -> int:
    """A new account; raises Conflict when the email is taken (a UNIQUE constraint decides)."""
    values = {
        "email": email.lower(),
        "name": name,
        "role": role,
        "budgets": ALL_BUDGETS if budgets is None else json.dumps(sorted(budgets)),
        "password_hash": password_hash,
        "active": True,
        "invite_hash": invite_hash,
        "invite_expires_at": invite_expires_at,
        "invite_purpose": "invite" if invite_hash else None,
        "created_at": now,
    }
    try:
        with session.begin_nested():
            return session.execute(
                insert(StaffUser).values(**values).returning(StaffUser.id)
            ).scalar_one()
    except IntegrityError as error:
        raise Conflict(f"an account for {email.lower()} already exists") from error


def staff_by_email(session: Session, email: str) -> Staff | None:
    row = session.execute(
        select(StaffUser).where(StaffUser.email == email.strip().lower())
    ).scalar_one_or_none()
    return None if row is None else _staff(row)


def staff_by_id(session: Session, user_id: int) -> Staff | None:
    row = session.get(StaffUser, user_id)
    return None if row is None else _staff(row)


def staff_by_invite(session: Session, invite_hash: str, now: datetime) -> Staff | None:
    """The account an unexpired, unused invitation is for."""
    row = session.execute(
        select(StaffUser).where(
            StaffUser.invite_hash == invite_hash,
            StaffUser.invite_expires_at > now,
            StaffUser.active.is_(True),
        )
    ).scalar_one_or_none()
    return None if row is None else _staff(row)


def list_staff(session: Session) -> list[Staff]:
    return [_staff(row) for row in session.scalars(select(StaffUser).order_by(StaffUser.email))]


def set_password(session: Session, user_id: int, password_hash: str) -> None:
    """Set the password and use up any invitation."""
    session.execute(
        update(StaffUser)
        .where(StaffUser.id == user_id)
        .values(
            password_hash=password_hash,
            invite_hash=None,
            invite_expires_at=None,
            invite_purpose=None,
        )
    )


def new_link(
    session: Session,
    user_id: int,
    link_hash: str,
    expires_at: datetime,
    purpose: str,
    now: datetime,
) -> None:
    """A new one-time link for the account; any earlier link stops working. "reset" also
    clears the password and ends the account's sessions, at once."""
    values: dict = {
        "invite_hash": link_hash,
        "invite_expires_at": expires_at,
        "invite_purpose": purpose,
    }
    if purpose == "reset":
        values["password_hash"] = None
        end_sessions_of(session, user_id, now)
    session.execute(update(StaffUser).where(StaffUser.id == user_id).values(**values))


def change_access(session: Session, user_id: int, role: str, budgets: Sequence[str] | None) -> None:
    """Set role and budgets (None: every budget). Raises Conflict when that would leave no
    active admin: the active admins' rows are locked first (FOR UPDATE on PostgreSQL; SQLite
    writes one at a time), so two admins demoting each other at once cannot both succeed."""
    admins = session.scalars(
        select(StaffUser.id)
        .where(StaffUser.role == "admin", StaffUser.active.is_(True))
        .with_for_update()
    ).all()
    if role != "admin" and list(admins) == [user_id]:
        raise Conflict("this is the only active admin: make someone else an admin first")
    session.execute(
        update(StaffUser)
        .where(StaffUser.id == user_id)
        .values(
            role=role,
            budgets=ALL_BUDGETS if budgets is None else json.dumps(sorted(budgets)),
        )
    )


def replace_password_hash(session: Session, user_id: int, old_hash: str, new_hash: str) -> None:
    """Store a stronger hash of the same password (argon2's parameters moved on), unless the
    password changed meanwhile."""
    session.execute(
        update(StaffUser)
        .where(StaffUser.id == user_id, StaffUser.password_hash == old_hash)
        .values(password_hash=new_hash)
    )


def set_active(session: Session, user_id: int, active: bool, now: datetime) -> int:
    """Enable or disable an account. Disabling ends its sessions and revokes its API tokens at
    once, for good: enabling it again revives neither. Returns how many tokens it revoked."""
    session.execute(update(StaffUser).where(StaffUser.id == user_id).values(active=active))
    if active:
        return 0
    end_sessions_of(session, user_id, now)
    revoked = session.execute(
        update(ApiToken)
        .where(ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    return revoked.rowcount  # type: ignore[attr-defined]


def start_session(
    session: Session, user_id: int, token_hash: str, csrf_token: str, now: datetime
) -> None:
    session.execute(
        insert(StaffSession).values(
            token_hash=token_hash,
            user_id=user_id,
            csrf_token=csrf_token,
            created_at=now,
            last_seen_at=now,
        )
    )


@dataclass(frozen=True)
class OpenSession:
    id: int
    user: Staff
    csrf_token: str
    created_at: datetime
    last_seen_at: datetime


def find_session(session: Session, token_hash: str) -> OpenSession | None:
    """The session behind a cookie token, if it has not ended and its account is active."""
    row = session.execute(
        select(StaffSession, StaffUser)
        .join(StaffUser, StaffUser.id == StaffSession.user_id)
        .where(
            StaffSession.token_hash == token_hash,
            StaffSession.ended_at.is_(None),
            StaffUser.active.is_(True),
        )
    ).one_or_none()
    if row is None:
        return None
    record, user = row
    return OpenSession(
        record.id,
        _staff(user),
        record.csrf_token,
        _utc(record.created_at),
        _utc(record.last_seen_at),
    )


def _utc(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes; everything stored here is UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def touch_session(session: Session, session_id: int, now: datetime) -> None:
    session.execute(
        update(StaffSession).where(StaffSession.id == session_id).values(last_seen_at=now)
    )


def end_session(session: Session, session_id: int, now: datetime) -> None:
    session.execute(
        update(StaffSession)
        .where(StaffSession.id == session_id, StaffSession.ended_at.is_(None))
        .values(ended_at=now)
    )


def end_sessions_of(session: Session, user_id: int, now: datetime) -> None:
    session.execute(
        update(StaffSession)
        .where(StaffSession.user_id == user_id, StaffSession.ended_at.is_(None))
        .values(ended_at=now)
    )


def audit(
    session: Session,
    action: str,
    *,
    now: datetime,
    user_id: int | None = None,
    detail: str = "",
    address: str = "",
) -> None:
    """Record what staff did. Callers write it in the same transaction as the action."""
    session.execute(
        insert(AuditEntry).values(
            at=now, user_id=user_id, action=action, detail=detail, address=address
        )
    )


@dataclass(frozen=True)
class AuditRow:
    at: datetime
    email: str | None
    action: str
    detail: str
    address: str


def recent_audit(session: Session, limit: int = 200) -> list[AuditRow]:
    rows = session.execute(
        select(AuditEntry, StaffUser.email)
        .outerjoin(StaffUser, StaffUser.id == AuditEntry.user_id)
        .order_by(AuditEntry.id.desc())
        .limit(limit)
    ).all()
    return [AuditRow(_utc(e.at), email, e.action, e.detail, e.address) for e, email in rows]
