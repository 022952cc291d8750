"""Who may reach what: every dashboard and export route against anonymous, a practitioner of
clinic A, the admin of clinic A and a practitioner of clinic B. Another clinic's submission is
a 404, like one that does not exist, so changing an id in a URL reveals nothing."""

# ruff: noqa: F811  (shared fixtures from dashboard_support are imported by name)
from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from .conftest import csrf_of
from .dashboard_support import PASSWORD, accounts, add_submission, clinics, fast_hashing, login  # noqa: F401

PERSONAS = ("anonymous", "practitioner_a", "admin_a", "practitioner_b")
EMAILS = {
    "practitioner_a": "pa@example.com",
    "admin_a": "admin@example.com",
    "practitioner_b": "pb@example.com",
}

# (method, path, form data, expected status per persona in PERSONAS order)
# {sub}: a submission of clinic A; {doomed}: another one, for the delete; {pa}: the account of
# practitioner_a. Anonymous requests go to the login page (302).
ROUTES: list[tuple[str, str, dict[str, str], tuple[int, int, int, int]]] = [
    ("GET", "/dashboard/", {}, (302, 200, 200, 200)),
    ("GET", "/dashboard/?severity=red_flag&reviewed=no", {}, (302, 200, 200, 200)),
    ("GET", "/dashboard/submissions/{sub}", {}, (302, 200, 200, 404)),
    ("POST", "/dashboard/submissions/{sub}/review", {"note": "ok"}, (302, 303, 303, 404)),
    ("GET", "/dashboard/submissions/{sub}.json", {}, (302, 200, 200, 404)),
    ("GET", "/dashboard/submissions/{sub}.fhir.json", {}, (302, 200, 200, 404)),
    ("GET", "/dashboard/submissions.csv", {}, (302, 200, 200, 200)),
    ("GET", "/dashboard/questionnaire.fhir.json", {}, (302, 200, 200, 200)),
    ("GET", "/dashboard/submissions/{doomed}/delete", {}, (302, 200, 200, 404)),
    ("POST", "/dashboard/submissions/{doomed}/delete", {}, (302, 303, 303, 404)),
    ("GET", "/dashboard/account", {}, (302, 200, 200, 200)),
    ("POST", "/dashboard/account", {"current": "nope"}, (302, 200, 200, 200)),
    ("GET", "/dashboard/admin/practitioners", {}, (302, 403, 200, 403)),
    (
        "POST",
        "/dashboard/admin/practitioners",
        {"email": "added@example.com", "name": "Added", "role": "practitioner"},
        (302, 403, 200, 403),
    ),
    (
        "POST",
        "/dashboard/admin/practitioners/{pa}",
        {"action": "role", "role": "practitioner"},
        (302, 403, 303, 403),
    ),
    ("POST", "/dashboard/admin/practitioners/{pa}/password", {}, (302, 403, 200, 403)),
    ("GET", "/dashboard/admin/clinic", {}, (302, 403, 200, 403)),
    (
        "POST",
        "/dashboard/admin/clinic",
        {"name": "Renamed", "retention_days": "365", "allowed_origins": ""},
        (302, 403, 303, 403),
    ),
    ("GET", "/dashboard/admin/audit", {}, (302, 403, 200, 403)),
    ("POST", "/dashboard/logout", {}, (302, 302, 302, 302)),
]


@pytest.fixture
def world(app: Flask, clinics: dict[str, int], accounts: dict[str, int]) -> dict[str, Any]:
    return {
        "sub": add_submission(app, clinics["demo"], {"pregnancy": "yes", "full_name": "Alice A"}),
        "doomed": add_submission(app, clinics["demo"], {"full_name": "Dora A"}),
        "b_sub": add_submission(app, clinics["other"], {"full_name": "Bob B"}),
        "pa": accounts["pa@example.com"],
    }


def client_for(app: Flask, persona: str) -> FlaskClient:
    client = app.test_client()
    if persona != "anonymous":
        assert login(client, EMAILS[persona]).status_code == 302
    return client


def send(client: FlaskClient, persona: str, method: str, path: str, data: dict[str, str]) -> Any:
    if method == "GET":
        return client.get(path)
    # A real CSRF token of this client's own session: the check under test is access, not CSRF.
    page = "/dashboard/login" if persona == "anonymous" else "/dashboard/account"
    return client.post(path, data={"csrf_token": csrf_of(client.get(page)), **data})


@pytest.mark.parametrize("persona", PERSONAS)
def test_access_matrix(app: Flask, world: dict[str, Any], persona: str) -> None:
    column = PERSONAS.index(persona)
    client = client_for(app, persona)
    got, want = {}, {}
    for method, template, data, expected in ROUTES:
        path = template.format(**world)
        response = send(client, persona, method, path, data)
        got[f"{method} {template}"] = response.status_code
        want[f"{method} {template}"] = expected[column]
        if persona == "anonymous":
            assert response.headers["Location"].startswith("/dashboard/login"), path
    assert got == want


def test_anonymous_csrf_token_comes_from_the_login_page(app: Flask, world: dict[str, Any]) -> None:
    # The matrix's anonymous POSTs carry a token; without one they stop even earlier.
    r = app.test_client().post(f"/dashboard/submissions/{world['sub']}/review", data={"note": "x"})
    assert r.status_code == 400


def test_other_clinics_data_never_shows(app: Flask, world: dict[str, Any]) -> None:
    b = client_for(app, "practitioner_b")
    listing = b.get("/dashboard/").get_data(as_text=True)
    assert "Bob B" in listing and "Alice A" not in listing and "Dora A" not in listing
    csv = b.get("/dashboard/submissions.csv").get_data(as_text=True)
    assert "Bob B" in csv and "Alice A" not in csv
    assert "Bob B" not in client_for(app, "practitioner_a").get("/dashboard/").get_data(
        as_text=True
    )


@pytest.mark.parametrize(
    "template",
    [
        "/dashboard/submissions/{id}",
        "/dashboard/submissions/{id}.json",
        "/dashboard/submissions/{id}.fhir.json",
        "/dashboard/submissions/{id}/delete",
    ],
)
def test_changing_the_id_never_reaches_another_clinic(
    app: Flask, world: dict[str, Any], template: str
) -> None:
    b = client_for(app, "practitioner_b")
    own = b.get(template.format(id=world["b_sub"]))
    assert own.status_code == 200
    not_found = {}
    for sid in range(1, world["b_sub"] + 5):  # every id around, A's and nonexistent alike
        if sid == world["b_sub"]:
            continue
        r = b.get(template.format(id=sid))
        not_found[sid] = (r.status_code, "Alice" in r.get_data(as_text=True))
    assert set(not_found.values()) == {(404, False)}


def test_posts_by_id_never_touch_another_clinic(app: Flask, world: dict[str, Any]) -> None:
    from screener.storage.models import Submission

    from .dashboard_support import fetch

    b = client_for(app, "practitioner_b")
    token = csrf_of(b.get("/dashboard/"))
    for sid in (world["sub"], world["doomed"]):
        assert (
            b.post(f"/dashboard/submissions/{sid}/review", data={"csrf_token": token}).status_code
            == 404
        )
        assert (
            b.post(f"/dashboard/submissions/{sid}/delete", data={"csrf_token": token}).status_code
            == 404
        )
    rows = {s.id: s for s in fetch(app, Submission)}
    assert world["sub"] in rows and world["doomed"] in rows
    assert rows[world["sub"]].reviewed_at is None


def test_an_admin_cannot_manage_another_clinics_accounts(
    app: Flask, world: dict[str, Any], clinics: dict[str, int]
) -> None:
    from screener.dashboard import auth
    from screener.extensions import db
    from screener.storage.models import Clinic

    with app.app_context(), db.transaction() as s:
        clinic_b = s.get(Clinic, clinics["other"])
        assert clinic_b is not None
        auth.create_practitioner(s, clinic_b, "adminb@example.com", "B admin", PASSWORD, "admin")
    admin_b = app.test_client()
    assert login(admin_b, "adminb@example.com").status_code == 302
    token = csrf_of(admin_b.get("/dashboard/admin/practitioners"))
    pa = world["pa"]
    r = admin_b.post(f"/dashboard/admin/practitioners/{pa}/password", data={"csrf_token": token})
    assert r.status_code == 404
    r = admin_b.post(
        f"/dashboard/admin/practitioners/{pa}", data={"csrf_token": token, "action": "deactivate"}
    )
    assert r.status_code == 404
    assert "pa@example.com" not in admin_b.get("/dashboard/admin/practitioners").get_data(
        as_text=True
    )
    assert login(app.test_client(), "pa@example.com").status_code == 302  # untouched
    audit = admin_b.get("/dashboard/admin/audit").get_data(as_text=True)
    assert "pa@example.com" not in audit


def test_referrer_stays_on_the_site_for_the_dashboard_only(
    app: Flask, world: dict[str, Any]
) -> None:
    client = client_for(app, "practitioner_a")
    assert (
        client.get(f"/dashboard/submissions/{world['sub']}").headers["Referrer-Policy"]
        == "same-origin"
    )
    assert client.get("/dashboard/login").headers["Referrer-Policy"] == "same-origin"
    assert client.get("/c/demo/").headers["Referrer-Policy"] == "no-referrer"


@pytest.mark.parametrize("user_id", ["99999999999:key", "2147483648:key", "\u00b2:key", "1:", "x"])
def test_a_session_naming_no_possible_account_is_logged_out(
    app: Flask, accounts: dict[str, int], user_id: str
) -> None:
    """A login session whose account id is not a row id (too large for the column, digits that
    are not ASCII, no key) is no session: the login page, never a database error."""
    client = app.test_client()
    with client.session_transaction("/dashboard/") as sess:  # the session lives there only
        sess["_user_id"] = user_id
    r = client.get("/dashboard/")
    assert r.status_code == 302 and r.headers["Location"].startswith("/dashboard/login")
