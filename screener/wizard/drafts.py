"""Cookie-free client state: draft tokens in the URL, and CSRF tokens bound to a draft and step."""
from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import secrets
from typing import Any

from sqlalchemy import Integer, case, literal, select, update
from sqlalchemy.orm import Session
from wtforms.csrf.core import CSRF
from wtforms.validators import ValidationError

from ..questionnaire.model import Questionnaire
from ..storage.models import Appointment, Client, Clinic, Draft, Submission, max_severity, utcnow

TOKEN_BYTES = 24  # 192 bits
TOKEN_CHARS = 32  # length of token_urlsafe(24)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def token_hash_of(token: str) -> str | None:
    """The stored hash for a well-formed token, or None (wrong length or alphabet)."""
    if len(token) != TOKEN_CHARS or not token.replace("-", "").replace("_", "").isalnum():
        return None
    return hash_token(token)


def find_clinic(session: Session, slug: str) -> Clinic | None:
    """The clinic with this slug."""
    return session.scalars(select(Clinic).where(Clinic.slug == slug)).first()


def find_draft(session: Session, clinic: Clinic, token: str) -> Draft | None:
    """The clinic's live draft with this token (unknown, malformed or expired: None)."""
    wanted = token_hash_of(token)
    if wanted is None:
        return None
    draft = session.scalars(
        select(Draft).where(Draft.clinic_id == clinic.id, Draft.token_hash == wanted)
    ).first()
    if draft is None or not hmac.compare_digest(draft.token_hash, wanted):
        return None
    return draft if draft.expires_at > utcnow() else None


def new_draft(
    session: Session, clinic: Clinic, lang: str, days: int, token: str | None = None, *,
    embedded: bool = False,
) -> tuple[Draft, str]:
    """A new draft added to the session, and its token (shown once, never stored): a random
    one, or `token` (what a start form's nonce stands for: start_nonce_token); `embedded` when
    it is started from an embedded page."""
    token = token or secrets.token_urlsafe(TOKEN_BYTES)
    now = utcnow()
    draft = Draft(
        clinic_id=clinic.id, token_hash=hash_token(token), answers={}, lang=lang,
        created_at=now, updated_at=now, expires_at=now + dt.timedelta(days=days),
        embedded=embedded,
    )
    session.add(draft)
    return draft, token


# How long a start page's nonce goes on with the draft it made (the browser's Back, then
# Continue): a few hours, not the draft's life, so that a page kept open or cached long after
# (a shared tablet) never brings back the token of a draft deleted since. Later, the form makes
# a new draft. CLOCK_SKEW: a nonce stamped by a server whose clock runs a little ahead.
START_NONCE_SECONDS = 2 * 3600
CLOCK_SKEW = 60


def start_nonce(secret: str, clinic_id: int, now: int) -> str:
    """A start form's one-time nonce: "<random>.<unix time>.<HMAC>", bound to the clinic.

    Nothing is stored when it is made (the start page is a plain GET). The first POST that
    carries it makes the draft whose token is start_nonce_token(nonce); a second POST with the
    same nonce (the start form sent again after the browser's Back) finds that draft and goes
    on with it instead of making another one. The nonce is as secret as the draft's link: it
    lives only in the page the client was sent, and only the server can turn it into the token.
    """
    raw = secrets.token_urlsafe(TOKEN_BYTES)
    stamp = str(now)
    return f"{raw}.{stamp}.{bound_token(secret, f'start-nonce:{clinic_id}:{raw}:{stamp}')}"


def start_nonce_token(
    secret: str, clinic_id: int, nonce: object, now: int, max_age: int
) -> str | None:
    """The draft token a start nonce stands for, or None for anything that is not a nonce this
    server made for this clinic within `max_age` seconds."""
    if not isinstance(nonce, str) or len(nonce) > 200:
        return None
    parts = nonce.split(".")
    if len(parts) != 3:
        return None
    raw, stamp, sig = parts
    if token_hash_of(raw) is None or not stamp.isdigit() or len(stamp) > 12:
        return None
    if not token_matches(sig, bound_token(secret, f"start-nonce:{clinic_id}:{raw}:{stamp}")):
        return None
    if not -CLOCK_SKEW <= now - int(stamp) <= max_age:
        return None
    digest = hmac.new(secret.encode(), f"start-draft:{clinic_id}:{raw}".encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(digest.digest()[:TOKEN_BYTES]).decode()


# What the clinic knows of a client, put in the questionnaire's answers of an invitation:
# question id -> (question type, Client attribute).
KNOWN_DETAILS = {
    "full_name": ("text", "full_name"),
    "email": ("email", "email"),
    "phone": ("tel", "phone"),
}


def known_details(qn: Questionnaire, client: Client | None) -> dict[str, Any]:
    """The client's details as answers of the questionnaire's own questions for them."""
    if client is None:
        return {}
    out: dict[str, Any] = {}
    for qid, (kind, attr) in KNOWN_DETAILS.items():
        question = qn.questions.get(qid)
        value = getattr(client, attr)
        if question is not None and question.type == kind and value:
            out[qid] = str(value)[: question.text_max_length]
    return out


def invitation_draft(
    session: Session, appointment: Appointment, client: Client | None, qn: Questionnaire,
    lang: str,
) -> Draft:
    """The draft of an appointment's invitation (added to the session): its token is the
    invitation's, it holds the details the clinic knows, and it lives as long as the link.
    A second one for the same appointment breaks a unique key (IntegrityError)."""
    now = utcnow()
    draft = Draft(
        clinic_id=appointment.clinic_id, token_hash=appointment.token_hash,
        answers=known_details(qn, client), lang=lang, created_at=now, updated_at=now,
        expires_at=appointment.expires_at, appointment_id=appointment.id,
        current_step=qn.steps[0].id,
    )
    session.add(draft)
    return draft


def save_draft(
    session: Session, draft: Draft, answers: dict[str, Any], current_step: str,
    lang: str | None = None, *, reached: int = 0,
) -> bool:
    """Store a step's outcome (in the caller's write transaction); False when the draft was
    submitted meanwhile (nothing is written: a sent questionnaire never changes).

    `reached` is the position of `current_step` in the questionnaire's order
    (engine.position_index): the draft's furthest_step becomes it when it is further, in the
    same statement (two saves at once never lower it). A draft made before furthest_step was
    kept (NULL) stays NULL: how far it got before is unknown."""
    furthest = case(
        (Draft.furthest_step < reached, literal(reached, Integer)), else_=Draft.furthest_step
    )
    written = session.execute(
        update(Draft)
        .where(Draft.id == draft.id, Draft.submitted_at.is_(None))
        .values(answers=answers, current_step=current_step, lang=lang or draft.lang,
                updated_at=utcnow(), furthest_step=furthest)
        .execution_options(synchronize_session="evaluate")
    )
    return written.rowcount == 1  # type: ignore[attr-defined,no-any-return]


def set_draft_lang(session: Session, draft: Draft, lang: str) -> None:
    """Change the language of a draft (also once submitted: its summary page follows it)."""
    session.execute(
        update(Draft).where(Draft.id == draft.id).values(lang=lang)
        .execution_options(synchronize_session="evaluate")
    )


def submit_draft(
    session: Session, draft: Draft, submission: dict[str, Any], link_expires_at: dt.datetime
) -> int | None:
    """Mark the draft submitted and store its submission (columns of Submission), both or
    neither, in the caller's write transaction. The draft's answers move to the submission
    (one copy only); its link lives on until `link_expires_at`, for the client's summary.

    The submission's id, or None when the draft was submitted meanwhile or saved since `draft`
    was read (then nothing is written). A submission already stored for the draft raises
    IntegrityError (the unique key on its draft).
    """
    marked = session.execute(
        update(Draft)
        .where(Draft.id == draft.id, Draft.submitted_at.is_(None),
               Draft.updated_at == draft.updated_at)
        .values(submitted_at=submission["submitted_at"], answers={}, current_step=None,
                expires_at=link_expires_at)
        .execution_options(synchronize_session=False)
    )
    if marked.rowcount != 1:  # type: ignore[attr-defined]
        return None
    row = Submission(
        **submission, draft_id=draft.id, max_severity=max_severity(submission["flags"])
    )
    session.add(row)
    session.flush()
    return row.id


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
