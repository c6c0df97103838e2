"""Alembic environment: loopml passes an open connection; no alembic.ini, no logging set-up."""

from __future__ import annotations

from alembic import context

from loopml.store._tables import metadata

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata,
    transactional_ddl=True,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
