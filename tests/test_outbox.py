"""The outbox: notices are written with the submission and delivered by the worker, to a real
SMTP server (aiosmtpd); nothing is lost while the mail server is down or when the worker is
killed, nothing is sent twice, and a message past its time is given up where the admin sees it."""

# ruff: noqa: F811  (shared fixtures are imported by name)
from __future__ import annotations

import asyncio
import datetime as dt
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from flask import Flask
from sqlalchemy import select

from screener import outbox
from screener.config import ROOT
from screener.extensions import db
from screener.notify import queue_notice
from screener.storage.models import AuditEvent, Clinic, OutboxMessage, Submission, utcnow

from .conftest import TEST_SECRET, Walker, free_port
from .dashboard_support import accounts, clinics, fast_hashing, logged_in  # noqa: F401
from .test_notify import Inbox, deliver, inbox, mail_app  # noqa: F401


def messages(app: Flask) -> list[OutboxMessage]:
    with db.of(app).sessions() as s:
        return list(s.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def submit_one(walk: Callable[..., Walker]) -> None:
    w = walk()
    r = w.submit()
    assert r.status_code == 303 and r.headers["Location"].endswith("/summary")


def test_the_submit_only_writes_the_notice_to_the_outbox(
    mail_app: Flask, inbox: tuple[Inbox, int], walk: Callable[..., Walker], session: Any
) -> None:
    submit_one(walk)
    time.sleep(0.5)  # a notice sent from the web process would have arrived by now
    assert inbox[0].messages == []
    [sub] = session.scalars(select(Submission)).all()
    [message] = messages(mail_app)
    assert (message.kind, message.status, message.submission_id) == ("email", "pending", sub.id)
    assert message.payload["to"] == "front-desk@clinic.example"

    assert deliver(mail_app) == 1
    [(_, email)] = inbox[0].messages
    # The Message-ID is made from the idempotency key: the same on every attempt.
    assert email["Message-ID"] == f"<{message.key}@clinic.example>"
    [message] = messages(mail_app)
    assert message.status == "delivered" and message.attempts == 1
    assert deliver(mail_app) == 0 and len(inbox[0].messages) == 1


def test_fifty_notices_while_the_mail_server_is_down_for_an_hour(
    mail_app: Flask, walk: Callable[..., Walker]
) -> None:
    port = free_port()  # nothing listens there: the mail server is down
    mail_app.config["SMTP_PORT"] = port
    for _ in range(50):
        submit_one(walk)
    start = utcnow()
    for minutes in range(0, 61, 5):  # the worker keeps trying for an hour
        with mail_app.app_context():
            outbox.deliver_due(now=start + dt.timedelta(minutes=minutes))
    pending = messages(mail_app)
    assert len(pending) == 50
    assert {m.status for m in pending} == {"pending"}
    assert min(m.attempts for m in pending) >= 5

    handler = Inbox()  # the mail server comes back
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        for minutes in (61, 75, 95, 24 * 60):
            with mail_app.app_context():
                outbox.deliver_due(now=start + dt.timedelta(minutes=minutes))
    finally:
        controller.stop()
    ids = [m["Message-ID"] for _, m in handler.messages]
    assert len(ids) == 50 and len(set(ids)) == 50  # every notice, once
    assert set(ids) == {f"<{m.key}@clinic.example>" for m in messages(mail_app)}
    assert {m.status for m in messages(mail_app)} == {"delivered"}


def test_a_message_past_its_time_is_given_up_where_the_admin_sees_it(
    mail_app: Flask,
    walk: Callable[..., Walker],
    logged_in: Callable[[str], Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    mail_app.config["SMTP_PORT"] = free_port()  # down, and never back
    submit_one(walk)
    start = utcnow()
    with mail_app.app_context():
        outbox.deliver_due(now=start)
        outbox.deliver_due(now=start + dt.timedelta(hours=23))
    assert messages(mail_app)[0].status == "pending"
    with mail_app.app_context():
        outbox.deliver_due(now=start + dt.timedelta(hours=25))
    [message] = messages(mail_app)
    assert message.status == "failed" and message.attempts == 3
    assert any("given up after 3 attempts" in r.getMessage() for r in caplog.records)
    with db.of(mail_app).sessions() as s:
        [entry] = s.scalars(select(AuditEvent).where(AuditEvent.action == "delivery_failed"))
        demo = s.scalars(select(Clinic).where(Clinic.slug == "demo")).one()
    assert entry.clinic_id == demo.id and entry.detail["to"] == "front-desk@clinic.example"
    page = logged_in("admin@example.com").get("/dashboard/admin/audit")
    assert "Gave up delivering a notice or webhook event" in page.get_data(as_text=True)
    with mail_app.app_context():  # given up: never tried again
        assert outbox.deliver_due(now=start + dt.timedelta(days=3)) == 0


class SlowInbox(Inbox):
    """An inbox whose server stops answering at the `pause_at`-th recipient (counted from 1)
    until released, and says when it got there."""

    def __init__(self, pause_at: int | None) -> None:
        super().__init__()
        self.pause_at = pause_at
        self.recipients = 0
        self.paused = threading.Event()
        self.release = threading.Event()

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        self.recipients += 1
        if self.recipients == self.pause_at:
            self.paused.set()
            while not self.release.is_set():
                await asyncio.sleep(0.05)
        envelope.rcpt_tos.append(address)
        return "250 OK"


@pytest.fixture
def slow_inbox() -> Iterator[tuple[SlowInbox, int]]:
    handler, port = SlowInbox(pause_at=4), free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    yield handler, port
    handler.release.set()
    controller.stop()


def worker(database_url: str, port: int, tmp_path: Path) -> subprocess.Popen[bytes]:
    """`flask --app screener deliver` as a process of its own."""
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "SECRET_KEY": TEST_SECRET,
        "SCREENER_INSTANCE": str(tmp_path),
        "SCREENER_BASE_URL": "https://screener.example",
        "SCREENER_SMTP_HOST": "127.0.0.1",
        "SCREENER_SMTP_PORT": str(port),
        "SCREENER_SMTP_STARTTLS": "0",
        "SCREENER_SMTP_FROM": "screener@clinic.example",
        "SCREENER_OUTBOX_LEASE_SECONDS": "2",
    }
    with (tmp_path / "worker.log").open("ab") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "screener", "deliver", "--interval", "0.2"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=log,
        )


@pytest.mark.server
def test_the_worker_killed_mid_batch_loses_and_doubles_nothing(
    mail_app: Flask, slow_inbox: tuple[SlowInbox, int], database_url: str, tmp_path: Path
) -> None:
    handler, port = slow_inbox
    with mail_app.test_request_context(), db.transaction() as s:
        clinic = s.scalars(select(Clinic).where(Clinic.slug == "demo")).one()
        for i in range(1, 21):
            queue_notice(s, clinic, i)
    first = worker(database_url, port, tmp_path)
    try:
        # The worker claimed a batch of 10 and sent 3; it is in the middle of the 4th.
        assert handler.paused.wait(30), (tmp_path / "worker.log").read_text()
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    finally:
        first.kill()
    assert len(handler.messages) == 3
    states = [m.status for m in messages(mail_app)]
    assert states.count("delivered") == 3
    assert sum(1 for m in messages(mail_app) if m.locked_until is not None) == 7  # leased

    handler.release.set()
    second = worker(database_url, port, tmp_path)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(handler.messages) < 20:
            time.sleep(0.1)
        time.sleep(1)  # anything sent twice would arrive now
    finally:
        second.send_signal(signal.SIGTERM)
        assert second.wait(10) == 0
    ids = [m["Message-ID"] for _, m in handler.messages]
    assert len(ids) == 20 and len(set(ids)) == 20
    assert {m.status for m in messages(mail_app)} == {"delivered"}


def test_purge_keeps_the_delivery_log_thirty_days_and_answers_no_longer_than_submissions(
    mail_app: Flask,
) -> None:
    from screener.dashboard.operations import purge_expired
    from screener.storage.models import Submission as Sub

    now = utcnow()
    with mail_app.app_context(), db.transaction() as s:
        clinic = s.scalars(select(Clinic).where(Clinic.slug == "demo")).one()
        clinic.retention_days = 10
        old = Sub(clinic_id=clinic.id, answers={}, flags=[], questionnaire_version="v",
                  lang="en", submitted_at=now - dt.timedelta(days=20))
        s.add(old)
        s.flush()
        for name, status, days, private, sid in (
            ("old-delivered", "delivered", 31, False, None),
            ("old-failed", "failed", 31, False, None),
            ("old-pending", "pending", 31, False, None),
            ("recent-delivered", "delivered", 5, False, None),
            ("answers-of-purged", "pending", 1, True, old.id),
        ):
            m = outbox.enqueue(s, "email", {"to": name}, clinic_id=clinic.id, submission_id=sid,
                               private=private, now=now - dt.timedelta(days=days))
            m.status = status
    with mail_app.app_context():
        purge_expired(now)
    left = {m.payload["to"] for m in messages(mail_app)}
    assert left == {"old-pending", "recent-delivered"}
