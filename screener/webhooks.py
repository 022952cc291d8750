"""Webhooks: a clinic's HTTPS endpoints get a small signed JSON event for each new submission.

Events are written to the outbox in the transaction of what caused them (one message per
endpoint) and POSTed by the delivery worker (screener/outbox.py), signed as the Standard
Webhooks specification says (https://www.standardwebhooks.com/):

- `webhook-id`: `msg_` + the message's idempotency key, the same on every attempt;
- `webhook-timestamp`: the attempt's time, in seconds since the epoch;
- `webhook-signature`: `v1,` + base64 of HMAC-SHA256 over `{id}.{timestamp}.{body}`, keyed with
  the base64-decoded part of the endpoint's secret after `whsec_` (shown to the admin once).

The body is `{"type", "timestamp", "data"}`; `data` has ids, the clinic, the time and the most
serious flag, and the answers only for an endpoint whose admin asked for them. Any 2xx answer
is a delivery; anything else (a redirect too: none is followed) is retried with backoff.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from . import outbox
from .exports import fhir
from .extensions import db
from .storage.models import Clinic, OutboxMessage, WebhookEndpoint, max_severity, utcnow

SECRET_PREFIX = "whsec_"  # noqa: S105 - not a secret: the start of every secret
TIMEOUT = 10  # seconds for one delivery attempt
LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1")
MAX_URL = 2000


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(24)).decode()


def url_problem(url: str, allow_local_http: bool) -> str | None:
    """Why `url` cannot be a webhook endpoint, or None. HTTPS only; plain http:// only to this
    machine (localhost) in a debug or test app."""
    if not url or len(url) > MAX_URL or any(c.isspace() for c in url):
        return "not a web address"
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        return "not a web address"
    if not host:
        return "not a web address"
    if parts.scheme == "https":
        return None
    if parts.scheme == "http" and allow_local_http and host in LOCAL_HOSTS:
        return None
    return "https only"


def allow_local_http(app: Flask) -> bool:
    return bool(app.debug or app.config.get("TESTING"))


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` header of a body (Standard Webhooks, v1)."""
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    signed = f"{msg_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def queue_event(
    session: Session,
    clinic: Clinic,
    event_type: str,
    data: dict[str, Any],
    *,
    answers: dict[str, Any] | None = None,
    submission_id: int | None = None,
) -> list[OutboxMessage]:
    """One outbox message per endpoint of the clinic, in the caller's transaction."""
    endpoints = session.scalars(
        select(WebhookEndpoint)
        .where(WebhookEndpoint.clinic_id == clinic.id)
        .order_by(WebhookEndpoint.id)
    ).all()
    messages = []
    for endpoint in endpoints:
        with_answers = endpoint.include_answers and answers is not None
        event = {
            "type": event_type,
            "timestamp": utcnow().isoformat().replace("+00:00", "Z"),
            "data": {**data, **({"answers": answers} if with_answers else {})},
        }
        body = json.dumps(event, ensure_ascii=False, separators=(",", ":"))
        messages.append(
            outbox.enqueue(
                session, "webhook", {"type": event_type, "url": endpoint.url, "body": body},
                clinic_id=clinic.id, submission_id=submission_id, endpoint_id=endpoint.id,
                private=with_answers,
            )
        )
    return messages


def queue_submission_event(
    session: Session, clinic: Clinic, submission_id: int, submission: dict[str, Any]
) -> list[OutboxMessage]:
    """The `submission.created` event of a new submission (its dict as the wizard stores it)."""
    submitted = submission["submitted_at"]
    data = {
        "submission_id": submission_id,
        "clinic": clinic.slug,
        "submitted_at": submitted.isoformat().replace("+00:00", "Z"),
        "max_severity": max_severity(submission["flags"]),
        "questionnaire_version": submission["questionnaire_version"],
        "fhir": fhir.urls_of(current_app.config).response(submission_id),
    }
    return queue_event(
        session, clinic, "submission.created", data,
        answers=submission["answers"], submission_id=submission_id,
    )


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # a 3xx is an answer like any other non-2xx: not followed, retried


_opener = urllib.request.build_opener(_NoRedirects)


def send_event(app: Flask, message: OutboxMessage) -> None:
    """POST one event of the outbox, signed (the worker calls this); DeliveryError on failure."""
    endpoint = (
        db.session.get(WebhookEndpoint, message.endpoint_id)
        if message.endpoint_id is not None else None
    )
    if endpoint is None:
        raise outbox.DeliveryError("the endpoint was removed")
    problem = url_problem(endpoint.url, allow_local_http(app))
    if problem is not None:
        raise outbox.DeliveryError(f"the endpoint's address is refused: {problem}")
    body = str(message.payload["body"]).encode()
    msg_id = f"msg_{message.key}"
    timestamp = int(time.time())
    request = urllib.request.Request(  # noqa: S310 - https (or local http in tests) only
        endpoint.url, data=body, method="POST",
        headers={
            "Content-Type": "application/json",
            "User-Agent": "Screener-Webhooks",
            "webhook-id": msg_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": sign(endpoint.secret, msg_id, timestamp, body),
        },
    )
    try:
        with _opener.open(request, timeout=TIMEOUT) as response:
            status = response.status
    except urllib.error.HTTPError as exc:
        exc.close()
        raise outbox.DeliveryError(f"HTTP {exc.code}") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise outbox.DeliveryError(f"no answer: {reason}"[:300]) from None
    if not 200 <= status < 300:
        raise outbox.DeliveryError(f"HTTP {status}")
