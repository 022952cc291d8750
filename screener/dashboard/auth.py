"""Practitioner accounts: password hashing, the login session, roles."""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from collections.abc import Callable, Iterable
from functools import wraps
from typing import Any, TypeVar, cast

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import Flask, abort, current_app, g, redirect, request, session, url_for
from flask.sessions import (
    NullSession,
    SecureCookieSession,
    SecureCookieSessionInterface,
    SessionMixin,
)
from flask.typing import ResponseReturnValue
from flask.wrappers import Request, Response
from flask_login import current_user
from sqlalchemy import delete, select
from sqlalchemy.orm import Session, joinedload
from zxcvbn import zxcvbn

from ..extensions import db, login_manager
from ..storage.models import ROLES, Clinic, LoginSession, Practitioner, parse_id, utcnow

PASSWORD_MIN = 12
PASSWORD_MAX = 256  # argon2 hashes any length; a bound keeps a huge POST from costing much
# zxcvbn's score (0-4) a new password needs: 3 is "safely unguessable: moderate protection from
# an offline slow-hash scenario" (argon2id here), which common words, names, keyboard patterns,
# repeats and dates with a few changes do not reach.
PASSWORD_MIN_SCORE = 3
# zxcvbn's cost grows with the length; what follows the first 100 characters only adds strength.
ZXCVBN_MAX_CHARS = 100
# The key in the signed session cookie of the per-login id (a row of login_session).
LOGIN_ID = "login_id"
# How often a session's last use is written down (not on every request).
TOUCH_EVERY = dt.timedelta(minutes=1)

# argon2id with argon2-cffi's defaults (RFC 9106's second recommended profile, 64 MiB).
hasher = PasswordHasher()
_dummy_hash: str | None = None

F = TypeVar("F", bound=Callable[..., Any])


class PasswordError(ValueError):
    """A password that does not meet the policy."""


class WeakPasswordError(PasswordError):
    """A password long enough but easy to guess (zxcvbn's score below PASSWORD_MIN_SCORE)."""


def password_is_weak(password: str, user_inputs: Iterable[str] = ()) -> str | None:
    """zxcvbn's warning (or a generic one) when the password is easy to guess, else None.

    `user_inputs` are words an attacker would try first: the account's email, name, clinic.
    """
    words = [w for text in user_inputs for w in [text, *text.replace("@", " ").split()] if w]
    result = zxcvbn(password[:ZXCVBN_MAX_CHARS], user_inputs=words)
    if result["score"] >= PASSWORD_MIN_SCORE:
        return None
    return str(result["feedback"].get("warning") or "This password is easy to guess.")


def check_password_policy(password: str, user_inputs: Iterable[str] = ()) -> None:
    """Raise PasswordError unless the password is long enough (and not absurdly long) and not
    easy to guess (zxcvbn: common passwords and words, names, patterns, repeats, dates)."""
    if len(password) < PASSWORD_MIN:
        raise PasswordError(f"The password must have at least {PASSWORD_MIN} characters.")
    if len(password) > PASSWORD_MAX:
        raise PasswordError(f"The password must have at most {PASSWORD_MAX} characters.")
    warning = password_is_weak(password, user_inputs)
    if warning is not None:
        raise WeakPasswordError(
            f"The password is too easy to guess ({warning.rstrip('.')}): use a longer phrase"
            " of several unrelated words."
        )


def hash_password(password: str, user_inputs: Iterable[str] = ()) -> str:
    check_password_policy(password, user_inputs)
    return hasher.hash(password)


def generate_password() -> str:
    """A random password to hand over once (about 120 bits)."""
    return secrets.token_urlsafe(15)


def new_session_key() -> str:
    return secrets.token_hex(16)


def normalise_email(email: str) -> str:
    return email.strip().lower()


def set_password(practitioner: Practitioner, password: str) -> None:
    """Store a new password hash and end every login session of the account (the caller
    deletes its login_session rows too; see operations)."""
    practitioner.password_hash = hash_password(password, user_inputs_of(practitioner))
    practitioner.session_key = new_session_key()


def user_inputs_of(practitioner: Practitioner) -> list[str]:
    """What a password of this account must not be built from."""
    clinic = practitioner.clinic
    return [practitioner.email, practitioner.name, *([clinic.name, clinic.slug] if clinic else [])]


def authenticate(
    session: Session, email: str, password: str
) -> tuple[Practitioner | None, list[Practitioner]]:
    """(the active account this email and password open, or None; the accounts the email names).

    An email is unique within a clinic: a person working at two clinics has two accounts, and
    the password says which (the oldest account first, should both have the same password).
    An unknown email still costs one hash verification, so the response time does not tell
    which emails have an account.
    """
    global _dummy_hash
    named: list[Practitioner] = []
    if len(email) <= 254:
        named = list(
            session.scalars(
                select(Practitioner)
                .where(Practitioner.email == normalise_email(email))
                .order_by(Practitioner.id)
            )
        )
    if not named:
        if _dummy_hash is None:
            _dummy_hash = hasher.hash(secrets.token_hex(16))
        _verify(_dummy_hash, password)
        return None, []
    for account in named:
        if check_password(account, password):
            return account, named
    return None, named


def check_password(account: Practitioner, password: str) -> bool:
    """Whether the password is right for this account and the account is active."""
    return _verify(account.password_hash, password) and account.active


def upgrade_hash(account: Practitioner, password: str) -> None:
    """After a successful login: re-hash a password stored with weaker parameters."""
    if hasher.check_needs_rehash(account.password_hash):
        account.password_hash = hasher.hash(password)


def _verify(hashed: str, password: str) -> bool:
    if len(password) > PASSWORD_MAX:
        return False
    try:
        return hasher.verify(hashed, password)
    except (VerificationError, InvalidHashError):
        return False


def create_practitioner(
    session: Session, clinic: Clinic, email: str, name: str, password: str, role: str
) -> Practitioner:
    """Add an account to a clinic (the caller commits)."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    practitioner = Practitioner(
        clinic_id=clinic.id, clinic=clinic, email=normalise_email(email), name=name.strip(),
        role=role, active=True,
    )
    set_password(practitioner, password)
    session.add(practitioner)
    return practitioner


def hash_login_id(login_id: str) -> str:
    return hashlib.sha256(login_id.encode()).hexdigest()


def new_login_id() -> tuple[str, str]:
    """A random per-login id for the session cookie (192 bits) and the hash stored of it."""
    login_id = secrets.token_urlsafe(24)
    return login_id, hash_login_id(login_id)


def session_expired(row: LoginSession, now: dt.datetime) -> bool:
    """Unused for SCREENER_SESSION_HOURS, or older than SCREENER_SESSION_MAX_HOURS."""
    config = current_app.config
    idle: dt.timedelta = config["PERMANENT_SESSION_LIFETIME"]
    return row.last_seen_at <= now - idle or row.created_at <= now - config["SESSION_MAX_AGE"]


@login_manager.user_loader
def load_user(user_id: str) -> Practitioner | None:
    """The account of a login session whose row still exists (not logged out, not ended by a
    password change, a deactivation or an admin, not expired), and whose account is active."""
    text, _, key = user_id.partition(":")
    pid = parse_id(text)
    login_id = session.get(LOGIN_ID)
    if pid is None or not key or not isinstance(login_id, str) or len(login_id) > 64:
        return None
    # With its clinic: every dashboard page needs both (one query instead of two).
    found = db.session.execute(
        select(LoginSession, Practitioner)
        .join(Practitioner, Practitioner.id == LoginSession.practitioner_id)
        .options(joinedload(Practitioner.clinic))
        .where(LoginSession.token_hash == hash_login_id(login_id), Practitioner.id == pid)
    ).first()
    if found is None:
        return None
    row, account = found
    if not account.active or not hmac.compare_digest(account.session_key.encode(), key.encode()):
        return None
    now = utcnow()
    if session_expired(row, now):
        with db.transaction() as s:
            s.execute(delete(LoginSession).where(LoginSession.id == row.id))
        return None
    if row.last_seen_at <= now - TOUCH_EVERY:
        with db.transaction() as s:
            s.add(row)
            row.last_seen_at = now
    g.login_session_id = row.id
    return account


@login_manager.unauthorized_handler
def unauthorized() -> ResponseReturnValue:
    """Anonymous visitors go to the login page, which brings them back afterwards."""
    target = request.full_path if request.method == "GET" else None
    return redirect(url_for("dashboard.login", next=target))


def current_practitioner() -> Practitioner:
    """The logged-in account (the dashboard's before_request guarantees there is one)."""
    return cast(Practitioner, current_user._get_current_object())


def admin_required(view: F) -> F:
    """Only a clinic admin may use this view; a practitioner gets 403."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if not current_practitioner().is_admin:
            abort(403)
        return view(*args, **kwargs)

    return cast(F, wrapped)


def safe_next(target: str | None) -> str | None:
    """A same-site path under /dashboard/ to return to after login, else None."""
    if not target or not target.startswith("/dashboard/") or target.startswith("//"):
        return None
    if "\\" in target or any(ord(c) < 32 for c in target):
        return None
    return target


class SessionInterface(SecureCookieSessionInterface):
    """The signed-cookie session, marked Secure also whenever the request came over HTTPS.

    With SCREENER_PROXIES set, ProxyFix makes `request.is_secure` honour X-Forwarded-Proto.
    """

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(app.config["SESSION_COOKIE_SECURE"]) or request.is_secure

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        """Only the dashboard has a session: no cookie is read elsewhere (clients have none)."""
        if not _in_dashboard(app, request):
            return self.null_session_class()
        return super().open_session(app, request)

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        if isinstance(session, NullSession):
            return  # nothing to store, and no `Vary: Cookie` on pages that never read one
        super().save_session(app, session, response)


def _in_dashboard(app: Flask, request: Request) -> bool:
    path = app.config.get("SESSION_COOKIE_PATH") or "/dashboard"
    return request.path == path or request.path.startswith(path.rstrip("/") + "/")
