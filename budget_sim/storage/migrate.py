"""Running the Alembic migrations in `migrations/` against a database URL."""

from __future__ import annotations

from alembic import command
from alembic.config import Config

from budget_sim import resources


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(resources.migrations()))
    config.attributes["database_url"] = url
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the schema at `url` up to `revision`."""
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str = "base") -> None:
    command.downgrade(alembic_config(url), revision)
