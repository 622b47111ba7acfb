"""Storing submissions: exactly once per ballot, nothing half-written, fast Arrow reads."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import polars as pl
import pytest
from sqlalchemy import inspect, text

from budget_sim.storage import (
    Database,
    NewSubmission,
    TokenReused,
    count_submissions,
    get_submission,
    save_many,
    save_submission,
)
from budget_sim.storage.engine import SQLITE_PRAGMAS, is_sqlite
from budget_sim.storage.exports import SubmissionTables, removed_lines, submissions_table
from budget_sim.storage.submissions import new_receipt

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


def test_receipts_never_start_like_a_spreadsheet_formula():
    receipts = {new_receipt() for _ in range(2_000)}  # about 120 would start with - or _
    assert len(receipts) == 2_000 and all(r[0].isalnum() for r in receipts)


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
        rows = session.execute(text("SELECT count(*) FROM submissions")).scalar_one()
    assert rows == 1


def test_bulk_save_and_wide_read(database):
    batch = [
        submission(nonce=f"n{i}", parks=(90 + i % 3 * 10) * 100, synthetic=True) for i in range(300)
    ]
    with database.writing() as session:
        assert save_many(session, batch) == 300
    with database.writing() as session:
        save_submission(session, submission(nonce="real"))
    table = submissions_table(database.read_engine, "town", LINES, include_synthetic=True)
    assert table.height == 301
    assert table.columns[:9] == [
        *("receipt", "submitted_at", "locale", "synthetic", "revision", "budget_version"),
        *LINES,
    ]
    assert table.schema["parks"] == pl.Int64
    assert table["parks"].sum() == 100 * (90 + 100 + 110) * 100 + 100_00
    assert table["answer.district"].to_list() == ["d1"] * 301
    real_only = submissions_table(database.read_engine, "town", LINES)
    assert real_only.height == 1 and not real_only["synthetic"].any()


def test_wide_read_refuses_unsafe_slug(database):
    with pytest.raises(ValueError, match="not a budget slug"):
        submissions_table(database.read_engine, "x' OR '1'='1", LINES)


def test_versions_are_unpacked_by_their_own_lines(database):
    """A revision that adds and drops lines: each submission keeps the amounts it was made
    with; a line it never had is empty, and a line the budget no longer has is left out."""
    with database.writing() as session:
        save_submission(session, submission(nonce="old"))
        save_submission(
            session,
            NewSubmission(
                budget_slug="town",
                budget_digest="v2",
                line_ids=["library", "pool", "parks"],
                nonce="new",
                amounts={"library": 7, "pool": 8, "parks": 9},
                answers={},
            ),
        )
    current = ["parks", "pool", "library"]
    table = submissions_table(database.read_engine, "town", current)
    assert table.select(current).rows() == [(100_00, None, 50_00), (9, 8, 7)]
    assert table["answer.district"].to_list() == ["d1", None]
    assert removed_lines(table, current) == ["police"]  # revision 2 removed it
    assert table["police"].to_list() == [200_00, None]
    assert table["budget_version"].to_list() == ["v1", "v2"]
    assert table["revision"].to_list() == [None, None]  # not uploaded: packages on disk


def test_amounts_for_unknown_lines_are_refused(database):
    bad = NewSubmission(
        budget_slug="town",
        budget_digest="v1",
        line_ids=LINES,
        nonce="x",
        amounts={"parks": 1, "moon base": 2},
        answers={},
    )
    with pytest.raises(ValueError, match="moon base"), database.writing() as session:
        save_submission(session, bad)


def test_cached_table_reads_only_what_is_new(database):
    tables = SubmissionTables(database.read_engine)
    with database.writing() as session:
        save_submission(session, submission(nonce="a"))
    first, stamp = tables.get("town", LINES, include_synthetic=False)
    again, same = tables.get("town", LINES, include_synthetic=False)
    assert first.height == again.height == 1 and same == stamp
    with database.writing() as session:
        save_many(session, [submission(nonce=f"d{i}", synthetic=True) for i in range(5)])
        save_submission(session, submission(nonce="b", parks=1))
    real, newer = tables.get("town", LINES, include_synthetic=False)
    everyone, _ = tables.get("town", LINES, include_synthetic=True)
    assert newer != stamp
    assert real["parks"].to_list() == [100_00, 1]
    assert everyone.height == 7
    assert everyone.equals(
        submissions_table(database.read_engine, "town", LINES, include_synthetic=True)
    )
    with database.writing() as session:  # staff flag one: the next read leaves it out
        session.execute(text("UPDATE submissions SET flagged = TRUE WHERE nonce = 'b'"))
    assert tables.get("town", LINES, include_synthetic=False)[0]["parks"].to_list() == [100_00]


def test_one_per_x_rules_are_database_constraints(database):
    inspector = inspect(database.read_engine)
    unique = {tuple(c["column_names"]) for c in inspector.get_unique_constraints("submissions")}
    assert ("budget_slug", "nonce") in unique
    assert ("receipt",) in unique
    assert inspector.get_pk_constraint("comments")["constrained_columns"] == [
        "submission_id",
        "line_id",
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


def test_fingerprint_is_the_one_earlier_releases_stored():
    """A ballot submitted before an upgrade and retried after it must get its receipt back,
    not a refusal: the fingerprint of the same choices never changes."""
    new = submission(comments={"": "More trees — and shade"})
    expected = "762307e9839d7aff54e85166b2a68c05ceb2af886f2d5aef87c9c439c6c21436"
    assert new.fingerprint == expected
