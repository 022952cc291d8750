"""Alembic environment: the URL comes from the caller (init-db) or from the app's configuration."""
from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from screener.storage.migrate import include_object
from screener.storage.models import Base

config = context.config
target_metadata = Base.metadata


def _url() -> str:
    url = config.get_main_option("sqlalchemy.url")
    if url:
        return url
    from screener import create_app

    return str(create_app().config["DATABASE_URL"])


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters by copying tables
        include_object=include_object,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    context.configure(
        url=_url(), target_metadata=target_metadata, literal_binds=True,
        include_object=include_object,
    )
    with context.begin_transaction():
        context.run_migrations()
else:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
    else:
        from screener.storage.db import make_engine

        engine = make_engine(_url())
        with engine.connect() as conn:
            _run(conn)
        engine.dispose()
