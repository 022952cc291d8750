"""The practitioners' side: login, the submissions dashboard, exports and clinic administration."""
from __future__ import annotations

import os
from datetime import timedelta
from typing import Any


def _env_flag(name: str, default: bool) -> bool:
    raw = os.environ.get(name, "").strip().lower()
    if not raw:
        return default
    return raw in ("1", "true", "yes", "on")


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    try:
        return int(raw) if raw else default
    except ValueError as exc:
        from ..config import ConfigError

        raise ConfigError(f"{name} must be a whole number, not {raw!r}") from exc


def settings() -> dict[str, Any]:
    """Defaults and environment for the practitioners' side; create_app's overrides win."""
    https = os.environ.get("SCREENER_URL_SCHEME", "http") == "https"
    return {
        # The login session exists only under /dashboard: client pages never see a cookie.
        "SESSION_COOKIE_PATH": "/dashboard",
        # Secure also when a request arrives over HTTPS (see auth.SessionInterface).
        "SESSION_COOKIE_SECURE": _env_flag("SCREENER_SECURE_COOKIES", https),
        "PERMANENT_SESSION_LIFETIME": timedelta(hours=_env_int("SCREENER_SESSION_HOURS", 8)),
        "RATELIMIT_STORAGE_URI": os.environ.get("RATELIMIT_STORAGE_URI") or "memory://",
        "RATELIMIT_HEADERS_ENABLED": False,
        "LOGIN_RATE_LIMIT": os.environ.get("SCREENER_LOGIN_RATE_LIMIT")
        or "10 per minute;100 per hour",
        # Reverse proxies in front of the app that set X-Forwarded-For/-Proto/-Host.
        "PROXIES": _env_int("SCREENER_PROXIES", 0),
        # Public address of the product, for links in emails (else the request's own URL).
        "BASE_URL": os.environ.get("SCREENER_BASE_URL") or None,
        "FHIR_BASE": os.environ.get("SCREENER_FHIR_BASE") or None,
        "SMTP_HOST": os.environ.get("SCREENER_SMTP_HOST") or None,
        "SMTP_PORT": _env_int("SCREENER_SMTP_PORT", 587),
        "SMTP_USER": os.environ.get("SCREENER_SMTP_USER") or None,
        "SMTP_PASSWORD": os.environ.get("SCREENER_SMTP_PASSWORD") or None,
        "SMTP_FROM": os.environ.get("SCREENER_SMTP_FROM") or None,
        "SMTP_STARTTLS": _env_flag("SCREENER_SMTP_STARTTLS", True),
        "SMTP_TIMEOUT": _env_int("SCREENER_SMTP_TIMEOUT", 20),
    }
