"""Drafts as an abuser and as a resident would meet their limits: what cannot be read is not
silently dropped, quotas per page and per address, a size cap, expiry and purge."""

from __future__ import annotations

import re
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert, update
from starlette.testclient import TestClient

from budget_sim.settings import Settings
from budget_sim.storage import Database
from budget_sim.storage.tables import Draft, WriteQuota
from budget_sim.web import create_app
from budget_sim.web.resident import draft_limits
from tests.web.conftest import SLUG, adjustable_expense, ballot_of
from tests.web.test_staff import sql


@pytest.mark.parametrize(
    ("field", "typed", "message"),
    [
        ("line", "NaN", "must be an amount such as 17,000,000"),
        ("comment", "a\x00b", "must not contain control characters"),
        ("comment", "x" * 501, "is too long: at most 500 characters"),
    ],
)
def test_a_draft_with_unreadable_values_saves_nothing_and_says_so(
    client, budget, rows, field, typed, message
):
    line = adjustable_expense(budget)
    form = {"ballot": ballot_of(client.get(f"/b/{SLUG}").text), f"{field}.{line['id']}": typed}
    kept = {"comment": "what I wrote", "answer.age-band": "35-44"}
    response = client.post(f"/b/{SLUG}/draft", data={**form, **kept})
    assert response.status_code == 422
    assert "Nothing was saved" in response.text and message in response.text
    assert "what I wrote</textarea>" in response.text  # the rest of the page is kept
    assert rows.drafts() == 0


def save(browser: TestClient, ballot: str, **fields: str):
    return browser.post(f"/b/{SLUG}/draft", data={"ballot": ballot, **fields})


def test_a_page_saves_at_most_ten_drafts_an_hour(client, rows):
    ballot = ballot_of(client.get(f"/b/{SLUG}").text)
    for _ in range(draft_limits.DRAFTS_PER_PAGE):
        assert save(client, ballot).status_code == 303
    refused = save(client, ballot, comment="my thoughts")
    assert refused.status_code == 429
    assert "nothing was saved this time" in refused.text
    assert re.search(r"save again in \d+ min, or submit them", refused.text)
    assert "my thoughts</textarea>" in refused.text  # what the resident typed is still there
    assert 0 < int(refused.headers["retry-after"]) <= 3600
    assert rows.drafts() == draft_limits.DRAFTS_PER_PAGE
    fresh = ballot_of(client.get(f"/b/{SLUG}").text)  # a new page has its own quota
    assert save(client, fresh).status_code == 303


def test_an_address_saves_at_most_its_hourly_quota_in_the_residents_language(settings, rows):
    limited = Settings(**{**settings.model_dump(), "drafts_per_address_per_hour": 3})
    app = create_app(limited)
    with TestClient(app, client=("203.0.113.9", 1), follow_redirects=False) as library:
        for _ in range(3):
            assert save(library, ballot_of(library.get(f"/b/{SLUG}").text)).status_code == 303
        refused = save(library, ballot_of(library.get(f"/b/{SLUG}").text), lang="es")
        assert refused.status_code == 429
        assert "Se guardaron muchos borradores" in refused.text
    with TestClient(app, client=("198.51.100.7", 1), follow_redirects=False) as elsewhere:
        assert save(elsewhere, ballot_of(elsewhere.get(f"/b/{SLUG}").text)).status_code == 303
    assert rows.drafts() == 4


def test_no_address_is_stored_only_keyed_hashes_that_expire(client, settings):
    with TestClient(client.app, client=("203.0.113.9", 1), follow_redirects=False) as resident:
        assert save(resident, ballot_of(resident.get(f"/b/{SLUG}").text)).status_code == 303
    quotas = sql(settings.database_url, "SELECT key, used, expires_at FROM write_quotas")
    assert len(quotas) == 2  # one for the page, one for the address
    for key, used in [row[:2] for row in quotas]:
        assert re.fullmatch(r"[0-9a-f]{64}", key) and used == 1
    dumped = repr(sql(settings.database_url, "SELECT * FROM write_quotas"))
    dumped += repr(sql(settings.database_url, "SELECT * FROM drafts"))
    assert "203.0.113.9" not in dumped


def test_concurrent_saves_never_pass_the_page_quota(client, rows):
    ballot = ballot_of(client.get(f"/b/{SLUG}").text)
    barrier = threading.Barrier(20)

    def one(_: int) -> int:
        barrier.wait()
        return save(client, ballot).status_code

    with ThreadPoolExecutor(20) as pool:
        statuses = list(pool.map(one, range(20)))
    assert statuses.count(303) == draft_limits.DRAFTS_PER_PAGE
    assert statuses.count(429) == 20 - draft_limits.DRAFTS_PER_PAGE
    assert rows.drafts() == draft_limits.DRAFTS_PER_PAGE


def test_a_draft_too_large_to_keep_is_413_and_nothing_is_lost_on_the_page(client, budget, rows):
    lines = budget.lines.filter(~budget.lines["locked"])["id"].to_list()[:30]
    comments = {f"comment.{line}": "é" * 500 for line in lines}  # about 90 KB stored
    response = save(client, ballot_of(client.get(f"/b/{SLUG}").text), **comments)
    assert response.status_code == 413
    assert "This draft is too long to save" in response.text and "at most 64 KB" in response.text
    assert response.text.count("é" * 500 + "</textarea>") == 30
    assert rows.drafts() == 0


def test_an_expired_draft_is_410_then_purged(client, settings, rows):
    first = save(client, ballot_of(client.get(f"/b/{SLUG}").text)).headers["location"]
    assert client.get(first).status_code == 200
    database = Database(settings.database_url)
    long_ago = datetime.now(UTC) - timedelta(days=settings.draft_max_age_days, minutes=1)
    with database.writing() as session:
        session.execute(update(Draft).values(created_at=long_ago))
        session.execute(
            insert(WriteQuota).values(key="f" * 64, used=5, expires_at=long_ago)  # a past hour
        )
    database.dispose()
    gone = client.get(first)
    assert gone.status_code == 410
    assert "This draft has expired: drafts are kept for 90 days" in gone.text

    save(client, ballot_of(client.get(f"/b/{SLUG}").text))  # saving purges what has expired
    assert rows.drafts() == 1
    missing = client.get(first)
    assert missing.status_code == 404
    assert "There is no saved draft at this address. Drafts are kept for 90 days." in missing.text
    keys = [row[0] for row in sql(settings.database_url, "SELECT key FROM write_quotas")]
    assert "f" * 64 not in keys and len(keys) == 3  # two pages, one address, this hour
