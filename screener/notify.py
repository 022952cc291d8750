"""Email the clinic when a client submits: a link to the dashboard, never any health data.

Settings come from the environment (SCREENER_SMTP_HOST, _PORT, _USER, _PASSWORD, _FROM,
_STARTTLS); without SCREENER_SMTP_HOST nothing is sent. The mail goes out on a background
thread after the submission is committed, so a slow or broken mail server neither delays nor
breaks the client's submit: failures are logged.
"""
from __future__ import annotations

import logging
import smtplib
import ssl
import threading
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any

from flask import Flask, current_app, url_for

from .config import public_base_url

log = logging.getLogger(__name__)

_pending: set[threading.Thread] = set()
_lock = threading.Lock()


def notice(clinic_name: str, link: str, sender: str, recipient: str) -> EmailMessage:
    """The notice itself, in both interface languages: where to read it, nothing else."""
    msg = EmailMessage()
    msg["Subject"] = "New questionnaire submission / 新的問卷提交"
    msg["From"] = sender
    msg["To"] = recipient
    msg["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    msg.set_content(
        f"A client has sent a consultation questionnaire to {clinic_name}.\n"
        "Read it in the practitioner dashboard (you will be asked to log in):\n"
        f"{link}\n"
        "For the client's privacy this email does not contain any answers.\n\n"
        f"一位求診者已向 {clinic_name} 提交諮詢問卷。\n"
        "請登入醫師管理介面查看：\n"  # noqa: RUF001 - Chinese punctuation
        f"{link}\n"
        "為保障求診者私隱，本電郵不包含任何回答。\n"  # noqa: RUF001
    )
    return msg


def send(config: dict[str, Any], msg: EmailMessage) -> None:
    """Send one message over SMTP with the app's settings (raises on failure)."""
    with smtplib.SMTP(
        config["SMTP_HOST"], config["SMTP_PORT"], timeout=config["SMTP_TIMEOUT"]
    ) as smtp:
        if config["SMTP_STARTTLS"]:
            smtp.starttls(context=ssl.create_default_context())
        if config["SMTP_USER"]:
            smtp.login(config["SMTP_USER"], config["SMTP_PASSWORD"] or "")
        smtp.send_message(msg)


def submission_link(app: Flask, submission_id: int) -> str:
    """The dashboard address of a submission, on SCREENER_BASE_URL when it is set."""
    path = url_for("dashboard.submission", submission_id=submission_id)
    return public_base_url(app.config) + path


def notify_new_submission(
    clinic_name: str, recipient: str | None, submission_id: int
) -> threading.Thread | None:
    """Start sending the new-submission notice; None when email is off or has no recipient.

    Call after the submission is committed, inside the request that made it. Never raises:
    the client's submit must succeed whatever happens to the mail.
    """
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    config = app.config
    if not config["SMTP_HOST"] or not recipient:
        return None
    try:
        sender = config["SMTP_FROM"] or config["SMTP_USER"] or "screener@localhost"
        msg = notice(clinic_name, submission_link(app, submission_id), sender, recipient)
        thread = threading.Thread(
            target=_deliver, args=(dict(config), msg, submission_id), name="screener-notify"
        )
        with _lock:
            _pending.add(thread)
        thread.start()
    except Exception:
        log.exception("could not start the notice of submission %s", submission_id)
        return None
    return thread


def _deliver(config: dict[str, Any], msg: EmailMessage, submission_id: int) -> None:
    try:
        send(config, msg)
        log.info("notice of submission %s sent", submission_id)
    except Exception:
        log.exception("could not send the notice of submission %s", submission_id)
    finally:
        with _lock:
            _pending.discard(threading.current_thread())


def wait_for_notices(timeout: float = 30.0) -> None:
    """Wait until the notices being sent are done (tests, and before a process exits)."""
    with _lock:
        threads = list(_pending)
    for thread in threads:
        thread.join(timeout)
