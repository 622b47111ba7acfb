"""Shared fixtures: a migrated database on SQLite (always) and PostgreSQL (when configured)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from budget_sim import resources
from budget_sim.settings import LOOPBACK_HOSTS, Settings
from budget_sim.storage import upgrade

# CI sets this (see .ci/run); locally, storage and web tests run on SQLite only unless you do.
SOURCES_FOR_TESTS = Path(__file__).resolve().parent / "budget_sources"
POSTGRES_URL = os.environ.get("BUDGET_SIM_TEST_DATABASE_URL")
BACKENDS = ["sqlite", *(["postgresql"] if POSTGRES_URL else [])]
TEST_HOSTS = ["testserver", *LOOPBACK_HOSTS]  # Starlette's TestClient sends Host: testserver


def source_csv(name: str) -> Path:
    """A city's own budget file (budget_sources layout): beside its package in budget_data/, or,
    for a city that is not shipped, in tests/budget_sources/."""
    found = [*resources.budget_data().glob(f"*/{name}"), *SOURCES_FOR_TESTS.glob(name)]
    assert len(found) == 1, f"{name}: expected one source file, found {found}"
    return found[0]


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
        allowed_hosts=TEST_HOSTS,
    )
