"""Storage: SQLAlchemy tables, engines and query functions that take a Session."""

from __future__ import annotations

from budget_sim.storage.drafts import DraftContent, get_draft, save_draft
from budget_sim.storage.engine import Database, is_sqlite, make_engine
from budget_sim.storage.ingest import SubmissionWriter, save_submission, save_submissions
from budget_sim.storage.migrate import upgrade
from budget_sim.storage.submissions import (
    NewSubmission,
    StoredSubmission,
    TokenReused,
    count_submissions,
    get_submission,
    save_many,
)

__all__ = [
    "Database",
    "DraftContent",
    "NewSubmission",
    "StoredSubmission",
    "SubmissionWriter",
    "TokenReused",
    "count_submissions",
    "get_draft",
    "get_submission",
    "is_sqlite",
    "make_engine",
    "save_draft",
    "save_many",
    "save_submission",
    "save_submissions",
    "upgrade",
]
