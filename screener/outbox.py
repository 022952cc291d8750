"""The outbox: emails and webhook events, written in the transaction of what caused them and
delivered by a worker process (`flask --app screener deliver`), never by a web request.

Because a message is a row committed with its cause, nothing is lost when a web process, the
worker or the mail server dies: the row waits until it is delivered or its time is up.

How the worker delivers (`deliver_due`):

1. It claims a batch of due messages in one short transaction: each gets a lease
   (`locked_until`, OUTBOX_LEASE_SECONDS ahead). On PostgreSQL the rows are read with
   `SELECT ... FOR UPDATE SKIP LOCKED`, so several workers never claim the same row; SQLite
   takes its write lock at BEGIN, so claims there happen one after another.
2. It sends the messages one by one, outside any transaction, and right after each send marks
   that message delivered (or schedules its next attempt) in a transaction of its own.
3. A worker killed mid-batch leaves its unsent messages leased; once the lease has passed any
   worker claims them again. Only a message whose send had completed but whose mark had not
   yet been committed (a window of milliseconds) is sent a second time: delivery is
   at-least-once, and every message carries a stable id made from its idempotency key (the
   email's Message-ID, the webhook's `webhook-id`) so that a receiver can drop a repeat.

A failed attempt is retried after FIRST_RETRY, doubling each time up to LONGEST_RETRY, until
the message's `give_up_at` (OUTBOX_GIVE_UP_HOURS after it was written); then it is marked
failed, logged, and recorded in the clinic's audit log.
"""
from __future__ import annotations

import datetime as dt
import logging
import secrets
import threading
from collections.abc import Callable
from typing import Any

from flask import Flask, current_app
from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from .extensions import db
from .storage.models import OutboxMessage, utcnow

log = logging.getLogger(__name__)

BATCH = 10  # messages claimed at once
FIRST_RETRY = dt.timedelta(seconds=30)
LONGEST_RETRY = dt.timedelta(minutes=30)


class DeliveryError(Exception):
    """A delivery that failed; its message is safe to log and to show the clinic's admin."""


Sender = Callable[[Flask, OutboxMessage], None]


def _senders() -> dict[str, Sender]:
    from . import notify, webhooks

    return {"email": notify.send_notice, "webhook": webhooks.send_event}


def new_key() -> str:
    """A message's idempotency key: random, unique in the outbox."""
    return secrets.token_hex(16)


def enqueue(
    session: Session,
    kind: str,
    payload: dict[str, Any],
    *,
    clinic_id: int | None,
    submission_id: int | None = None,
    endpoint_id: int | None = None,
    private: bool = False,
    now: dt.datetime | None = None,
) -> OutboxMessage:
    """Add a message to the session's transaction (delivered once that commits)."""
    now = now or utcnow()
    hours = current_app.config["OUTBOX_GIVE_UP_HOURS"]
    message = OutboxMessage(
        key=new_key(), kind=kind, payload=payload, clinic_id=clinic_id,
        submission_id=submission_id, endpoint_id=endpoint_id, private=private,
        status="pending", created_at=now, next_attempt_at=now, attempts=0,
        give_up_at=now + dt.timedelta(hours=hours),
    )
    session.add(message)
    return message


def retry_delay(attempts: int) -> dt.timedelta:
    """How long after its `attempts`-th failed attempt a message is tried again."""
    return min(LONGEST_RETRY, FIRST_RETRY * (1 << min(attempts - 1, 20)))


def claim(session: Session, now: dt.datetime, limit: int = BATCH) -> list[OutboxMessage]:
    """Lease up to `limit` due messages to this worker (in the caller's write transaction)."""
    lease = dt.timedelta(seconds=current_app.config["OUTBOX_LEASE_SECONDS"])
    query = (
        select(OutboxMessage)
        .where(
            OutboxMessage.status == "pending",
            OutboxMessage.next_attempt_at <= now,
            or_(OutboxMessage.locked_until.is_(None), OutboxMessage.locked_until <= now),
        )
        .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    messages = list(session.scalars(query))
    for message in messages:
        message.locked_until = now + lease
    return messages


def deliver_due(
    now: dt.datetime | None = None, stop: threading.Event | None = None
) -> int:
    """Deliver every message due (in the app context); how many were attempted.

    `now` fixes the clock (tests); `stop`, once set, ends the run after the message being
    sent, handing the rest of the batch back at once.
    """
    attempted = 0
    while stop is None or not stop.is_set():
        with db.transaction() as session:
            batch = claim(session, now or utcnow())
        if not batch:
            break
        for i, message in enumerate(batch):
            if stop is not None and stop.is_set():
                release([m.id for m in batch[i:]])
                return attempted
            deliver(message, now)
            attempted += 1
    return attempted


def release(ids: list[int]) -> None:
    """Hand claimed but unsent messages back (the worker is stopping)."""
    with db.transaction() as session:
        session.execute(
            update(OutboxMessage).where(OutboxMessage.id.in_(ids)).values(locked_until=None)
        )


def deliver(message: OutboxMessage, now: dt.datetime | None = None) -> bool:
    """Send one claimed message, then record the outcome; True when it was delivered."""
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    error: str | None = None
    try:
        _senders()[message.kind](app, message)
    except DeliveryError as exc:
        error = str(exc)
    except Exception as exc:  # a bug or an unexpected failure: logged with its traceback
        log.exception("outbox message %s (%s) failed", message.id, message.kind)
        error = f"{type(exc).__name__}"
    finish(message.id, error, now)
    return error is None


def finish(message_id: int, error: str | None, now: dt.datetime | None = None) -> None:
    """Record a delivery attempt: delivered, or retried later, or given up."""
    from .dashboard import audit

    with db.transaction() as session:
        row = session.get(OutboxMessage, message_id, with_for_update=True)
        if row is None:  # deleted meanwhile (with its submission or endpoint)
            return
        at = now or utcnow()
        row.attempts += 1
        row.last_attempt_at = at
        row.locked_until = None
        row.last_error = None if error is None else error[:500]
        if error is None:
            row.status = "delivered"
            row.delivered_at = at
            if row.private:  # answers are not kept once delivered
                row.payload = {k: v for k, v in row.payload.items() if k != "body"}
            log.info("outbox message %s (%s) delivered", row.id, row.kind)
            return
        if at < row.give_up_at:
            row.next_attempt_at = at + retry_delay(row.attempts)
            log.warning(
                "outbox message %s (%s) failed, attempt %s, next at %s: %s",
                row.id, row.kind, row.attempts, row.next_attempt_at.isoformat(), error,
            )
            return
        row.status = "failed"
        if row.private:
            row.payload = {k: v for k, v in row.payload.items() if k != "body"}
        log.error(
            "outbox message %s (%s) given up after %s attempts: %s",
            row.id, row.kind, row.attempts, error,
        )
        audit.record(
            session, "delivery_failed", clinic_id=row.clinic_id, actor="delivery",
            submission_id=row.submission_id,
            detail={"kind": row.kind, "message": row.key, "attempts": row.attempts,
                    "error": row.last_error, **_audit_detail(row)},
        )


def _audit_detail(row: OutboxMessage) -> dict[str, Any]:
    """Where the message was going (recipient or endpoint URL), for the audit entry."""
    if row.kind == "email":
        return {"to": row.payload.get("to")}
    return {"type": row.payload.get("type"), "url": row.payload.get("url")}


def run(app: Flask, interval: float, once: bool, stop: threading.Event) -> None:
    """The worker's loop: deliver what is due, then wait `interval` seconds, until `stop`."""
    while not stop.is_set():
        with app.app_context():
            attempted = deliver_due(stop=stop)
        if once:
            return
        if attempted == 0:
            stop.wait(interval)
