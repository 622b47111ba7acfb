"""Shared fixtures: a migrated database on SQLite (always) and PostgreSQL (when configured)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from budget_sim.settings import LOOPBACK_HOSTS, PROJECT_ROOT, Settings
from budget_sim.storage import upgrade

# CI sets this (see .ci/run); locally, storage and web tests run on SQLite only unless you do.
POSTGRES_URL = os.environ.get("BUDGET_SIM_TEST_DATABASE_URL")
BACKENDS = ["sqlite", *(["postgresql"] if POSTGRES_URL else [])]
SHARED_SOURCES = PROJECT_ROOT.parent / "shared" / "budget_sources"
TEST_HOSTS = ["testserver", *LOOPBACK_HOSTS]  # Starlette's TestClient sends Host: testserver


def _fresh_postgres(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty, migrated database: a SQLite file, or the CI PostgreSQL database reset."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'budget-sim.db'}"
    else:
        assert POSTGRES_URL is not None
        url = POSTGRES_URL
        _fresh_postgres(url)
    upgrade(url)
    return url


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        database_url=database_url,
        instance_dir=tmp_path / "instance",
        secret_key="test-secret-key-not-for-production",
        warm_insights=False,  # tests that look at dashboards see exactly what they stored
        allowed_hosts=TEST_HOSTS,
    )
