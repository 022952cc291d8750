"""Webhooks: a clinic admin registers an endpoint; each new submission is POSTed to a real HTTP
server on 127.0.0.1 that checks every signature independently (the `standardwebhooks`
package, the specification's reference library), retried with backoff for 24 hours, in the
delivery log the admin reads."""

# ruff: noqa: F811  (shared fixtures from dashboard_support are imported by name)
from __future__ import annotations

import datetime as dt
import json
import re
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from standardwebhooks import Webhook, WebhookVerificationError

from screener import outbox
from screener.storage.models import AuditEvent, OutboxMessage, Submission, WebhookEndpoint, utcnow

from .conftest import Walker
from .dashboard_support import accounts, clinics, csrf_of, fast_hashing, fetch, logged_in  # noqa: F401


class Receiver:
    """A webhook receiver: a real HTTP server that verifies each request's signature with the
    endpoint's secret, and answers with the next status of `statuses` (then 204)."""

    def __init__(self) -> None:
        self.secret = ""
        self.statuses: list[int] = []
        self.received: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                headers = {k.lower(): v for k, v in self.headers.items()}
                try:
                    Webhook(receiver.secret).verify(body, headers)
                    verified = True
                except WebhookVerificationError:
                    verified = False
                with receiver.lock:
                    receiver.received.append(
                        {"headers": headers, "body": json.loads(body), "verified": verified}
                    )
                    status = receiver.statuses.pop(0) if receiver.statuses else 204
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.stop()


def add_endpoint(
    admin: FlaskClient, url: str, answers: bool = False, status: int = 200
) -> Any:
    page = admin.get("/dashboard/admin/webhooks")
    data = {"csrf_token": csrf_of(page), "url": url, **({"include_answers": "y"} if answers else {})}
    r = admin.post("/dashboard/admin/webhooks", data=data)
    assert r.status_code == status, r.get_data(as_text=True)[-1500:]
    return r


def secret_of(page: Any) -> str:
    m = re.search(r"<code>(whsec_[A-Za-z0-9+/=]+)</code>", page.get_data(as_text=True))
    assert m is not None
    return m.group(1)


def deliver(app: Flask, now: dt.datetime | None = None) -> int:
    with app.app_context():
        return outbox.deliver_due(now=now)


def submit(walk: Callable[..., Walker], **overrides: Any) -> None:
    r = walk(**overrides).submit()
    assert r.status_code == 303 and r.headers["Location"].endswith("/summary")


@pytest.fixture
def admin(app: Flask, logged_in: Callable[[str], FlaskClient]) -> FlaskClient:
    app.config["BASE_URL"] = "https://screener.example"
    return logged_in("admin@example.com")


def test_each_submission_is_posted_signed_to_the_endpoint(
    app: Flask, admin: FlaskClient, receiver: Receiver, walk: Callable[..., Walker]
) -> None:
    receiver.secret = secret_of(add_endpoint(admin, receiver.url))
    assert receiver.secret not in admin.get("/dashboard/admin/webhooks").get_data(as_text=True)
    submit(walk, about_you={"pregnancy": "yes"}, details={"full_name": "Mei Chen 陳美玲"})
    assert receiver.received == []  # the web request only wrote the outbox
    assert deliver(app) == 1
    [got] = receiver.received
    assert got["verified"] is True
    [sub] = fetch(app, Submission)
    [message] = fetch(app, OutboxMessage, OutboxMessage.kind == "webhook")
    assert got["headers"]["webhook-id"] == f"msg_{message.key}"
    assert got["headers"]["webhook-signature"].startswith("v1,")
    body = got["body"]
    assert body["type"] == "submission.created"
    assert body["data"] == {
        "submission_id": sub.id,
        "clinic": "demo",
        "submitted_at": sub.submitted_at.isoformat().replace("+00:00", "Z"),
        "max_severity": "red_flag",
        "questionnaire_version": sub.questionnaire_version,
        "fhir": f"https://screener.example/fhir/QuestionnaireResponse/submission-{sub.id}",
    }
    assert "Mei" not in json.dumps(body, ensure_ascii=False)  # no answers unless asked for
    log = admin.get("/dashboard/admin/webhooks").get_data(as_text=True)
    assert "Event submission.created to" in log and "Delivered" in log
    # A receiver with another secret refuses the same request: the check is real.
    with pytest.raises(WebhookVerificationError):
        Webhook("whsec_" + "QUJD" * 8).verify(json.dumps(body), got["headers"])


def test_answers_only_when_the_admin_asks_for_them(
    app: Flask, admin: FlaskClient, receiver: Receiver, walk: Callable[..., Walker]
) -> None:
    page = admin.get("/dashboard/admin/webhooks").get_data(as_text=True)
    assert "Warning: the answers are health data." in page
    receiver.secret = secret_of(add_endpoint(admin, receiver.url, answers=True))
    submit(walk, details={"full_name": "Mei Chen"})
    deliver(app)
    [got] = receiver.received
    assert got["verified"] and got["body"]["data"]["answers"]["full_name"] == "Mei Chen"
    [message] = fetch(app, OutboxMessage, OutboxMessage.kind == "webhook")
    assert message.private and "body" not in message.payload  # not kept once delivered


def test_failed_events_are_retried_with_the_same_id_then_given_up(
    app: Flask, admin: FlaskClient, receiver: Receiver, walk: Callable[..., Walker],
    caplog: pytest.LogCaptureFixture,
) -> None:
    receiver.secret = secret_of(add_endpoint(admin, receiver.url))
    receiver.statuses = [500, 302, 503]
    submit(walk)
    start = utcnow()
    for minutes in (0, 1, 2, 3, 10):  # due after 30 s, 1 min, 2 min: the 4th attempt succeeds
        deliver(app, start + dt.timedelta(minutes=minutes))
    ids = {r["headers"]["webhook-id"] for r in receiver.received}
    assert len(receiver.received) == 4 and len(ids) == 1
    assert all(r["verified"] for r in receiver.received)
    [message] = fetch(app, OutboxMessage, OutboxMessage.kind == "webhook")
    assert message.status == "delivered" and message.attempts == 4

    receiver.statuses = [500] * 100  # an endpoint that never recovers
    submit(walk)
    for hours in (0, 1, 6, 12, 23):
        deliver(app, start + dt.timedelta(hours=hours))
    assert fetch(app, OutboxMessage, OutboxMessage.status == "pending")
    deliver(app, start + dt.timedelta(hours=24, minutes=1))
    [failed] = fetch(app, OutboxMessage, OutboxMessage.status == "failed")
    assert failed.last_error == "HTTP 500"
    assert any("given up" in r.getMessage() for r in caplog.records)
    [entry] = fetch(app, AuditEvent, AuditEvent.action == "delivery_failed")
    assert entry.detail["url"] == receiver.url and entry.detail["type"] == "submission.created"
    log = admin.get("/dashboard/admin/webhooks").get_data(as_text=True)
    assert "Given up" in log and "HTTP 500" in log


def test_endpoint_addresses(app: Flask, admin: FlaskClient) -> None:
    for bad in ("http://ehr.example.com/hooks", "ftp://ehr.example.com", "https://", "not a url",
                "http://127.0.0.1.evil.example/x", "https://ehr.example.com:port/"):
        r = add_endpoint(admin, bad, status=422)
        assert "Enter an https:// address" in r.get_data(as_text=True)
    add_endpoint(admin, "https://ehr.example.com/hooks")
    add_endpoint(admin, "http://localhost:8080/hooks")  # local http: debug and tests only
    app.config["TESTING"] = False
    add_endpoint(admin, "http://localhost:8080/other", status=422)
    assert [e.url for e in fetch(app, WebhookEndpoint)] == [
        "https://ehr.example.com/hooks", "http://localhost:8080/hooks"
    ]


def test_removing_an_endpoint_drops_its_waiting_events_and_keeps_the_log(
    app: Flask, admin: FlaskClient, receiver: Receiver, walk: Callable[..., Walker],
    logged_in: Callable[[str], FlaskClient],
) -> None:
    receiver.secret = secret_of(add_endpoint(admin, receiver.url))
    submit(walk)
    deliver(app)
    submit(walk)  # waiting
    [endpoint] = fetch(app, WebhookEndpoint)
    assert logged_in("pa@example.com").get("/dashboard/admin/webhooks").status_code == 403
    page = admin.get("/dashboard/admin/webhooks")
    r = admin.post(f"/dashboard/admin/webhooks/{endpoint.id}/remove",
                   data={"csrf_token": csrf_of(page)})
    assert r.status_code == 303
    assert fetch(app, WebhookEndpoint) == []
    [kept] = fetch(app, OutboxMessage, OutboxMessage.kind == "webhook")
    assert kept.status == "delivered" and kept.endpoint_id is None
    assert deliver(app) == 0 and len(receiver.received) == 1
    actions = {e.action for e in fetch(app, AuditEvent)}
    assert {"webhook_added", "webhook_removed"} <= actions


def test_add_webhook_on_the_command_line(
    app: Flask, receiver: Receiver, walk: Callable[..., Walker]
) -> None:
    runner = app.test_cli_runner()
    result = runner.invoke(args=["add-webhook", "demo", receiver.url])
    assert result.exit_code == 0, result.output
    receiver.secret = result.stdout.strip()
    assert receiver.secret.startswith("whsec_")
    refused = runner.invoke(args=["add-webhook", "demo", "http://ehr.example.com/"])
    assert refused.exit_code != 0 and "https://" in refused.output
    submit(walk)
    deliver(app)
    assert [r["verified"] for r in receiver.received] == [True]
