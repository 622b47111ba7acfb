"""Running the Alembic migrations in `migrations/` against a database URL, and telling whether a
database's schema is the one this code expects."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.script.revision import RevisionError
from alembic.util.exc import CommandError
from sqlalchemy import Connection, Engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from budget_sim import resources
from budget_sim.storage.engine import is_sqlite, make_engine

# current: at Alembic's head; behind: an older revision (run `budget-sim db upgrade`);
# empty: never migrated; unknown: a revision this code does not have (a newer budget-sim wrote it)
SchemaStatus = Literal["current", "behind", "empty", "unknown"]


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


@lru_cache(maxsize=1)
def _scripts() -> ScriptDirectory:
    return ScriptDirectory(str(resources.migrations()))


def head() -> str:
    """The newest revision this code has."""
    return _scripts().get_current_head() or ""


def schema_state(connection: Connection) -> SchemaStatus:
    """Where the schema behind `connection` stands against this code's migrations."""
    current = set(MigrationContext.configure(connection).get_current_heads())
    if not current:
        return "empty"
    if current == set(_scripts().get_heads()):
        return "current"
    try:
        for revision in current:
            _scripts().get_revision(revision)
    except (CommandError, RevisionError):  # a revision this code has never seen
        return "unknown"
    return "behind"


def schema_status(url: str) -> SchemaStatus:
    """`schema_state` of the database at `url`; a SQLite file that is not there yet is empty
    (and is not created by asking). Raises SQLAlchemy's errors when it cannot connect."""
    if is_sqlite(url):
        database = make_url(url).database
        if database and database != ":memory:" and not Path(database).exists():
            return "empty"
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return schema_state(connection)
    finally:
        engine.dispose()


def readiness_problem(engine: Engine) -> str | None:
    """Why the database behind `engine` cannot serve this code (unreachable, or a schema that is
    not at Alembic's head), in a few words; None when it can."""
    try:
        with engine.connect() as connection:
            status = schema_state(connection)
    except SQLAlchemyError:
        return "database unreachable"
    if status == "current":
        return None
    return {
        "empty": "database not migrated",
        "behind": "database schema out of date",
        "unknown": "database schema newer than this code",
    }[status]
