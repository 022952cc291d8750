"""Cookie-free client state: draft tokens in the URL, and CSRF tokens bound to a draft and step."""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from wtforms.csrf.core import CSRF
from wtforms.validators import ValidationError

from ..storage.models import Clinic, Draft, utcnow

TOKEN_BYTES = 24  # 192 bits
TOKEN_CHARS = 32  # length of token_urlsafe(24)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_draft(session: Session, clinic: Clinic, lang: str, days: int) -> tuple[Draft, str]:
    """Create a draft; returns it with its token, which is shown once and never stored."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    now = utcnow()
    draft = Draft(
        clinic_id=clinic.id,
        token_hash=hash_token(token),
        answers={},
        lang=lang,
        created_at=now,
        updated_at=now,
        expires_at=now + dt.timedelta(days=days),
    )
    session.add(draft)
    return draft, token


def find_draft(session: Session, clinic: Clinic, token: str) -> Draft | None:
    """The clinic's live draft for this token, or None (unknown, malformed, expired)."""
    if len(token) != TOKEN_CHARS or not token.replace("-", "").replace("_", "").isalnum():
        return None
    wanted = hash_token(token)
    draft = session.scalars(
        select(Draft).where(Draft.token_hash == wanted, Draft.clinic_id == clinic.id)
    ).first()
    if draft is None or not hmac.compare_digest(draft.token_hash, wanted):
        return None
    if draft.expires_at <= utcnow():
        return None
    return draft


def bound_token(secret: str | bytes, context: str) -> str:
    """A CSRF token bound to a context ("<draft token hash>:<step id or 'submit'>")."""
    key = secret.encode() if isinstance(secret, str) else secret
    return hmac.new(key, context.encode(), hashlib.sha256).hexdigest()


def token_matches(sent: object, expected: str) -> bool:
    """Constant-time comparison that accepts any input (non-ASCII included) without raising."""
    return isinstance(sent, str) and hmac.compare_digest(sent.encode(), expected.encode())


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
