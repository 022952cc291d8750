"""The audit log: who did what to which submission, when; every login attempt."""
from __future__ import annotations

from typing import Any

from flask import has_request_context, request
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from ..storage.models import AuditEvent, Practitioner
from .forms import strip_control

# action -> what the audit page calls it
ACTIONS: dict[str, Any] = {
    "login": _l("Logged in"),
    "login_failed": _l("Failed login"),
    "login_locked": _l("Logins locked for a while after failed attempts"),
    "session_ended": _l("Ended a login session"),
    "logout": _l("Logged out"),
    "view": _l("Viewed submission"),
    "export_json": _l("Exported submission (JSON)"),
    "export_fhir": _l("Exported submission (FHIR)"),
    "export_csv": _l("Exported list (CSV)"),
    "export_pdf": _l("Downloaded practitioner summary (PDF)"),
    "export_client_pdf": _l("Downloaded the client's copy (PDF)"),
    "client_pdf": _l("The client downloaded their copy (PDF)"),
    "export_requested": _l("Asked for the list as a CSV file prepared in the background"),
    "export_ready": _l("CSV file prepared"),
    "export_failed": _l("CSV file could not be prepared"),
    "export_downloaded": _l("Downloaded a prepared CSV file"),
    "export_deleted": _l("Prepared CSV file deleted"),
    "review": _l("Reviewed submission"),
    "delete": _l("Deleted submission"),
    "practitioner_added": _l("Added practitioner"),
    "practitioner_changed": _l("Changed practitioner"),
    "password_reset": _l("Reset a practitioner's password"),
    "password_changed": _l("Changed own password"),
    "clinic_changed": _l("Changed clinic settings"),
    "clinic_texts_changed": _l("Changed the clinic's languages and texts"),
    "logo_changed": _l("Changed the clinic's logo"),
    "logo_removed": _l("Removed the clinic's logo"),
    "accent_changed": _l("Changed the clinic's accent colour"),
    "purge": _l("Retention purge"),
    "delivery_failed": _l("Gave up delivering a notice or webhook event"),
    "api_token_created": _l("Created an API token"),
    "api_token_revoked": _l("Revoked an API token"),
    "webhook_added": _l("Added a webhook endpoint"),
    "webhook_removed": _l("Removed a webhook endpoint"),
    "api_read": _l("Read a submission through the API"),
    "api_search": _l("Searched submissions through the API"),
    "client_created": _l("Added a client"),
    "client_linked": _l("Linked a submission to a client"),
    "client_viewed": _l("Viewed a client's page"),
    "invited": _l("Invited a client to an appointment"),
    "invitation_sent": _l("Emailed an invitation"),
}


def record(
    session: Session,
    action: str,
    *,
    by: Practitioner | None = None,
    clinic_id: int | None = None,
    practitioner_id: int | None = None,
    actor: str | None = None,
    submission_id: int | None = None,
    detail: dict[str, Any] | None = None,
) -> AuditEvent:
    """Add one audit event to the session's transaction (committed with the action itself).

    `by` is the account acting; without one (a failed login, the purge command) pass the
    clinic, the account concerned and the actor's name yourself.
    """
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    ip = request.remote_addr if has_request_context() else None
    event = AuditEvent(
        action=action,
        clinic_id=by.clinic_id if by else clinic_id,
        practitioner_id=by.id if by else practitioner_id,
        actor=strip_control(by.email if by else actor or "")[:254],
        submission_id=submission_id,
        detail=detail or {},
        ip=ip[:45] if ip else None,
    )
    session.add(event)
    return event
