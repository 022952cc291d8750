"""Hardening: security headers everywhere, secret key policy, no inline script, bandit clean."""
from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.test import TestResponse

from screener import create_app
from screener.config import DEV_SECRET_KEY, ROOT, ConfigError
from screener.storage.models import Submission

from .conftest import STEP_ANSWERS, Walker
from .dashboard_support import *  # noqa: F403  (fixtures: accounts, clinics, logged_in, ...)

Fetch = Callable[[], TestResponse]


def pages(client: FlaskClient) -> list[str]:
    w = Walker(client)
    w.start()
    return ["/c/demo/", w.url, f"{w.base}/", "/healthz", "/c/nope/", "/static/screener.css",
            "/embed/demo/", "/no/such/page"]


@pytest.fixture
def every_kind_of_response(
    client: FlaskClient, app: Flask, logged_in: Callable[[str], FlaskClient],
    accounts: dict[str, int],
) -> list[tuple[str, Fetch]]:
    """Client pages (filled-in steps, the review, a summary), errors, dashboard pages and
    downloads. Fetched when the test calls them: each draft is left in the state it needs."""
    out: list[tuple[str, Fetch]] = [(p, lambda p=p: client.get(p)) for p in pages(client)]
    filled, sent = Walker(client), Walker(client)
    for w in (filled, sent):
        w.start()
        for answers in STEP_ANSWERS.values():
            w.post_step(answers)
    assert sent.submit().status_code == 303
    first_step = f"{filled.base}/s/{next(iter(STEP_ANSWERS))}"
    out += [(p, lambda p=p: client.get(p)) for p in (f"{filled.base}/review", first_step,
                                                     f"{sent.base}/summary")]
    out += [
        ("step POST without its token", lambda: client.post(first_step, data={"action": "continue"})),
        ("oversized POST", lambda: client.post(first_step, data={"x": "y" * (2 << 20)})),
        ("PUT /c/demo/ (wrong method)", lambda: client.put("/c/demo/")),
    ]
    with app.extensions["screener_db"].sessions() as s:
        sub_id = s.scalars(select(Submission.id)).one()
    admin = logged_in("admin@example.com")
    anonymous = app.test_client()
    out += [("/dashboard/login", lambda: anonymous.get("/dashboard/login")),
            ("/dashboard/ (not logged in)", lambda: anonymous.get("/dashboard/")),
            ("/dashboard/login POST without a token", lambda: anonymous.post("/dashboard/login"))]
    out += [(p, lambda p=p: admin.get(p)) for p in (
        "/dashboard/", f"/dashboard/submissions/{sub_id}", f"/dashboard/submissions/{sub_id}.json",
        f"/dashboard/submissions/{sub_id}.fhir.json", "/dashboard/questionnaire.fhir.json",
        "/dashboard/submissions.csv", "/dashboard/account", "/dashboard/admin/practitioners",
        "/dashboard/admin/clinic", "/dashboard/admin/audit", "/dashboard/submissions/999999",
    )]
    return out


def test_security_headers_on_every_response(
    every_kind_of_response: list[tuple[str, Fetch]],
) -> None:
    statuses: dict[str, int] = {}
    for path, fetch_response in every_kind_of_response:
        r = fetch_response()
        r.close()
        statuses[path] = r.status_code
        h = r.headers
        csp = h.get("Content-Security-Policy", "")
        assert "default-src 'self'" in csp and "script-src 'self'" in csp, path
        assert "'unsafe-inline'" not in csp and "'unsafe-eval'" not in csp, path
        assert "object-src 'none'" in csp and "base-uri 'none'" in csp, path
        assert "frame-ancestors" in csp, path
        assert h.get("X-Content-Type-Options") == "nosniff", path
        # Never a URL to another site; client pages (tokens in their paths) not even to their own.
        allowed = ("same-origin", "no-referrer") if path.startswith("/dashboard") else ("no-referrer",)
        assert h.get("Referrer-Policy") in allowed, path
        assert "camera=()" in h.get("Permissions-Policy", ""), path
        assert "Strict-Transport-Security" not in h, path  # plain HTTP: no HSTS
    assert {200, 302, 303, 400, 404, 405, 413} <= set(statuses.values())  # errors, redirects
    # The pages with the most on them were shown, not redirected away.
    assert all(code == 200 for path, code in statuses.items()
               if path.endswith(("/review", "/summary", "/s/about_you"))), statuses


def test_hsts_when_served_over_https(client: FlaskClient) -> None:
    r = client.get("/c/demo/", base_url="https://clinic.example")
    assert r.headers["Strict-Transport-Security"].startswith("max-age=31536000")


def test_pages_have_no_inline_script_or_style(
    every_kind_of_response: list[tuple[str, Fetch]],
) -> None:
    for path, fetch_response in every_kind_of_response:
        r = fetch_response()
        html = r.get_data(as_text=True)
        r.close()
        if r.mimetype != "text/html" or not html:  # downloads, redirects
            continue
        found = InlineCode()
        found.feed(html)
        found.close()
        assert found.tags > 0, path
        assert not found.problems, (path, found.problems)


class InlineCode(HTMLParser):
    """What a strict CSP would block in a page: <script> without src or with a body, <style>,
    style attributes, inline event handlers (as a browser parses them: text shown as code, such
    as the embed snippet on the clinic page, is not markup)."""

    def __init__(self) -> None:
        super().__init__()
        self.tags = 0
        self.problems: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags += 1
        names = {name for name, _ in attrs}
        if tag == "script":
            self._in_script = True
            if "src" not in names:
                self.problems.append("<script> without src")
        if tag == "style":
            self.problems.append("<style>")
        self.problems += [f"{name}= on <{tag}>" for name in names
                          if name == "style" or name.startswith("on")]

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.problems.append("inline script code")


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
    # All the Python that runs in production or on its database: the app, its entry point,
    # the migrations, and the benchmarks (they run against a real database too).
    result = subprocess.run(
        [sys.executable, "-m", "bandit", "-q", "-r", "screener", "wsgi.py", "migrations", "bench",
         "-ll", "-f", "txt"],
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
