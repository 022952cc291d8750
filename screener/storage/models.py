"""The database tables, as SQLAlchemy 2 typed models. Schema changes go through migrations."""
from __future__ import annotations

import datetime as dt
import re
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship, validates
from sqlalchemy.types import TypeDecorator

from ..questionnaire.model import SEVERITIES

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


# Every table's id is an INTEGER column (4 bytes on PostgreSQL): a larger number from a URL or a
# page link names no row, and PostgreSQL would refuse it as a parameter.
MAX_ID = 2**31 - 1


def parse_id(text: str | None) -> int | None:
    """A row id typed in a URL or query string (ASCII digits, at most MAX_ID), else None."""
    if not text or len(text) > 10 or not (text.isascii() and text.isdigit()):
        return None
    value = int(text)
    return value if 0 < value <= MAX_ID else None


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """A timezone-aware UTC datetime on every engine (SQLite stores no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime stored")
        return value.astimezone(dt.UTC) if value is not None else None

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return value


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {dt.datetime: UTCDateTime, dict[str, Any]: JSON, list[Any]: JSON}


SLUG_RE = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")


def valid_slug(value: str) -> bool:
    """A clinic slug: lower-case letters, digits and '-', as in /c/<slug>/."""
    return SLUG_RE.fullmatch(value) is not None


class Clinic(Base):
    __tablename__ = "clinic"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    contact_email: Mapped[str | None] = mapped_column(String(254))
    contact_phone: Mapped[str | None] = mapped_column(String(40))
    # Origins (scheme://host[:port]) allowed to embed the form in an iframe.
    allowed_origins: Mapped[list[Any]] = mapped_column(default=list)
    retention_days: Mapped[int] = mapped_column(Integer, default=365)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    # Where new-submission notices go (contact_email is what clients see); none: no email.
    notify_email: Mapped[str | None] = mapped_column(String(254))


class Draft(Base):
    """A client's answers in progress, found by the hash of the token in the client's URL."""

    __tablename__ = "draft"

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinic.id", ondelete="CASCADE"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    answers: Mapped[dict[str, Any]] = mapped_column(default=dict)
    current_step: Mapped[str | None] = mapped_column(String(64))
    lang: Mapped[str] = mapped_column(String(16), default="en")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(index=True)
    submitted_at: Mapped[dt.datetime | None]

    clinic: Mapped[Clinic] = relationship()
    submission: Mapped[Submission | None] = relationship(back_populates="draft")


class Submission(Base):
    """A finished questionnaire: frozen answers, questionnaire version and screening flags."""

    __tablename__ = "submission"
    __table_args__ = (
        Index("ix_submission_clinic_submitted", "clinic_id", "submitted_at", "id"),
        # The dashboard's severity filter and its red-flag counts (reviewed or not), answered
        # from the index alone.
        Index(
            "ix_submission_clinic_severity_reviewed",
            "clinic_id", "max_severity", "reviewed_at", "submitted_at", "id",
        ),
        # The unreviewed filter and count (reviewed_at IS NULL), newest first.
        Index("ix_submission_clinic_reviewed", "clinic_id", "reviewed_at", "submitted_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinic.id", ondelete="CASCADE"))
    # One submission per draft: the unique key is what makes a double submit harmless.
    draft_id: Mapped[int | None] = mapped_column(
        ForeignKey("draft.id", ondelete="SET NULL"), unique=True
    )
    answers: Mapped[dict[str, Any]]
    flags: Mapped[list[Any]] = mapped_column(default=list)
    questionnaire_version: Mapped[str] = mapped_column(String(32))
    lang: Mapped[str] = mapped_column(String(16))
    full_name: Mapped[str] = mapped_column(String(200), default="")
    submitted_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    reviewed_at: Mapped[dt.datetime | None]
    review_note: Mapped[str | None] = mapped_column(Text)
    reviewed_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("practitioner.id", ondelete="SET NULL")
    )
    # Derived from `flags` when they are set (frozen with them), so that the dashboard can
    # filter and count by severity with an index instead of reading every flag list.
    max_severity: Mapped[str | None] = mapped_column(String(16))

    clinic: Mapped[Clinic] = relationship()
    draft: Mapped[Draft | None] = relationship(back_populates="submission")
    reviewed_by: Mapped[Practitioner | None] = relationship()

    @validates("flags")
    def _derive_max_severity(self, _key: str, flags: list[Any]) -> list[Any]:
        self.max_severity = max_severity(flags)
        return flags


class SubmissionCount(Base):
    """The numbers at the top of a clinic's submission list, kept exact by database triggers
    (migration 0010) in the transaction of every INSERT, UPDATE and DELETE of a submission,
    so that reading them costs one row at any size. The application never writes this table;
    a clinic gets its row when it is inserted (another trigger)."""

    __tablename__ = "submission_count"

    clinic_id: Mapped[int] = mapped_column(
        ForeignKey("clinic.id", ondelete="CASCADE"), primary_key=True
    )
    total: Mapped[int] = mapped_column(Integer, server_default="0")
    unreviewed: Mapped[int] = mapped_column(Integer, server_default="0")
    red_flags: Mapped[int] = mapped_column(Integer, server_default="0")
    red_flags_unreviewed: Mapped[int] = mapped_column(Integer, server_default="0")


EXPORT_STATES = ("pending", "running", "ready", "failed")


class ExportJob(Base):
    """A CSV export too large to stream in one request (screener/exports/jobs.py): asked for on
    the dashboard, written to a file in the instance folder by `flask --app screener export`,
    downloaded by the practitioner who asked, and deleted with its file by the purge once it
    expires (a day after it was asked for, or after it was ready)."""

    __tablename__ = "export_job"
    __table_args__ = (
        Index("ix_export_job_practitioner", "practitioner_id", "requested_at"),
        Index("ix_export_job_status", "status", "requested_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinic.id", ondelete="CASCADE"))
    practitioner_id: Mapped[int] = mapped_column(
        ForeignKey("practitioner.id", ondelete="CASCADE")
    )
    # The list's filters (screener/dashboard/queries.Filters as JSON); rows submitted up to
    # requested_at only.
    filters: Mapped[dict[str, Any]] = mapped_column(default=dict)
    requested_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    started_at: Mapped[dt.datetime | None]
    finished_at: Mapped[dt.datetime | None]
    expires_at: Mapped[dt.datetime] = mapped_column(index=True)
    rows: Mapped[int | None]
    # The file's name in the instance folder's exports/ (random); None until it is ready.
    file_name: Mapped[str | None] = mapped_column(String(64))


class QuestionnaireVersion(Base):
    """A questionnaire as loaded, under its version (the content hash a submission stores).

    Written when a version is first used (storage/versions.py), never changed: submissions are
    read, printed and exported with the version they were answered in.
    """

    __tablename__ = "questionnaire_version"

    version: Mapped[str] = mapped_column(String(32), primary_key=True)
    source: Mapped[str] = mapped_column(Text)  # the questions.yaml text of this version
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


def max_severity(flags: list[Any] | None) -> str | None:
    """The most serious severity among stored flags (SEVERITIES order), None without flags."""
    ranks = [
        SEVERITIES.index(f["severity"]) for f in flags or () if f.get("severity") in SEVERITIES
    ]
    return SEVERITIES[min(ranks)] if ranks else None


ROLES = ("practitioner", "admin")


class Practitioner(Base):
    """A person who reads a clinic's submissions; an admin also manages the clinic."""

    __tablename__ = "practitioner"
    # An email is unique within a clinic only: a person may work at several clinics, and adding
    # an account tells a clinic admin nothing about the accounts of other clinics.
    __table_args__ = (UniqueConstraint("clinic_id", "email"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinic.id", ondelete="CASCADE"), index=True)
    # Stored lower-cased: the login looks it up exactly.
    email: Mapped[str] = mapped_column(String(254), index=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    role: Mapped[str] = mapped_column(String(16), default="practitioner")
    password_hash: Mapped[str] = mapped_column(String(255))
    # Part of the login session's user id: a new value (password change, deactivation) ends
    # every session of the account.
    session_key: Mapped[str] = mapped_column(String(32))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[dt.datetime | None]

    clinic: Mapped[Clinic] = relationship()

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    # The user interface Flask-Login expects (without importing it into the storage layer).
    is_authenticated = True
    is_anonymous = False

    @property
    def is_active(self) -> bool:
        return self.active

    def get_id(self) -> str:
        """The login session's user id: the account and its current session key."""
        return f"{self.id}:{self.session_key}"


class AuditEvent(Base):
    """Who did what, when: views, exports, reviews and deletions of submissions, logins."""

    __tablename__ = "audit_event"
    __table_args__ = (Index("ix_audit_event_clinic_at", "clinic_id", "at", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    # None for a failed login with an unknown email, and for system events of no clinic.
    clinic_id: Mapped[int | None] = mapped_column(ForeignKey("clinic.id", ondelete="CASCADE"))
    practitioner_id: Mapped[int | None] = mapped_column(
        ForeignKey("practitioner.id", ondelete="SET NULL")
    )
    # Who, as typed or as known at the time: kept when the account is deleted later.
    actor: Mapped[str] = mapped_column(String(254), default="")
    action: Mapped[str] = mapped_column(String(32))
    # No foreign key: the record of a deletion outlives the submission.
    submission_id: Mapped[int | None]
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    ip: Mapped[str | None] = mapped_column(String(45))


class LoginSession(Base):
    """One login to the dashboard: the session cookie carries a random id whose hash is stored
    here. Logout, a password change and deactivation delete rows; no row, no session."""

    __tablename__ = "login_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    practitioner_id: Mapped[int] = mapped_column(
        ForeignKey("practitioner.id", ondelete="CASCADE"), index=True
    )
    # SHA-256 of the id in the cookie: a copy of this table logs nobody in.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    ip: Mapped[str | None] = mapped_column(String(45))
    user_agent: Mapped[str] = mapped_column(String(200), default="")

    practitioner: Mapped[Practitioner] = relationship()


class LoginThrottle(Base):
    """Failed logins in a row for one email address (whether or not it has an account), and
    until when the next attempt is refused."""

    __tablename__ = "login_throttle"

    email: Mapped[str] = mapped_column(String(254), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[dt.datetime | None]
    last_failure_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
