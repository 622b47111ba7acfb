"""Limits on residents' drafts, which anyone may save without an account: per page (ballot) and
per network address in an hour, a size cap, and expiry after `draft_max_age_days`.

No raw address is stored: a quota's key is an HMAC (with the site's signing key) of the scope,
the page's ballot or the address, and the hour, so it cannot be turned back into an address and
changes every hour; its row is deleted once the hour has passed. Expired drafts and counters are
purged a batch at a time by the saves themselves, in their own transaction."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta

from budget_sim.settings import Settings
from budget_sim.storage import Database, DraftContent, save_draft
from budget_sim.storage import drafts as drafts_db
from budget_sim.storage import quotas as quotas_db

DRAFTS_PER_PAGE = 10  # per ballot (one page load) in an hour; the draft page hands out a new one
DRAFT_MAX_BYTES = 64 * 1024  # stored JSON: about a hundred full-length line comments
WINDOW = timedelta(hours=1)


def window_of(moment: datetime) -> tuple[int, datetime]:
    """The hour `moment` falls in: its number and its end."""
    seconds = int(WINDOW.total_seconds())
    index = int(moment.timestamp()) // seconds
    return index, datetime.fromtimestamp((index + 1) * seconds, UTC)


def quota_key(secret: str, scope: str, subject: str, window: int) -> str:
    message = f"budget-sim drafts\0{scope}\0{subject}\0{window}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def too_large(content: DraftContent) -> int | None:
    """The draft's size in bytes when it is over the cap, else None."""
    size = len(drafts_db.draft_payload(content).encode())
    return size if size > DRAFT_MAX_BYTES else None


def expired(saved_at: datetime, settings: Settings, now: datetime) -> bool:
    return saved_at < now - timedelta(days=settings.draft_max_age_days)


def store(
    database: Database,
    settings: Settings,
    secret: str,
    *,
    slug: str,
    content: DraftContent,
    ballot: str,
    address: str,
    now: datetime,
) -> str:
    """Count the draft against its page's and its address's quotas, store it, and purge a batch
    of expired drafts and counters; its key. Raises QuotaExceeded (nothing stored)."""
    window, until = window_of(now)
    with database.writing() as session:
        quotas_db.take(
            session, "page", quota_key(secret, "page", ballot, window), DRAFTS_PER_PAGE, until
        )
        quotas_db.take(
            session,
            "address",
            quota_key(secret, "address", address, window),
            settings.drafts_per_address_per_hour,
            until,
        )
        key = save_draft(session, slug, content, now)
        quotas_db.purge(session, now)
        drafts_db.purge_drafts(session, now - timedelta(days=settings.draft_max_age_days))
    return key
