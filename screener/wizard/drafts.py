"""Cookie-free client state: draft tokens in the URL, and CSRF tokens bound to a draft and step."""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass, fields
from typing import Any

from sqlalchemy import bindparam, insert, null, select, update
from sqlalchemy.orm import Session
from wtforms.csrf.core import CSRF
from wtforms.validators import ValidationError

from ..storage.db import Driver, DriverStatement, driver_transaction
from ..storage.models import Clinic, Draft, Submission, max_severity, utcnow

TOKEN_BYTES = 24  # 192 bits
TOKEN_CHARS = 32  # length of token_urlsafe(24)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _fresh_draft(clinic_id: int, lang: str, days: int) -> tuple[dict[str, Any], str]:
    """The columns of a new draft, and its token (shown once, never stored)."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    now = utcnow()
    values = {
        "clinic_id": clinic_id,
        "token_hash": hash_token(token),
        "answers": {},
        "lang": lang,
        "created_at": now,
        "updated_at": now,
        "expires_at": now + dt.timedelta(days=days),
    }
    return values, token


def new_draft(session: Session, clinic: Clinic, lang: str, days: int) -> tuple[Draft, str]:
    """Create a draft in a session; returns it with its token."""
    values, token = _fresh_draft(clinic.id, lang, days)
    draft = Draft(**values)
    session.add(draft)
    return draft, token


def token_hash_of(token: str) -> str | None:
    """The stored hash for a well-formed token, or None (wrong length or alphabet)."""
    if len(token) != TOKEN_CHARS or not token.replace("-", "").replace("_", "").isalnum():
        return None
    return hash_token(token)


@dataclass(slots=True)
class ClinicRow:
    """A clinic as client pages read it (the columns of Clinic, without the ORM)."""

    id: int
    slug: str
    name: str
    contact_email: str | None
    contact_phone: str | None
    allowed_origins: list[Any]
    retention_days: int
    created_at: dt.datetime
    notify_email: str | None


@dataclass(slots=True)
class DraftRow:
    """A draft as client pages read it (the columns of Draft, without the ORM). Written only
    through save_draft and set_draft_lang, which keep it in step with what they store, and
    submit_draft (the request ends with it)."""

    id: int
    clinic_id: int
    token_hash: str
    answers: dict[str, Any]
    current_step: str | None
    lang: str
    created_at: dt.datetime
    updated_at: dt.datetime
    expires_at: dt.datetime
    submitted_at: dt.datetime | None
    checked_for: str | None
    step_checks: dict[str, Any] | None


_CLINICS, _DRAFTS = Clinic.__table__, Draft.__table__
_CLINIC_COLUMNS = [f.name for f in fields(ClinicRow)]
_DRAFT_COLUMNS = [f.name for f in fields(DraftRow)]
# The one query of every client page: the clinic of the URL and, for a token, its draft.
_CLINIC_AND_DRAFT = DriverStatement(
    select(*(_CLINICS.c[n] for n in _CLINIC_COLUMNS), *(_DRAFTS.c[n] for n in _DRAFT_COLUMNS))
    .select_from(_CLINICS.outerjoin(
        _DRAFTS,
        (_DRAFTS.c.clinic_id == _CLINICS.c.id) & (_DRAFTS.c.token_hash == bindparam("hash")),
    ))
    .where(_CLINICS.c.slug == bindparam("slug"))
)


def find_clinic_and_draft(
    driver: Driver, slug: str, token: str | None
) -> tuple[ClinicRow | None, DraftRow | None]:
    """The clinic with this slug and, for a token, its live draft (unknown, expired: None).

    One query for both, straight on the driver (DriverStatement): every client page needs them.
    """
    wanted = token_hash_of(token) if token is not None else None
    row = _CLINIC_AND_DRAFT.first(driver, {"slug": slug, "hash": wanted or ""})
    if row is None:
        return None, None
    split = len(_CLINIC_COLUMNS)
    clinic = ClinicRow(*row[:split])
    if wanted is None or row[split] is None:
        return clinic, None
    draft = DraftRow(*row[split:])
    if not hmac.compare_digest(draft.token_hash, wanted) or draft.expires_at <= utcnow():
        return clinic, None
    return clinic, draft


# One statement for every save of a step; a draft already submitted is never written again.
_SAVE = DriverStatement(
    update(_DRAFTS)
    .where(_DRAFTS.c.id == bindparam("b_id"), _DRAFTS.c.submitted_at.is_(None))
    .values(
        answers=bindparam("b_answers"),
        current_step=bindparam("b_step"),
        lang=bindparam("b_lang"),
        updated_at=bindparam("b_updated"),
        checked_for=bindparam("b_checked"),
        step_checks=bindparam("b_step_checks"),
    )
)


def save_draft(
    driver: Driver, draft: DraftRow, answers: dict[str, Any], current_step: str,
    lang: str | None = None, checked_for: str | None = None,
    step_checks: dict[str, Any] | None = None,
) -> bool:
    """Store a step's outcome and keep `draft` in step with it: one UPDATE, committed at once.

    `checked_for` says the answers were just found complete (see Draft.checked_for); without it
    the mark is cleared. `step_checks` replaces the draft's (see Draft.step_checks); without it
    they are kept. False when the draft was submitted meanwhile (nothing written, `draft` left
    as it was): the submit's write and this one exclude each other row by row.
    """
    lang, now = lang or draft.lang, utcnow()
    checks = draft.step_checks if step_checks is None else step_checks
    written = _SAVE.rowcount(driver, {"b_id": draft.id, "b_answers": answers, "b_step": current_step,
                                      "b_lang": lang, "b_updated": now, "b_checked": checked_for,
                                      "b_step_checks": checks})
    if written != 1:  # submitted meanwhile: nothing was written
        return False
    draft.answers, draft.current_step, draft.lang = answers, current_step, lang
    draft.updated_at, draft.checked_for, draft.step_checks = now, checked_for, checks
    return True


_SET_LANG = DriverStatement(
    update(_DRAFTS).where(_DRAFTS.c.id == bindparam("b_id")).values(lang=bindparam("b_lang"))
)


def set_draft_lang(driver: Driver, draft: DraftRow, lang: str) -> None:
    """Change the language of a draft (also once submitted: its summary page follows it)."""
    _SET_LANG.rowcount(driver, {"b_id": draft.id, "b_lang": lang})
    draft.lang = lang


# The columns _fresh_draft gives, and the first step. (Parameters may not share a column's
# name in an INSERT's values: "b_" + column.)
_NEW_COLUMNS = ("clinic_id", "token_hash", "answers", "lang", "created_at", "updated_at",
                "expires_at", "current_step")
_INSERT = DriverStatement(insert(_DRAFTS).values({c: bindparam(f"b_{c}") for c in _NEW_COLUMNS}))


def start_draft(driver: Driver, clinic_id: int, lang: str, days: int, first_step: str) -> str:
    """Store a new draft at its first step (one INSERT, committed at once): its token."""
    values, token = _fresh_draft(clinic_id, lang, days)
    values["current_step"] = first_step
    _INSERT.rowcount(driver, {f"b_{c}": values[c] for c in _NEW_COLUMNS})
    return token


# The submit's write: only a draft not yet submitted, and only with the answers it was read with.
_MARK_SUBMITTED = (
    update(_DRAFTS)
    .where(_DRAFTS.c.id == bindparam("b_id"), _DRAFTS.c.submitted_at.is_(None),
           _DRAFTS.c.updated_at == bindparam("b_seen"))
    .values(submitted_at=bindparam("b_now"), answers=bindparam("b_answers"),
            expires_at=bindparam("b_expires"), current_step=null(), checked_for=null(),
            step_checks=null())
)
_SUBMISSIONS = Submission.__table__
# The submission's columns given by the caller (draft_id: the marked draft's id).
_SUBMISSION_COLUMNS = ("clinic_id", "answers", "flags", "questionnaire_version", "lang",
                       "full_name", "submitted_at", "max_severity")
_SUBMISSION_VALUES = [
    bindparam(f"s_{c}", type_=_SUBMISSIONS.c[c].type) for c in _SUBMISSION_COLUMNS
]
# SQLite: the mark and the INSERT, in one transaction on the driver connection.
_MARK = DriverStatement(_MARK_SUBMITTED)
_INSERT_SUBMISSION = DriverStatement(
    insert(_SUBMISSIONS)
    .values({**dict(zip(_SUBMISSION_COLUMNS, _SUBMISSION_VALUES, strict=True)),
             "draft_id": bindparam("s_draft_id")})
    .returning(_SUBMISSIONS.c.id)
)
# PostgreSQL: both in one statement (one round trip, atomic on its own): the INSERT takes the
# draft's id from the UPDATE, so it inserts nothing when the UPDATE marked nothing.
_marked = _MARK_SUBMITTED.returning(_DRAFTS.c.id).cte("marked")
_MARK_AND_INSERT = DriverStatement(
    insert(_SUBMISSIONS)
    .from_select([*_SUBMISSION_COLUMNS, "draft_id"], select(*_SUBMISSION_VALUES, _marked.c.id))
    .returning(_SUBMISSIONS.c.id)
)


def submit_draft(
    driver: Driver, draft: DraftRow, submission: dict[str, Any], link_expires_at: dt.datetime
) -> int | None:
    """Mark the draft submitted (its answers move to the submission: one copy only; its link
    lives on until `link_expires_at`) and store the submission (columns of Submission,
    submitted_at included), both or neither. Its id, or None when the draft was submitted
    meanwhile or saved since `draft` was read (then nothing is written). A submission already
    stored for the draft raises IntegrityError (the unique key).
    """
    values = {**submission, "max_severity": max_severity(submission["flags"])}
    params = {f"s_{c}": values[c] for c in _SUBMISSION_COLUMNS}
    params.update(b_id=draft.id, b_seen=draft.updated_at, b_now=values["submitted_at"],
                  b_answers={}, b_expires=link_expires_at)
    if driver[1].dialect.name == "postgresql":
        row = _MARK_AND_INSERT.first(driver, params)
        return None if row is None else row[0]  # type: ignore[no-any-return]
    with driver_transaction(driver):  # each statement takes the parameters it names
        if _MARK.rowcount(driver, params) != 1:
            return None
        row = _INSERT_SUBMISSION.first(driver, {**params, "s_draft_id": draft.id})
    return None if row is None else row[0]  # type: ignore[no-any-return]


def bound_token(secret: str | bytes, context: str) -> str:
    """A CSRF token bound to a context ("<draft token hash>:<step id or 'submit'>")."""
    key = secret.encode() if isinstance(secret, str) else secret
    return hmac.new(key, context.encode(), hashlib.sha256).hexdigest()


def token_matches(sent: object, expected: str) -> bool:
    """Constant-time comparison that accepts any input (non-ASCII included) without raising."""
    return isinstance(sent, str) and hmac.compare_digest(sent.encode(), expected.encode())


def step_context(token_hash: str, step_id: str) -> str:
    """The CSRF context of a step's form (DraftCSRF's meta.csrf_context)."""
    return f"{token_hash}:{step_id}"


def step_token(secret: str, token_hash: str, step_id: str) -> str:
    """The CSRF token a step's form carries: what DraftCSRF generates and checks."""
    return bound_token(secret, step_context(token_hash, step_id))


def submit_token(secret: str, token_hash: str) -> str:
    """The CSRF token of the final submit form, bound to the draft."""
    return bound_token(secret, f"{token_hash}:submit")


def submit_token_valid(secret: str, token_hash: str, sent: str | None) -> bool:
    return token_matches(sent, submit_token(secret, token_hash))


class DraftCSRF(CSRF):
    """WTForms CSRF whose token is an HMAC of the draft and step instead of a session value.

    meta.csrf_context must be "<draft token hash>:<step id>" and meta.csrf_secret the app key.
    """

    def setup_form(self, form: Any) -> Any:
        self.context: str = form.meta.csrf_context
        self.secret: bytes = form.meta.csrf_secret
        return super().setup_form(form)

    def generate_csrf_token(self, csrf_token_field: Any) -> str:
        return bound_token(self.secret, self.context)

    def validate_csrf_token(self, form: Any, field: Any) -> None:
        if not token_matches(field.data, self.generate_csrf_token(field)):
            raise ValidationError("The form has expired or was not sent from this page.")
