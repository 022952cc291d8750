"""The practitioners' dashboard: login and session, the list (filters, counts, keyset pages,
no N+1), the detail page, review, delete, audit log, clinic administration."""

# ruff: noqa: F811  (shared fixtures from dashboard_support are imported by name)
from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, select, update

from screener.dashboard import auth
from screener.dashboard.queries import Cursor
from screener.extensions import db
from screener.questionnaire.model import LANGUAGES
from screener.storage.models import AuditEvent, Clinic, Draft, Practitioner, Submission, utcnow

from .conftest import Walker, csrf_of, start_form
from .dashboard_support import (  # noqa: F401
    PASSWORD,
    accounts,
    add_submission,
    clinics,
    fast_hashing,
    fetch,
    logged_in,
    login,
    submission_factory,
)

pytestmark = pytest.mark.usefixtures("fast_hashing")


def text(r: Any) -> str:
    return str(r.get_data(as_text=True))


def ids_on_page(html: str) -> list[int]:
    return [int(m) for m in re.findall(r'href="/dashboard/submissions/(\d+)"', html)]


def events(app: Flask, action: str) -> list[AuditEvent]:
    return fetch(app, AuditEvent, AuditEvent.action == action)


# Login and the session --------------------------------------------------------------------------


def test_login_redirects_and_sets_a_dashboard_only_session_cookie(
    client: FlaskClient, accounts: dict[str, int]
) -> None:
    r = login(client, "pa@example.com")
    # A practitioner's first page: the appointments.
    assert r.status_code == 302 and r.headers["Location"] == "/dashboard/appointments"
    cookie = next(h for h in r.headers.getlist("Set-Cookie") if h.startswith("session="))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/dashboard" in cookie
    assert "Secure" not in cookie  # plain HTTP here; see the HTTPS test
    assert client.get("/dashboard/").status_code == 200


def test_session_cookie_is_secure_over_https(app: Flask, accounts: dict[str, int]) -> None:
    client = app.test_client()
    page = client.get("/dashboard/login", base_url="https://localhost")
    data = {"csrf_token": csrf_of(page), "email": "pa@example.com", "password": PASSWORD}
    # Over HTTPS a form must come from this site's own page (Flask-WTF checks the Referer,
    # which dashboard pages allow browsers to send to this site only).
    assert page.headers["Referrer-Policy"] == "same-origin"
    elsewhere = client.post(
        "/dashboard/login",
        base_url="https://localhost",
        data=data,
        headers={"Referer": "https://evil.example/login"},
    )
    assert elsewhere.status_code == 400
    r = client.post(
        "/dashboard/login",
        base_url="https://localhost",
        data=data,
        headers={"Referer": "https://localhost/dashboard/login"},
    )
    assert r.status_code == 302
    cookie = next(h for h in r.headers.getlist("Set-Cookie") if h.startswith("session="))
    assert "Secure" in cookie


def test_session_cookie_secure_from_configuration(app: Flask, accounts: dict[str, int]) -> None:
    app.config["SESSION_COOKIE_SECURE"] = True
    r = login(app.test_client(), "pa@example.com")
    cookie = next(h for h in r.headers.getlist("Set-Cookie") if h.startswith("session="))
    assert "Secure" in cookie


@pytest.mark.parametrize(
    ("email", "password"),
    [
        ("pa@example.com", "wrong password!!"),
        ("nobody@example.com", PASSWORD),
        ("PA@example.com ", "wrong password!!"),
        ("x" * 300, PASSWORD),
    ],
)
def test_failed_login_is_generic_and_audited(
    app: Flask, client: FlaskClient, accounts: dict[str, int], email: str, password: str
) -> None:
    r = login(client, email, password)
    assert r.status_code == 401
    assert "The email or the password is not right" in text(r)
    assert client.get("/dashboard/").status_code == 302
    [failed] = events(app, "login_failed")
    assert failed.actor == email.strip().lower()[:254]
    known = email.strip().lower() == "pa@example.com"
    assert failed.practitioner_id == (accounts["pa@example.com"] if known else None)
    assert failed.ip == "127.0.0.1"


def test_deactivated_account_cannot_log_in_and_its_sessions_end(
    app: Flask, accounts: dict[str, int], logged_in: Callable[[str], FlaskClient]
) -> None:
    session_before = logged_in("pa@example.com")
    with app.app_context(), db.transaction() as s:
        account = s.get(Practitioner, accounts["pa@example.com"])
        assert account is not None
        account.active = False
    assert session_before.get("/dashboard/").status_code == 302
    r = login(app.test_client(), "pa@example.com")
    assert r.status_code == 401
    assert "The email or the password is not right" in text(r)


def test_login_is_rate_limited(app: Flask, client: FlaskClient, accounts: dict[str, int]) -> None:
    # Each email address once (a run of failures on one email locks that email sooner: see
    # tests/test_logins.py).
    statuses = [
        login(client, f"nobody{i}@example.com", "wrong password!!").status_code for i in range(11)
    ]
    assert statuses[:10] == [401] * 10
    assert statuses[10] == 429
    # The limit counts attempts from this address, whatever the email and password.
    assert login(client, "pa@example.com").status_code == 429


def test_login_needs_the_csrf_token(client: FlaskClient, accounts: dict[str, int]) -> None:
    r = client.post("/dashboard/login", data={"email": "pa@example.com", "password": PASSWORD})
    assert r.status_code == 400
    assert client.get("/dashboard/").status_code == 302


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/dashboard/admin/audit", "/dashboard/admin/audit"),
        ("https://evil.example/", "/dashboard/appointments"),
        ("//evil.example/dashboard/", "/dashboard/appointments"),
        ("/c/demo/", "/dashboard/appointments"),
        ("/dashboard/\\evil", "/dashboard/appointments"),
    ],
)
def test_login_returns_only_to_dashboard_pages(
    client: FlaskClient, accounts: dict[str, int], target: str, expected: str
) -> None:
    page = client.get("/dashboard/login")
    r = client.post(
        "/dashboard/login",
        query_string={"next": target},
        data={"csrf_token": csrf_of(page), "email": "admin@example.com", "password": PASSWORD},
    )
    assert r.status_code == 302 and r.headers["Location"] == expected


def test_anonymous_visit_goes_to_login_and_back(
    client: FlaskClient, accounts: dict[str, int]
) -> None:
    r = client.get("/dashboard/admin/audit?submission=3")
    assert r.status_code == 302
    assert r.headers["Location"].startswith("/dashboard/login?next=")
    page = client.get(r.headers["Location"])
    form_action = re.search(r'<form method="post" action="([^"]+)"', text(page))
    assert form_action
    r = client.post(
        form_action.group(1).replace("&amp;", "&"),
        data={"csrf_token": csrf_of(page), "email": "admin@example.com", "password": PASSWORD},
    )
    assert r.headers["Location"] == "/dashboard/admin/audit?submission=3"


def test_logout_ends_the_session(app: Flask, logged_in: Callable[[str], FlaskClient]) -> None:
    client = logged_in("pa@example.com")
    page = client.get("/dashboard/")
    r = client.post("/dashboard/logout", data={"csrf_token": csrf_of(page)})
    assert r.status_code == 302 and r.headers["Location"] == "/dashboard/login"
    assert client.get("/dashboard/").status_code == 302
    assert [e.actor for e in events(app, "logout")] == ["pa@example.com"]


def test_password_change_keeps_this_session_and_ends_the_others(
    app: Flask, logged_in: Callable[[str], FlaskClient]
) -> None:
    here, elsewhere = logged_in("pa@example.com"), logged_in("pa@example.com")
    page = here.get("/dashboard/account")
    new = "a brand new passphrase"
    r = here.post(
        "/dashboard/account",
        data={"csrf_token": csrf_of(page), "current": PASSWORD, "new": new, "repeat": new},
    )
    assert r.status_code == 303
    assert here.get("/dashboard/").status_code == 200
    assert elsewhere.get("/dashboard/").status_code == 302
    assert login(app.test_client(), "pa@example.com", new).status_code == 302
    assert login(app.test_client(), "pa@example.com", PASSWORD).status_code == 401


@pytest.mark.parametrize(
    ("current", "new", "repeat", "message"),
    [
        ("wrong current pw", "a brand new passphrase", "a brand new passphrase", "not right"),
        (PASSWORD, "short", "short", "Use 12 to 256 characters"),
        (PASSWORD, "a brand new passphrase", "another passphrase!!", "differ"),
    ],
)
def test_password_change_refused(
    logged_in: Callable[[str], FlaskClient], current: str, new: str, repeat: str, message: str
) -> None:
    client = logged_in("pa@example.com")
    page = client.get("/dashboard/account")
    r = client.post(
        "/dashboard/account",
        data={"csrf_token": csrf_of(page), "current": current, "new": new, "repeat": repeat},
    )
    assert r.status_code == 200 and message in text(r)


def test_default_password_hash_is_argon2id(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.undo()  # the production hasher, not the tests' fast one
    hashed = auth.hash_password("a long enough password")
    assert hashed.startswith("$argon2id$") and "m=65536" in hashed
    with pytest.raises(auth.PasswordError):
        auth.hash_password("too short")


def test_client_pages_never_get_the_practitioner_cookie(
    logged_in: Callable[[str], FlaskClient],
) -> None:
    client = logged_in("pa@example.com")
    r = client.get("/c/demo/")
    assert "Set-Cookie" not in r.headers
    assert "session=" not in r.request.headers.get("Cookie", "")  # its path is /dashboard
    r = client.post("/c/demo/start", data=start_form())
    assert r.status_code == 303 and "Set-Cookie" not in r.headers


# The list ---------------------------------------------------------------------------------------


@pytest.fixture
def clinic_a(clinics: dict[str, int]) -> int:
    return clinics["demo"]


def test_list_is_newest_first_with_counts_at_a_glance(
    app: Flask, clinic_a: int, clinics: dict[str, int], logged_in: Callable[[str], FlaskClient]
) -> None:
    now = utcnow()
    old_red = add_submission(
        app, clinic_a, {"pregnancy": "yes"}, submitted_at=now - dt.timedelta(days=3)
    )
    reviewed_red = add_submission(
        app,
        clinic_a,
        {"age_band": "under_18"},
        submitted_at=now - dt.timedelta(days=2),
        reviewed=True,
    )
    plain = add_submission(app, clinic_a, submitted_at=now - dt.timedelta(days=1))
    add_submission(app, clinics["other"], {"pregnancy": "yes"})  # another clinic's: not counted
    page = text(logged_in("pa@example.com").get("/dashboard/"))
    assert ids_on_page(page) == [plain, reviewed_red, old_red]
    glance = re.search(r'<ul class="glance".*?</ul>', page, re.S)
    assert glance
    numbers = [int(n) for n in re.findall(r"<strong>(\d+)</strong>", glance.group(0))]
    assert numbers == [1, 2]  # red flags not reviewed; not reviewed
    assert "(2 with red flags in all)" in glance.group(0)


def test_list_filters(app: Flask, clinic_a: int, logged_in: Callable[[str], FlaskClient]) -> None:
    now = utcnow()
    red = add_submission(
        app,
        clinic_a,
        {"pregnancy": "yes", "full_name": "Wong Siu-ming"},
        submitted_at=now - dt.timedelta(days=10),
    )
    discuss = add_submission(
        app,
        clinic_a,
        {"blood_thinners": "yes", "full_name": "陳大文"},
        submitted_at=now - dt.timedelta(days=5),
        reviewed=True,
    )
    plain = add_submission(app, clinic_a, {"full_name": "Ann 100%_sure"}, submitted_at=now)
    client = logged_in("pa@example.com")

    def listed(**args: str) -> list[int]:
        r = client.get("/dashboard/", query_string=args)
        assert r.status_code == 200
        return ids_on_page(text(r))

    assert listed(severity="red_flag") == [red]
    assert listed(severity="discuss") == [discuss]
    assert listed(severity="none") == [plain]
    assert listed(reviewed="yes") == [discuss]
    assert listed(reviewed="no") == [plain, red]
    day = lambda d: (now - dt.timedelta(days=d)).date().isoformat()  # noqa: E731
    assert listed(date_from=day(6)) == [plain, discuss]
    assert listed(date_to=day(6)) == [red]
    assert listed(date_from=day(6), date_to=day(4)) == [discuss]
    assert listed(name="大文") == [discuss]
    assert listed(name="wong") == [red]
    assert listed(name="100%_") == [plain]  # LIKE wildcards are matched literally
    assert listed(name="%") == [plain]
    assert listed(severity="red_flag", reviewed="yes") == []


@pytest.mark.parametrize(
    "args",
    [
        {"severity": "fatal"},
        {"reviewed": "maybe"},
        {"date_from": "2025-13-40"},
        {"date_to": "yesterday"},
        {"date_from": "2025-06-10", "date_to": "2025-06-01"},
        {"name": "x" * 5000},
        {"before": "not-a-cursor"},
        {"after": "%%%"},
        {"before": Cursor(dt.datetime(2025, 1, 1, tzinfo=dt.UTC), 1).encode()[:-3]},
        {"lang": "xx"},
    ],
)
def test_list_survives_bad_query_strings(
    app: Flask, clinic_a: int, logged_in: Callable[[str], FlaskClient], args: dict[str, str]
) -> None:
    sid = add_submission(app, clinic_a)
    r = logged_in("pa@example.com").get("/dashboard/", query_string=args)
    assert r.status_code == 200
    page = text(r)
    assert sid in ids_on_page(page) or "No submissions match" in page


def test_keyset_pages_cover_every_submission_once_in_order(
    app: Flask, clinic_a: int, logged_in: Callable[[str], FlaskClient]
) -> None:
    from bench.dashboard_bench import seed_submissions

    with app.app_context():
        seed_submissions(db.session, clinic_a, 120, ties=True)
        expected = list(
            db.session.scalars(
                select(Submission.id)
                .where(Submission.clinic_id == clinic_a)
                .order_by(Submission.submitted_at.desc(), Submission.id.desc())
            )
        )
    client = logged_in("pa@example.com")
    seen: list[int] = []
    url: str | None = "/dashboard/"
    pages = []
    while url:
        page = text(client.get(url))
        pages.append(url)
        seen += ids_on_page(page)
        older = re.search(r'href="([^"]+)" rel="next"', page)
        url = older.group(1).replace("&amp;", "&") if older else None
    assert seen == expected and len(pages) == 3
    # And back again from the last page.
    newer = re.search(r'href="([^"]+)" rel="prev"', text(client.get(pages[-1])))
    assert newer
    assert ids_on_page(text(client.get(newer.group(1).replace("&amp;", "&")))) == expected[50:100]


@pytest.fixture
def count_queries(app: Flask) -> Iterator[list[str]]:
    statements: list[str] = []

    def before(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    engine = db.of(app).engine
    event.listen(engine, "before_cursor_execute", before)
    yield statements
    event.remove(engine, "before_cursor_execute", before)


def test_list_runs_the_same_queries_for_5_or_50_rows(
    app: Flask,
    clinic_a: int,
    accounts: dict[str, int],
    logged_in: Callable[[str], FlaskClient],
    count_queries: list[str],
) -> None:
    from bench.dashboard_bench import seed_submissions

    client = logged_in("pa@example.com")
    with app.app_context():
        seed_submissions(db.session, clinic_a, 5, reviewer_id=accounts["admin@example.com"])
    count_queries.clear()
    assert len(ids_on_page(text(client.get("/dashboard/")))) == 5
    few = len(count_queries)
    with app.app_context():
        seed_submissions(db.session, clinic_a, 60, reviewer_id=accounts["admin@example.com"])
    count_queries.clear()
    assert len(ids_on_page(text(client.get("/dashboard/")))) == 50
    assert len(count_queries) == few
    # The list reads no answers: only the columns it shows.
    listing = [q for q in count_queries if re.search(r"FROM submission\b(?!_)", q)]
    assert len(listing) == 1 and "answers" not in listing[0]


# Detail, review, delete --------------------------------------------------------------------------


def test_detail_page_is_the_practitioner_summary_and_is_audited(
    app: Flask, clinic_a: int, logged_in: Callable[[str], FlaskClient]
) -> None:
    sid = add_submission(app, clinic_a, {"pregnancy": "yes", "full_name": "<b>Mei</b> 陳"})
    r = logged_in("pa@example.com").get(f"/dashboard/submissions/{sid}")
    assert r.status_code == 200
    page = text(r)
    assert 'class="practitioner-summary"' in page
    assert 'id="flag-pregnancy"' in page
    assert "&lt;b&gt;Mei&lt;/b&gt; 陳" in page and "<b>Mei</b>" not in page
    assert "dashboard.css" in page and "Mark as reviewed" in page
    assert r.headers["Cache-Control"] == "no-store"
    [view] = events(app, "view")
    assert view.submission_id == sid and view.actor == "pa@example.com"


def test_detail_page_in_chinese(
    app: Flask, clinic_a: int, logged_in: Callable[[str], FlaskClient]
) -> None:
    sid = add_submission(app, clinic_a, {"pregnancy": "yes"})
    client = logged_in("pa@example.com")
    page = text(client.get(f"/dashboard/submissions/{sid}?lang=zh-Hant"))
    assert '<html lang="zh-Hant">' in page
    qn = app.extensions["questionnaire"]
    assert qn.questions["pregnancy"].label.get("zh-Hant") in page
    # The choice sticks for the session.
    assert '<html lang="zh-Hant">' in text(client.get("/dashboard/"))


def test_print_stylesheet_lays_out_a4(app: Flask) -> None:
    assert app.static_folder
    css = (Path(app.static_folder) / "dashboard.css").read_text()
    block = css[css.index("@media print") :]
    assert "size:A4" in block and ".dash-nav" in block and ".no-print" in block


def test_review_with_note(
    app: Flask, clinic_a: int, accounts: dict[str, int], logged_in: Callable[[str], FlaskClient]
) -> None:
    sid = add_submission(app, clinic_a, {"pregnancy": "yes"})
    client = logged_in("pa@example.com")
    page = client.get(f"/dashboard/submissions/{sid}")
    r = client.post(
        f"/dashboard/submissions/{sid}/review",
        data={"csrf_token": csrf_of(page), "note": "Called her GP; <script>ok</script>"},
    )
    assert r.status_code == 303
    [sub] = fetch(app, Submission, Submission.id == sid)
    assert sub.reviewed_at is not None
    assert sub.reviewed_by_id == accounts["pa@example.com"]
    assert sub.review_note == "Called her GP; <script>ok</script>"
    page = text(client.get(f"/dashboard/submissions/{sid}"))
    assert "Called her GP; &lt;script&gt;ok&lt;/script&gt;" in page and "Save the review" in page
    assert "Reviewed (pa)" in text(client.get("/dashboard/"))
    assert [e.submission_id for e in events(app, "review")] == [sid]


def test_review_needs_csrf_and_a_sane_note(
    app: Flask, clinic_a: int, logged_in: Callable[[str], FlaskClient]
) -> None:
    sid = add_submission(app, clinic_a)
    client = logged_in("pa@example.com")
    assert (
        client.post(f"/dashboard/submissions/{sid}/review", data={"note": "x"}).status_code == 400
    )
    page = client.get(f"/dashboard/submissions/{sid}")
    r = client.post(
        f"/dashboard/submissions/{sid}/review",
        data={"csrf_token": csrf_of(page), "note": "x" * 5000},
    )
    assert r.status_code == 422
    [sub] = fetch(app, Submission, Submission.id == sid)
    assert sub.reviewed_at is None


def test_delete_asks_first_then_deletes_the_submission_and_the_clients_link(
    app: Flask, walk: Callable[..., Walker], session: Any, logged_in: Callable[[str], FlaskClient]
) -> None:
    w = walk()
    assert w.submit().status_code == 303
    [sub] = fetch(app, Submission)
    assert w.get(f"{w.base}/summary").status_code == 200
    client = logged_in("pa@example.com")
    confirm = client.get(f"/dashboard/submissions/{sub.id}/delete")
    assert confirm.status_code == 200 and "cannot be undone" in text(confirm)
    assert fetch(app, Submission)  # asking deleted nothing
    r = client.post(
        f"/dashboard/submissions/{sub.id}/delete", data={"csrf_token": csrf_of(confirm)}
    )
    assert r.status_code == 303 and r.headers["Location"] == "/dashboard/"
    assert fetch(app, Submission) == [] and fetch(app, Draft) == []
    assert client.get(f"/dashboard/submissions/{sub.id}").status_code == 404
    assert w.get(f"{w.base}/summary").status_code == 404
    [deleted] = events(app, "delete")
    assert deleted.submission_id == sub.id and "Mei" not in str(deleted.detail)


# Audit log and clinic administration -------------------------------------------------------------


def test_audit_log_lists_who_did_what(
    app: Flask, clinic_a: int, logged_in: Callable[[str], FlaskClient]
) -> None:
    sid = add_submission(app, clinic_a)
    pa = logged_in("pa@example.com")
    pa.get(f"/dashboard/submissions/{sid}")
    pa.get(f"/dashboard/submissions/{sid}.json")
    pa.get(f"/dashboard/submissions/{sid}.fhir.json")
    assert pa.get("/dashboard/submissions.csv?severity=red_flag").get_data()
    login(app.test_client(), "pa@example.com", "not the password")
    admin = logged_in("admin@example.com")
    page = text(admin.get("/dashboard/admin/audit"))
    rows = re.findall(r'<tr class="audit-(\w+)">\s*<td>[^<]*</td>\s*<td>([^<]*)</td>', page)
    assert rows == [
        ("login", "admin@example.com"),
        ("login_failed", "pa@example.com"),
        ("export_csv", "pa@example.com"),
        ("export_fhir", "pa@example.com"),
        ("export_json", "pa@example.com"),
        ("view", "pa@example.com"),
        ("login", "pa@example.com"),
    ]
    assert "filters: {&#39;severity&#39;: &#39;red_flag&#39;}" in page
    only = text(admin.get(f"/dashboard/admin/audit?submission={sid}"))
    assert len(re.findall(r'<tr class="audit-', only)) == 3


def test_admin_adds_a_practitioner_who_can_then_log_in(
    app: Flask, logged_in: Callable[[str], FlaskClient]
) -> None:
    admin = logged_in("admin@example.com")
    page = admin.get("/dashboard/admin/practitioners")
    r = admin.post(
        "/dashboard/admin/practitioners",
        data={
            "csrf_token": csrf_of(page),
            "email": "New@Example.com",
            "name": "Ng",
            "role": "practitioner",
        },
    )
    assert r.status_code == 200
    password = re.search(r'<p class="password"><code>([^<]+)</code>', text(r))
    assert password
    assert login(app.test_client(), "new@example.com", password.group(1)).status_code == 302
    again = admin.post(
        "/dashboard/admin/practitioners",
        data={
            "csrf_token": csrf_of(page),
            "email": "new@example.com",
            "name": "Ng",
            "role": "admin",
        },
    )
    assert again.status_code == 422 and "already exists" in text(again)


def test_admin_resets_deactivates_and_promotes(
    app: Flask, accounts: dict[str, int], logged_in: Callable[[str], FlaskClient]
) -> None:
    admin, pa = logged_in("admin@example.com"), logged_in("pa@example.com")
    pid = accounts["pa@example.com"]
    token = csrf_of(admin.get("/dashboard/admin/practitioners"))
    r = admin.post(f"/dashboard/admin/practitioners/{pid}/password", data={"csrf_token": token})
    password = re.search(r'<p class="password"><code>([^<]+)</code>', text(r))
    assert password
    assert pa.get("/dashboard/").status_code == 302  # the old session ended
    assert login(app.test_client(), "pa@example.com", password.group(1)).status_code == 302
    r = admin.post(
        f"/dashboard/admin/practitioners/{pid}",
        data={"csrf_token": token, "action": "role", "role": "admin"},
    )
    assert r.status_code == 303
    assert fetch(app, Practitioner, Practitioner.id == pid)[0].role == "admin"
    r = admin.post(
        f"/dashboard/admin/practitioners/{pid}", data={"csrf_token": token, "action": "deactivate"}
    )
    assert r.status_code == 303
    assert fetch(app, Practitioner, Practitioner.id == pid)[0].active is False
    r = admin.post(
        f"/dashboard/admin/practitioners/{pid}", data={"csrf_token": token, "action": "explode"}
    )
    assert r.status_code == 400
    me = accounts["admin@example.com"]
    r = admin.post(
        f"/dashboard/admin/practitioners/{me}", data={"csrf_token": token, "action": "deactivate"}
    )
    assert r.status_code == 403  # no locking oneself out


def test_admin_edits_clinic_settings(
    app: Flask, clinics: dict[str, int], logged_in: Callable[[str], FlaskClient]
) -> None:
    admin = logged_in("admin@example.com")
    page = admin.get("/dashboard/admin/clinic")
    data = {
        "csrf_token": csrf_of(page),
        "name": "Demo Clinic 2",
        "contact_email": "front@example.com",
        "contact_phone": "+852 1234 5678",
        "notify_email": "",
        "allowed_origins": "https://www.example.com\nHTTPS://Shop.Example.com:8443/\n\nhttps://www.example.com",
        "retention_days": "730",
        "timezone": "UTC",
    }
    assert admin.post("/dashboard/admin/clinic", data=data).status_code == 303
    [clinic] = fetch(app, Clinic, Clinic.id == clinics["demo"])
    assert clinic.allowed_origins == ["https://www.example.com", "https://shop.example.com:8443"]
    assert clinic.retention_days == 730 and clinic.name == "Demo Clinic 2"
    assert clinic.notify_email is None
    for bad in (
        {"allowed_origins": "https://a.example; script-src *"},
        {"retention_days": "0"},
        {"retention_days": "many"},
        {"contact_email": "not an email"},
    ):
        r = admin.post("/dashboard/admin/clinic", data={**data, **bad})
        assert r.status_code == 422
    [clinic] = fetch(app, Clinic, Clinic.id == clinics["demo"])
    assert clinic.allowed_origins == ["https://www.example.com", "https://shop.example.com:8443"]
    assert [e.detail["retention_days"] for e in events(app, "clinic_changed")] == [730]


def test_control_characters_never_reach_the_database(
    app: Flask, clinic_a: int, logged_in: Callable[[str], FlaskClient]
) -> None:
    # PostgreSQL refuses NUL in text: a 500 there, junk elsewhere; the forms drop them.
    sid = add_submission(app, clinic_a, {"full_name": "Mei"})
    client = logged_in("pa@example.com")
    page = client.get(f"/dashboard/submissions/{sid}")
    note = "line one\x00\x07\nline two\tend"
    r = client.post(
        f"/dashboard/submissions/{sid}/review", data={"csrf_token": csrf_of(page), "note": note}
    )
    assert r.status_code == 303
    [sub] = fetch(app, Submission, Submission.id == sid)
    assert sub.review_note == "line one\nline two\tend"
    assert ids_on_page(text(client.get("/dashboard/", query_string={"name": "M\x00ei"}))) == [sid]
    r = login(app.test_client(), "pa\x00@example.com\x1b", "whatever password")
    assert r.status_code == 401
    assert [e.actor for e in events(app, "login_failed")] == ["pa@example.com"]


def test_clinic_settings_show_the_embed_snippets(
    app: Flask, logged_in: Callable[[str], FlaskClient], clinics: dict[str, int]
) -> None:
    admin = logged_in("admin@example.com")
    page = admin.get("/dashboard/admin/clinic").get_data(as_text=True)
    # Shown as text to copy (escaped), for the clinic's own slug, script and plain iframe.
    assert "&lt;script" in page and "/embed.js" in page and "<script src=\"http://localhost/embed.js" not in page
    assert "data-screener-clinic=&#34;demo&#34;" in page or "data-screener-clinic=&quot;demo&quot;" in page
    assert "&lt;iframe" in page and "/embed/demo/" in page
    with app.app_context(), db.transaction() as s:
        s.execute(update(Clinic).where(Clinic.id == clinics["demo"]).values(allowed_origins=[]))
    page = admin.get("/dashboard/admin/clinic").get_data(as_text=True)
    assert "&lt;iframe" not in page and "Websites allowed to embed the questionnaire" in page


def test_the_list_names_the_red_flags_in_the_readers_language(
    app: Flask, clinics: dict[str, int], logged_in: Callable[[str], FlaskClient]
) -> None:
    add_submission(
        app, clinics["demo"], {"age_band": "under_18", "pregnancy": "yes", "keloid": "yes"}
    )
    client = logged_in("pa@example.com")
    en = re.sub(r"\s+", " ", text(client.get("/dashboard/")))
    assert "Red flag: Under 18, Pregnancy</span>" in en
    assert "Discuss: 1</span>" in en
    zh = re.sub(r"\s+", " ", text(client.get("/dashboard/?lang=zh-Hant")))
    assert "未滿 18 歲、懷孕</span>" in zh


# A walk through the dashboard in both languages ----------------------------------------------


@pytest.mark.parametrize("lang", LANGUAGES)
def test_dashboard_pages_leave_out_the_clients_footer(
    app: Flask, clinics: dict[str, int], logged_in: Callable[[str], FlaskClient], lang: str
) -> None:
    sub_id = add_submission(app, clinics["demo"])
    admin = logged_in("admin@example.com")
    footer = 'class="site-footer"'
    for path in ("/", f"/submissions/{sub_id}", "/admin/clinic", "/account", "/admin/audit",
                 "/submissions/999999"):
        assert footer not in text(admin.get(f"/dashboard{path}?lang={lang}")), path
    assert footer not in text(app.test_client().get("/dashboard/login"))
    assert footer in text(app.test_client().get("/c/demo/"))  # the clients' pages keep it


@pytest.mark.parametrize("lang", LANGUAGES)
def test_login_page_says_how_an_admin_resets_a_forgotten_password(app: Flask, lang: str) -> None:
    html = text(app.test_client().get(f"/dashboard/login?lang={lang}"))
    assert "flask --app screener set-password" in html
    expected = {"en": "An admin who forgot theirs", "zh-Hant": "管理員忘記自己的密碼時",
                "zh-Hans": "管理员忘记自己的密码时"}
    assert expected[lang] in html


def test_clinic_settings_say_when_email_notices_are_off(
    app: Flask, logged_in: Callable[[str], FlaskClient]
) -> None:
    admin = logged_in("admin@example.com")
    assert app.config["SMTP_HOST"] is None
    html = text(admin.get("/dashboard/admin/clinic"))
    assert 'id="email-off"' in html and "SCREENER_SMTP_HOST" in html
    zh = text(admin.get("/dashboard/admin/clinic?lang=zh-Hant"))
    assert "電子郵件通知已關閉" in zh
    app.config["SMTP_HOST"] = "127.0.0.1"
    assert 'id="email-off"' not in text(admin.get("/dashboard/admin/clinic"))


def test_embed_snippets_have_copy_buttons(
    app: Flask, logged_in: Callable[[str], FlaskClient]
) -> None:
    html = text(logged_in("admin@example.com").get("/dashboard/admin/clinic"))
    for target in ("snippet-script", "snippet-iframe"):
        assert f'<code id="{target}">' in html
        # Shown by dashboard.js where the browser can copy; hidden without script.
        assert re.search(rf'<button type="button" class="button secondary" data-copy="{target}"[^>]*hidden>', html)
    assert re.search(r'<script src="/static/dashboard\.js\?v=[0-9a-f]+" defer>', html)
