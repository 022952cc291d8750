"""The dashboard's database reads, each scoped to one clinic.

Lists use keyset pagination on (submitted_at, id) — or (at, id) for the audit log — over the
indexes of migration 0002, so that a page costs the same at the first and the 100,000th row.
"""
from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    column,
    func,
    literal_column,
    or_,
    select,
    table,
)
from sqlalchemy.orm import Session

from ..appointments import INVITED, REVIEWED, SENT, STARTED, name_key
from ..storage.models import (
    Appointment,
    AuditEvent,
    Client,
    Draft,
    LoginSession,
    Practitioner,
    Submission,
    SubmissionCount,
    parse_id,
)

PAGE_SIZE = 50


@dataclass(frozen=True)
class Filters:
    """The list filters; None means "any"."""

    severity: str | None = None  # a severity, or "none" for submissions without flags
    reviewed: bool | None = None
    date_from: dt.date | None = None  # days in `zone`, inclusive
    date_to: dt.date | None = None
    name: str | None = None
    zone: dt.tzinfo = dt.UTC  # the clinic's time zone
    # Only rows submitted up to this time (an export holds what there was when it was asked for).
    until: dt.datetime | None = None

    def to_json(self) -> dict[str, Any]:
        """The filters as JSON values (an export job keeps them)."""
        return {
            "severity": self.severity,
            "reviewed": self.reviewed,
            "date_from": self.date_from.isoformat() if self.date_from else None,
            "date_to": self.date_to.isoformat() if self.date_to else None,
            "name": self.name,
            "until": self.until.isoformat() if self.until else None,
            "zone": getattr(self.zone, "key", "UTC"),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Filters:
        def day(value: Any) -> dt.date | None:
            return dt.date.fromisoformat(value) if value else None

        until = data.get("until")
        return cls(
            severity=data.get("severity"),
            reviewed=data.get("reviewed"),
            date_from=day(data.get("date_from")),
            date_to=day(data.get("date_to")),
            name=data.get("name"),
            until=dt.datetime.fromisoformat(until) if until else None,
            zone=ZoneInfo(data.get("zone") or "UTC"),
        )


@dataclass(frozen=True)
class Cursor:
    """A position in a newest-first list: the (time, id) of a row."""

    at: dt.datetime
    id: int

    def encode(self) -> str:
        raw = f"{self.at.astimezone(dt.UTC).isoformat()}|{self.id}".encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, value: str | None) -> Cursor | None:
        """The cursor of a page link, or None when it is missing or malformed."""
        if not value or len(value) > 100:
            return None
        try:
            raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode()
            at_text, _, id_text = raw.partition("|")
            at = dt.datetime.fromisoformat(at_text)
            row_id = parse_id(id_text)  # beyond MAX_ID: no such row, nor a number to send
            if at.tzinfo is None or row_id is None:
                return None
            # In UTC, as stored (a time near year 1 or 9999 may have no UTC equivalent).
            return cls(at.astimezone(dt.UTC), row_id)
        except (ValueError, UnicodeDecodeError, OverflowError):
            return None


@dataclass(frozen=True)
class Page:
    rows: Sequence[Any]
    newer: Cursor | None  # link to the newer rows (None: this is the first page)
    older: Cursor | None  # link to the older rows (None: this is the last page)


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


# Name search -----------------------------------------------------------------------------------
#
# "Name contains" reads a trigram index on both engines (migration 0012). A trigram index
# answers searches of 3 characters or more; for 1 or 2 (a Chinese surname, a 2-character given
# name) it searches the name with every character written three times, where the search is a
# 3- or 6-character one: "美玲" is "美美美玲玲玲" in "陳陳陳美美美玲玲玲", and only where "美玲"
# is in the name. Matching ignores case.

SHORT_SEARCH = 2  # searches of up to this many characters use the tripled name
# On SQLite, a search matching at most this many names (of all clinics) reads the page from the
# matches (then sorts them); one matching more reads the clinic's rows newest first, checking
# each against the matches, and stops at a page.
FEW_MATCHES = 2000

_FTS = table("submission_name", column("rowid"), column("submission_name"))
# lower(full_name) with every character tripled: the expression of PostgreSQL's GIN index.
_PG_TRIPLED = func.regexp_replace(
    func.lower(Submission.full_name),
    literal_column("'(.)'"), literal_column("'\\1\\1\\1'"), literal_column("'g'"),
)


def tripled(text: str) -> str:
    """'陳美' -> '陳陳陳美美美' (as the index stores short names' characters)."""
    return "".join(c * 3 for c in text)


def _search_text(filters: Filters) -> str:
    return (filters.name or "").strip()


def _fts_match(text: str) -> str:
    """An FTS5 query: the text as one phrase, in the column that answers its length."""
    column_name, phrase = ("short", tripled(text)) if len(text) <= SHORT_SEARCH else ("name", text)
    return f'{column_name} : "{phrase.replace(chr(34), chr(34) * 2)}"'


def _fts_rowids(text: str) -> Select[Any]:
    return select(_FTS.c.rowid).where(_FTS.c.submission_name.match(_fts_match(text)))


def _name_condition(dialect: str, text: str) -> ColumnElement[bool]:
    if dialect == "sqlite":
        return Submission.id.in_(_fts_rowids(text))
    if len(text) <= SHORT_SEARCH:
        return _PG_TRIPLED.like(
            func.lower(f"%{_escape_like(tripled(text))}%"), escape="\\"
        )
    return func.lower(Submission.full_name).like(
        func.lower(f"%{_escape_like(text)}%"), escape="\\"
    )


def _few_matches(session: Session, text: str) -> bool:
    """On SQLite: whether at most FEW_MATCHES names match (counting no further)."""
    found = session.scalar(
        select(func.count()).select_from(_fts_rowids(text).limit(FEW_MATCHES + 1).subquery())
    )
    return int(found or 0) <= FEW_MATCHES


def submission_filters(
    session: Session, clinic_id: int, filters: Filters
) -> list[ColumnElement[bool]]:
    """WHERE clauses for the clinic's submissions matching the filters (list and CSV)."""
    where = [Submission.clinic_id == clinic_id, *_column_filters(filters)]
    text = _search_text(filters)
    if text:
        where.append(_name_condition(session.get_bind().dialect.name, text))
    return where


def _column_filters(filters: Filters) -> list[ColumnElement[bool]]:
    """The filters but the clinic and the name."""
    where: list[ColumnElement[bool]] = []
    if filters.severity == "none":
        where.append(Submission.max_severity.is_(None))
    elif filters.severity:
        where.append(Submission.max_severity == filters.severity)
    if filters.reviewed is True:
        where.append(Submission.reviewed_at.is_not(None))
    elif filters.reviewed is False:
        where.append(Submission.reviewed_at.is_(None))
    if filters.date_from:
        where.append(Submission.submitted_at >= midnight(filters.date_from, filters.zone))
    if filters.date_to and filters.date_to < dt.date.max:  # up to the last day: no bound
        where.append(
            Submission.submitted_at < midnight(filters.date_to + dt.timedelta(1), filters.zone)
        )
    if filters.until is not None:
        where.append(Submission.submitted_at <= filters.until)
    return where


def _list_filters(
    session: Session, clinic_id: int, filters: Filters
) -> list[ColumnElement[bool]]:
    """submission_filters, with SQLite told how to read a name search's page (its planner,
    without statistics, would check every row of the clinic against a rare name's matches, or
    with them sort every row of a common one's). PostgreSQL's planner chooses well by pg_trgm's
    statistics."""
    text = _search_text(filters)
    if not text or session.get_bind().dialect.name != "sqlite":
        return submission_filters(session, clinic_id, filters)
    if _few_matches(session, text):
        # From the matches: each looked up by id (`clinic_id + 0` leaves no index of the
        # clinic's rows usable), then sorted.
        return [
            Submission.clinic_id + 0 == clinic_id,
            *_column_filters(filters),
            Submission.id.in_(_fts_rowids(text)),
        ]
    # From the clinic's rows, newest first (`id + 0`: no lookup by id), each checked against
    # the set of matches, until the page is full.
    return [
        Submission.clinic_id == clinic_id,
        *_column_filters(filters),
        (Submission.id + 0).in_(_fts_rowids(text)),
    ]


def midnight(day: dt.date, zone: dt.tzinfo) -> dt.datetime:
    """The moment a day begins in a time zone, in UTC (a day near year 1 or 9999: its UTC
    midnight, which has no other equivalent)."""
    try:
        return dt.datetime.combine(day, dt.time(), tzinfo=zone).astimezone(dt.UTC)
    except OverflowError:
        return dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)


def _before(at: Any, id_: Any, cursor: Cursor) -> ColumnElement[bool]:
    # The first term is an index range on its own; the second settles ties on the time.
    return and_(at <= cursor.at, or_(at < cursor.at, id_ < cursor.id))


def _after(at: Any, id_: Any, cursor: Cursor) -> ColumnElement[bool]:
    return and_(at >= cursor.at, or_(at > cursor.at, id_ > cursor.id))


def keyset_page(
    session: Session,
    query: Select[Any],
    at: Any,
    id_: Any,
    *,
    before: Cursor | None = None,
    after: Cursor | None = None,
    size: int = PAGE_SIZE,
) -> Page:
    """One newest-first page of `query`, ordered by (at, id), after or before a cursor."""
    if after is not None:
        rows = list(
            session.execute(
                query.where(_after(at, id_, after)).order_by(at.asc(), id_.asc()).limit(size + 1)
            )
        )
        more = len(rows) > size
        rows = rows[:size][::-1]
        newer = _cursor(rows[0]) if more and rows else None
        older = _cursor(rows[-1]) if rows else None
        return Page(rows, newer, older)
    if before is not None:
        query = query.where(_before(at, id_, before))
    rows = list(session.execute(query.order_by(at.desc(), id_.desc()).limit(size + 1)))
    more = len(rows) > size
    rows = rows[:size]
    newer = _cursor(rows[0]) if before is not None and rows else None
    older = _cursor(rows[-1]) if more else None
    return Page(rows, newer, older)


def _cursor(row: Any) -> Cursor:
    return Cursor(row.at, row.id)


def submission_page(
    session: Session,
    clinic_id: int,
    filters: Filters,
    before: Cursor | None = None,
    after: Cursor | None = None,
    size: int = PAGE_SIZE,
) -> Page:
    """A page of the clinic's submission list: only the columns the list shows, one query."""
    query = (
        select(
            Submission.id,
            Submission.submitted_at.label("at"),
            Submission.full_name,
            Submission.lang,
            Submission.questionnaire_version,
            Submission.max_severity,
            Submission.flags,
            Submission.reviewed_at,
            Practitioner.name.label("reviewer"),
        )
        .outerjoin(Practitioner, Practitioner.id == Submission.reviewed_by_id)
        .where(*_list_filters(session, clinic_id, filters))
    )
    return keyset_page(
        session, query, Submission.submitted_at, Submission.id,
        before=before, after=after, size=size,
    )


def count_up_to(session: Session, clinic_id: int, filters: Filters, limit: int) -> int:
    """How many of the clinic's submissions match the filters, counting no further than
    `limit` (the cost of the count is bounded by it)."""
    matching = (
        select(Submission.id).where(*submission_filters(session, clinic_id, filters)).limit(limit)
    )
    return int(session.scalar(select(func.count()).select_from(matching.subquery())) or 0)


def csv_rows(session: Session, clinic_id: int, filters: Filters, yield_per: int) -> Select[Any]:
    """The CSV's query: the columns it writes, newest first, read in chunks of `yield_per`."""
    return (
        select(
            Submission.id,
            Submission.submitted_at,
            Submission.lang,
            Submission.questionnaire_version,
            Submission.max_severity,
            Submission.flags,
            Submission.reviewed_at,
            Submission.client_id,
            Submission.appointment_id,
            Submission.consent_version,
            Submission.consent_name,
            Submission.consent_signed_at,
            Submission.answers,
        )
        .where(*submission_filters(session, clinic_id, filters))
        .order_by(Submission.submitted_at.desc(), Submission.id.desc())
        .execution_options(yield_per=yield_per)
    )


def csv_versions(session: Session, clinic_id: int, filters: Filters) -> list[str]:
    """The questionnaire versions the matching submissions were answered in."""
    return list(session.scalars(
        select(Submission.questionnaire_version)
        .where(*submission_filters(session, clinic_id, filters))
        .distinct()
    ))


@dataclass(frozen=True)
class Counts:
    unreviewed: int
    red_flags: int
    red_flags_unreviewed: int


def counts(session: Session, clinic_id: int) -> Counts:
    """The at-a-glance numbers: one row, kept by triggers (migration 0012), at any size."""
    row = session.execute(
        select(
            SubmissionCount.unreviewed,
            SubmissionCount.red_flags,
            SubmissionCount.red_flags_unreviewed,
        ).where(SubmissionCount.clinic_id == clinic_id)
    ).first()
    if row is None:  # no such clinic
        return Counts(unreviewed=0, red_flags=0, red_flags_unreviewed=0)
    return Counts(
        unreviewed=row.unreviewed,
        red_flags=row.red_flags,
        red_flags_unreviewed=row.red_flags_unreviewed,
    )


def clinic_submission(session: Session, clinic_id: int, submission_id: int) -> Submission | None:
    """The clinic's submission with this id; None for any other clinic's (the caller 404s)."""
    return session.scalars(
        select(Submission).where(Submission.id == submission_id, Submission.clinic_id == clinic_id)
    ).first()


def audit_page(
    session: Session,
    clinic_id: int,
    submission_id: int | None = None,
    before: Cursor | None = None,
    after: Cursor | None = None,
) -> Page:
    """A page of the clinic's audit log, newest first."""
    query = select(
        AuditEvent.id,
        AuditEvent.at,
        AuditEvent.actor,
        AuditEvent.action,
        AuditEvent.submission_id,
        AuditEvent.detail,
        AuditEvent.ip,
    ).where(AuditEvent.clinic_id == clinic_id)
    if submission_id is not None:
        query = query.where(AuditEvent.submission_id == submission_id)
    return keyset_page(session, query, AuditEvent.at, AuditEvent.id, before=before, after=after)


def active_sessions(
    session: Session,
    clinic_id: int,
    now: dt.datetime,
    idle: dt.timedelta,
    max_age: dt.timedelta,
) -> Sequence[Any]:
    """The login sessions of the clinic's accounts still in use, most recently used first."""
    return session.execute(
        select(
            LoginSession.id,
            LoginSession.created_at,
            LoginSession.last_seen_at,
            LoginSession.ip,
            LoginSession.user_agent,
            Practitioner.name,
            Practitioner.email,
        )
        .join(Practitioner, Practitioner.id == LoginSession.practitioner_id)
        .where(
            Practitioner.clinic_id == clinic_id,
            Practitioner.active.is_(True),
            LoginSession.last_seen_at > now - idle,
            LoginSession.created_at > now - max_age,
        )
        .order_by(LoginSession.last_seen_at.desc(), LoginSession.id.desc())
    ).all()


# Clients and appointments ------------------------------------------------------------------------

APPOINTMENT_LIMIT = 500  # rows of the appointments view at most (a clinic's few weeks)


def appointment_rows(
    session: Session,
    clinic_id: int,
    start: dt.datetime,
    end: dt.datetime | None = None,
    status: str | None = None,
    client_id: int | None = None,
    newest_first: bool = False,
) -> Sequence[Any]:
    """The clinic's appointments from `start` (until `end`), each with its client, its draft's
    and its submission's state; soonest first (or newest first)."""
    query = (
        select(
            Appointment.id,
            Appointment.starts_at,
            Appointment.expires_at,
            Appointment.token_seed,
            Appointment.emailed_at,
            Appointment.emailed_count,
            Client.id.label("client_id"),
            Client.full_name,
            Client.email,
            Draft.id.label("draft_id"),
            Submission.id.label("submission_id"),
            Submission.reviewed_at,
            Submission.flags,
            Submission.max_severity,
        )
        .join(Client, Client.id == Appointment.client_id)
        .outerjoin(Draft, Draft.appointment_id == Appointment.id)
        .outerjoin(Submission, Submission.appointment_id == Appointment.id)
        .where(Appointment.clinic_id == clinic_id, Appointment.starts_at >= start)
    )
    if end is not None:
        query = query.where(Appointment.starts_at < end)
    if client_id is not None:
        query = query.where(Appointment.client_id == client_id)
    if status == INVITED:
        query = query.where(Draft.id.is_(None), Submission.id.is_(None))
    elif status == STARTED:
        query = query.where(Draft.id.is_not(None), Submission.id.is_(None))
    elif status == SENT:
        query = query.where(Submission.id.is_not(None), Submission.reviewed_at.is_(None))
    elif status == REVIEWED:
        query = query.where(Submission.reviewed_at.is_not(None))
    order = (
        (Appointment.starts_at.desc(), Appointment.id.desc()) if newest_first
        else (Appointment.starts_at, Appointment.id)
    )
    return session.execute(query.order_by(*order).limit(APPOINTMENT_LIMIT)).all()


def client_submissions(session: Session, clinic_id: int, client_id: int) -> Sequence[Any]:
    """A client's submissions, newest first."""
    return session.execute(
        select(
            Submission.id, Submission.submitted_at.label("at"), Submission.flags,
            Submission.max_severity, Submission.reviewed_at, Submission.appointment_id,
        )
        .where(Submission.clinic_id == clinic_id, Submission.client_id == client_id)
        .order_by(Submission.submitted_at.desc(), Submission.id.desc())
    ).all()


def client_page(
    session: Session, clinic_id: int, search: str | None = None,
    before: Cursor | None = None, after: Cursor | None = None,
) -> Page:
    """A page of the clinic's clients, newest first; `search` in the name, email or phone."""
    query = cast("Select[Any]", select(
        Client.id, Client.created_at.label("at"), Client.full_name, Client.email, Client.phone,
    ).where(Client.clinic_id == clinic_id))
    if search and search.strip():
        text = search.strip()
        digits = "".join(c for c in text if c.isdigit())
        terms = [
            Client.name_key.like(f"%{_escape_like(name_key(text))}%", escape="\\"),
            Client.email_key.like(f"%{_escape_like(text.lower())}%", escape="\\"),
        ]
        if len(digits) >= 3:
            terms.append(Client.phone_key.like(f"%{digits}%"))
        query = query.where(or_(*terms))
    return keyset_page(session, query, Client.created_at, Client.id, before=before, after=after)
