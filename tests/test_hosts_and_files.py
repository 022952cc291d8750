"""Host headers (a malformed or untrusted one is a plain 400 on every route), and the instance
folder and SQLite files readable by their owner only."""
from __future__ import annotations

import os
import secrets
import stat
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from screener import create_app
from screener.config import ROOT
from screener.extensions import db
from screener.storage.models import Clinic

from .conftest import start_form

PATHS = ["/healthz", "/c/demo/", "/embed/demo/", "/dashboard/login", "/static/screener.css",
         "/no/such/page", "/embed.js"]


@pytest.mark.parametrize("host", ["exa mple.com", "[::1", "a/b", "example.com:abc", "é.example",
                                  "example.com:99999", "<script>"])
def test_a_malformed_host_is_a_plain_400_everywhere(client: FlaskClient, host: str) -> None:
    for path in PATHS:
        r = client.get(path, headers={"Host": host})
        assert r.status_code == 400, (path, r.status_code)
        body = r.get_data(as_text=True)
        assert "Bad request" in body and "<link" not in body and "href" not in body, path
        assert r.headers["X-Content-Type-Options"] == "nosniff"
    r = client.post("/c/demo/start", data=start_form(), headers={"Host": host})
    assert r.status_code == 400


def test_trusted_hosts_refuse_any_other_host(app: Flask, client: FlaskClient) -> None:
    app.config["TRUSTED_HOSTS"] = ["screener.example", ".clinic.example"]
    for path in PATHS:
        r = client.get(path, headers={"Host": "evil.example"})
        assert r.status_code == 400, (path, r.status_code)
        assert "Bad request" in r.get_data(as_text=True)
    assert client.get("/healthz", headers={"Host": "screener.example"}).status_code == 200
    assert client.get("/c/demo/", headers={"Host": "www.clinic.example:8443"}).status_code == 200
    r = client.post("/c/demo/start", data=start_form(), headers={"Host": "evil.example"})
    assert r.status_code == 400


def test_trusted_hosts_come_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("SCREENER_TRUSTED_HOSTS", "screener.example, localhost")
    monkeypatch.setenv("SCREENER_INSTANCE", str(tmp_path))
    app = create_app({"TESTING": True, "DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}"})
    assert app.config["TRUSTED_HOSTS"] == ["screener.example", "localhost"]


# File modes ------------------------------------------------------------------------------------


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def init_db(instance: Path) -> None:
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATABASE_URL", "SECRET_KEY", "SCREENER_TEST_DATABASE_URL")}
    env.update(SCREENER_INSTANCE=str(instance))
    result = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "screener", "init-db"],
        cwd=ROOT, env=env, capture_output=True, text=True, check=False,
    )
    assert result.returncode == 0, result.stderr


@contextmanager
def app_writing(instance: Path) -> Iterator[None]:
    """The app started on the instance, having written to its database, its connection still
    open (SQLite keeps -wal and -shm files while one is)."""
    app = create_app({"TESTING": True, "DATABASE_URL": f"sqlite:///{instance / 'screener.db'}"})
    try:
        with app.app_context(), db.transaction() as s:
            s.add(Clinic(slug=f"modes-{secrets.token_hex(4)}", name="Modes", allowed_origins=[]))
        with db.of(app).engine.connect():
            yield
    finally:
        db.of(app).engine.dispose()


def test_a_fresh_instance_is_private(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    old_umask = os.umask(0o022)  # a usual shell's umask
    try:
        instance = tmp_path / "instance"
        init_db(instance)
        assert mode(instance) == 0o700
        assert mode(instance / "screener.db") == 0o600
        assert mode(instance / "secret_key") == 0o600
        monkeypatch.setenv("SCREENER_INSTANCE", str(instance))
        os.umask(0o022)
        with app_writing(instance):
            assert {p.name: mode(p) for p in instance.iterdir()} == {
                "screener.db": 0o600, "screener.db-wal": 0o600, "screener.db-shm": 0o600,
                "secret_key": 0o600,
            }
    finally:
        os.umask(old_umask)


def test_an_existing_readable_instance_is_made_private(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    instance = tmp_path / "instance"
    init_db(instance)
    monkeypatch.setenv("SCREENER_INSTANCE", str(instance))
    with app_writing(instance):
        instance.chmod(0o755)
        for path in instance.iterdir():
            path.chmod(0o644)
        with app_writing(instance):  # any start-up puts it right
            assert mode(instance) == 0o700
            assert {p.name: mode(p) for p in instance.iterdir()} == {
                "screener.db": 0o600, "screener.db-wal": 0o600, "screener.db-shm": 0o600,
                "secret_key": 0o600,
            }
    instance.chmod(0o755)
    (instance / "screener.db").chmod(0o644)
    init_db(instance)  # and init-db on an existing folder too
    assert mode(instance) == 0o700 and mode(instance / "screener.db") == 0o600
