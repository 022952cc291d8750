"""The database tables, as SQLAlchemy 2 typed models. Schema changes go through migrations."""
from __future__ import annotations

import datetime as dt
import re
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
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
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        dt.datetime: UTCDateTime, dict[str, Any]: JSON, list[Any]: JSON
    }


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
    # An IANA time zone name (Asia/Hong_Kong): every time the dashboard shows is in it, and an
    # appointment's date and time are typed in it.
    timezone: Mapped[str] = mapped_column(String(64), default="UTC", server_default="UTC")
    # The languages the client pages offer (codes of questionnaire.model.LANGUAGES) and the one
    # a client gets whose language is not among them; None: every language, and the product's
    # default (screener/clinic_texts.py).
    languages: Mapped[list[Any] | None] = mapped_column(JSON)
    default_lang: Mapped[str | None] = mapped_column(String(16))
    # The clinic's own texts by language, each plain text (screener/plaintext.py):
    # {"en": {"intro": ..., "next_steps": ..., "consent": ..., "address": ...}, ...}
    texts: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class ClinicLook(Base):
    """A clinic's logo and accent colour (screener/look.py), shown on the client pages and PDFs.

    One row per clinic that has either. The logo is stored as re-encoded by the product (never
    the uploaded file) and served under its content hash; its bytes load only when asked for.
    """

    __tablename__ = "clinic_look"

    clinic_id: Mapped[int] = mapped_column(
        ForeignKey("clinic.id", ondelete="CASCADE"), primary_key=True
    )
    # "#rrggbb", lower case; None: the product's own colour.
    accent: Mapped[str | None] = mapped_column(String(7))
    logo: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    logo_hash: Mapped[str | None] = mapped_column(String(64))  # sha256 of `logo`, hex
    logo_type: Mapped[str | None] = mapped_column(String(16))  # image/png or image/jpeg
    logo_width: Mapped[int | None] = mapped_column(Integer)
    logo_height: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Draft(Base):
    """A client's answers in progress, found by the hash of the token in the client's URL."""

    __tablename__ = "draft"
    # Where clients stop (dashboard/dropoff.py): a clinic's drafts started in a period.
    __table_args__ = (Index("ix_draft_clinic_created", "clinic_id", "created_at"),)

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
    # The appointment whose invitation link made this draft (one draft per appointment; its
    # token is the invitation's), None for a questionnaire started from the clinic's page.
    appointment_id: Mapped[int | None] = mapped_column(
        ForeignKey("appointment.id", ondelete="CASCADE"), unique=True
    )

    # What the clinic's statistics of where clients stop count (dashboard/dropoff.py), kept on
    # the draft alone (no cookie, no tracking): whether it was started from an embedded page,
    # and the furthest the client got, as a position in the questionnaire's order (a step's
    # index; the number of steps for the review page), never lowered. Both NULL in drafts
    # started before they were kept (migration 0015).
    embedded: Mapped[bool | None] = mapped_column(Boolean, default=False)
    furthest_step: Mapped[int | None] = mapped_column(Integer, default=0)

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
    # The consent the client signed before sending (questions.yaml `consent`): the version of
    # its text in the language shown, the full name typed as the signature, when, and an
    # optional drawn signature ({"w", "h", "strokes"}: wizard/consent.py). NULL before consent
    # was asked for.
    consent_version: Mapped[str | None] = mapped_column(String(32))
    consent_name: Mapped[str | None] = mapped_column(String(200))
    consent_signed_at: Mapped[dt.datetime | None]
    consent_signature: Mapped[dict[str, Any] | None]
    # Derived from `flags` when they are set (frozen with them), so that the dashboard can
    # filter and count by severity with an index instead of reading every flag list.
    max_severity: Mapped[str | None] = mapped_column(String(16))
    # The client it belongs to: set by the invitation it answers, or by a practitioner who
    # links it (never by guessing).
    client_id: Mapped[int | None] = mapped_column(
        ForeignKey("client.id", ondelete="SET NULL"), index=True
    )
    appointment_id: Mapped[int | None] = mapped_column(
        ForeignKey("appointment.id", ondelete="SET NULL"), index=True
    )
    # A pre-session check: the submission it built on, and the ids of the questions asked
    # afresh (its `answers` are the earlier ones with those replaced). None for a whole
    # questionnaire.
    previous_id: Mapped[int | None] = mapped_column(
        ForeignKey("submission.id", ondelete="SET NULL")
    )
    rechecked: Mapped[list[Any] | None] = mapped_column(JSON)

    clinic: Mapped[Clinic] = relationship()
    draft: Mapped[Draft | None] = relationship(back_populates="submission")
    reviewed_by: Mapped[Practitioner | None] = relationship()
    client: Mapped[Client | None] = relationship()
    appointment: Mapped[Appointment | None] = relationship()

    @validates("flags")
    def _derive_max_severity(self, _key: str, flags: list[Any]) -> list[Any]:
        self.max_severity = max_severity(flags)
        return flags


class Client(Base):
    """A person known to a clinic: made from an invitation, or from a submission a
    practitioner links. Two records are never merged by the product on its own."""

    __tablename__ = "client"
    __table_args__ = (
        Index("ix_client_clinic_email", "clinic_id", "email_key"),
        Index("ix_client_clinic_phone", "clinic_id", "phone_key"),
        Index("ix_client_clinic_name", "clinic_id", "name_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinic.id", ondelete="CASCADE"))
    full_name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(40))
    # The same details as compared when looking for the same person (clients.py): the email
    # lower-cased, the phone's digits, the name case-folded with single spaces.
    email_key: Mapped[str | None] = mapped_column(String(254))
    phone_key: Mapped[str | None] = mapped_column(String(40))
    name_key: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    clinic: Mapped[Clinic] = relationship()


class Appointment(Base):
    """A client's appointment and its invitation: a personal link to the questionnaire.

    The link's token is never stored: it is an HMAC of `token_seed` with the app's secret key
    (appointments.py), so the dashboard can show the link again, while the database alone (its
    seed and the token's SHA-256 hash) opens nothing.
    """

    __tablename__ = "appointment"
    __table_args__ = (
        # One invitation per appointment: the same client at the same time is the same one.
        UniqueConstraint("clinic_id", "client_id", "starts_at"),
        Index("ix_appointment_clinic_starts", "clinic_id", "starts_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinic.id", ondelete="CASCADE"))
    client_id: Mapped[int] = mapped_column(
        ForeignKey("client.id", ondelete="CASCADE"), index=True
    )
    starts_at: Mapped[dt.datetime]
    # The link works until then: the end of the appointment's day in the clinic's time zone.
    expires_at: Mapped[dt.datetime]
    token_seed: Mapped[str] = mapped_column(String(64))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("practitioner.id", ondelete="SET NULL")
    )
    # When the invitation was last emailed, and how many times in all.
    emailed_at: Mapped[dt.datetime | None]
    emailed_count: Mapped[int] = mapped_column(Integer, default=0)
    # For a pre-session check: the submission it was built on (set when the link is first
    # opened; no foreign key: that submission may be deleted later).
    previous_submission_id: Mapped[int | None]

    clinic: Mapped[Clinic] = relationship()
    client: Mapped[Client] = relationship()


class SubmissionCount(Base):
    """The numbers at the top of a clinic's submission list, kept exact by database triggers
    (migration 0012) in the transaction of every INSERT, UPDATE and DELETE of a submission,
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


class ConsentText(Base):
    """A clinic's own consent text as clients signed it, under its version (the content hash a
    submission stores as consent_version: screener/clinic_texts.py). Written with the first
    submission that signs it, never changed: what a client agreed to stays readable however
    the clinic edits its text later.
    """

    __tablename__ = "consent_text"

    version: Mapped[str] = mapped_column(String(32), primary_key=True)
    lang: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)  # the clinic's plain text
    declaration: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


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


OUTBOX_KINDS = ("email", "webhook")
OUTBOX_STATES = ("pending", "delivered", "failed")


class OutboxMessage(Base):
    """An email or webhook event to deliver, written in the transaction of what caused it and
    delivered by the worker (`flask --app screener deliver`, screener/outbox.py).

    `key` is the message's idempotency key: the email's Message-ID and the webhook-id are made
    from it, so that a receiver can recognise a message delivered twice (at-least-once).
    """

    __tablename__ = "outbox"
    __table_args__ = (
        # The worker's query: pending messages due now, oldest first.
        Index("ix_outbox_due", "status", "next_attempt_at", "id"),
        Index("ix_outbox_clinic_created", "clinic_id", "created_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    clinic_id: Mapped[int | None] = mapped_column(ForeignKey("clinic.id", ondelete="CASCADE"))
    # A webhook event's endpoint (removing an endpoint deletes its pending events; the log of
    # those delivered or failed stays, with the address in `payload`).
    endpoint_id: Mapped[int | None] = mapped_column(
        ForeignKey("webhook_endpoint.id", ondelete="SET NULL")
    )
    # No foreign key: the event of a submission deleted since is still delivered (or failed).
    submission_id: Mapped[int | None]
    # What the message needs (email: recipient, clinic name, link; webhook: the exact body).
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # The payload holds answers (a webhook whose endpoint asked for them): deleted with the
    # submission, and never kept after delivery.
    private: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    # A worker that claimed the message holds it until then; after it (the worker died), any
    # worker may claim it again.
    locked_until: Mapped[dt.datetime | None]
    give_up_at: Mapped[dt.datetime]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_attempt_at: Mapped[dt.datetime | None]
    last_error: Mapped[str | None] = mapped_column(String(500))
    delivered_at: Mapped[dt.datetime | None]


class ApiToken(Base):
    """A clinic's key to the FHIR API: the token is shown once; only its SHA-256 is stored."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinic.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The token's first characters, to tell tokens apart (not enough to guess the rest).
    hint: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(String(254), default="")
    last_used_at: Mapped[dt.datetime | None]
    revoked_at: Mapped[dt.datetime | None]


class WebhookEndpoint(Base):
    """A clinic's HTTPS address that gets a signed event for each new submission.

    The secret signs the events (HMAC-SHA256, Standard Webhooks) and so is stored as it is; the
    admin sees it once, when the endpoint is added.
    """

    __tablename__ = "webhook_endpoint"

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinic.id", ondelete="CASCADE"), index=True)
    url: Mapped[str] = mapped_column(String(2000))
    secret: Mapped[str] = mapped_column(String(100))
    # The events carry the answers (health data): only when the admin asked for it.
    include_answers: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(String(254), default="")
