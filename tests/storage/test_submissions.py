"""Storing submissions: exactly once per ballot, nothing half-written, fast Arrow reads."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import inspect, text

from budget_sim.storage import (
    Database,
    NewSubmission,
    TokenReused,
    allocations_frame,
    count_submissions,
    get_submission,
    save_many,
    save_submission,
)
from budget_sim.storage.engine import SQLITE_PRAGMAS, is_sqlite

LINES = ["parks", "police", "library"]


def submission(nonce: str = "n1", parks: int = 100_00, **extra) -> NewSubmission:
    return NewSubmission(
        budget_slug="town",
        budget_digest="v1",
        line_ids=LINES,
        nonce=nonce,
        amounts={"parks": parks, "police": 200_00, "library": 50_00},
        answers={"district": "d1"},
        **extra,
    )


@pytest.fixture
def database(database_url):
    db = Database(database_url)
    yield db
    db.dispose()


def test_submission_round_trip(database):
    with database.writing() as session:
        receipt = save_submission(session, submission())
    with database.reading() as session:
        stored = get_submission(session, "town", receipt)
        assert get_submission(session, "other-town", receipt) is None
    assert stored.amounts == {"parks": 100_00, "police": 200_00, "library": 50_00}
    assert stored.answers == {"district": "d1"}
    assert len(receipt) >= 22  # 128 random bits, URL-safe


def test_retry_with_same_ballot_returns_same_receipt_and_stores_one(database):
    with database.writing() as session:
        first = save_submission(session, submission())
    with database.writing() as session:
        again = save_submission(session, submission())
    assert again == first
    with database.reading() as session:
        assert count_submissions(session, "town") == 1


def test_same_ballot_with_other_amounts_is_refused(database):
    with database.writing() as session:
        save_submission(session, submission())
    with pytest.raises(TokenReused), database.writing() as session:
        save_submission(session, submission(parks=120_00))
    with database.reading() as session:
        assert count_submissions(session, "town") == 1


def test_parallel_identical_submits_store_one_row(database):
    with ThreadPoolExecutor(max_workers=8) as pool:

        def store(_):
            with database.writing() as session:
                return save_submission(session, submission(nonce="race"))

        receipts = set(pool.map(store, range(24)))
    assert len(receipts) == 1
    with database.reading() as session:
        assert count_submissions(session, "town") == 1
        rows = session.execute(text("SELECT count(*) FROM allocations")).scalar_one()
    assert rows == 3


def test_bulk_save_and_arrow_read(database):
    batch = [
        submission(nonce=f"n{i}", parks=(90 + i % 3 * 10) * 100, synthetic=True) for i in range(300)
    ]
    with database.writing() as session:
        assert save_many(session, batch) == 300
    with database.writing() as session:
        save_submission(session, submission(nonce="real"))
    frame = allocations_frame(database.read_engine, "town")
    assert frame.shape == (301 * 3, 3)
    assert frame.schema["amount"].is_integer()
    assert (
        frame.filter(frame["line_id"] == "parks")["amount"].sum()
        == 100 * (90 + 100 + 110) * 100 + 100_00
    )
    real_only = allocations_frame(database.read_engine, "town", include_synthetic=False)
    assert real_only["submission_id"].n_unique() == 1


def test_arrow_read_refuses_unsafe_slug(database):
    with pytest.raises(ValueError, match="not a budget slug"):
        allocations_frame(database.read_engine, "x' OR '1'='1")


def test_one_per_x_rules_are_database_constraints(database):
    inspector = inspect(database.read_engine)
    unique = {tuple(c["column_names"]) for c in inspector.get_unique_constraints("submissions")}
    assert ("budget_slug", "nonce") in unique
    assert ("receipt",) in unique
    assert inspector.get_pk_constraint("allocations")["constrained_columns"] == [
        "submission_id",
        "line_id",
    ]
    assert inspector.get_pk_constraint("answers")["constrained_columns"] == [
        "submission_id",
        "question_id",
    ]


def test_sqlite_pragmas_on_every_connection(database):
    if not is_sqlite(database.url):
        pytest.skip("SQLite only")
    for engine in (database.read_engine, database.write_engine):
        with engine.connect() as connection:
            for name, value in SQLITE_PRAGMAS.items():
                got = str(connection.exec_driver_sql(f"PRAGMA {name}").scalar()).upper()
                expected = {"FULL": "2", "ON": "1"}.get(value, value).upper()
                assert got == expected, name
