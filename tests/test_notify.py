"""The new-submission email: written to the outbox with the submission, sent by the worker to
a real SMTP server (aiosmtpd on 127.0.0.1), with a link to the dashboard and no answer in it;
never breaking the client's submit."""


from __future__ import annotations

import email
import re
import threading
from collections.abc import Callable, Iterator
from email.message import Message
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from flask import Flask

from screener import create_app, outbox
from screener.config import ConfigError
from screener.extensions import db
from screener.questionnaire.model import LANGUAGES
from screener.storage.models import Clinic

from .conftest import (
    FIRST_STEP,
    STEP_ANSWERS,
    Walker,
    answers_by_step,
    consent_fields,
    csrf_of,
    free_port,
    start_form,
    submissions,
)


class Inbox:
    """An aiosmtpd handler keeping what it receives."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], Message]] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            self.messages.append(
                (list(envelope.rcpt_tos), email.message_from_bytes(envelope.content))
            )
        return "250 Message accepted"


@pytest.fixture
def inbox() -> Iterator[tuple[Inbox, int]]:
    handler, port = Inbox(), free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    yield handler, port
    controller.stop()


@pytest.fixture
def mail_app(app: Flask, inbox: tuple[Inbox, int]) -> Flask:
    app.config.update(
        SMTP_HOST="127.0.0.1",
        SMTP_PORT=inbox[1],
        SMTP_STARTTLS=False,
        SMTP_FROM="screener@clinic.example",
        BASE_URL="https://screener.example",
    )
    with app.app_context(), db.transaction() as s:
        clinic = s.query(Clinic).filter_by(slug="demo").one()
        clinic.notify_email = "front-desk@clinic.example"
    return app


def deliver(app: Flask) -> int:
    """Run the outbox's worker once, as `flask --app screener deliver --once` does."""
    with app.app_context():
        return outbox.deliver_due()


def submit(walk: Callable[..., Walker], **overrides: Any) -> Walker:
    w = walk(**overrides)
    r = w.submit()
    assert r.status_code == 303 and r.headers["Location"].endswith("/summary")
    deliver(w.client.application)
    return w


def body_of(message: Message) -> str:
    part = message.get_payload(decode=True)
    assert isinstance(part, bytes)
    return part.decode(message.get_content_charset() or "utf-8")


def answer_texts(app: Flask, answers: dict[str, Any]) -> set[str]:
    """Every way an answer could appear: stored values and choice labels in both languages."""
    qn = app.extensions["questionnaire"]
    out: set[str] = set()
    for qid, value in answers.items():
        values = value if isinstance(value, list) else [value]
        q = qn.questions[qid]
        for v in values:
            out.add(str(v))
            if q.choices:
                out.update(q.choice_label(str(v), lang) for lang in LANGUAGES)
    return out


def test_notice_goes_to_the_clinic_with_a_link_and_no_answers(
    mail_app: Flask, inbox: tuple[Inbox, int], walk: Callable[..., Walker], session: Any
) -> None:
    handler = inbox[0]
    submit(walk, **answers_by_step(full_name="Mei Chen 陳美玲", other_health="Asthma since 2010"))
    [sub] = submissions(session)
    [(recipients, message)] = handler.messages
    assert recipients == ["front-desk@clinic.example"]
    assert message["From"] == "screener@clinic.example"
    body = body_of(message)
    link = f"https://screener.example/dashboard/submissions/{sub.id}"
    assert link in body
    readable = (message["Subject"] + "\n" + body).replace(link, "")
    answers = {k: v for step in STEP_ANSWERS.values() for k, v in step.items()}
    answers.update(full_name="Mei Chen 陳美玲", other_health="Asthma since 2010")

    def shows(t: str) -> bool:  # whole words for Latin text ("no" is in "not"); CJK as is
        return (
            bool(re.search(rf"(?<!\w){re.escape(t)}(?!\w)", readable))
            if t.isascii()
            else t in readable
        )

    leaked = {t for t in answer_texts(mail_app, answers) if shows(t)}
    assert leaked == set()
    assert "Mei" not in readable and "Asthma" not in readable and "Demo Clinic" in readable


def test_notice_link_never_follows_the_request_host(
    mail_app: Flask, inbox: tuple[Inbox, int], session: Any
) -> None:
    """Any anonymous client may send any Host header: the notice's link is the configured
    address all the same (and, in a debug or test app without one, the local default)."""
    client = mail_app.test_client()
    for base_url in ("https://screener.example", None):
        mail_app.config["BASE_URL"] = base_url
        w = Walker(client)
        r = client.post("/c/demo/start", data=start_form(), headers={"Host": "evil.example"})
        w.url = r.headers["Location"]
        for step_id, answers in STEP_ANSWERS.items():
            if step_id == FIRST_STEP:  # answered on the start page
                continue
            page = client.get(w.url, headers={"Host": "evil.example"})
            r = client.post(
                w.url, headers={"Host": "evil.example"},
                data={"csrf_token": csrf_of(page), "action": "continue", **answers},
            )
            w.url = r.headers["Location"]
        review = client.get(f"{w.base}/review", headers={"Host": "evil.example"})
        r = client.post(
            f"{w.base}/submit", headers={"Host": "evil.example"},
            data={"csrf_token": csrf_of(review), **consent_fields(review)},
        )
        assert r.status_code == 303
    deliver(mail_app)
    first, second = sorted(s.id for s in submissions(session))
    bodies = [body_of(m) for _, m in inbox[0].messages]
    assert f"https://screener.example/dashboard/submissions/{first}" in bodies[0]
    assert f"http://127.0.0.1:5000/dashboard/submissions/{second}" in bodies[1]
    assert not any("evil.example" in b for b in bodies)


def test_start_up_needs_a_base_url_to_send_email(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SCREENER_INSTANCE", str(tmp_path))
    config = {"SECRET_KEY": "k" * 40, "DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}",
              "SMTP_HOST": "127.0.0.1", "BASE_URL": None}
    with pytest.raises(ConfigError, match="SCREENER_BASE_URL"):
        create_app(config)
    assert create_app({**config, "BASE_URL": "https://screener.example"}).config["BASE_URL"]
    assert create_app({**config, "SMTP_HOST": None}).config["BASE_URL"] is None  # no email


def test_one_notice_per_submission(
    mail_app: Flask, inbox: tuple[Inbox, int], walk: Callable[..., Walker]
) -> None:
    w = submit(walk)
    again = w.client.post(f"{w.base}/submit", data={"csrf_token": "whatever"})
    assert again.status_code == 303
    deliver(mail_app)
    assert len(inbox[0].messages) == 1


def test_no_email_when_smtp_is_not_configured(
    app: Flask, inbox: tuple[Inbox, int], walk: Callable[..., Walker], session: Any
) -> None:
    assert app.config["SMTP_HOST"] is None  # the default: off
    with app.app_context(), db.transaction() as s:
        s.query(Clinic).filter_by(slug="demo").one().notify_email = "front-desk@clinic.example"
    submit(walk)
    assert len(submissions(session)) == 1
    assert inbox[0].messages == []


def test_no_email_without_a_recipient(
    mail_app: Flask, inbox: tuple[Inbox, int], walk: Callable[..., Walker]
) -> None:
    with mail_app.app_context(), db.transaction() as s:
        clinic = s.query(Clinic).filter_by(slug="demo").one()
        clinic.notify_email = None
        clinic.contact_email = None
    submit(walk)
    assert inbox[0].messages == []


def test_contact_email_when_no_notice_address(
    mail_app: Flask, inbox: tuple[Inbox, int], walk: Callable[..., Walker]
) -> None:
    with mail_app.app_context(), db.transaction() as s:
        clinic = s.query(Clinic).filter_by(slug="demo").one()
        clinic.notify_email = None
        clinic.contact_email = "hello@clinic.example"
    submit(walk)
    assert [r for r, _ in inbox[0].messages] == [["hello@clinic.example"]]


def test_a_broken_mail_server_never_breaks_the_submit(
    mail_app: Flask, walk: Callable[..., Walker], session: Any, caplog: pytest.LogCaptureFixture
) -> None:
    mail_app.config["SMTP_PORT"] = free_port()  # nothing listens there
    w = submit(walk)
    assert len(submissions(session)) == 1
    assert w.get(f"{w.base}/summary").status_code == 200
    assert any("failed, attempt 1" in r.getMessage() for r in caplog.records)


def test_starttls_is_required_by_default(
    mail_app: Flask,
    inbox: tuple[Inbox, int],
    walk: Callable[..., Walker],
    caplog: pytest.LogCaptureFixture,
) -> None:
    # This server offers no STARTTLS: with the default setting nothing goes out in clear text.
    mail_app.config["SMTP_STARTTLS"] = True
    submit(walk)
    assert inbox[0].messages == []
    assert any("STARTTLS" in r.getMessage() for r in caplog.records)


# The test server takes a password without TLS (it has no certificate); aiosmtpd warns about it.
@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")
def test_smtp_login(mail_app: Flask, walk: Callable[..., Walker]) -> None:
    seen: list[tuple[str, str]] = []

    def authenticator(
        server: Any, session: Any, envelope: Any, mechanism: str, data: Any
    ) -> AuthResult:
        assert isinstance(data, LoginPassword)
        seen.append((data.login.decode(), data.password.decode()))
        return AuthResult(success=data.password == b"s3cret")

    handler, port = Inbox(), free_port()
    controller = Controller(
        handler,
        hostname="127.0.0.1",
        port=port,
        authenticator=authenticator,
        auth_require_tls=False,
        auth_required=True,
    )
    controller.start()
    try:
        mail_app.config.update(SMTP_PORT=port, SMTP_USER="mailer", SMTP_PASSWORD="s3cret")
        submit(walk)
    finally:
        controller.stop()
    assert seen == [("mailer", "s3cret")]
    assert len(handler.messages) == 1
