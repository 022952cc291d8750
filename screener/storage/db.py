"""The database handle: one engine per app, one session per request or CLI command."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from flask import Flask, current_app, g
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")  # readers never block the writer
    cur.execute("PRAGMA synchronous=NORMAL")  # durable at checkpoints; safe with WAL
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.close()


# Set while a write transaction starts, so SQLite takes its write lock at BEGIN.
_WRITING: ContextVar[bool] = ContextVar("screener_db_writing", default=False)


def _sqlite_begin(conn: Any) -> None:
    # SQLAlchemy's documented recipe for pysqlite: emit BEGIN ourselves (the driver's own is off).
    conn.exec_driver_sql("BEGIN IMMEDIATE" if _WRITING.get() else "BEGIN")


def make_engine(url: str) -> Engine:
    """An engine for `url`; SQLite gets WAL mode, foreign keys and a busy timeout; a server
    database gets its pooled connections checked before use (pool_pre_ping), so a database
    restart or failover costs no client a failed page."""
    # Bound parameters hold clients' answers: never copied into error messages and logs.
    if url.startswith("sqlite"):
        engine = create_engine(
            url, connect_args={"timeout": 10, "isolation_level": None}, hide_parameters=True
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        # pysqlite's own BEGIN is off (isolation_level None). Write transactions take the write
        # lock at BEGIN, so concurrent writers queue on busy_timeout instead of failing to
        # upgrade a read snapshot; reads stay deferred and never block anyone (WAL).
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    # READ COMMITTED (PostgreSQL's default, stated): a write continues the request's read
    # transaction (Database.transaction) and re-reads rows it must lock.
    return create_engine(
        url, isolation_level="READ COMMITTED", hide_parameters=True, pool_pre_ping=True
    )


@dataclass(frozen=True)
class AppDatabase:
    """One app's engine and session factory."""

    engine: Engine
    sessions: sessionmaker[Session]


class Database:
    """Hands out sessions bound to the current app context.

    The engine belongs to the app (app.extensions), not to this shared object, so several apps
    in one process (tests, a live server beside them) never use or close each other's engine.
    """

    def init_app(self, app: Flask) -> None:
        engine = make_engine(app.config["DATABASE_URL"])
        app.extensions["screener_db"] = AppDatabase(
            engine, sessionmaker(engine, expire_on_commit=False)
        )
        app.teardown_appcontext(self._close)

    @staticmethod
    def of(app: Flask) -> AppDatabase:
        """The database of `app` (usable outside an app context)."""
        return app.extensions["screener_db"]  # type: ignore[no-any-return]

    @property
    def engine(self) -> Engine:
        """The current app's engine."""
        return self.of(current_app).engine

    @property
    def sessions(self) -> sessionmaker[Session]:
        """The current app's session factory."""
        return self.of(current_app).sessions

    @property
    def session(self) -> Session:
        """The session of the current app context, created on first use."""
        if "db_session" not in g:
            g.db_session = self.sessions()
        return g.db_session  # type: ignore[no-any-return]

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A write transaction on the context's session: commit on success, roll back on error.

        On SQLite a read transaction already open is ended first (loaded objects stay usable),
        so that the write transaction takes the write lock at its BEGIN. Elsewhere (PostgreSQL,
        READ COMMITTED) the write simply continues the request's transaction. Either way,
        re-read anything that must not change underneath the write, or make the write
        conditional (an UPDATE ... WHERE that states what it expects).
        """
        session = self.session
        if session.in_transaction() and not self.is_sqlite:
            try:
                yield session
            except BaseException:
                session.rollback()
                raise
            session.commit()
            return
        if session.in_transaction():
            session.commit()
        writing = _WRITING.set(True)
        try:
            with session.begin():
                yield session
        finally:
            _WRITING.reset(writing)

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    def _close(self, _exc: BaseException | None) -> None:
        session = g.pop("db_session", None)
        if session is not None:
            session.close()
