"""Alembic environment: the URL comes from the caller (budget-sim db upgrade), never a file."""

from __future__ import annotations

from alembic import context

from budget_sim.storage.engine import is_sqlite, make_engine
from budget_sim.storage.tables import Base

url = context.config.attributes["database_url"]
engine = make_engine(url)
with engine.connect() as connection:
    if is_sqlite(url):
        # Batch migrations copy a table and drop the old one; with foreign keys on, that drop
        # would cascade to the rows referring to it (comments, ...). Off for the migration
        # (outside any transaction, where SQLite honours it), and checked afterwards.
        # On the driver's connection: SQLAlchemy's would BEGIN first.
        connection.connection.driver_connection.execute("PRAGMA foreign_keys=OFF")
    context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()
    if is_sqlite(url):
        broken = connection.connection.driver_connection.execute(
            "PRAGMA foreign_key_check"
        ).fetchall()
        if broken:
            raise RuntimeError(f"the migration left rows pointing nowhere: {broken[:5]}")
engine.dispose()
