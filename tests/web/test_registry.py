"""The set of budgets a worker answers with: a request that arrives while a freshness check is
under way waits for that check, so no resident is answered from a set older than the check
interval (the nginx journey once saw 4 of 40 loads answered with the revision before)."""

from __future__ import annotations

import hashlib
import threading
import time
from datetime import UTC, datetime

import pytest

from budget_sim.storage import Database
from budget_sim.storage import packages as packages_db
from budget_sim.web import registry as registry_module
from budget_sim.web.registry import Registry, current_files

SLUG = "cambridge-fy2026"
REVISED = "Cambridge FY2026, as revised after the hearing"
CHECK = 0.05


@pytest.fixture
def database(settings):
    db = Database(settings.database_url)
    yield db
    db.dispose()


def publish_revised_title(settings, database: Database) -> None:
    files = current_files(settings, database, SLUG)
    assert files is not None
    manifest, lines_name, lines = files
    old_title = 'en = "Cambridge FY2026 operating budget"'
    assert old_title.encode() in manifest
    manifest = manifest.replace(old_title.encode(), f'en = "{REVISED}"'.encode())
    now = datetime.now(UTC)
    with database.writing() as session:
        revision, _new = packages_db.add_revision(
            session,
            slug=SLUG,
            manifest=manifest,
            lines_name=lines_name,
            lines=lines,
            digest=hashlib.sha256(manifest + lines).hexdigest(),
            opens_at=None,
            closes_at=None,
            created_by=None,
            now=now,
        )
        assert packages_db.publish(session, SLUG, revision, now)


def test_a_request_during_a_check_waits_for_it(settings, database, monkeypatch):
    budgets = Registry(settings, database, check_seconds=CHECK)
    assert budgets[SLUG].title != REVISED
    publish_revised_title(settings, database)

    entered, release = threading.Event(), threading.Event()
    asked = packages_db.published_revisions

    def slow_first_check(session):
        if not entered.is_set():
            entered.set()
            assert release.wait(10)
        return asked(session)

    monkeypatch.setattr(registry_module.packages_db, "published_revisions", slow_first_check)
    time.sleep(CHECK * 2)
    first = threading.Thread(target=budgets.refresh_if_due)
    first.start()
    assert entered.wait(10)

    seen: list[str] = []

    def resident() -> None:
        budgets.refresh_if_due()
        seen.append(budgets[SLUG].title)

    second = threading.Thread(target=resident)
    second.start()
    second.join(0.3)
    assert second.is_alive(), f"answered during the check with {seen}"
    release.set()
    first.join(10)
    second.join(10)
    assert seen == [REVISED]


def test_a_revision_reaches_a_worker_within_the_check_interval(settings, database):
    budgets = Registry(settings, database, check_seconds=CHECK)
    publish_revised_title(settings, database)
    assert budgets[SLUG].title != REVISED  # not due yet: no query for this lookup
    time.sleep(CHECK * 2)
    budgets.refresh_if_due()
    assert budgets[SLUG].title == REVISED
