"""Group commit: submissions queued together share one transaction; each is acknowledged
(its future resolved) only after that commit, and one refused submission refuses only itself."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import text

from budget_sim.storage import (
    Database,
    NewSubmission,
    SubmissionWriter,
    TokenReused,
    count_submissions,
    get_submission,
    is_sqlite,
    save_submission,
)

LINES = ["parks", "police", "library"]


def submission(nonce: str, parks: int = 100_00, comment: str = "") -> NewSubmission:
    return NewSubmission(
        budget_slug="town",
        budget_digest="v1",
        line_ids=LINES,
        nonce=nonce,
        amounts={"parks": parks, "police": 200_00, "library": 50_00},
        answers={"district": "d1"},
        comments={"": comment} if comment else {},
    )


@pytest.fixture
def database(database_url):
    db = Database(database_url)
    yield db
    db.dispose()


def in_thread(coroutine):
    """asyncio.run in a thread of its own: Playwright's sync API (the browser tests) keeps an
    event loop running in the main thread for the whole session."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def one_batch(database: Database, batch: list[NewSubmission]) -> list:
    """Queue `batch` before the writer starts, so it takes all of it as one transaction;
    each submission's receipt, or the exception it was refused with."""

    async def run() -> list:
        writer = SubmissionWriter(database)
        futures = [writer.submit(new) for new in batch]
        writer.start()
        outcomes = await asyncio.gather(*futures, return_exceptions=True)
        await writer.close()
        assert writer.batches == 1
        return outcomes

    return in_thread(run())


def stored_nonces(database: Database) -> set[str]:
    with database.reading() as session:
        return set(session.scalars(text("SELECT nonce FROM submissions")))


def test_a_reused_ballot_refuses_that_one_and_stores_the_rest(database):
    with database.writing() as session:
        earlier = save_submission(session, submission("stored-before"))
    outcomes = one_batch(
        database,
        [
            submission("a", comment="more trees"),
            submission("stored-before", parks=90_00),  # the same ballot, other amounts
            submission("b"),
            submission("stored-before"),  # a retry of the earlier one: same receipt
            submission("a", comment="more trees"),  # a retry within the batch
            submission("a", parks=110_00),  # the batch's own ballot reused with other amounts
        ],
    )
    a, reused, b, retry, a_again, a_reused = outcomes
    assert isinstance(reused, TokenReused) and isinstance(a_reused, TokenReused)
    assert retry == earlier and a_again == a and len({a, b, earlier}) == 3
    assert stored_nonces(database) == {"stored-before", "a", "b"}
    with database.reading() as session:
        assert get_submission(session, "town", a).comments == {"": "more trees"}
        assert get_submission(session, "town", b).amounts["parks"] == 100_00


def test_replaying_a_batch_returns_the_same_receipts_and_stores_nothing_new(database):
    batch = [submission(f"n{i}", parks=(90 + i) * 100) for i in range(5)]
    first = one_batch(database, batch)
    again = one_batch(database, batch)
    assert again == first and all(isinstance(r, str) for r in first)
    with database.reading() as session:
        assert count_submissions(session, "town") == 5


def test_amounts_for_an_unknown_line_refuse_only_that_submission(database):
    bad = NewSubmission("town", "v1", LINES, "bad", {"moon base": 1}, {})
    good, refused = one_batch(database, [submission("good"), bad])
    assert isinstance(refused, ValueError) and isinstance(good, str)
    assert stored_nonces(database) == {"good"}


def _refuse_comment(database: Database, deferred: bool) -> None:
    """A trigger that fails the transaction when a comment says 'boom': at the insert, or
    (PostgreSQL, `deferred`) only at COMMIT, after every statement of the batch succeeded."""
    with database.writing() as session:
        if is_sqlite(database.url):
            session.execute(
                text(
                    "CREATE TRIGGER refuse BEFORE INSERT ON comments WHEN NEW.text = 'boom' "
                    "BEGIN SELECT RAISE(ABORT, 'refused by the test'); END"
                )
            )
            return
        session.execute(
            text(
                "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                "IF NEW.text = 'boom' THEN RAISE EXCEPTION 'refused by the test'; END IF; "
                "RETURN NEW; END $$"
            )
        )
        timing = "CONSTRAINT TRIGGER" if deferred else "TRIGGER"
        when = "DEFERRABLE INITIALLY DEFERRED" if deferred else ""
        session.execute(
            text(
                f"CREATE {timing} refuse AFTER INSERT ON comments {when} "
                "FOR EACH ROW EXECUTE FUNCTION refuse()"
            )
        )


@pytest.mark.parametrize("deferred", [False, True], ids=["at the insert", "at commit"])
def test_a_failing_batch_acknowledges_none_of_it(database, deferred):
    if deferred and is_sqlite(database.url):
        pytest.skip("SQLite has no deferred triggers")
    _refuse_comment(database, deferred)
    with database.writing() as session:
        save_submission(session, submission("before"))
    batch = [
        submission("x"),
        submission("y", comment="boom"),
        submission("z"),
        submission("before"),
    ]
    outcomes = one_batch(database, batch)
    assert all(isinstance(o, Exception) and "refused by the test" in str(o) for o in outcomes)
    assert stored_nonces(database) == {"before"}
    # the writer goes on: the next batch is stored
    (receipt,) = one_batch(database, [submission("x")])
    assert isinstance(receipt, str) and stored_nonces(database) == {"before", "x"}


def test_the_writer_stores_what_is_queued_when_closed(database):
    async def run():
        writer = SubmissionWriter(database, max_batch=3).start()
        futures = [writer.submit(submission(f"q{i}")) for i in range(10)]
        await writer.close()
        assert all(isinstance(f.result(), str) for f in futures)
        return writer.batches

    assert in_thread(run()) == 4  # 3 + 3 + 3 + 1
    assert len(stored_nonces(database)) == 10


def test_a_budget_version_first_seen_in_a_failed_batch_is_recorded_by_the_next(database):
    _refuse_comment(database, deferred=False)
    revised = NewSubmission("town", "v2", ["parks", "pool"], "r1", {"pool": 5_00}, {})

    async def run():
        writer = SubmissionWriter(database)
        failed = writer.submit(NewSubmission(**{**revised.__dict__, "comments": {"": "boom"}}))
        writer.start()
        with pytest.raises(Exception, match="refused by the test"):
            await failed
        receipt = await writer.submit(revised)  # v2 must be recorded again
        await writer.close()
        return receipt

    receipt = in_thread(run())
    with database.reading() as session:
        stored = get_submission(session, "town", receipt)
    assert stored.budget_version == "v2" and stored.amounts == {"pool": 5_00}


def test_writers_of_several_processes_take_turns_on_sqlite(database, tmp_path):
    """Two databases objects stand for two worker processes: each writer waits for the
    other's lock without blocking its event loop, and both batches are stored."""
    if not is_sqlite(database.url):
        pytest.skip("PostgreSQL has no database-wide write lock")
    other = Database(database.url)

    async def run():
        writer = SubmissionWriter(database).start()
        with other.writing():  # the other process is writing: our batch waits for it
            waiting = writer.submit(submission("after"))
            await asyncio.sleep(0.05)
            assert not waiting.done()
        return await waiting

    try:
        assert isinstance(in_thread(run()), str)
    finally:
        other.dispose()
    assert stored_nonces(database) == {"after"}
