"""Serving under gunicorn with several workers, and surviving a SIGKILL mid-walk."""
from __future__ import annotations

import datetime as dt
import http.client
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select, text

from screener.config import ROOT
from screener.storage.models import Submission

from .conftest import (
    STEP_ANSWERS,
    TEST_SECRET,
    assert_valid_answer,
    draft_of,
    drafts,
    free_port,
    stored_answers,
    submissions,
)
from .realhttp import START_ANSWERS, HttpWalker, wait_until_up

# Servers of their own (gunicorn, Redis, a database server): left out by scripts/test --quick.
pytestmark = pytest.mark.server

STEPS = list(STEP_ANSWERS)


class Gunicorn:
    """gunicorn serving wsgi:app on loopback, in its own process group so it can be killed whole."""

    def __init__(
        self, database_url: str, workers: int, log: Path, env: dict[str, str] | None = None
    ) -> None:
        self.database_url, self.workers, self.log = database_url, workers, log
        self.env = env or {}
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        env = {**os.environ, "DATABASE_URL": self.database_url, "SECRET_KEY": TEST_SECRET,
               "SCREENER_DRAFT_RATE_LIMIT": "1000 per minute", **self.env}
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "--workers", str(self.workers),
                 "--bind", f"127.0.0.1:{self.port}", "--graceful-timeout", "2", "--no-control-socket",
                 "wsgi:app"],
                cwd=ROOT, env=env, stdout=log, stderr=log, start_new_session=True,
            )
        wait_until_up("127.0.0.1", self.port)

    def kill(self) -> None:
        """SIGKILL the master and every worker at once: no clean shutdown of any kind."""
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(15)

    def walker(self) -> HttpWalker:
        return HttpWalker("127.0.0.1", self.port)


@pytest.fixture
def gunicorn(app: Flask, database_url: str, tmp_path: Path) -> Iterator[Gunicorn]:
    server = Gunicorn(database_url, workers=3, log=tmp_path / "gunicorn.log")
    server.start()
    yield server
    server.stop()


def test_questionnaires_complete_under_gunicorn_with_several_workers(gunicorn: Gunicorn, session: Any) -> None:
    walkers = [gunicorn.walker() for _ in range(6)]
    errors: list[BaseException] = []

    def run(w: HttpWalker) -> None:
        try:
            w.start()
            for step_id in STEPS:
                w.step(STEP_ANSWERS[step_id], step_id)
            w.submit()
            assert w.url.endswith("/summary")
        except BaseException as exc:  # collected and re-raised below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(w,)) for w in walkers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    subs = submissions(session)
    assert len(subs) == len(walkers)
    assert all(s.answers["full_name"] == "Mei Chen" and s.answers["pain_sensitivity"] == 4 for s in subs)


class RedisServer:
    """A real Redis server on loopback (Debian's redis-server, which the test command installs),
    keeping nothing on disk."""

    def __init__(self, folder: Path) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.fail("redis-server is not installed (scripts/test-deps.sh installs it)")
        port = free_port()
        self.url = f"redis://127.0.0.1:{port}/0"
        self.proc = subprocess.Popen(
            [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly",
             "no", "--dir", str(folder)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 15
        while True:
            if self.proc.poll() is not None:
                pytest.fail(f"redis-server exited with status {self.proc.returncode}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return
            except OSError:
                if time.monotonic() > deadline:
                    self.stop()
                    pytest.fail("redis-server did not start")
                time.sleep(0.05)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path)
    yield server
    server.stop()


def drafts_accepted(servers: list[Gunicorn], attempts: int) -> int:
    """Start drafts from one address, in turn on each server (a new connection each time): how
    many were let through (303) before the rate limit answered 429."""
    accepted = 0
    for i in range(attempts):
        r = servers[i % len(servers)].walker().request(
            "POST", "/c/demo/start", [("lang", "en"), *START_ANSWERS]
        )
        assert r.status in (303, 429), r.status
        accepted += r.status == 303
    return accepted


@pytest.mark.parametrize("storage", ["redis", "memory"])
def test_rate_limits_hold_across_app_servers_sharing_a_store(
    app: Flask, database_url: str, tmp_path: Path, request: pytest.FixtureRequest, storage: str,
) -> None:
    """Two gunicorn servers of two workers each on one database: with the documented shared
    store (RATELIMIT_STORAGE_URI=redis://...) an address gets the limit once in all; with the
    default per-process memory it gets it once per process that happens to serve it."""
    redis = request.getfixturevalue("redis_server") if storage == "redis" else None
    env = {"RATELIMIT_STORAGE_URI": redis.url if redis else "memory://",
           "SCREENER_DRAFT_RATE_LIMIT": "5 per minute"}
    servers = [Gunicorn(database_url, workers=2, log=tmp_path / f"gunicorn{i}.log", env=env)
               for i in range(2)]
    try:
        for server in servers:
            server.start()
        accepted = drafts_accepted(servers, 24)
        if redis is not None:
            assert accepted == 5
            # The store dies: still no error for anyone (drafts_accepted checks every status),
            # and each process goes on limiting in its own memory (4 processes: 4 x 5 at most).
            redis.stop()
            assert drafts_accepted(servers, 40) <= 20
        else:  # each server let at least its own 5 through: the limit did not hold
            assert accepted >= 10
    finally:
        for server in servers:
            server.stop()


def test_sigkill_mid_walk_loses_no_acknowledged_step(
    app: Flask, gunicorn: Gunicorn, session: Any
) -> None:
    n_clients = 12
    walkers = [gunicorn.walker() for _ in range(n_clients)]
    acked_steps = [0] * n_clients  # steps the server answered 303 for
    acked_submit = [False] * n_clients
    posts = threading.Semaphore(0)
    killed = threading.Event()
    early_failures: list[BaseException] = []

    def run(i: int, w: HttpWalker) -> None:
        try:
            w.start()
            for n, step_id in enumerate(STEPS, start=1):
                w.step(STEP_ANSWERS[step_id], step_id)
                acked_steps[i] = n
                posts.release()
            w.submit()
            acked_submit[i] = True
        except (OSError, AssertionError, http.client.HTTPException) as exc:
            if not killed.is_set():
                early_failures.append(exc)

    threads = [threading.Thread(target=run, args=(i, w)) for i, w in enumerate(walkers)]
    for t in threads:
        t.start()
    for _ in range(n_clients * 3):  # kill once about half the steps have been acknowledged
        posts.acquire(timeout=60)
    killed.set()
    gunicorn.kill()
    for t in threads:
        t.join(60)
    assert not early_failures, f"requests failed before the kill: {early_failures}"
    assert any(0 < n < len(STEPS) for n in acked_steps), "the kill came too late to test anything"

    gunicorn.start()
    session.rollback()
    if session.bind.dialect.name == "sqlite":
        assert session.execute(text("PRAGMA integrity_check")).scalar() == "ok"
    # As the kill left them (interrupted walks hold answers here), and again at the end.
    assert sum(bool(d.answers) for d in drafts(session)) > 0
    assert_no_corrupt_row(app, session)
    resumed = 0
    for i, w in enumerate(walkers):
        if not w.url:
            continue  # never got its draft acknowledged
        draft = draft_of(session, w.token)
        if acked_submit[i] or draft.submitted_at is not None:
            continue
        # Every acknowledged answer is stored exactly as sent.
        expected = stored_answers(STEPS[: acked_steps[i]])
        assert {k: draft.answers.get(k) for k in expected} == expected
        # The resume link brings the client back to the first step not yet acknowledged (or,
        # if the kill came after a commit but before the answer, the one after it).
        resume = w.request("GET", f"{w.base}/")
        assert resume.status == 303
        w.url = urllib.parse.urlsplit(resume.headers["location"]).path
        done = acked_steps[i]
        possible = {f"/s/{s}" for s in STEPS[done : done + 2]} | {"/review"}
        assert any(w.url.endswith(p) for p in possible), (w.url, done)
        # Finish the walk after the restart.
        for step_id in STEPS:
            if w.url.endswith(f"/s/{step_id}"):
                w.step(STEP_ANSWERS[step_id], step_id)
        w.submit()
        resumed += 1
    assert resumed > 0, "no walk was interrupted: nothing was tested"

    session.rollback()
    started = [w for w in walkers if w.url]
    count = session.scalar(select(func.count()).select_from(Submission))
    drafts_with_sub = session.scalar(select(func.count(func.distinct(Submission.draft_id))))
    assert count == drafts_with_sub == len(started), "a submission was lost or duplicated"
    for sub in submissions(session):
        assert sub.answers == stored_answers()
    assert_no_corrupt_row(app, session)


def assert_no_corrupt_row(app: Flask, session: Any) -> None:
    """On either database: every draft holds only valid answers to known questions, and is
    submitted (its answers moved to its one submission) or not, never half."""
    qn, today = app.extensions["questionnaire"], dt.date.today()
    submitted = {sub.draft_id for sub in submissions(session)}
    for draft in drafts(session):
        for qid, value in draft.answers.items():
            assert_valid_answer(qn.questions[qid], value, today)
        if draft.submitted_at is None:
            assert draft.id not in submitted and draft.current_step is not None
        else:
            assert draft.id in submitted and draft.answers == {}
