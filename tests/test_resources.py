"""The shipped folders are found through budget_sim.resources; a site's own files go to the
instance folder (relative to where it is started), and the default database follows it."""

from __future__ import annotations

from pathlib import Path

import pytest

from budget_sim import resources
from budget_sim.settings import Settings


def test_a_checkout_finds_its_top_level_folders():
    root = Path(__file__).resolve().parents[1]
    assert resources.templates() == root / "templates"
    assert (resources.templates() / "base.html").is_file()
    assert (resources.static() / "app.css").is_file()
    assert (resources.budget_data() / "cambridge-fy2026" / "budget.toml").is_file()
    assert (resources.migrations() / "env.py").is_file()


def test_an_unknown_resource_is_refused():
    with pytest.raises(ValueError, match="unknown resource folder 'secrets'"):
        resources.resource("secrets")


@pytest.fixture
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No BUDGET_SIM_* variables and no .env: the defaults, from an empty working folder."""
    for name in ("DATABASE_URL", "INSTANCE_DIR", "DATA_DIR", "SECRET_KEY"):
        monkeypatch.delenv(f"BUDGET_SIM_{name}", raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_by_default_the_instance_folder_is_in_the_working_folder(clean_environment: Path):
    settings = Settings()
    assert settings.instance_dir == clean_environment / "instance"
    assert settings.database_url == f"sqlite:///{clean_environment / 'instance' / 'budget-sim.db'}"
    assert settings.data_dir == resources.budget_data()


def test_the_default_database_follows_the_instance_folder(
    clean_environment: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("BUDGET_SIM_INSTANCE_DIR", "var/site")
    settings = Settings()
    assert settings.instance_dir == clean_environment / "var" / "site"
    assert settings.database_url.endswith(f"{clean_environment}/var/site/budget-sim.db")


def test_a_database_url_given_is_kept(clean_environment: Path, monkeypatch: pytest.MonkeyPatch):
    url = "postgresql+psycopg://budget_sim@db.example.org/budget_sim"
    monkeypatch.setenv("BUDGET_SIM_DATABASE_URL", url)
    monkeypatch.setenv("BUDGET_SIM_INSTANCE_DIR", "elsewhere")
    assert Settings().database_url == url
