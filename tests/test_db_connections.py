"""Pooled connections to a database server survive its restart: an idle connection is checked
before use and replaced when dead (screener/storage/db.py). Against PostgreSQL in both passes
of scripts/test: SQLite has no server to lose."""
from __future__ import annotations

import gc
import os

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from screener.storage.db import make_engine, open_driver


@pytest.fixture
def server_url(database_url: str) -> str:
    """The PostgreSQL server of the run: the suite's database, or in the SQLite pass the server
    scripts/test started for the PostgreSQL pass (SCREENER_TEST_PG_URL)."""
    url = database_url
    if url.startswith("sqlite"):
        url = os.environ.get("SCREENER_TEST_PG_URL", "")
    if not url:
        pytest.skip("needs a PostgreSQL server: run scripts/test, or set SCREENER_TEST_PG_URL")
    return url


def kill_pooled_connection(url: str, engine: object) -> int:
    """Terminate, from another connection, the server process behind the engine's pooled one."""
    with engine.connect() as conn:  # type: ignore[attr-defined]
        pid = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
    killer = make_engine(url)
    with killer.connect() as conn:
        assert conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar_one()
    killer.dispose()
    return int(pid)


def test_an_idle_dead_connection_is_replaced_before_use(server_url: str) -> None:
    engine = make_engine(server_url, ping_after_idle=0.0)  # every checkout counts as idle
    try:
        old = kill_pooled_connection(server_url, engine)
        with engine.connect() as conn:
            assert conn.execute(text("SELECT pg_backend_pid()")).scalar_one() != old
    finally:
        engine.dispose()


def test_without_the_check_the_dead_connection_fails_the_request(server_url: str) -> None:
    """The control: what the check saves a client from."""
    engine = make_engine(server_url, ping_after_idle=3600.0)  # never idle long enough
    try:
        kill_pooled_connection(server_url, engine)
        with pytest.raises(OperationalError), engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        with engine.connect() as conn:  # the pool was replaced after the failure
            assert conn.execute(text("SELECT 1")).scalar_one() == 1
    finally:
        engine.dispose()


def test_a_driver_connection_leaves_autocommit_when_returned(server_url: str) -> None:
    """Database.driver lends connections in autocommit mode; back in the pool they are in the
    engine's mode again, even when the request never closed them (found by the collector)."""
    engine = make_engine(server_url)
    try:
        for close in (True, False):
            conn, _ = open_driver(engine)
            raw = conn.dbapi_connection
            assert raw.autocommit
            if close:
                conn.close()
            else:
                del conn
                gc.collect()
            assert raw.autocommit is False
            with engine.connect() as again:  # and a transaction on it can roll back
                again.execute(text("CREATE TEMP TABLE t (x int)"))
                again.rollback()
                assert again.execute(text(
                    "SELECT count(*) FROM pg_tables WHERE tablename = 't'")).scalar_one() == 0
    finally:
        engine.dispose()
