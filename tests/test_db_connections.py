"""Pooled connections to a database server survive its restart: a connection is checked before
use and replaced when dead (pool_pre_ping, screener/storage/db.py). Against PostgreSQL in both
passes of scripts/test: SQLite has no server to lose."""
from __future__ import annotations

import os

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from screener.storage.db import make_engine

# Servers of their own (gunicorn, Redis, a database server): left out by scripts/test --quick.
pytestmark = pytest.mark.server


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


def test_a_dead_pooled_connection_is_replaced_before_use(server_url: str) -> None:
    engine = make_engine(server_url)
    try:
        old = kill_pooled_connection(server_url, engine)
        with engine.connect() as conn:
            assert conn.execute(text("SELECT pg_backend_pid()")).scalar_one() != old
    finally:
        engine.dispose()


def test_without_the_check_the_dead_connection_fails_the_request(server_url: str) -> None:
    """The control: what the check saves a client from."""
    engine = create_engine(server_url)  # no check before use
    try:
        kill_pooled_connection(server_url, engine)
        with pytest.raises(OperationalError), engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        with engine.connect() as conn:  # the pool was replaced after the failure
            assert conn.execute(text("SELECT 1")).scalar_one() == 1
    finally:
        engine.dispose()
