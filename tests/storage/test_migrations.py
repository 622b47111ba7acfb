"""Migrations keep what was stored: rows written under an older schema read the same after."""

from __future__ import annotations

from sqlalchemy import create_engine, text

from budget_sim.storage import Database, get_submission, upgrade
from budget_sim.storage.migrate import downgrade


def _old_rows(url: str) -> None:
    """Two submissions as schema 0004 stored them: amounts and answers one row per value."""
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO budget_versions (id, slug, digest, line_ids, created_at) VALUES "
                "(1, 'town', 'v1', '[\"parks\", \"police\"]', '2026-01-01 00:00:00+00:00')"
            )
        )
        for sid, receipt in ((1, "r-one"), (2, "r-two")):
            connection.execute(
                text(
                    "INSERT INTO submissions (id, budget_slug, budget_version_id, nonce, receipt, "
                    "fingerprint, created_at, synthetic, flagged, locale) VALUES (:id, 'town', 1, "
                    ":nonce, :receipt, 'f', '2026-01-02 00:00:00+00:00', FALSE, FALSE, 'es')"
                ),
                {"id": sid, "nonce": f"n{sid}", "receipt": receipt},
            )
        connection.execute(
            text(
                "INSERT INTO allocations (submission_id, line_id, amount) VALUES "
                "(1, 'parks', 100), (1, 'police', -5), (2, 'parks', 7)"
            )
        )
        connection.execute(
            text("INSERT INTO answers (submission_id, question_id, value) VALUES (1, 'ward', 'w3')")
        )
        connection.execute(
            text("INSERT INTO comments (submission_id, line_id, text) VALUES (2, '', 'More parks')")
        )
    engine.dispose()


def _read(url: str) -> dict[str, tuple[dict, dict, dict]]:
    database = Database(url)
    with database.reading() as session:
        found = {}
        for receipt in ("r-one", "r-two"):
            stored = get_submission(session, "town", receipt)
            assert stored is not None
            found[receipt] = (stored.amounts, stored.answers, stored.comments)
    database.dispose()
    return found


def test_packing_keeps_every_amount_and_answer(database_url):
    downgrade(database_url, "0004")
    _old_rows(database_url)
    upgrade(database_url)
    expected = {
        "r-one": ({"parks": 100, "police": -5}, {"ward": "w3"}, {}),
        # no amount for police was stored: none is made up; the comment survives the table copy
        "r-two": ({"parks": 7}, {}, {"": "More parks"}),
    }
    assert _read(database_url) == expected
    downgrade(database_url, "0004")  # and back again, losing nothing
    upgrade(database_url)
    assert _read(database_url) == expected
