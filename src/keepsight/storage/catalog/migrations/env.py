"""Alembic environment: runs against the engine keepsight hands over (no alembic.ini)."""

from __future__ import annotations

from alembic import context

from keepsight.storage.catalog.tables import metadata

engine = context.config.attributes["engine"]
with engine.begin() as connection:
    context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()
