"""/healthz: the process answers, whatever the database does. /readyz: 200 only while the
database answers and its schema is at Alembic's head, else 503 with a short reason."""

from __future__ import annotations

from pathlib import Path

from starlette.testclient import TestClient

from budget_sim.settings import Settings
from budget_sim.storage import upgrade
from budget_sim.web import create_app
from tests.conftest import TEST_HOSTS


def settings_on(url: str, tmp_path: Path) -> Settings:
    return Settings(
        database_url=url,
        instance_dir=tmp_path / "instance",
        secret_key="test-secret-key-not-for-production",
        warm_insights=False,
        allowed_hosts=TEST_HOSTS,
    )


def test_a_migrated_database_is_ready(client: TestClient):
    alive = client.get("/healthz")
    assert (alive.status_code, alive.text) == (200, "ok")
    ready = client.get("/readyz")
    assert (ready.status_code, ready.text) == (200, "ready")
    for response in (alive, ready):
        assert response.headers["cache-control"] == "no-store"
        assert "content-security-policy" in response.headers


def test_an_unmigrated_database_is_not_ready_until_it_is_migrated(
    unmigrated_database_url: str, tmp_path: Path
):
    app = create_app(settings_on(unmigrated_database_url, tmp_path))
    with TestClient(app) as client:
        assert client.get("/healthz").status_code == 200
        ready = client.get("/readyz")
        assert (ready.status_code, ready.text) == (503, "database not migrated")
        upgrade(unmigrated_database_url, "0005")
        ready = client.get("/readyz")
        assert (ready.status_code, ready.text) == (503, "database schema out of date")
        upgrade(unmigrated_database_url)
        assert client.get("/readyz").status_code == 200  # no restart needed


def test_healthz_does_not_touch_the_database(tmp_path: Path):
    database_url = f"sqlite:///{tmp_path / 'budget-sim.db'}"
    upgrade(database_url)
    with TestClient(create_app(settings_on(database_url, tmp_path))) as client:
        assert client.get("/readyz").status_code == 200
        # the database goes away: its file becomes a folder SQLite cannot open
        path = Path(database_url.removeprefix("sqlite:///"))
        path.rename(path.with_suffix(".gone"))
        path.mkdir()
        client.app_state["database"].read_engine.dispose()
        ready = client.get("/readyz")
        assert (ready.status_code, ready.text) == (503, "database unreachable")
        alive = client.get("/healthz")
        assert (alive.status_code, alive.text) == (200, "ok")
