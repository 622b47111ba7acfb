"""Shared fixtures: a migrated database on SQLite (always) and PostgreSQL (when configured)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from budget_sim.settings import Settings
from budget_sim.storage import upgrade

# CI sets this (see .ci/run); locally, storage and web tests run on SQLite only unless you do.
POSTGRES_URL = os.environ.get("BUDGET_SIM_TEST_DATABASE_URL")
BACKENDS = ["sqlite", *(["postgresql"] if POSTGRES_URL else [])]
SHARED_SOURCES = Path(__file__).resolve().parents[2] / "shared" / "budget_sources"


def _fresh_postgres(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture(params=BACKENDS)
def unmigrated_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database nobody has migrated: a SQLite file not yet there, or the CI PostgreSQL
    database reset to an empty schema."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'budget-sim.db'}"
    assert POSTGRES_URL is not None
    _fresh_postgres(POSTGRES_URL)
    return POSTGRES_URL


@pytest.fixture
def database_url(unmigrated_database_url: str) -> str:
    """An empty, migrated database, on each backend."""
    upgrade(unmigrated_database_url)
    return unmigrated_database_url


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        database_url=database_url,
        instance_dir=tmp_path / "instance",
        secret_key="test-secret-key-not-for-production",
        warm_insights=False,  # tests that look at dashboards see exactly what they stored
    )
