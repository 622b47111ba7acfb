"""Drafts: a resident's unfinished budget behind an unguessable link (no account, no cookie)."""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from budget_sim.storage.tables import Draft


@dataclass(frozen=True)
class DraftContent:
    amounts: Mapping[str, int]  # cents by line id: only lines the resident changed
    answers: Mapping[str, str]
    comments: Mapping[str, str]  # line id ("" overall) -> text


def save_draft(session: Session, slug: str, content: DraftContent) -> str:
    """Store a draft and return its key (128 bits from the OS CSPRNG)."""
    key = secrets.token_urlsafe(16)
    payload = {
        "amounts": dict(content.amounts),
        "answers": dict(content.answers),
        "comments": dict(content.comments),
    }
    session.execute(
        insert(Draft).values(
            budget_slug=slug,
            key=key,
            payload=json.dumps(payload, separators=(",", ":")),
            created_at=datetime.now(UTC),
        )
    )
    return key


def get_draft(session: Session, slug: str, key: str) -> DraftContent | None:
    """The draft behind a key for this budget, or None."""
    payload = session.execute(
        select(Draft.payload).where(Draft.budget_slug == slug, Draft.key == key)
    ).scalar_one_or_none()
    if payload is None:
        return None
    data = json.loads(payload)
    return DraftContent(
        amounts={str(k): int(v) for k, v in data.get("amounts", {}).items()},
        answers={str(k): str(v) for k, v in data.get("answers", {}).items()},
        comments={str(k): str(v) for k, v in data.get("comments", {}).items()},
    )
