"""Configuration: defaults, then the environment, then the caller's overrides (tests)."""
from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import request

ROOT = Path(__file__).resolve().parent.parent
DEV_SECRET_KEY = "dev-only-not-secret"  # refused outside debug and testing


def instance_dir() -> Path:
    """Where the SQLite database and the generated secret key live."""
    return Path(os.environ.get("SCREENER_INSTANCE", ROOT / "instance")).resolve()


class ConfigError(RuntimeError):
    """The configuration cannot run the product (e.g. no SECRET_KEY in production)."""


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be a whole number, not {raw!r}") from exc


def _env_flag(name: str, default: bool) -> bool:
    raw = os.environ.get(name, "").strip().lower()
    if not raw:
        return default
    return raw in ("1", "true", "yes", "on")


def load_config(instance_path: Path, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """The settings for one app: defaults < environment < overrides."""
    https = os.environ.get("SCREENER_URL_SCHEME", "http") == "https"
    secret_file = instance_path / "secret_key"
    secret = os.environ.get("SECRET_KEY") or (
        secret_file.read_text().strip() if secret_file.is_file() else None
    )
    config: dict[str, Any] = {
        "SECRET_KEY": secret,
        "DATABASE_URL": os.environ.get("DATABASE_URL")
        or f"sqlite:///{instance_path / 'screener.db'}",
        "QUESTIONS_FILE": os.environ.get("SCREENER_QUESTIONS", str(ROOT / "questions.yaml")),
        "DRAFT_DAYS": _env_int("SCREENER_DRAFT_DAYS", 14),
        "MAX_CONTENT_LENGTH": _env_int("SCREENER_MAX_BODY_BYTES", 256 * 1024),
        "PREFERRED_URL_SCHEME": os.environ.get("SCREENER_URL_SCHEME", "http"),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "TEMPLATES_AUTO_RELOAD": None,
        # Rate limits per client address (Flask-Limiter syntax). Several app servers need a
        # shared RATELIMIT_STORAGE_URI (e.g. redis://host:6379) for the limits to hold across them.
        "RATELIMIT_ENABLED": os.environ.get("SCREENER_RATE_LIMITS", "on").lower()
        not in ("off", "false", "0", "no"),
        # A shared store that cannot be reached (Redis down) must not fail every login and new
        # questionnaire: each process then counts in its own memory until the store is back.
        "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
        "DRAFT_RATE_LIMIT": os.environ.get("SCREENER_DRAFT_RATE_LIMIT") or "20 per minute;200 per hour",
        "SUBMIT_RATE_LIMIT": os.environ.get("SCREENER_SUBMIT_RATE_LIMIT")
        or "20 per minute;200 per hour",
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
    config.update(overrides or {})
    if str(config["RATELIMIT_STORAGE_URI"]).startswith(("redis://", "rediss://")):
        # A Redis that stops answering holds a request for 1 s, not redis-py's default of
        # several, before the limits fall back to memory (RATELIMIT_IN_MEMORY_FALLBACK_ENABLED).
        config.setdefault(
            "RATELIMIT_STORAGE_OPTIONS", {"socket_connect_timeout": 1, "socket_timeout": 1}
        )
    return config


def check_config(config: dict[str, Any], debug: bool) -> None:
    """Refuse to run production without a real SECRET_KEY."""
    key = config.get("SECRET_KEY")
    if debug or config.get("TESTING"):
        if not key:
            config["SECRET_KEY"] = DEV_SECRET_KEY
        return
    if not key or key == DEV_SECRET_KEY or len(key) < 16:
        raise ConfigError(
            "SECRET_KEY is missing or too weak: set SECRET_KEY in the environment"
            " (at least 16 characters), or run `flask --app screener init-db` which writes"
            " instance/secret_key"
        )


def public_base_url(config: Mapping[str, Any]) -> str:
    """Where the product is served, without a trailing slash: SCREENER_BASE_URL when set (links
    in emails, FHIR URLs and embed snippets must not depend on a request's Host header), else the
    address of the current request."""
    return str(config["BASE_URL"] or request.url_root).rstrip("/")
