"""Invitation links and emails, for the dashboard and the command line (in an app context)."""
from __future__ import annotations

from flask import current_app

from . import appointments
from .config import public_base_url
from .i18n import LANGUAGE_NAMES, moment_text, zone
from .notify import notify_invitation
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
    """Email the invitation when SMTP is set up and the client has an address (noted in the
    audit log); False when nothing was sent."""
    from .dashboard import operations

    thread = notify_invitation(
        clinic.name, when(clinic, appointment), link(clinic, appointment), client.email,
        appointment.id,
    )
    if thread is None:
        return False
    operations.invitation_emailed(me, appointment)
    return True
