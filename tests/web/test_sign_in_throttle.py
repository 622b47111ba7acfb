"""The sign-in throttle as an attacker and as the real member of staff meet it: wrong passwords
slow the guesser more and more, never lock the real user out, refused attempts do not lengthen
the wait, concurrent guesses never get more checks than the free ones, and the password check
holds no write transaction (residents' submissions never wait for it)."""

from __future__ import annotations

import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from starlette.testclient import TestClient

from budget_sim import accounts
from budget_sim.storage import Database
from budget_sim.storage import sign_ins as sign_ins_db
from budget_sim.web.staff import sign_in as sign_in_module
from tests.web.conftest import SLUG, ballot_of
from tests.web.test_staff import make_staff, sign_in, sql

WRONG = "not the password at all"


@pytest.fixture
def browsers(client):
    """A browser (on https, for the Secure cookie) per network address."""
    opened = []

    def at(address: str) -> TestClient:
        browser = TestClient(
            client.app,
            base_url="https://testserver",
            follow_redirects=False,
            client=(address, 40000),
        )
        opened.append(browser.__enter__())
        return browser

    yield at
    for browser in opened:
        browser.__exit__(None, None, None)


class Clock:
    """The time the sign-in code reads: real at first, then moved on by hand (so the test does
    not depend on how fast this machine checks passwords)."""

    def __init__(self) -> None:
        self.moment = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.moment

    def advance(self, seconds: float) -> None:
        self.moment += timedelta(seconds=seconds)


@pytest.fixture
def clock(monkeypatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(sign_in_module, "now", clock)
    return clock


def checked(url: str) -> int:
    """Attempts whose password was checked (refused ones are not recorded)."""
    return sql(url, "SELECT count(*) FROM login_attempts")[0][0]


def test_wrong_passwords_slow_the_guesser_more_and_more(browsers, settings, clock):
    url = settings.database_url
    make_staff(url, "ada@city.gov")
    guesser = browsers("10.0.0.66")
    for _ in range(accounts.ACCOUNT_FREE_FAILURES):
        wrong = sign_in(guesser, "ada@city.gov", WRONG)
        assert wrong.status_code == 401
        assert "That email and password do not match an active account." in wrong.text

    for _ in range(10):  # refused at once, and refusing does not lengthen the wait
        refused = sign_in(guesser, "ada@city.gov")
        assert refused.status_code == 429 and "set-cookie" not in refused.headers
        assert "Too many failed sign-ins for this account from your network address" in refused.text
        assert re.search(
            r"wait 1 second before trying again \(until \d\d:\d\d:\d\d UTC\)", refused.text
        )
        assert refused.headers["retry-after"] == "1"
    assert checked(url) == accounts.ACCOUNT_FREE_FAILURES

    clock.advance(1.5)  # the second has passed: one more guess is checked...
    assert sign_in(guesser, "ada@city.gov", WRONG).status_code == 401
    refused = sign_in(guesser, "ada@city.gov", WRONG)  # ...and the next waits twice as long
    assert refused.status_code == 429 and "wait 2 seconds" in refused.text
    clock.advance(2.5)
    assert sign_in(guesser, "ada@city.gov", WRONG).status_code == 401
    assert "wait 4 seconds" in sign_in(guesser, "ada@city.gov").text

    clock.advance(4.5)  # the right password, once its turn comes, works from there too
    assert sign_in(guesser, "ada@city.gov").status_code == 303
    actions = [row[0] for row in sql(url, "SELECT action FROM audit_log")]
    assert actions.count("sign-in failed") == accounts.ACCOUNT_FREE_FAILURES + 2
    assert actions.count("sign-in refused: throttled") == 12
    assert actions.count("signed in") == 1


def test_the_wait_grows_to_at_most_a_quarter_of_an_hour(browsers, settings, clock):
    url = settings.database_url
    make_staff(url, "ada@city.gov")
    database, moment = Database(url), clock.moment
    with database.writing() as session:  # 40 failures over the last day, the latest just now
        for n in range(40):
            sign_ins_db.reserve(
                session, "ada@city.gov", "10.0.0.66", moment - timedelta(hours=n / 2)
            )
    database.dispose()
    refused = sign_in(browsers("10.0.0.66"), "ada@city.gov")
    assert refused.status_code == 429 and "wait 15 minutes" in refused.text
    assert refused.headers["retry-after"] == "900"
    assert checked(url) == 40


def test_the_real_user_gets_in_from_an_address_that_has_not_failed(browsers, settings, clock):
    url = settings.database_url
    make_staff(url, "ada@city.gov")
    attacker, ada = browsers("203.0.113.9"), browsers("10.1.2.3")
    for _ in range(accounts.ACCOUNT_FREE_FAILURES + 10):
        sign_in(attacker, "ada@city.gov", WRONG)
    assert sign_in(attacker, "ada@city.gov").status_code == 429  # the attacker waits...
    assert sign_in(ada, "ada@city.gov").status_code == 303  # ...Ada does not
    assert ada.get("/staff").status_code == 200

    with TestClient(ada.app, base_url="https://testserver", client=("10.1.2.3", 1)) as again:
        assert sign_in(again, "ada@city.gov", "a typo").status_code == 401  # checked: Ada's
        refused = sign_in(again, "ada@city.gov")  # now her address failed for the account too
        assert refused.status_code == 429 and "wait" in refused.text


def test_one_address_guessing_many_accounts_is_slowed_alone(browsers, settings, clock):
    make_staff(settings.database_url, "ada@city.gov")
    guesser, office = browsers("203.0.113.9"), browsers("10.1.2.3")
    for n in range(accounts.ADDRESS_FREE_FAILURES):
        assert sign_in(guesser, f"guess{n}@city.gov", "password guess 123").status_code == 401
    refused = sign_in(guesser, "ada@city.gov")
    assert refused.status_code == 429
    assert "Too many failed sign-ins for your network address" in refused.text
    assert sign_in(office, "ada@city.gov").status_code == 303


def test_concurrent_wrong_passwords_get_no_more_checks_than_the_free_ones(
    browsers, settings, clock
):
    """20 guesses at once (the review saw 24 of 24 checked on PostgreSQL against a limit of 5):
    the count and the reservation are one atomic step in the database."""
    make_staff(settings.database_url, "ada@city.gov")
    guesser = browsers("203.0.113.9")
    barrier = threading.Barrier(20)

    def guess(n: int) -> int:
        barrier.wait()
        return sign_in(guesser, "ada@city.gov", f"wrong guess {n}").status_code

    with ThreadPoolExecutor(20) as pool:
        statuses = list(pool.map(guess, range(20)))
    assert statuses.count(401) == accounts.ACCOUNT_FREE_FAILURES
    assert statuses.count(429) == 20 - accounts.ACCOUNT_FREE_FAILURES
    assert checked(settings.database_url) == accounts.ACCOUNT_FREE_FAILURES


def test_a_password_check_holds_no_write_transaction(client, browsers, settings, monkeypatch):
    """While a sign-in's password is being checked, a resident's submission is stored at once
    (on SQLite the check used to hold the only write lock for its ~0.1 s, HIGH-1)."""
    make_staff(settings.database_url, "ada@city.gov")
    checking, release = threading.Event(), threading.Event()
    real_verify = accounts.verify_password

    def slow_verify(password_hash, password):  # noqa: ANN001, ANN202 - argon2, slowed down
        checking.set()
        release.wait(10)
        return real_verify(password_hash, password)

    monkeypatch.setattr(accounts, "verify_password", slow_verify)
    staff = browsers("10.1.2.3")
    with ThreadPoolExecutor(1) as pool:
        signing_in = pool.submit(sign_in, staff, "ada@city.gov")
        assert checking.wait(10)
        started = time.monotonic()
        ballot = ballot_of(client.get(f"/b/{SLUG}").text)
        submitted = client.post(f"/b/{SLUG}/submit", data={"ballot": ballot})
        took = time.monotonic() - started
        release.set()
        assert signing_in.result().status_code == 303
    assert submitted.status_code == 303 and took < 5


def test_the_wait_is_computed_from_the_latest_failure():
    latest = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    free = accounts.ACCOUNT_FREE_FAILURES
    assert accounts.next_attempt_at(free - 1, latest, free) is None
    waits = [accounts.next_attempt_at(free + n, latest, free) - latest for n in range(12)]
    assert waits[:4] == [timedelta(seconds=s) for s in (1, 2, 4, 8)]
    assert waits[-1] == accounts.LONGEST_WAIT == timedelta(minutes=15)
