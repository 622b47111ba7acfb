"""Stored budget revisions: numbered per slug, drafts until published, the newest published one
is current, and an older draft never replaces a newer published revision, even when two admins
publish at the same moment from two processes."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

import pytest

from budget_sim.errors import Conflict, NotFound
from budget_sim.storage import Database
from budget_sim.storage import packages as packages_db

NOW = datetime(2026, 11, 24, 12, tzinfo=UTC)


@pytest.fixture
def database(database_url):
    db = Database(database_url)
    yield db
    db.dispose()


def add(session, digest: str, slug: str = "town") -> tuple[int, bool]:
    return packages_db.add_revision(
        session,
        slug=slug,
        manifest=f'slug = "{slug}"\n'.encode(),
        lines_name="lines.csv",
        lines=b"id,department,program,kind,amount\n",
        digest=digest,
        opens_at=None,
        closes_at=datetime(2027, 1, 1, tzinfo=UTC),
        created_by=None,
        now=NOW,
    )


def test_revisions_are_numbered_and_the_same_files_are_stored_once(database):
    assert packages_db.has_packages_table(database.read_engine)
    with database.writing() as session:
        assert add(session, "a" * 64) == (1, True)
        assert add(session, "b" * 64) == (2, True)
        assert add(session, "a" * 64) == (1, False)
        assert add(session, "a" * 64, slug="city") == (1, True)
    with database.reading() as session:
        stored = packages_db.get_revision(session, "town", 2)
        assert stored is not None and stored.status == "draft" and stored.version == "b" * 16
        assert stored.lines.startswith(b"id,") and stored.manifest == b'slug = "town"\n'
        assert stored.closes_at == datetime(2027, 1, 1, tzinfo=UTC)
        assert packages_db.published_packages(session) == []
        assert [(r.slug, r.revision) for r in packages_db.list_revisions(session)] == [
            ("city", 1),
            ("town", 2),
            ("town", 1),
        ]


def test_the_newest_published_revision_is_current(database):
    with database.writing() as session:
        for digest in "abc":
            add(session, digest * 64)
        assert packages_db.publish(session, "town", 2, NOW)
        assert not packages_db.publish(session, "town", 2, NOW)  # already: nothing changes
        with pytest.raises(Conflict):
            packages_db.publish(session, "town", 1, NOW)  # older than the published one
        with pytest.raises(NotFound):
            packages_db.publish(session, "town", 9, NOW)
    with database.reading() as session:
        assert packages_db.current_published(session, "town").revision == 2
        assert [p.revision for p in packages_db.published_packages(session)] == [2]
        found = packages_db.revision_of_version(session, "town", "c" * 16)
        assert found is not None and found.revision == 3
        assert packages_db.revision_of_version(session, "town", "d" * 16) is None
    with database.writing() as session:
        packages_db.publish(session, "town", 3, NOW)
    with database.reading() as session:
        assert [p.revision for p in packages_db.published_packages(session)] == [3]
        assert packages_db.published_revisions(session) == {"town": 3}


def test_an_older_revision_published_while_a_newer_one_is_waits_and_is_refused(database):
    """Two processes (two Databases): one publishes revision 2 and has not committed yet when
    the other publishes revision 1. The second waits for the first (a row lock on PostgreSQL,
    the one SQLite writer) and then refuses, instead of publishing an older revision after it."""
    other = Database(database.url)
    with database.writing() as session:
        add(session, "a" * 64)
        add(session, "b" * 64)
    publishing = threading.Event()

    def newer() -> None:
        with database.writing() as session:
            assert packages_db.publish(session, "town", 2, NOW)
            publishing.set()
            time.sleep(0.5)  # still not committed

    thread = threading.Thread(target=newer)
    thread.start()
    try:
        assert publishing.wait(10)
        started = time.monotonic()
        refused = pytest.raises(Conflict, match="revision 2 of town, newer than 1, is already")
        with refused, other.writing() as session:
            packages_db.publish(session, "town", 1, NOW)
        assert time.monotonic() - started > 0.3  # it waited for the newer one's commit
    finally:
        thread.join()
        other.dispose()
    with database.reading() as session:
        assert packages_db.published_revisions(session) == {"town": 2}
        assert packages_db.get_revision(session, "town", 1).status == "draft"
