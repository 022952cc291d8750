"""No draft token in any log line: gunicorn's access and error logs as the documented server
command writes them (gunicorn.conf.py), Flask's exception log and Werkzeug's request log."""
from __future__ import annotations

import datetime as dt
import http.client
import logging
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from flask import Flask
from werkzeug.serving import make_server

from screener import create_app
from screener.config import ROOT

from .conftest import STEP_ANSWERS, TEST_SECRET, Walker, free_port
from .realhttp import HttpWalker, wait_until_up


def get(port: int, path: str, headers: dict[str, str] | None = None) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", path, headers=headers or {})
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


def test_gunicorn_logs_show_no_draft_token(app: Flask, database_url: str, tmp_path: Path) -> None:
    """`gunicorn wsgi:app --access-logfile FILE` in the repository, as the README says: a whole
    walk, a Referer naming a draft, a wrong token and a percent-encoded one leave none behind."""
    access, errors, port = tmp_path / "access.log", tmp_path / "error.log", free_port()
    env = {**os.environ, "DATABASE_URL": database_url, "SECRET_KEY": TEST_SECRET,
           "SCREENER_DRAFT_RATE_LIMIT": "1000 per minute"}
    with errors.open("ab") as error_log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "wsgi:app", "--access-logfile", str(access),
             "--bind", f"127.0.0.1:{port}", "--workers", "1", "--log-level", "debug"],
            cwd=ROOT, env=env, stdout=error_log, stderr=error_log, start_new_session=True,
        )
    tokens: list[str] = []
    try:
        wait_until_up("127.0.0.1", port)
        for _ in range(2):
            w = HttpWalker("127.0.0.1", port)
            w.start()
            for answers in STEP_ANSWERS.values():
                w.step(answers)
            w.submit()
            w.request("GET", f"{w.base}/summary")
            tokens.append(w.token)
        referer = f"http://127.0.0.1:{port}/c/demo/d/{tokens[0]}/review"
        assert get(port, "/static/screener.css", {"Referer": referer}) in (200, 404)
        assert get(port, f"/c/demo/d/{'A' * 32}/review") == 404
        assert get(port, f"/dashboard/login?next=%2Fc%2Fdemo%2Fd%2F{tokens[1]}%2F") == 200
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(15)
    logged = access.read_text(encoding="utf-8") + errors.read_text(encoding="utf-8")
    assert "/c/demo/d/…/s/about_you" in logged and "/c/demo/d/…/summary" in logged
    for token in [*tokens, "A" * 32]:
        assert token not in logged


def test_flask_exception_log_shows_no_draft_token(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """An error on a page under a draft's address is logged with `/d/…/` in its place."""

    def explode(token: str) -> str:
        raise RuntimeError(f"failed on /c/demo/d/{token}/review")

    # An app of its own: the test adds a route.
    app = create_app({"TESTING": True, "SECRET_KEY": TEST_SECRET, "DATABASE_URL": database_url})
    app.add_url_rule("/c/demo/d/<token>/explode", view_func=explode)
    app.config["PROPAGATE_EXCEPTIONS"] = False  # as in production: logged, then a 500 page
    token = "T" * 32
    with caplog.at_level(logging.ERROR):
        r = app.test_client().get(f"/c/demo/d/{token}/explode")
    assert r.status_code == 500
    assert "Exception on /c/demo/d/…/explode" in caplog.text
    assert "failed on /c/demo/d/…/review" in caplog.text  # the traceback too
    assert token not in caplog.text


def test_werkzeug_request_log_shows_no_draft_token(
    app: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    """`flask run` (Werkzeug's server) logs each request line: without the token."""
    server = make_server("127.0.0.1", free_port(), app)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with caplog.at_level(logging.INFO, logger="werkzeug"):
            w = Walker(app.test_client())
            w.start()
            assert get(server.server_port, f"{w.base}/s/about_you") == 200
    finally:
        server.shutdown()
        thread.join(10)
    assert "/c/demo/d/…/s/about_you" in caplog.text
    assert w.token not in caplog.text


def test_werkzeug_request_log_shows_no_invitation_token(
    app: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    """An invitation link (/c/<clinic>/i/<token>) is logged with `/i/…` in its place, and so is
    the draft it opens."""
    when = f"{dt.date.today() + dt.timedelta(days=30)} 10:00"
    result = app.test_cli_runner().invoke(
        args=["invite", "demo", "--name", "Bo Lee", "--appointment", when]
    )
    assert result.exit_code == 0, result.output
    path = result.stdout.strip().removeprefix("http://127.0.0.1:5000")
    token = path.rsplit("/", 1)[1]
    server = make_server("127.0.0.1", free_port(), app)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with caplog.at_level(logging.INFO, logger="werkzeug"):
            assert get(server.server_port, path) == 303
            assert get(server.server_port, f"/c/demo/d/{token}/") == 303
            assert get(server.server_port, f"/dashboard/login?next=%2Fc%2Fdemo%2Fi%2F{token}") == 200
    finally:
        server.shutdown()
        thread.join(10)
    assert "/c/demo/i/…" in caplog.text and "/c/demo/d/…/" in caplog.text
    assert token not in caplog.text
