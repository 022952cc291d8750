"""Configuration: defaults, then the environment, then the caller's overrides (tests)."""
from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import request

ROOT = Path(__file__).resolve().parent.parent
DEV_SECRET_KEY = "dev-only-not-secret"  # noqa: S105  (refused outside debug and testing)


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
        # The largest form is the clinic's texts: every language at its length limits, Chinese
        # characters taking 9 bytes each once URL-encoded (under 400 KB for three languages).
        "MAX_CONTENT_LENGTH": _env_int("SCREENER_MAX_BODY_BYTES", 512 * 1024),
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
        "DRAFT_RATE_LIMIT": os.environ.get("SCREENER_DRAFT_RATE_LIMIT")
        or "20 per minute;200 per hour",
        "SUBMIT_RATE_LIMIT": os.environ.get("SCREENER_SUBMIT_RATE_LIMIT")
        or "20 per minute;200 per hour",
        # Clients' PDF copies (a PDF takes a second or two of a worker's time to make).
        "PDF_RATE_LIMIT": os.environ.get("SCREENER_PDF_RATE_LIMIT")
        or "10 per minute;60 per hour",
        # The login session exists only under /dashboard: client pages never see a cookie.
        "SESSION_COOKIE_PATH": "/dashboard",
        # Secure also when a request arrives over HTTPS (see auth.SessionInterface).
        "SESSION_COOKIE_SECURE": _env_flag("SCREENER_SECURE_COOKIES", https),
        "PERMANENT_SESSION_LIFETIME": timedelta(hours=_env_int("SCREENER_SESSION_HOURS", 8)),
        # However busy, a login session ends this long after the login (ASVS 3.3.2).
        "SESSION_MAX_AGE": timedelta(hours=_env_int("SCREENER_SESSION_MAX_HOURS", 12)),
        "RATELIMIT_STORAGE_URI": os.environ.get("RATELIMIT_STORAGE_URI") or "memory://",
        "RATELIMIT_HEADERS_ENABLED": False,
        "LOGIN_RATE_LIMIT": os.environ.get("SCREENER_LOGIN_RATE_LIMIT")
        or "10 per minute;100 per hour",
        # Wrong current passwords on the account page, per account and per address.
        "PASSWORD_CHECK_RATE_LIMIT": os.environ.get("SCREENER_PASSWORD_CHECK_RATE_LIMIT")
        or "5 per 15 minutes;20 per day",
        # Host names the product answers to (comma-separated; ".example.com" takes its
        # subdomains too); any other Host header gets 400. Unset: any host.
        "TRUSTED_HOSTS": [h.strip() for h in os.environ.get("SCREENER_TRUSTED_HOSTS", "").split(",")
                          if h.strip()] or None,
        # Reverse proxies in front of the app that set X-Forwarded-For/-Proto/-Host.
        "PROXIES": _env_int("SCREENER_PROXIES", 0),
        # Public address of the product, for links in emails and FHIR URLs: never taken from a
        # request (its Host header is the client's to choose).
        "BASE_URL": (os.environ.get("SCREENER_BASE_URL") or "").rstrip("/") or None,
        "SMTP_HOST": os.environ.get("SCREENER_SMTP_HOST") or None,
        "SMTP_PORT": _env_int("SCREENER_SMTP_PORT", 587),
        "SMTP_USER": os.environ.get("SCREENER_SMTP_USER") or None,
        "SMTP_PASSWORD": os.environ.get("SCREENER_SMTP_PASSWORD") or None,
        "SMTP_FROM": os.environ.get("SCREENER_SMTP_FROM") or None,
        "SMTP_STARTTLS": _env_flag("SCREENER_SMTP_STARTTLS", True),
        "SMTP_TIMEOUT": _env_int("SCREENER_SMTP_TIMEOUT", 20),
        # The outbox (screener/outbox.py): a worker holds the messages it claimed this long (more
        # than a batch of sends takes); a message is retried for this many hours, then given up.
        "OUTBOX_LEASE_SECONDS": _env_int("SCREENER_OUTBOX_LEASE_SECONDS", 300),
        "OUTBOX_GIVE_UP_HOURS": _env_int("SCREENER_OUTBOX_GIVE_UP_HOURS", 24),
        # A CSV of the list of up to this many rows streams in the request; a larger one is
        # prepared in the background (screener/exports/jobs.py). It streams in 1 to 2 s on
        # the benchmark machine (5 s when busy), well inside gunicorn's 30 s worker timeout
        # (gunicorn.conf.py): a streamed response is never cut off.
        "CSV_STREAM_ROWS": _env_int("SCREENER_CSV_STREAM_ROWS", 20_000),
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
    """Refuse to run production without a real SECRET_KEY, or sending emails without
    SCREENER_BASE_URL."""
    key = config.get("SECRET_KEY")
    base = config.get("BASE_URL")
    if base and not str(base).startswith(("https://", "http://")):
        raise ConfigError(f"SCREENER_BASE_URL must start with https:// (or http://): {base!r}")
    if debug or config.get("TESTING"):
        if not key:
            config["SECRET_KEY"] = DEV_SECRET_KEY
        return
    if config.get("SMTP_HOST") and not base:
        raise ConfigError(
            "SCREENER_SMTP_HOST is set but SCREENER_BASE_URL is not: set SCREENER_BASE_URL to"
            " the product's public address (such as https://screener.example) so that the"
            " links in new-submission emails point there, never at a host a request names"
        )
    if not key or key == DEV_SECRET_KEY or len(key) < 16:
        raise ConfigError(
            "SECRET_KEY is missing or too weak: set SECRET_KEY in the environment"
            " (at least 16 characters), or run `flask --app screener init-db` which writes"
            " instance/secret_key"
        )


# Links in emails and FHIR URLs of a debug or test app without SCREENER_BASE_URL (elsewhere
# start-up requires the setting before any email can be sent).
LOCAL_BASE_URL = "http://127.0.0.1:5000"


def public_base_url(config: Mapping[str, Any]) -> str:
    """Where the product is served, without a trailing slash, for links in emails and FHIR
    URLs: SCREENER_BASE_URL, else LOCAL_BASE_URL. Never the request's Host header, which any
    client chooses."""
    return str(config["BASE_URL"] or LOCAL_BASE_URL).rstrip("/")


def page_base_url(config: Mapping[str, Any]) -> str:
    """The product's address to show on a page (the embed snippets): SCREENER_BASE_URL, else
    the address the page was asked for (what the reader typed; TRUSTED_HOSTS checks it)."""
    return str(config["BASE_URL"] or request.url_root).rstrip("/")
