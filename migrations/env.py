"""Alembic environment: the URL comes from the caller (budget-sim db upgrade), never a file."""

from __future__ import annotations

from alembic import context

from budget_sim.storage.engine import make_engine
from budget_sim.storage.tables import Base

url = context.config.attributes["database_url"]
engine = make_engine(url)
with engine.connect() as connection:
    context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()
engine.dispose()
