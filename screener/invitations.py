"""Invitation links and emails, for the dashboard and the command line (in an app context)."""
from __future__ import annotations

from flask import current_app

from . import appointments
from .config import public_base_url
from .i18n import LANGUAGE_NAMES, moment_text, zone
from .notify import queue_invitation
from .storage.models import Appointment, Client, Clinic, Practitioner


def token(appointment: Appointment) -> str:
    """The appointment's invitation token (derived again from its seed and the secret key)."""
    return appointments.token_for(current_app.config["SECRET_KEY"], appointment.token_seed)


def path(clinic: Clinic, appointment: Appointment) -> str:
    """The invitation link's path: /c/<clinic>/i/<token>."""
    return f"/c/{clinic.slug}/i/{token(appointment)}"


def link(clinic: Clinic, appointment: Appointment, base_url: str | None = None) -> str:
    """The full invitation link, on SCREENER_BASE_URL (or the page's address, `base_url`)."""
    return (base_url or public_base_url(current_app.config)) + path(clinic, appointment)


def when(clinic: Clinic, appointment: Appointment) -> dict[str, str]:
    """The appointment's time on the clinic's clocks, in each interface language, with the
    zone named ("Mar 29, 2026, 10:30 AM (Europe/London)")."""
    tz = zone(clinic.timezone)
    return {
        lang: f"{moment_text(appointment.starts_at, tz, lang)} ({tz.key})"
        for lang in LANGUAGE_NAMES
    }


def email(
    me: Practitioner | None, clinic: Clinic, client: Client, appointment: Appointment
) -> bool:
    """Queue the invitation email (the outbox; the delivery worker sends it) when SMTP is set
    up and the client has an address, noted in the audit log in the same transaction; False
    when there is nothing to send."""
    from .dashboard import operations

    recipient = client.email
    if not current_app.config["SMTP_HOST"] or not recipient:
        return False
    times, address = when(clinic, appointment), link(clinic, appointment)
    operations.invitation_emailed(
        me, appointment,
        lambda s: queue_invitation(s, clinic, times, address, recipient, appointment.id),
    )
    return True
