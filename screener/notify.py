"""Emails: the clinic's notice of a new submission (a link to the dashboard) and a client's
invitation to an appointment (the clinic, the time, the personal link); never any health data.

Settings come from the environment (SCREENER_SMTP_HOST, _PORT, _USER, _PASSWORD, _FROM,
_STARTTLS); without SCREENER_SMTP_HOST nothing is sent. The submit writes the notice to the
outbox in the submission's own transaction; the worker (`flask --app screener deliver`) sends
it, retrying while the mail server is down (screener/outbox.py). A slow or broken mail server
neither delays nor breaks the client's submit, and no notice is lost with a process.
"""
from __future__ import annotations

import smtplib
import ssl
from collections.abc import Callable
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any

from flask import Flask, current_app, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from . import outbox
from .config import public_base_url
from .languages import LANGS
from .storage.models import Clinic, OutboxMessage


def in_every_language(text: Callable[[str], str]) -> list[str]:
    """`text(code)` for every interface language, each with its catalog (needs an app
    context): the emails are written in all of them, as a clinic's or client's language is not
    known when they are written."""
    out = []
    for lang in LANGS.languages:
        with force_locale(lang.locale):
            out.append(text(lang.code))
    return out


def notice(clinic_name: str, link: str, sender: str, recipient: str) -> EmailMessage:
    """The notice itself, in every interface language: where to read it, nothing else."""
    msg = EmailMessage()
    msg["Subject"] = " / ".join(
        dict.fromkeys(in_every_language(lambda _lang: _("New questionnaire submission")))
    )
    msg["From"] = sender
    msg["To"] = recipient
    msg["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    msg["Date"] = formatdate(localtime=False)
    msg.set_content("\n\n".join(in_every_language(lambda _lang: "\n".join((
        _("A client has sent a consultation questionnaire to %(clinic)s.", clinic=clinic_name),
        _("Read it in the practitioner dashboard (you will be asked to log in):"),
        link,
        _("For the client's privacy this email does not contain any answers."),
    )))) + "\n")
    return msg


def invitation(
    clinic_name: str, when: dict[str, str], link: str, sender: str, recipient: str
) -> EmailMessage:
    """An invitation to fill in the questionnaire before an appointment, in every interface
    language: the clinic, the appointment's time (`when`, per language: one missing, in a
    message queued before its language was added, is given in its fallback's) and the personal
    link. Nothing else: no answer, no health data."""

    def when_in(lang: str) -> str:
        return next((when[code] for code in LANGS.fallbacks(lang) if code in when), "")

    msg = EmailMessage()
    msg["Subject"] = f"{clinic_name}: " + " / ".join(
        dict.fromkeys(in_every_language(lambda _lang: _("before your appointment")))
    )
    msg["From"] = sender
    msg["To"] = recipient
    msg["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    msg["Date"] = formatdate(localtime=False)
    msg.set_content("\n\n".join(in_every_language(lambda lang: "\n".join((
        _("%(clinic)s looks forward to seeing you on %(when)s.", clinic=clinic_name,
          when=when_in(lang)),
        _("Before your appointment, please answer a few questions here:"),
        link,
        _("This link is personal: please do not share it."),
    )))) + "\n")
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


def queue_notice(session: Session, clinic: Clinic, submission_id: int) -> OutboxMessage | None:
    """Write the new-submission notice to the outbox, in the submission's transaction; None
    when email is off (no SCREENER_SMTP_HOST) or the clinic has no address for notices."""
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    recipient = clinic.notify_email or clinic.contact_email
    if not app.config["SMTP_HOST"] or not recipient:
        return None
    payload = {
        "to": recipient,
        "clinic_name": clinic.name,
        "link": submission_link(app, submission_id),
    }
    return outbox.enqueue(
        session, "email", payload, clinic_id=clinic.id, submission_id=submission_id
    )


def queue_invitation(
    session: Session, clinic: Clinic, when: dict[str, str], link: str, recipient: str,
    appointment_id: int,
) -> OutboxMessage:
    """Write an appointment's invitation email to the outbox, in the caller's transaction."""
    payload = {
        "template": "invitation", "to": recipient, "clinic_name": clinic.name, "when": when,
        "link": link, "appointment_id": appointment_id,
    }
    return outbox.enqueue(session, "email", payload, clinic_id=clinic.id)


def send_notice(app: Flask, message: OutboxMessage) -> None:
    """Send a notice of the outbox (the worker calls this); DeliveryError when it failed.

    Its Message-ID is made from the message's idempotency key: the same on every attempt.
    """
    config = app.config
    if not config["SMTP_HOST"]:
        raise outbox.DeliveryError("email is off: SCREENER_SMTP_HOST is not set")
    sender = config["SMTP_FROM"] or config["SMTP_USER"] or "screener@localhost"
    payload = message.payload
    if payload.get("template") == "invitation":
        msg = invitation(payload["clinic_name"], payload["when"], payload["link"], sender,
                         payload["to"])
    else:
        msg = notice(payload["clinic_name"], payload["link"], sender, payload["to"])
    domain = sender.rpartition("@")[2] or "localhost"
    msg.replace_header("Message-ID", f"<{message.key}@{domain}>")
    try:
        send(config, msg)
    except (OSError, smtplib.SMTPException) as exc:
        raise outbox.DeliveryError(f"SMTP: {type(exc).__name__}: {exc}"[:300]) from exc
