"""Alembic environment: the engine comes from ``migrate.alembic_config``, not from a file."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Engine

from portcullis.server.tables import Base


def run() -> None:
    engine: Engine = context.config.attributes["engine"]
    with engine.connect() as connection:
        # render_as_batch: SQLite alters tables by copying them; batch mode does that for us.
        context.configure(connection=connection, target_metadata=Base.metadata,
                          render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


run()
