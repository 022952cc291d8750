"""Configuration: defaults, then the environment, then the caller's overrides (tests)."""
from __future__ import annotations

import os
from collections.abc import Mapping
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
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be a whole number, not {raw!r}") from exc


def load_config(instance_path: Path, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """The settings for one app: defaults < environment < overrides."""
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
        "DRAFT_RATE_LIMIT": os.environ.get("SCREENER_DRAFT_RATE_LIMIT") or "20 per minute;200 per hour",
        "SUBMIT_RATE_LIMIT": os.environ.get("SCREENER_SUBMIT_RATE_LIMIT")
        or "20 per minute;200 per hour",
    }
    config.update(overrides or {})
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
