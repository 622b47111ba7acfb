"""Drafts: a resident's unfinished budget behind an unguessable link (no account, no cookie),
kept for a while and then purged."""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from budget_sim.storage.tables import Draft


@dataclass(frozen=True)
class DraftContent:
    amounts: Mapping[str, int]  # cents by line id: only lines the resident changed
    answers: Mapping[str, str]
    comments: Mapping[str, str]  # line id ("" overall) -> text


def draft_payload(content: DraftContent) -> str:
    """The JSON a draft is stored as (its size is what the cap counts)."""
    payload = {
        "amounts": dict(content.amounts),
        "answers": dict(content.answers),
        "comments": dict(content.comments),
    }
    return json.dumps(payload, separators=(",", ":"))


def save_draft(session: Session, slug: str, content: DraftContent, now: datetime) -> str:
    """Store a draft and return its key (128 bits from the OS CSPRNG)."""
    key = secrets.token_urlsafe(16)
    session.execute(
        insert(Draft).values(
            budget_slug=slug, key=key, payload=draft_payload(content), created_at=now
        )
    )
    return key


@dataclass(frozen=True)
class StoredDraft:
    content: DraftContent
    created_at: datetime


def get_draft(session: Session, slug: str, key: str) -> StoredDraft | None:
    """The draft behind a key for this budget (expired or not), or None."""
    row = session.execute(
        select(Draft.payload, Draft.created_at).where(Draft.budget_slug == slug, Draft.key == key)
    ).one_or_none()
    if row is None:
        return None
    data = json.loads(row.payload)
    content = DraftContent(
        amounts={str(k): int(v) for k, v in data.get("amounts", {}).items()},
        answers={str(k): str(v) for k, v in data.get("answers", {}).items()},
        comments={str(k): str(v) for k, v in data.get("comments", {}).items()},
    )
    created = row.created_at
    return StoredDraft(content, created if created.tzinfo else created.replace(tzinfo=UTC))


def purge_drafts(session: Session, saved_before: datetime, batch: int = 200) -> int:
    """Delete (at most `batch`) drafts saved before `saved_before`; how many."""
    old = select(Draft.id).where(Draft.created_at < saved_before).limit(batch)
    done = session.execute(delete(Draft).where(Draft.id.in_(old)))
    return done.rowcount  # type: ignore[attr-defined]
