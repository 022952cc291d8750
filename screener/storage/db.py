"""The database handle: one engine per app, one session per request or CLI command."""
from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from flask import Flask, current_app, g
from sqlalchemy import (
    Dialect, Engine, Executable, PoolProxiedConnection, create_engine, event, text,
)
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.orm import Session, sessionmaker


# Database.driver(): the request's autocommit driver connection, and its engine.
Driver = tuple[PoolProxiedConnection, Engine]


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
    # Straight to the driver: this runs at the start of every transaction.
    conn.connection.dbapi_connection.execute("BEGIN IMMEDIATE" if _WRITING.get() else "BEGIN")


# A pooled server connection unused for longer than this is checked before use (see below).
PING_AFTER_IDLE_SECONDS = 10.0


def _ping_after_idle(engine: Engine, idle_seconds: float) -> None:
    """Check a pooled connection before use when it sat idle, as pool_pre_ping does always.

    A database restart or failover leaves dead connections in the pool; they are found here
    (the pool then opens a new one) instead of failing a client's request. Pinging only idle
    connections spares the busy path a round trip per request (pool_pre_ping costs ~0.8 ms a
    request on PostgreSQL here); a restart in the middle of a busy spell fails at most one
    request per worker, after which SQLAlchemy replaces the whole pool.
    """

    @event.listens_for(engine, "checkin")
    def _idle_from(_dbapi_conn: Any, record: Any) -> None:
        record.info["screener_idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _check(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get("screener_idle_since")
        if since is None or time.monotonic() - since < idle_seconds:
            return
        try:
            engine.dialect.do_ping(dbapi_conn)
        except Exception as exc:  # any failure: let the pool replace this connection
            raise DisconnectionError(str(exc)) from exc


def make_engine(url: str, *, ping_after_idle: float = PING_AFTER_IDLE_SECONDS) -> Engine:
    """An engine for `url`; SQLite gets WAL mode, foreign keys and a busy timeout; a server
    database gets its idle pooled connections checked before use."""
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
    engine = create_engine(url, isolation_level="READ COMMITTED", hide_parameters=True)
    _ping_after_idle(engine, ping_after_idle)
    _end_autocommit_at_checkin(engine)
    return engine


AUTOCOMMIT_MARK = "screener_autocommit"


def _end_autocommit_at_checkin(engine: Engine) -> None:
    """A connection lent out in autocommit mode (Database.driver) goes back to the pool in the
    engine's own mode, however it comes back (closed by the request, or found by the garbage
    collector after an error)."""

    @event.listens_for(engine, "checkin")
    def _reset(dbapi_conn: Any, record: Any) -> None:
        if not record.info.pop(AUTOCOMMIT_MARK, False) or dbapi_conn is None:
            return
        try:
            engine.dialect.reset_isolation_level(dbapi_conn)
        except Exception as exc:  # broken: the pool must not hand it out again
            record.invalidate(exc)


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
        return self.of(current_app).engine  # type: ignore[arg-type]

    @property
    def sessions(self) -> sessionmaker[Session]:
        """The current app's session factory."""
        return self.of(current_app).sessions  # type: ignore[arg-type]

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
        READ COMMITTED) the write simply continues the request's transaction: two round trips
        fewer. Either way, re-read anything that must not change underneath the write (e.g.
        `session.refresh(obj, with_for_update=True)`).
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

    def driver(self) -> Driver:
        """The context's pooled driver connection in autocommit mode, with its engine.

        For DriverStatement: each statement on it is a transaction of its own (a single SELECT
        reads one consistent snapshot; a single UPDATE is atomic), with no BEGIN or COMMIT
        round trips. Work of more than one statement goes through `transaction()` (the
        session) or, on SQLite, `driver_transaction()` on this connection. The
        connection leaves autocommit when it goes back to the pool (make_engine).
        """
        held = g.get("db_driver")
        if held is None:
            held = g.db_driver = open_driver(self.engine)
        return held  # type: ignore[no-any-return]

    def _close(self, _exc: BaseException | None) -> None:
        held = g.pop("db_driver", None)
        session = g.pop("db_session", None)
        try:
            if session is not None:
                session.close()
        finally:
            if held is not None:
                held[0].close()  # back to the pool, out of autocommit (make_engine)


def open_driver(engine: Engine) -> Driver:
    """A pooled driver connection of `engine` in autocommit mode, with the engine (a Driver).

    Close its connection to give it back: it leaves autocommit at check-in (make_engine).
    """
    conn = engine.raw_connection()
    if engine.dialect.name != "sqlite":  # pysqlite here already runs in autocommit
        conn.info[AUTOCOMMIT_MARK] = True
        engine.dialect.set_isolation_level(conn.dbapi_connection, "AUTOCOMMIT")
    return conn, engine


@contextmanager
def driver_transaction(driver: Driver) -> Iterator[None]:
    """Several DriverStatements on a SQLite driver connection as one write transaction.

    BEGIN IMMEDIATE takes the write lock first, as Database.transaction does; COMMIT at the
    end, ROLLBACK when the block raises. (On a server database one statement does such work
    atomically, e.g. with a data-modifying WITH: there, use that.)
    """
    if driver[1].dialect.name != "sqlite":
        raise ValueError("driver_transaction is for SQLite's driver connections")
    _SQLITE_BEGIN.rowcount(driver, {})
    try:
        yield
    except BaseException:
        with suppress(DBAPIError):  # a lost connection: the pool discards it anyway
            _SQLITE_ROLLBACK.rowcount(driver, {})
        raise
    _SQLITE_COMMIT.rowcount(driver, {})


class DriverStatement:
    """A Core statement compiled once per dialect and run as a single statement on the request's
    driver connection (Database.driver), parameters and columns converted by their SQLAlchemy
    types as Core would.

    For the statements of every client request (find the clinic and draft, save a step):
    SQLAlchemy's execution, ORM loading and transaction handling cost ten times the statement
    itself on SQLite (~300 µs against ~30 µs), and on PostgreSQL each of those requests takes one
    round trip instead of three. Errors come out as SQLAlchemy's (DBAPIError subclasses,
    parameters hidden); a lost connection is invalidated and the engine's pool replaced, so
    connections opened before the loss are not handed out again.
    """

    def __init__(self, stmt: Executable) -> None:
        self.stmt = stmt
        self._compiled: dict[tuple[Any, ...], _Compiled] = {}

    def _compile(self, dialect: Dialect) -> _Compiled:
        compiled = self.stmt.compile(dialect=dialect)
        if getattr(compiled, "escaped_bind_names", None):
            raise ValueError("bind parameter names must be plain identifiers")
        if any(not p.required for p in compiled.binds.values()):
            # Core would fill in such values; here every parameter comes from the caller.
            raise ValueError("literal values must be written as bindparam() or null()")
        order = tuple(compiled.positiontup or ()) if compiled.positional else None
        bind = {p.key: p.type.dialect_impl(dialect).bind_processor(dialect)
                for p in compiled.binds.values()}
        columns = getattr(self.stmt, "exported_columns", None) or []  # SELECT or RETURNING
        result = [c.type.dialect_impl(dialect).result_processor(dialect, None) for c in columns]
        return _Compiled(compiled.string, order, {k: f for k, f in bind.items() if f}, result)

    def _run(self, driver: Driver, params: dict[str, Any], fetch: bool) -> tuple[Any, int]:
        conn, engine = driver
        dialect = engine.dialect
        # SQL and conversions depend on the dialect, its driver and the server's version.
        key = (type(dialect), dialect.server_version_info)
        prepared = self._compiled.get(key)
        if prepared is None:
            prepared = self._compiled[key] = self._compile(dialect)
        values = {k: (prepared.bind[k](v) if k in prepared.bind else v) for k, v in params.items()}
        args: Any = values if prepared.order is None else tuple(values[k] for k in prepared.order)
        cursor = None
        try:
            cursor = conn.cursor()
            cursor.execute(prepared.sql, args)
            row = cursor.fetchone() if fetch else None
            count = cursor.rowcount
        except dialect.loaded_dbapi.Error as exc:
            lost = dialect.is_disconnect(exc, conn.dbapi_connection, cursor)
            if lost:  # as Core does: this connection and every older pooled one are done
                conn.invalidate(exc)
                engine.dispose(close=False)
            raise DBAPIError.instance(
                prepared.sql, args, exc, dialect.loaded_dbapi.Error,
                hide_parameters=True, connection_invalidated=lost,
            ) from exc
        finally:
            if cursor is not None:
                cursor.close()
        if row is not None:
            row = [v if fn is None else fn(v) for v, fn in zip(row, prepared.result, strict=True)]
        return row, count

    def first(self, driver: Driver, params: dict[str, Any]) -> list[Any] | None:
        """The first row's values (converted), or None when there is no row."""
        return self._run(driver, params, fetch=True)[0]  # type: ignore[no-any-return]

    def rowcount(self, driver: Driver, params: dict[str, Any]) -> int:
        """Run an INSERT/UPDATE/DELETE (committed at once): the number of rows it touched."""
        return self._run(driver, params, fetch=False)[1]


@dataclass(frozen=True)
class _Compiled:
    sql: str
    order: tuple[str, ...] | None  # positional parameter names, in order (None: named)
    bind: dict[str, Any]  # parameter name -> conversion
    result: list[Any]  # column -> conversion (None: as the driver returns it)


_SQLITE_BEGIN = DriverStatement(text("BEGIN IMMEDIATE"))
_SQLITE_COMMIT = DriverStatement(text("COMMIT"))
_SQLITE_ROLLBACK = DriverStatement(text("ROLLBACK"))
