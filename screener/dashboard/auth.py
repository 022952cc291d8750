"""Practitioner accounts: password hashing, the login session, roles."""
from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import Flask, abort, redirect, request, url_for
from flask.sessions import NullSession, SecureCookieSession, SecureCookieSessionInterface, SessionMixin
from flask.wrappers import Request, Response
from flask.typing import ResponseReturnValue
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from ..extensions import db, login_manager
from ..storage.models import ROLES, Clinic, Practitioner, parse_id

PASSWORD_MIN = 12
PASSWORD_MAX = 256  # argon2 hashes any length; a bound keeps a huge POST from costing much

# argon2id with argon2-cffi's defaults (RFC 9106's second recommended profile, 64 MiB).
hasher = PasswordHasher()
_dummy_hash: str | None = None

F = TypeVar("F", bound=Callable[..., Any])


class PasswordError(ValueError):
    """A password that does not meet the policy."""


def check_password_policy(password: str) -> None:
    """Raise PasswordError unless the password is long enough (and not absurdly long)."""
    if len(password) < PASSWORD_MIN:
        raise PasswordError(f"The password must have at least {PASSWORD_MIN} characters.")
    if len(password) > PASSWORD_MAX:
        raise PasswordError(f"The password must have at most {PASSWORD_MAX} characters.")


def hash_password(password: str) -> str:
    check_password_policy(password)
    return hasher.hash(password)


def generate_password() -> str:
    """A random password to hand over once (about 120 bits)."""
    return secrets.token_urlsafe(15)


def new_session_key() -> str:
    return secrets.token_hex(16)


def normalise_email(email: str) -> str:
    return email.strip().lower()


def set_password(practitioner: Practitioner, password: str) -> None:
    """Store a new password hash and end every login session of the account."""
    practitioner.password_hash = hash_password(password)
    practitioner.session_key = new_session_key()


def authenticate(session: Session, email: str, password: str) -> tuple[Practitioner | None, bool]:
    """(the account the email names, whether the password is right for an active account).

    An unknown email still costs one hash verification, so the response time does not tell
    which emails have an account.
    """
    global _dummy_hash
    account = None
    if len(email) <= 254:
        account = session.scalars(
            select(Practitioner).where(Practitioner.email == normalise_email(email))
        ).first()
    if account is None:
        if _dummy_hash is None:
            _dummy_hash = hasher.hash(secrets.token_hex(16))
        _verify(_dummy_hash, password)
        return None, False
    return account, _verify(account.password_hash, password) and account.active


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
        clinic_id=clinic.id, email=normalise_email(email), name=name.strip(), role=role, active=True
    )
    set_password(practitioner, password)
    session.add(practitioner)
    return practitioner


@login_manager.user_loader
def load_user(user_id: str) -> Practitioner | None:
    """The account of a login session, unless it was deactivated or its password changed."""
    text, _, key = user_id.partition(":")
    pid = parse_id(text)
    if pid is None or not key:
        return None
    # With its clinic: every dashboard page needs both (one query instead of two).
    account = db.session.get(Practitioner, pid, options=[joinedload(Practitioner.clinic)])
    if account is None or not account.active:
        return None
    if not hmac.compare_digest(account.session_key.encode(), key.encode()):
        return None
    return account


@login_manager.unauthorized_handler
def unauthorized() -> ResponseReturnValue:
    """Anonymous visitors go to the login page, which brings them back afterwards."""
    target = request.full_path if request.method == "GET" else None
    return redirect(url_for("dashboard.login", next=target))


def current_practitioner() -> Practitioner:
    """The logged-in account (the dashboard's before_request guarantees there is one)."""
    return cast(Practitioner, current_user._get_current_object())  # type: ignore[attr-defined]


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
        """Only the dashboard has a session: elsewhere no cookie is read (clients are cookie-free)."""
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
