"""Run the Alembic migrations against an engine (used by init-db and the tests)."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, text

from ..config import ROOT

# What migration 0012 builds for name search outside the models (one engine's each): SQLite's
# FTS5 table and the tables FTS5 keeps it in, PostgreSQL's pg_trgm expression indexes.
SEARCH_TABLE = "submission_name"
SEARCH_INDEXES = frozenset({"ix_submission_name_trgm", "ix_submission_name_short_trgm"})


def include_object(
    obj: object, name: str | None, type_: str, reflected: bool, compare_to: object
) -> bool:
    """Alembic's comparison of the database with the models leaves out the search index."""
    if type_ == "table" and name is not None and name.startswith(SEARCH_TABLE):
        return False
    return not (type_ == "index" and name in SEARCH_INDEXES)


def alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
    return cfg


@contextmanager
def _migrating(engine: Engine) -> Iterator[Connection]:
    """A connection in a transaction for Alembic. On SQLite, foreign keys are off meanwhile:
    batch mode alters a table by copying it and dropping the old one, and dropping a table
    that others refer to would delete or empty their rows (ON DELETE). Every reference is
    checked before the transaction commits."""
    with engine.connect() as conn:
        sqlite = conn.dialect.name == "sqlite"
        if sqlite:  # a PRAGMA that works only outside a transaction: straight to the driver
            conn.connection.dbapi_connection.execute("PRAGMA foreign_keys=OFF")  # type: ignore[union-attr]
        try:
            with conn.begin():
                yield conn
                if sqlite and conn.exec_driver_sql("PRAGMA foreign_key_check").first():
                    raise RuntimeError("the migration left rows that refer to no row")
        finally:
            if sqlite:
                conn.connection.dbapi_connection.execute("PRAGMA foreign_keys=ON")  # type: ignore[union-attr]


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the database schema to `revision`."""
    cfg = alembic_config()
    with _migrating(engine) as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def downgrade(engine: Engine, revision: str) -> None:
    """Take the database schema back to `revision`."""
    cfg = alembic_config()
    with _migrating(engine) as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, revision)


def recreate(url: str) -> None:
    """An empty database at the latest schema (tests and benchmarks; drops what is there)."""
    from .db import make_engine

    engine = make_engine(url)
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    upgrade(engine)
    engine.dispose()
