"""Dashboard logins: sessions kept on the server (logout, password change, deactivation and an
admin end them), the account page's limit on current-password checks, the lock after failed
logins, the password policy (no weak or common passwords), and accounts that tell a clinic
admin nothing about other clinics."""

# ruff: noqa: F811  (shared fixtures from dashboard_support are imported by name)
from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import update

from screener.dashboard import auth
from screener.extensions import db
from screener.storage.models import AuditEvent, LoginSession, LoginThrottle, Practitioner, utcnow

from .conftest import csrf_of
from .dashboard_support import (  # noqa: F401
    PASSWORD,
    accounts,
    clinics,
    fast_hashing,
    fetch,
    logged_in,
    login,
)

pytestmark = pytest.mark.usefixtures("fast_hashing")


def text(r: Any) -> str:
    return str(r.get_data(as_text=True))


def events(app: Flask, action: str) -> list[AuditEvent]:
    """The audit entries of an action, oldest first (a SELECT without ORDER BY has no order)."""
    return sorted(fetch(app, AuditEvent, AuditEvent.action == action), key=lambda e: e.id)


def copy_of(app: Flask, client: FlaskClient) -> FlaskClient:
    """Another browser holding a copy of this client's session cookie."""
    cookie = client.get_cookie("session", path="/dashboard")
    assert cookie is not None
    other = app.test_client()
    other.set_cookie("session", cookie.value, path="/dashboard")
    return other


def post_with_token(client: FlaskClient, page: str, url: str, **data: str) -> Any:
    return client.post(url, data={"csrf_token": csrf_of(client.get(page)), **data})


# Sessions --------------------------------------------------------------------------------------


def test_a_copied_session_cookie_stops_working_at_logout(
    app: Flask, logged_in: Callable[[str], FlaskClient]
) -> None:
    client = logged_in("pa@example.com")
    copied = copy_of(app, client)
    assert copied.get("/dashboard/").status_code == 200
    r = post_with_token(client, "/dashboard/", "/dashboard/logout")
    assert r.status_code == 302
    assert copied.get("/dashboard/").status_code == 302  # the server forgot the login
    assert fetch(app, LoginSession) == []


def test_sessions_end_at_password_change_and_deactivation(
    app: Flask, accounts: dict[str, int], logged_in: Callable[[str], FlaskClient]
) -> None:
    here, elsewhere = logged_in("pa@example.com"), logged_in("pa@example.com")
    new = "a brand new passphrase"
    r = post_with_token(
        here, "/dashboard/account", "/dashboard/account", current=PASSWORD, new=new, repeat=new
    )
    assert r.status_code == 303
    assert here.get("/dashboard/").status_code == 200
    assert elsewhere.get("/dashboard/").status_code == 302
    pa = accounts["pa@example.com"]
    assert len(fetch(app, LoginSession, LoginSession.practitioner_id == pa)) == 1
    admin = logged_in("admin@example.com")
    r = post_with_token(
        admin, "/dashboard/admin/practitioners", f"/dashboard/admin/practitioners/{pa}",
        action="deactivate",
    )
    assert r.status_code == 303
    assert fetch(app, LoginSession, LoginSession.practitioner_id == pa) == []
    assert here.get("/dashboard/").status_code == 302


def test_an_admin_sees_the_clinics_sessions_and_ends_one(
    app: Flask, accounts: dict[str, int], logged_in: Callable[[str], FlaskClient]
) -> None:
    pa, pb = logged_in("pa@example.com"), logged_in("pb@example.com")
    admin = logged_in("admin@example.com")
    page = admin.get("/dashboard/admin/sessions", headers={"User-Agent": "Firefox/140"})
    assert page.status_code == 200
    html = text(page)
    assert "pa@example.com" in html and "admin@example.com" in html
    assert "pb@example.com" not in html  # another clinic's
    ends = dict(
        (email, sid) for sid, email in re.findall(
            r'action="/dashboard/admin/sessions/(\d+)/end"[^<]*>\s*<input[^>]*>\s*'
            r'<button[^>]*>End session of ([^<]+)<', html
        )
    )
    assert set(ends) == {"pa@example.com"}
    r = admin.post(
        f"/dashboard/admin/sessions/{ends['pa@example.com']}/end",
        data={"csrf_token": csrf_of(page)},
    )
    assert r.status_code == 303
    assert pa.get("/dashboard/").status_code == 302
    assert pb.get("/dashboard/").status_code == 200
    [ended] = events(app, "session_ended")
    assert ended.actor == "admin@example.com" and ended.detail["email"] == "pa@example.com"
    # Not for a practitioner, and never another clinic's session.
    assert logged_in("pa@example.com").get("/dashboard/admin/sessions").status_code == 403
    [pb_row] = fetch(app, LoginSession, LoginSession.practitioner_id == accounts["pb@example.com"])
    r = admin.post(f"/dashboard/admin/sessions/{pb_row.id}/end", data={"csrf_token": csrf_of(page)})
    assert r.status_code == 404
    assert pb.get("/dashboard/").status_code == 200


def test_a_session_ends_when_idle_and_at_its_maximum_age(
    app: Flask, logged_in: Callable[[str], FlaskClient]
) -> None:
    client = logged_in("pa@example.com")
    assert client.get("/dashboard/").status_code == 200
    long_ago = utcnow() - app.config["PERMANENT_SESSION_LIFETIME"] - dt.timedelta(minutes=1)
    with app.app_context(), db.transaction() as s:
        s.execute(update(LoginSession).values(last_seen_at=long_ago))
    assert client.get("/dashboard/").status_code == 302
    busy = logged_in("pa@example.com")
    too_old = utcnow() - app.config["SESSION_MAX_AGE"] - dt.timedelta(minutes=1)
    with app.app_context(), db.transaction() as s:
        s.execute(update(LoginSession).values(created_at=too_old))
    assert busy.get("/dashboard/").status_code == 302


# The current-password check on the account page ------------------------------------------------


def test_wrong_current_passwords_are_limited_per_account_and_per_address(
    app: Flask, logged_in: Callable[[str], FlaskClient]
) -> None:
    app.config["PASSWORD_CHECK_RATE_LIMIT"] = "3 per 15 minutes"
    new = "a brand new passphrase"

    def attempt(client: FlaskClient, current: str, address: str) -> int:
        page = client.get("/dashboard/account", environ_base={"REMOTE_ADDR": address})
        r = client.post(
            "/dashboard/account", environ_base={"REMOTE_ADDR": address},
            data={"csrf_token": csrf_of(page), "current": current, "new": new, "repeat": new},
        )
        return r.status_code

    pa = logged_in("pa@example.com")
    assert [attempt(pa, "wrong guess number", "192.0.2.1") for _ in range(4)] == [200] * 3 + [429]
    # The account's limit holds from another address, even for the right password.
    assert attempt(pa, PASSWORD, "192.0.2.2") == 429
    # The address's limit holds for another account; elsewhere that account is not limited.
    admin = logged_in("admin@example.com")
    assert attempt(admin, "another wrong one", "192.0.2.1") == 429
    assert attempt(admin, PASSWORD, "192.0.2.3") == 303  # a right password is not counted


# Failed logins lock the email for a while -----------------------------------------------------


@pytest.mark.parametrize("email", ["pa@example.com", "nobody@example.com"])
def test_failed_logins_lock_the_email_progressively(
    app: Flask, accounts: dict[str, int], email: str
) -> None:
    """The same for an email without an account: the lock tells nobody which emails exist."""
    statuses = [login(app.test_client(), email, f"wrong password {i}").status_code
                for i in range(5)]
    assert statuses == [401, 401, 401, 401, 429]
    r = login(app.test_client(), email, PASSWORD)  # even the right password now waits
    assert r.status_code == 429
    assert "Too many failed attempts with this email address. Try again in 1 minute." in text(r)
    assert r.headers["Retry-After"] == "60"
    [locked] = events(app, "login_locked")
    assert locked.actor == email and locked.detail == {"failures": 5, "seconds": 30}
    known = email == "pa@example.com"
    assert locked.practitioner_id == (accounts[email] if known else None)
    assert [e.detail for e in events(app, "login_failed")][-1] == {"locked": True}
    # Once the lock is over, the next failure locks for twice as long.
    with app.app_context(), db.transaction() as s:
        s.execute(update(LoginThrottle).values(locked_until=utcnow() - dt.timedelta(seconds=1)))
    assert login(app.test_client(), email, "wrong again!!").status_code == 429
    [row] = fetch(app, LoginThrottle)
    assert row.failures == 6 and row.locked_until is not None
    assert dt.timedelta(seconds=55) < row.locked_until - utcnow() <= dt.timedelta(seconds=60)
    if known:  # after the lock, the right password logs in and the count starts again
        with app.app_context(), db.transaction() as s:
            s.execute(update(LoginThrottle).values(locked_until=None))
        assert login(app.test_client(), email, PASSWORD).status_code == 302
        assert fetch(app, LoginThrottle) == []


# The password policy ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "weak", ["aaaaaaaaaaaa", "password1234", "qwertyuiopas", "pa@example.com1", "iloveyou2024!"]
)
def test_weak_and_common_passwords_are_refused(
    app: Flask, logged_in: Callable[[str], FlaskClient], weak: str
) -> None:
    client = logged_in("pa@example.com")
    r = post_with_token(
        client, "/dashboard/account", "/dashboard/account", current=PASSWORD, new=weak, repeat=weak
    )
    assert r.status_code == 200 and "This password is too easy to guess" in text(r)
    assert login(app.test_client(), "pa@example.com", weak).status_code == 401
    with pytest.raises(auth.WeakPasswordError):
        auth.hash_password(weak, ["pa@example.com"])
    result = app.test_cli_runner().invoke(
        args=["set-password", "pa@example.com"], input=weak + "\n"
    )
    assert result.exit_code == 1 and "too easy to guess" in result.output


def test_generated_passwords_pass_the_policy() -> None:
    for _ in range(20):
        auth.check_password_policy(auth.generate_password())


# Adding an account tells nothing about other clinics -----------------------------------------


def test_adding_an_email_of_another_clinic_looks_like_adding_a_new_one(
    app: Flask, clinics: dict[str, int], logged_in: Callable[[str], FlaskClient]
) -> None:
    """pb@example.com has an account at the other clinic: the demo clinic's admin adds it as any
    new email, and each account logs in to its own clinic with its own password."""
    admin = logged_in("admin@example.com")

    def add(email: str) -> Any:
        return post_with_token(
            admin, "/dashboard/admin/practitioners", "/dashboard/admin/practitioners",
            email=email, name="Someone", role="practitioner",
        )

    existing, fresh = add("pb@example.com"), add("fresh@example.com")
    assert existing.status_code == fresh.status_code == 200

    for r in (existing, fresh):  # the same answer: the account is added, its password shown
        assert '<p class="password"><code>' in text(r)
        assert "field-error" not in text(r) and "already" not in text(r)
    password = re.search(r'<p class="password"><code>([^<]+)</code>', text(existing))
    assert password
    by_clinic = {
        p.clinic_id: p.id for p in fetch(app, Practitioner, Practitioner.email == "pb@example.com")
    }
    assert set(by_clinic) == {clinics["demo"], clinics["other"]}
    for password_typed, clinic in ((password.group(1), "demo"), (PASSWORD, "other")):
        client = app.test_client()
        assert login(client, "pb@example.com", password_typed).status_code == 302
        assert client.get("/dashboard/").status_code == 200
        newest = max(fetch(app, LoginSession), key=lambda row: row.id)
        assert newest.practitioner_id == by_clinic[clinics[clinic]]
    again = add("pb@example.com")  # within one clinic an email is still unique (and listed)
    assert again.status_code == 422 and "already exists" in text(again)

