"""Hardening: security headers everywhere, secret key policy, no inline script, bandit clean."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from screener import create_app
from screener.config import DEV_SECRET_KEY, ROOT, ConfigError

from .conftest import Walker


def pages(client: FlaskClient) -> list[str]:
    w = Walker(client)
    w.start()
    return ["/c/demo/", w.url, f"{w.base}/", "/healthz", "/c/nope/", "/static/screener.css",
            "/embed/demo/", "/no/such/page"]


def test_security_headers_on_every_response(client: FlaskClient) -> None:
    for path in pages(client):
        r = client.get(path)
        r.close()
        h = r.headers
        csp = h.get("Content-Security-Policy", "")
        assert "default-src 'self'" in csp and "script-src 'self'" in csp, path
        assert "'unsafe-inline'" not in csp and "'unsafe-eval'" not in csp, path
        assert "object-src 'none'" in csp and "base-uri 'none'" in csp, path
        assert "frame-ancestors" in csp, path
        assert h.get("X-Content-Type-Options") == "nosniff", path
        assert h.get("Referrer-Policy") == "no-referrer", path
        assert "camera=()" in h.get("Permissions-Policy", ""), path
        assert "Strict-Transport-Security" not in h, path  # plain HTTP: no HSTS


def test_hsts_when_served_over_https(client: FlaskClient) -> None:
    r = client.get("/c/demo/", base_url="https://clinic.example")
    assert r.headers["Strict-Transport-Security"].startswith("max-age=31536000")


def test_pages_have_no_inline_script_or_style(client: FlaskClient) -> None:
    for path in pages(client):
        r = client.get(path)
        html = r.get_data(as_text=True)
        r.close()
        for tag in re.findall(r"<script\b[^>]*>", html):
            assert "src=" in tag, (path, tag)
        assert not re.search(r"<script\b[^>]*>(?!\s*</script>)", html), path
        assert " style=" not in html and "<style" not in html, path
        assert not re.search(r"\son[a-z]+=", html), path  # no inline event handlers


@pytest.mark.parametrize("key", [None, "", DEV_SECRET_KEY, "short"])
def test_start_up_refuses_a_missing_or_weak_secret_key(
    key: str | None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setenv("SCREENER_INSTANCE", str(tmp_path))  # no instance/secret_key file there
    config = {"DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}"}
    if key is not None:
        config["SECRET_KEY"] = key
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        create_app(config)


def test_a_strong_secret_key_starts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SCREENER_INSTANCE", str(tmp_path))
    app = create_app({"SECRET_KEY": "k" * 40, "DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}"})
    assert isinstance(app, Flask) and not app.debug


def test_draft_tokens_carry_at_least_128_random_bits(client: FlaskClient) -> None:
    tokens = set()
    for _ in range(20):
        w = Walker(client)
        w.start()
        tokens.add(w.token)
        assert re.fullmatch(r"[A-Za-z0-9_-]{32}", w.token)  # 32 base64url chars = 192 bits
    assert len(tokens) == 20


def test_bandit_reports_no_medium_or_high_findings() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bandit", "-q", "-r", "screener", "wsgi.py", "-ll", "-f", "txt"],
        cwd=ROOT, capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_client_pages_never_read_or_set_a_cookie(client: FlaskClient) -> None:
    """A practitioner's dashboard cookie in the same browser is never read by client pages."""
    client.set_cookie("session", "a-dashboard-session", path="/")
    client.set_cookie("remember_token", "x", path="/")
    w = Walker(client)
    w.start()
    for path in [*pages(client), f"{w.base}/review", "/embed/demo/"]:
        r = client.get(path)
        r.close()
        assert "cookie" not in r.headers.get("Vary", "").lower(), path
        assert "Set-Cookie" not in r.headers, path
    login_page = client.get("/dashboard/login")
    assert "cookie" in login_page.headers.get("Vary", "").lower()  # the dashboard does use it
