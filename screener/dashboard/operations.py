"""Every change the dashboard makes to the database, one function each.

Each operation changes the data and records its audit entry in one transaction, so that no
change is ever made without its entry, nor an entry written for a change that was rolled back.
Views only do HTTP: they parse the form, call one operation, then redirect or render. The
command line (screener/cli.py) goes through the same functions where it changes accounts.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from flask import current_app, has_request_context, request
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from .. import appointments, retention
from ..extensions import db
from ..i18n import zone
from ..look import Logo
from ..retention import PurgeReport
from ..storage.models import (
    ApiToken,
    Appointment,
    Client,
    Clinic,
    ClinicLook,
    Draft,
    ExportJob,
    LoginSession,
    LoginThrottle,
    OutboxMessage,
    Practitioner,
    Submission,
    WebhookEndpoint,
    utcnow,
)
from . import audit
from .auth import (
    create_practitioner,
    generate_password,
    new_login_id,
    new_session_key,
    set_password,
    upgrade_hash,
)
from .forms import strip_control
from .queries import Filters

# Failed logins in a row for one email address before each further failure locks it: for
# FIRST_LOCK, doubling with every failure up to LONGEST_LOCK. A success starts again at zero.
LOCK_AFTER = 5
FIRST_LOCK = dt.timedelta(seconds=30)
LONGEST_LOCK = dt.timedelta(minutes=15)
# How long delivered and failed outbox messages (the delivery log) are kept.
OUTBOX_KEEP = dt.timedelta(days=30)


class EmailTaken(Exception):
    """A new account's email is already in use in the clinic."""


class AlreadyInvited(Exception):
    """The client is invited to this appointment already: `appointment` is that invitation."""

    def __init__(self, appointment: Appointment) -> None:
        super().__init__(appointment.id)
        self.appointment = appointment


# Logging in and out --------------------------------------------------------------------------


def lock_duration(failures: int) -> dt.timedelta | None:
    """How long the email is locked after this many failed logins in a row (None: not)."""
    if failures < LOCK_AFTER:
        return None
    return min(LONGEST_LOCK, FIRST_LOCK * (1 << min(failures - LOCK_AFTER, 16)))


def locked_until(email: str) -> dt.datetime | None:
    """Until when logins with this email are refused, or None."""
    row = db.session.get(LoginThrottle, email[:254])
    now = utcnow()
    if row is None or row.locked_until is None or row.locked_until <= now:
        return None
    return row.locked_until


def login_succeeded(account: Practitioner, password: str) -> str:
    """Start a login session; note the login (and re-hash a password stored with weaker
    parameters). Returns the per-login id for the session cookie."""
    login_id, token_hash = new_login_id()
    with db.transaction() as s:
        s.add(account)
        now = utcnow()
        account.last_login_at = now
        upgrade_hash(account, password)
        s.execute(delete(LoginThrottle).where(LoginThrottle.email == account.email))
        s.add(LoginSession(
            practitioner_id=account.id, token_hash=token_hash, created_at=now, last_seen_at=now,
            **_client(),
        ))
        audit.record(s, "login", by=account)
    return login_id


def login_failed(
    email: str, named: list[Practitioner], count: bool = True
) -> dt.datetime | None:
    """A failed login: one audit entry per account the email names (one without a clinic for an
    unknown email), and one more failure in a row for the email. Returns until when the email
    is now locked, if this failure locks it (with a "login_locked" entry)."""
    try:
        return _login_failed(email[:254], named, count)
    except IntegrityError:  # the same email's first failure counted at the same time
        db.session.rollback()
        return _login_failed(email[:254], named, count)


def _login_failed(email: str, named: list[Practitioner], count: bool) -> dt.datetime | None:
    with db.transaction() as s:
        _audit_each(s, "login_failed", email, named)
        if not count:
            return None
        row = s.get(LoginThrottle, email, with_for_update=True)
        if row is None:
            row = LoginThrottle(email=email, failures=0)
            s.add(row)
        now = utcnow()
        row.failures += 1
        row.last_failure_at = now
        lock = lock_duration(row.failures)
        if lock is None:
            return None
        row.locked_until = now + lock
        _audit_each(
            s, "login_locked", email, named,
            {"failures": row.failures, "seconds": int(lock.total_seconds())},
        )
        return row.locked_until


def login_refused(email: str, named: list[Practitioner]) -> None:
    """An attempt while the email is locked: refused unchecked, noted in the audit log."""
    with db.transaction() as s:
        _audit_each(s, "login_failed", email[:254], named, {"locked": True})


def _audit_each(
    s: Session, action: str, email: str, named: list[Practitioner],
    detail: dict[str, Any] | None = None,
) -> None:
    accounts: list[Practitioner | None] = [*named] or [None]
    for account in accounts:
        audit.record(
            s, action,
            clinic_id=account.clinic_id if account else None,
            practitioner_id=account.id if account else None,
            actor=email, detail=detail,
        )


def _client() -> dict[str, Any]:
    """The address and browser of the request, for the list of active sessions."""
    if not has_request_context():
        return {"ip": None, "user_agent": ""}
    ip = request.remote_addr
    return {
        "ip": ip[:45] if ip else None,
        "user_agent": strip_control(request.headers.get("User-Agent", ""))[:200],
    }


def logged_out(me: Practitioner, session_id: int | None) -> None:
    """End this login session (its row goes: a copy of the cookie no longer works)."""
    with db.transaction() as s:
        if session_id is not None:
            s.execute(delete(LoginSession).where(LoginSession.id == session_id))
        audit.record(s, "logout", by=me)


def _end_sessions(s: Session, account: Practitioner, keep: int | None = None) -> int:
    """Delete the account's login sessions (but `keep`); how many."""
    query = delete(LoginSession).where(LoginSession.practitioner_id == account.id)
    if keep is not None:
        query = query.where(LoginSession.id != keep)
    return int(s.execute(query).rowcount or 0)  # type: ignore[attr-defined]


def end_session(me: Practitioner, row: LoginSession) -> None:
    """An admin ends a login session of an account of the clinic (the caller checked that)."""
    with db.transaction() as s:
        s.execute(delete(LoginSession).where(LoginSession.id == row.id))
        audit.record(
            s, "session_ended", by=me,
            detail={"email": row.practitioner.email, "started": row.created_at.isoformat()},
        )


# Reading submissions ---------------------------------------------------------------------------


def record_access(
    me: Practitioner,
    action: str,
    submission_id: int | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """A read worth an audit entry: a submission viewed or exported, the list exported."""
    with db.transaction() as s:
        audit.record(s, action, by=me, submission_id=submission_id, detail=detail)


def client_copy_downloaded(sub: Submission) -> None:
    """The client downloaded the PDF copy of their summary (by their private link)."""
    with db.transaction() as s:
        audit.record(
            s, "client_pdf", clinic_id=sub.clinic_id, actor="", submission_id=sub.id
        )


# Changing submissions --------------------------------------------------------------------------


def review_submission(me: Practitioner, sub: Submission, note: str | None) -> None:
    """Mark a submission reviewed by `me`, with an optional note."""
    with db.transaction() as s:
        s.add(sub)
        sub.reviewed_at = utcnow()
        sub.reviewed_by_id = me.id
        sub.review_note = (note or "").strip() or None
        audit.record(s, "review", by=me, submission_id=sub.id)


def delete_submission(me: Practitioner, sub: Submission) -> None:
    """Delete a submission and its draft: the client's summary link goes with it."""
    with db.transaction() as s:
        draft_id = sub.draft_id
        s.execute(delete(Submission).where(Submission.id == sub.id))
        # Webhook events that carry its answers go with it, delivered or not.
        s.execute(delete(OutboxMessage).where(
            OutboxMessage.submission_id == sub.id, OutboxMessage.private.is_(True)
        ))
        if draft_id is not None:
            s.execute(delete(Draft).where(Draft.id == draft_id))
        audit.record(
            s,
            "delete",
            by=me,
            submission_id=sub.id,
            detail={"submitted_at": sub.submitted_at.isoformat()},
        )


# Clients and appointments ----------------------------------------------------------------------
# `me` is the practitioner acting, or None for the command line (then the clinic is given).


def _actor(me: Practitioner | None, clinic_id: int) -> dict[str, Any]:
    return {"by": me} if me is not None else {"clinic_id": clinic_id, "actor": COMMAND_LINE}


def create_client(
    me: Practitioner | None, clinic_id: int, name: str, email: str | None, phone: str | None,
    s: Session | None = None,
) -> Client:
    """A new client record of the clinic (in `s`'s transaction when given)."""
    if s is None:
        with db.transaction() as s:
            return create_client(me, clinic_id, name, email, phone, s)
    client = Client(clinic_id=clinic_id, created_at=utcnow())
    appointments.set_details(client, name, email, phone)
    s.add(client)
    s.flush()
    audit.record(s, "client_created", **_actor(me, clinic_id), detail={"client_id": client.id})
    return client


def link_submission(me: Practitioner, sub: Submission, client: Client) -> None:
    """A practitioner says this submission is this client's (both of `me`'s clinic)."""
    with db.transaction() as s:
        s.add(sub)
        previous = sub.client_id
        sub.client_id = client.id
        audit.record(
            s, "client_linked", by=me, submission_id=sub.id,
            detail={"client_id": client.id, "was": previous},
        )


def client_from_submission(me: Practitioner, sub: Submission) -> Client:
    """A new client made from the details of a submission, and the submission linked to it."""
    answers = sub.answers or {}
    with db.transaction() as s:
        s.add(sub)
        client = create_client(
            me, sub.clinic_id,
            appointments.clean_text(sub.full_name or answers.get("full_name"), 200),
            appointments.clean_text(answers.get("email"), 254) or None,
            appointments.clean_text(answers.get("phone"), 40) or None,
            s,
        )
        sub.client_id = client.id
        audit.record(
            s, "client_linked", by=me, submission_id=sub.id,
            detail={"client_id": client.id, "was": None},
        )
    return client


def client_viewed(me: Practitioner, client: Client) -> None:
    with db.transaction() as s:
        audit.record(s, "client_viewed", by=me, detail={"client_id": client.id})


def invite(
    me: Practitioner | None, clinic: Clinic, client: Client, starts_at: dt.datetime,
) -> Appointment:
    """A new appointment of the client with its invitation link (appointments.token_for).

    Raises AlreadyInvited when the client has an invitation for that very time.
    """
    existing = _invitation_at(clinic.id, client.id, starts_at)
    if existing is not None:
        raise AlreadyInvited(existing)
    secret = current_app.config["SECRET_KEY"]
    seed = appointments.new_seed()
    try:
        with db.transaction() as s:
            appointment = Appointment(
                clinic_id=clinic.id, client_id=client.id, starts_at=starts_at,
                expires_at=appointments.link_expiry(starts_at, zone(clinic.timezone)),
                token_seed=seed,
                token_hash=appointments.token_hash(appointments.token_for(secret, seed)),
                created_at=utcnow(), created_by_id=me.id if me is not None else None,
                emailed_count=0,
            )
            s.add(appointment)
            s.flush()
            audit.record(
                s, "invited", **_actor(me, clinic.id),
                detail={
                    "client_id": client.id, "appointment_id": appointment.id,
                    "starts_at": starts_at.isoformat(),
                },
            )
    except IntegrityError as exc:  # invited at the same moment by another request
        db.session.rollback()
        existing = _invitation_at(clinic.id, client.id, starts_at)
        if existing is None:
            raise
        raise AlreadyInvited(existing) from exc
    return appointment


def _invitation_at(clinic_id: int, client_id: int, starts_at: dt.datetime) -> Appointment | None:
    return db.session.scalars(
        select(Appointment).where(
            Appointment.clinic_id == clinic_id, Appointment.client_id == client_id,
            Appointment.starts_at == starts_at,
        )
    ).first()


def invitation_emailed(
    me: Practitioner | None, appointment: Appointment, queue: Callable[[Session], object]
) -> None:
    """Queue an invitation email (`queue` writes it to the outbox) and note it, the first or a
    reminder, in one transaction."""
    with db.transaction() as s:
        queue(s)
        s.add(appointment)
        appointment.emailed_at = utcnow()
        appointment.emailed_count = (appointment.emailed_count or 0) + 1
        audit.record(
            s, "invitation_sent", **_actor(me, appointment.clinic_id),
            detail={
                "client_id": appointment.client_id, "appointment_id": appointment.id,
                "count": appointment.emailed_count,
            },
        )


# Exports prepared in the background (screener/exports/jobs.py) ------------------------------

EXPORT_KEEP = dt.timedelta(days=1)  # a file is kept this long; a job not ready by then goes


def request_export(me: Practitioner, filters: Filters, shown: dict[str, str]) -> ExportJob:
    """Ask for the list as a CSV file, prepared in the background: a pending job holding the
    filters and the time asked (rows submitted later are not in it). `shown` is the list's
    query string, for the audit entry."""
    now = utcnow()
    with db.transaction() as s:
        job = ExportJob(
            clinic_id=me.clinic_id, practitioner_id=me.id,
            filters=replace(filters, until=now).to_json(),
            requested_at=now, status="pending", expires_at=now + EXPORT_KEEP,
        )
        s.add(job)
        s.flush()
        audit.record(s, "export_requested", by=me, detail={"job": job.id, "filters": shown})
    return job


def claim_export(job_id: int) -> ExportJob | None:
    """Mark a pending job running, for this run only (None: not pending, or taken). A job left
    running by a run that died hours ago is taken again."""
    from ..exports.jobs import STALE

    now = utcnow()
    with db.transaction() as s:
        claimed = s.execute(
            update(ExportJob)
            .where(
                ExportJob.id == job_id,
                (ExportJob.status == "pending")
                | ((ExportJob.status == "running") & (ExportJob.started_at < now - STALE)),
            )
            .values(status="running", started_at=now)
            .execution_options(synchronize_session=False)
        )
        if claimed.rowcount != 1:  # type: ignore[attr-defined]
            return None
        return s.get(ExportJob, job_id, populate_existing=True)


def export_ready(job: ExportJob, file_name: str, rows: int, expires_at: dt.datetime) -> None:
    """The job's file is written: downloadable until `expires_at`."""
    with db.transaction() as s:
        s.add(job)
        job.status = "ready"
        job.file_name = file_name
        job.rows = rows
        job.finished_at = utcnow()
        job.expires_at = expires_at
        audit.record(
            s, "export_ready", clinic_id=job.clinic_id, practitioner_id=job.practitioner_id,
            actor=EXPORT_ACTOR, detail={"job": job.id, "rows": rows},
        )


def export_failed(job: ExportJob) -> None:
    with db.transaction() as s:
        s.add(job)
        job.status = "failed"
        job.finished_at = utcnow()
        audit.record(
            s, "export_failed", clinic_id=job.clinic_id, practitioner_id=job.practitioner_id,
            actor=EXPORT_ACTOR, detail={"job": job.id},
        )


def export_downloaded(me: Practitioner, job: ExportJob) -> None:
    record_access(me, "export_downloaded", detail={"job": job.id, "rows": job.rows})


def delete_expired_exports(now: dt.datetime, directory: Path) -> int:
    """Delete the jobs past their time with their files (each with an audit entry), and any
    file of the folder that no job names and that is over a day old (left by a run that died);
    how many jobs."""
    expired = db.session.scalars(select(ExportJob).where(ExportJob.expires_at <= now)).all()
    db.session.rollback()
    for job in expired:
        if job.file_name:
            (directory / job.file_name).unlink(missing_ok=True)
        with db.transaction() as s:
            s.execute(delete(ExportJob).where(ExportJob.id == job.id))
            audit.record(
                s, "export_deleted", clinic_id=job.clinic_id,
                practitioner_id=job.practitioner_id, actor="retention",
                detail={"job": job.id, "rows": job.rows},
            )
    named = set(db.session.scalars(
        select(ExportJob.file_name).where(ExportJob.file_name.is_not(None))
    ))
    db.session.rollback()
    old = (now - EXPORT_KEEP).timestamp()
    for path in directory.iterdir():
        if path.is_file() and path.name not in named and path.stat().st_mtime < old:
            path.unlink(missing_ok=True)
    return len(expired)


# Own account -----------------------------------------------------------------------------------


def change_own_password(me: Practitioner, new_password: str, session_id: int | None) -> None:
    """Set `me`'s password (the caller has checked the current one); ends its other sessions."""
    with db.transaction() as s:
        s.add(me)
        set_password(me, new_password)
        _end_sessions(s, me, keep=session_id)
        audit.record(s, "password_changed", by=me)


# Clinic administration -------------------------------------------------------------------------


def add_practitioner(
    me: Practitioner, email: str, name: str, role: str
) -> tuple[Practitioner, str]:
    """A new account of `me`'s clinic with a generated password: (account, password).

    Raises EmailTaken when the email is in use.
    """
    password = generate_password()
    try:
        with db.transaction() as s:
            account = create_practitioner(s, me.clinic, email, name, password, role)
            s.flush()
            audit.record(
                s, "practitioner_added", by=me,
                detail={"email": account.email, "role": account.role},
            )
    except IntegrityError as exc:
        db.session.rollback()
        raise EmailTaken(email) from exc
    return account, password


def reset_password(me: Practitioner, account: Practitioner) -> str:
    """Give another account a generated password (ends its sessions); the password."""
    password = generate_password()
    with db.transaction() as s:
        s.add(account)
        set_password(account, password)
        _end_sessions(s, account)
        audit.record(s, "password_reset", by=me, detail={"email": account.email})
    return password


def change_role(me: Practitioner, account: Practitioner, role: str) -> None:
    with db.transaction() as s:
        s.add(account)
        account.role = role
        _practitioner_changed(s, me, account)


def set_active(me: Practitioner, account: Practitioner, active: bool) -> None:
    """Activate or deactivate an account; its sessions end either way."""
    with db.transaction() as s:
        s.add(account)
        account.active = active
        account.session_key = new_session_key()
        _end_sessions(s, account)
        _practitioner_changed(s, me, account)


def _practitioner_changed(s: Any, me: Practitioner, account: Practitioner) -> None:
    audit.record(
        s, "practitioner_changed", by=me,
        detail={"email": account.email, "role": account.role, "active": account.active},
    )


@dataclass(frozen=True)
class ClinicSettings:
    """What a clinic admin may change about the clinic (validated by the form)."""

    name: str
    contact_email: str | None
    contact_phone: str | None
    notify_email: str | None
    allowed_origins: list[str]
    retention_days: int
    timezone: str


def update_clinic(me: Practitioner, clinic: Clinic, settings: ClinicSettings) -> None:
    with db.transaction() as s:
        s.add(clinic)
        clinic.name = settings.name
        clinic.contact_email = settings.contact_email
        clinic.contact_phone = settings.contact_phone
        clinic.notify_email = settings.notify_email
        clinic.allowed_origins = settings.allowed_origins
        clinic.retention_days = settings.retention_days
        clinic.timezone = settings.timezone
        audit.record(
            s, "clinic_changed", by=me,
            detail={
                "allowed_origins": clinic.allowed_origins,
                "retention_days": clinic.retention_days,
                "timezone": clinic.timezone,
            },
        )


def update_clinic_texts(me: Practitioner, clinic: Clinic, settings: dict[str, Any]) -> None:
    """The clinic's languages, default language and texts (ClinicTextsForm.settings); the
    audit entry names what changed (texts by language and field, not their words)."""
    with db.transaction() as s:
        s.add(clinic)
        before = clinic.texts or {}
        after = settings["texts"]
        changed = sorted(
            f"{lang}:{field}"
            for lang in set(before) | set(after)
            for field in set(before.get(lang) or {}) | set(after.get(lang) or {})
            if (before.get(lang) or {}).get(field) != (after.get(lang) or {}).get(field)
        )
        clinic.languages = list(settings["languages"])
        clinic.default_lang = settings["default_lang"]
        clinic.texts = after
        audit.record(
            s, "clinic_texts_changed", by=me,
            detail={
                "languages": clinic.languages, "default_lang": clinic.default_lang,
                "texts_changed": changed,
            },
        )


# The clinic's look (screener/look.py) ------------------------------------------------------------


def _look_row(s: Session, clinic_id: int) -> ClinicLook:
    row = s.get(ClinicLook, clinic_id)
    if row is None:
        row = ClinicLook(clinic_id=clinic_id)
        s.add(row)
    return row


def set_logo(me: Practitioner, logo: Logo) -> None:
    """Give `me`'s clinic this (checked, re-encoded) logo in place of any other."""
    with db.transaction() as s:
        row = _look_row(s, me.clinic_id)
        row.logo, row.logo_hash, row.logo_type = logo.data, logo.digest, logo.mimetype
        row.logo_width, row.logo_height = logo.width, logo.height
        row.updated_at = utcnow()
        audit.record(
            s, "logo_changed", by=me,
            detail={"hash": logo.digest, "type": logo.mimetype, "bytes": len(logo.data),
                    "width": logo.width, "height": logo.height},
        )


def remove_logo(me: Practitioner) -> bool:
    """Remove `me`'s clinic's logo; False when it had none."""
    with db.transaction() as s:
        row = s.get(ClinicLook, me.clinic_id)
        if row is None or row.logo_hash is None:
            return False
        old = row.logo_hash
        row.logo = row.logo_hash = row.logo_type = None
        row.logo_width = row.logo_height = None
        row.updated_at = utcnow()
        audit.record(s, "logo_removed", by=me, detail={"hash": old})
        return True


def set_accent(me: Practitioner, accent: str | None) -> None:
    """Set (a checked '#rrggbb') or clear (None) `me`'s clinic's accent colour."""
    with db.transaction() as s:
        row = _look_row(s, me.clinic_id)
        before = row.accent
        row.accent = accent
        row.updated_at = utcnow()
        audit.record(s, "accent_changed", by=me, detail={"from": before, "to": accent})


# API tokens --------------------------------------------------------------------------------------

API_TOKEN_PREFIX = "scr_"  # noqa: S105 - not a secret: the start of every token
API_TOKEN_HINT = 10  # characters of a token shown in the list (the prefix and 6 more)


def hash_api_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def _new_api_token(s: Session, clinic_id: int, name: str, created_by: str) -> tuple[ApiToken, str]:
    token = API_TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(
        clinic_id=clinic_id, name=name.strip()[:100], token_hash=hash_api_token(token),
        hint=token[:API_TOKEN_HINT], created_at=utcnow(), created_by=created_by[:254],
    )
    s.add(row)
    s.flush()
    return row, token


def create_api_token(me: Practitioner, name: str) -> tuple[ApiToken, str]:
    """A new API token of `me`'s clinic: (row, token). The token is shown once, never stored."""
    with db.transaction() as s:
        row, token = _new_api_token(s, me.clinic_id, name, me.email)
        audit.record(s, "api_token_created", by=me, detail={"name": row.name, "hint": row.hint})
    return row, token


def revoke_api_token(me: Practitioner, row: ApiToken) -> None:
    """Revoke a token of the clinic (the caller checked that): it stops working at once."""
    with db.transaction() as s:
        s.add(row)
        if row.revoked_at is None:
            row.revoked_at = utcnow()
        audit.record(s, "api_token_revoked", by=me, detail={"name": row.name, "hint": row.hint})


def api_token_of(token: str) -> ApiToken | None:
    """The active token a request presents, or None."""
    if not token.startswith(API_TOKEN_PREFIX) or len(token) > 100:
        return None
    return db.session.scalars(
        select(ApiToken).where(
            ApiToken.token_hash == hash_api_token(token), ApiToken.revoked_at.is_(None)
        )
    ).first()


def api_read(
    token: ApiToken, action: str, submission_id: int | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """A read of submissions through the API: the token's last use, and an audit entry."""
    with db.transaction() as s:
        now = utcnow()
        s.execute(update(ApiToken).where(ApiToken.id == token.id).values(last_used_at=now))
        audit.record(
            s, action, clinic_id=token.clinic_id, actor=f"API token {token.name}",
            submission_id=submission_id, detail={"token": token.hint, **(detail or {})},
        )


# Webhooks ----------------------------------------------------------------------------------------


def _new_webhook(
    s: Session, clinic_id: int, url: str, include_answers: bool, created_by: str
) -> WebhookEndpoint:
    from ..webhooks import new_secret

    endpoint = WebhookEndpoint(
        clinic_id=clinic_id, url=url, secret=new_secret(), include_answers=include_answers,
        created_at=utcnow(), created_by=created_by[:254],
    )
    s.add(endpoint)
    s.flush()
    return endpoint


def add_webhook(me: Practitioner, url: str, include_answers: bool) -> WebhookEndpoint:
    """A new endpoint of `me`'s clinic (the form checked the address); its secret is shown
    once by the caller."""
    with db.transaction() as s:
        endpoint = _new_webhook(s, me.clinic_id, url, include_answers, me.email)
        audit.record(
            s, "webhook_added", by=me, detail={"url": url, "answers": include_answers}
        )
    return endpoint


def remove_webhook(me: Practitioner, endpoint: WebhookEndpoint) -> None:
    """Remove an endpoint of the clinic (the caller checked that) and its undelivered events;
    the log of those delivered or given up stays."""
    with db.transaction() as s:
        s.execute(delete(OutboxMessage).where(
            OutboxMessage.endpoint_id == endpoint.id, OutboxMessage.status == "pending"
        ))
        s.execute(delete(WebhookEndpoint).where(WebhookEndpoint.id == endpoint.id))
        audit.record(s, "webhook_removed", by=me, detail={"url": endpoint.url})


# The command line ------------------------------------------------------------------------------


COMMAND_LINE = "command line"  # the actor of audit entries made with flask --app screener
EXPORT_ACTOR = "export"  # the actor of the entries of background exports


def create_account(
    clinic: Clinic, email: str, name: str, password: str, role: str
) -> Practitioner:
    """A new account with a password chosen on the command line.

    Raises EmailTaken when the email is in use in the clinic.
    """
    try:
        with db.transaction() as s:
            account = create_practitioner(s, clinic, email, name, password, role)
            s.flush()
            audit.record(
                s, "practitioner_added", clinic_id=clinic.id, actor=COMMAND_LINE,
                detail={"email": account.email, "role": account.role},
            )
    except IntegrityError as exc:
        db.session.rollback()
        raise EmailTaken(email) from exc
    return account


def set_account_password(account: Practitioner, password: str) -> None:
    """A password set on the command line; ends every session of the account."""
    with db.transaction() as s:
        s.add(account)
        set_password(account, password)
        _end_sessions(s, account)
        audit.record(
            s, "password_reset", clinic_id=account.clinic_id, actor=COMMAND_LINE,
            detail={"email": account.email},
        )


def purge_expired(now: dt.datetime, dry_run: bool = False) -> PurgeReport:
    """Delete expired drafts and submissions past their clinic's retention, in batches of short
    transactions (screener/retention.py), each batch of a clinic's submissions with an audit
    entry of its own; a dry run counts and changes nothing."""
    if dry_run:
        return retention.count_expired(db.session, now)
    report = PurgeReport()
    batches = retention.Batches(report, pause=retention.SQLITE_PAUSE if db.is_sqlite else 0.0)
    clinics = [(c.id, c.slug, c.retention_days, retention.cutoff(c, now))
               for c in db.session.scalars(select(Clinic).order_by(Clinic.slug))]
    db.session.rollback()  # (ends the read: on SQLite, no snapshot kept open between batches)
    for clinic_id, slug, days, before in clinics:
        report.submissions[slug] = 0
        while True:
            size = batches.size
            with batches.timed(), db.transaction() as s:
                deleted, drafts = retention.delete_submissions(s, clinic_id, before, size)
                if deleted:
                    audit.record(
                        s, "purge", clinic_id=clinic_id, actor="retention",
                        detail={"submissions": deleted, "retention_days": days},
                    )
            report.submissions[slug] += deleted
            report.drafts += drafts
            if deleted < size:
                break
    while True:
        size = batches.size
        with batches.timed(), db.transaction() as s:
            deleted = retention.delete_drafts(s, now, size)
        report.drafts += deleted
        if deleted < size:
            break
    from ..exports.jobs import exports_dir

    report.exports = delete_expired_exports(now, exports_dir())
    config = current_app.config
    with db.transaction() as s:
        # Login sessions past their time and failed-login counts of a day ago.
        s.execute(delete(LoginSession).where(
            (LoginSession.last_seen_at <= now - config["PERMANENT_SESSION_LIFETIME"])
            | (LoginSession.created_at <= now - config["SESSION_MAX_AGE"])
        ))
        s.execute(delete(LoginThrottle).where(
            LoginThrottle.last_failure_at <= now - dt.timedelta(days=1)
        ))
        # Delivered and failed messages: the delivery log keeps OUTBOX_KEEP.
        s.execute(delete(OutboxMessage).where(
            OutboxMessage.status != "pending",
            OutboxMessage.created_at <= now - OUTBOX_KEEP,
        ))
    return report


def create_api_token_cli(clinic: Clinic, name: str) -> tuple[ApiToken, str]:
    """A new API token made on the command line: (row, token)."""
    with db.transaction() as s:
        row, token = _new_api_token(s, clinic.id, name, COMMAND_LINE)
        audit.record(
            s, "api_token_created", clinic_id=clinic.id, actor=COMMAND_LINE,
            detail={"name": row.name, "hint": row.hint},
        )
    return row, token


def add_webhook_cli(clinic: Clinic, url: str, include_answers: bool) -> WebhookEndpoint:
    """A new endpoint added on the command line (the caller checked the address)."""
    with db.transaction() as s:
        endpoint = _new_webhook(s, clinic.id, url, include_answers, COMMAND_LINE)
        audit.record(
            s, "webhook_added", clinic_id=clinic.id, actor=COMMAND_LINE,
            detail={"url": url, "answers": include_answers},
        )
    return endpoint
