"""Run the Alembic migrations against an engine (used by init-db and the tests)."""
from __future__ import annotations

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, text

from ..config import ROOT

# What migration 0010 builds for name search outside the models (one engine's each): SQLite's
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


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the database schema to `revision`."""
    cfg = alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def downgrade(engine: Engine, revision: str) -> None:
    """Take the database schema back to `revision`."""
    cfg = alembic_config()
    with engine.begin() as conn:
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
