"""Every change the dashboard makes to the database, one function each.

Each operation changes the data and records its audit entry in one transaction, so that no
change is ever made without its entry, nor an entry written for a change that was rolled back.
Views only do HTTP: they parse the form, call one operation, then redirect or render. The
command line (screener/cli.py) goes through the same functions where it changes accounts.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from ..extensions import db
from ..retention import PurgeReport, purge
from ..storage.models import Clinic, Draft, Practitioner, Submission, utcnow
from . import audit
from .auth import (
    create_practitioner,
    generate_password,
    new_session_key,
    set_password,
    upgrade_hash,
)


class EmailTaken(Exception):
    """A new account's email is already in use."""


# Logging in and out --------------------------------------------------------------------------


def login_succeeded(account: Practitioner, password: str) -> None:
    """Note the login (and re-hash a password stored with weaker parameters)."""
    with db.transaction() as s:
        s.add(account)
        account.last_login_at = utcnow()
        upgrade_hash(account, password)
        audit.record(s, "login", by=account)


def login_failed(email: str, account: Practitioner | None) -> None:
    """A failed login: the email as typed, and the account it names if there is one."""
    with db.transaction() as s:
        audit.record(
            s,
            "login_failed",
            clinic_id=account.clinic_id if account else None,
            practitioner_id=account.id if account else None,
            actor=email,
        )


def logged_out(me: Practitioner) -> None:
    with db.transaction() as s:
        audit.record(s, "logout", by=me)


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
        if draft_id is not None:
            s.execute(delete(Draft).where(Draft.id == draft_id))
        audit.record(
            s,
            "delete",
            by=me,
            submission_id=sub.id,
            detail={"submitted_at": sub.submitted_at.isoformat()},
        )


# Own account -----------------------------------------------------------------------------------


def change_own_password(me: Practitioner, new_password: str) -> None:
    """Set `me`'s password (the caller has checked the current one); ends its other sessions."""
    with db.transaction() as s:
        s.add(me)
        set_password(me, new_password)
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


def update_clinic(me: Practitioner, clinic: Clinic, settings: ClinicSettings) -> None:
    with db.transaction() as s:
        s.add(clinic)
        clinic.name = settings.name
        clinic.contact_email = settings.contact_email
        clinic.contact_phone = settings.contact_phone
        clinic.notify_email = settings.notify_email
        clinic.allowed_origins = settings.allowed_origins
        clinic.retention_days = settings.retention_days
        audit.record(
            s, "clinic_changed", by=me,
            detail={
                "allowed_origins": clinic.allowed_origins,
                "retention_days": clinic.retention_days,
            },
        )


# The command line ------------------------------------------------------------------------------


def create_account(clinic: Clinic, email: str, name: str, password: str, role: str) -> Practitioner:
    """A new account with a password chosen on the command line.

    Raises EmailTaken when the email is in use.
    """
    try:
        with db.transaction() as s:
            account = create_practitioner(s, clinic, email, name, password, role)
    except IntegrityError as exc:
        db.session.rollback()
        raise EmailTaken(email) from exc
    return account


def set_account_password(account: Practitioner, password: str) -> None:
    """A password set on the command line; ends every session of the account."""
    with db.transaction() as s:
        s.add(account)
        set_password(account, password)


class _RollBack(Exception):
    """Raised inside a transaction to undo it (a dry run of the purge)."""


def purge_expired(now: dt.datetime, dry_run: bool = False) -> PurgeReport:
    """Delete expired drafts and submissions past their clinic's retention, with one audit
    entry per clinic that lost submissions; a dry run counts and changes nothing."""
    report = PurgeReport()
    try:
        with db.transaction() as s:
            report = purge(s, now)
            if dry_run:
                raise _RollBack
            for clinic in s.scalars(select(Clinic)):
                deleted = report.submissions.get(clinic.slug, 0)
                if deleted:
                    audit.record(
                        s, "purge", clinic_id=clinic.id, actor="retention",
                        detail={"submissions": deleted, "retention_days": clinic.retention_days},
                    )
    except _RollBack:
        pass
    return report
