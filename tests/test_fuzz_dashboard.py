"""Property-based fuzzing of every dashboard form and query: never a 500, never junk stored."""
from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Callable
from urllib.parse import quote

from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy
from werkzeug.datastructures import MultiDict

from screener.security import normalise_origin
from screener.storage.models import ROLES, Appointment, Client, Clinic, Practitioner, Submission

from .conftest import CONTROL, csrf_of
from .dashboard_support import *  # noqa: F403  (fixtures: accounts, clinics, logged_in, ...)
from .dashboard_support import fetch

# Never a 500; and never 429 either: the tests relax the login limit, so every example reaches
# the form instead of the rate limiter.
# 429: a run of failed logins with one email locks it for a while (a page saying so).
# 308: a path with a doubled slash ("/submissions/0//delete") is redirected to its single-slash
# form (Werkzeug's merge_slashes), which then gets its own answer.
OK_STATUSES = {200, 302, 303, 308, 400, 401, 403, 404, 405, 413, 422, 429}
FUZZ = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# Row ids: the edges of PostgreSQL's INTEGER, huge and negative numbers, digits Python's int()
# reads that are not ASCII, and near-numbers.
ids = (
    st.sampled_from([2**31 - 1, 2**31, 2**63, 10**11, 0]).map(str)
    | st.integers(min_value=-(2**70), max_value=2**70).map(str)
    | st.sampled_from(["\u00b2", "\u0661\u0662", "1.0", "0x1", " 1"])
)
values = st.one_of(
    st.text(max_size=40),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=300),
    st.sampled_from(["", "\x00", "<script>alert(1)</script>", "admin", "practitioner", "owner",
                     "red_flag", "yes", "1", "-1", "99999999999999999999", "2024-02-30",
                     "2025-01-01", "https://a.example", "javascript:alert(1)",
                     "https://x; script-src *", "a@b.c", "x" * 5000, "y", " ", "\t\n",
                     "role", "activate", "deactivate", "0001-01-01", "9999-12-31", "a\x00b@c.d"]),
    ids,
)


def _cursor(raw: str) -> str:
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


# Page links as the list builds them ("<time>|<id>" in base64), with any time zone and any id.
cursors = st.builds(
    lambda at, row_id: _cursor(f"{at.isoformat()}|{row_id}"),
    st.datetimes(timezones=st.timezones() | st.just(dt.UTC)),
    st.integers(min_value=-(2**70), max_value=2**70),
) | st.builds(_cursor, st.text(max_size=60))


@st.composite
def form_data(draw: st.DrawFn, names: list[str]) -> MultiDict[str, str]:
    md: MultiDict[str, str] = MultiDict()
    for name in draw(st.lists(st.sampled_from([*names, "extra", "clinic_id", "id"]), max_size=10)):
        for v in draw(st.lists(values, min_size=1, max_size=2)):
            md.add(name, v)
    return md


def check_invariants(app: Flask) -> None:
    """What the database may hold, whatever was posted."""
    for clinic in fetch(app, Clinic):
        assert 0 < len(clinic.name) <= 200 and not CONTROL.search(clinic.name)
        for origin in clinic.allowed_origins:
            assert normalise_origin(origin) == origin, origin
        assert 1 <= clinic.retention_days <= 36500
        for value, limit in ((clinic.contact_email, 254), (clinic.notify_email, 254),
                             (clinic.contact_phone, 40)):
            assert value is None or (0 < len(value) <= limit and not CONTROL.search(value))
    for person in fetch(app, Practitioner):
        assert person.role in ROLES
        assert "@" in person.email and person.email == person.email.lower()
        assert len(person.email) <= 254 and not CONTROL.search(person.email)
        assert 0 < len(person.name) <= 200 and not CONTROL.search(person.name)
    for sub in fetch(app, Submission):
        assert sub.review_note is None or len(sub.review_note) <= 4000
        assert sub.review_note is None or not CONTROL.search(sub.review_note)
    for clinic in fetch(app, Clinic):
        assert clinic.timezone in {"UTC", "Asia/Hong_Kong", "Europe/London"}, clinic.timezone
    for person in fetch(app, Client):
        assert 0 < len(person.full_name) <= 200 and not CONTROL.search(person.full_name)
        for value, limit in ((person.email, 254), (person.phone, 40)):
            assert value is None or (0 < len(value) <= limit and not CONTROL.search(value))
    now = dt.datetime.now(dt.UTC)
    for appointment in fetch(app, Appointment):
        assert appointment.starts_at > now - dt.timedelta(minutes=5)
        assert appointment.expires_at > appointment.starts_at


def fuzz_form(
    client: FlaskClient, app: Flask, page_url: str, post_url: str, names: list[str],
    anchors: dict[str, SearchStrategy[str]] | None = None,
) -> None:
    """Post arbitrary data to a form, with or without its CSRF token; `anchors` are fields every
    example carries (e.g. the button that picks a branch), drawn from their own strategies."""
    page = client.get(page_url)
    assert page.status_code == 200, (page_url, page.status_code)
    token = csrf_of(page)
    fixed = st.fixed_dictionaries(anchors or {})

    @FUZZ
    @given(data=form_data(names), keep_csrf=st.booleans(), anchored=fixed)
    def run(data: MultiDict[str, str], keep_csrf: bool, anchored: dict[str, str]) -> None:
        if keep_csrf:
            data.setlist("csrf_token", [token])
        for name, value in anchored.items():
            data.setlist(name, [value])
        r = client.post(post_url, data=data)
        assert r.status_code in OK_STATUSES, (post_url, r.status_code)
        check_invariants(app)

    run()


def test_fuzz_login(app: Flask, accounts: dict[str, int]) -> None:
    app.config["LOGIN_RATE_LIMIT"] = "100000 per minute"  # read per request (_login_limit)
    fuzz_form(app.test_client(), app, "/dashboard/login", "/dashboard/login", ["email", "password"])


def test_fuzz_logout(app: Flask, logged_in: Callable[[str], FlaskClient]) -> None:
    """Each example logs in afresh: only the session's own token logs it out."""
    app.config["LOGIN_RATE_LIMIT"] = "100000 per minute"  # a login per example

    @FUZZ
    @given(data=form_data(["next"]), keep_csrf=st.booleans())
    def run(data: MultiDict[str, str], keep_csrf: bool) -> None:
        person = logged_in("pa@example.com")
        token = csrf_of(person.get("/dashboard/account"))
        if keep_csrf:
            data.setlist("csrf_token", [token])
        r = person.post("/dashboard/logout", data=data)
        assert r.status_code in OK_STATUSES, r.status_code
        still_in = person.get("/dashboard/account").status_code == 200
        assert still_in == (data.get("csrf_token") != token)
        check_invariants(app)

    run()


def test_fuzz_review_and_delete(
    app: Flask, logged_in: Callable[[str], FlaskClient], clinics: dict[str, int],
    submission_factory: Callable[..., int],
) -> None:
    admin = logged_in("admin@example.com")
    sub = submission_factory(clinics["demo"])
    detail = f"/dashboard/submissions/{sub}"
    fuzz_form(admin, app, detail, f"{detail}/review", ["note"])
    fuzz_form(admin, app, f"{detail}/delete", f"{detail}/delete", ["confirm", "password"])


def test_fuzz_admin_forms(app: Flask, logged_in: Callable[[str], FlaskClient], accounts: dict[str, int]) -> None:
    admin = logged_in("admin@example.com")
    other = accounts["pa@example.com"]
    fuzz_form(admin, app, "/dashboard/admin/clinic", "/dashboard/admin/clinic",
              ["name", "contact_email", "contact_phone", "notify_email", "allowed_origins", "retention_days",
               "timezone"],
              anchors={"timezone": st.sampled_from(["UTC", "Asia/Hong_Kong", "europe/london"]) | values})
    fuzz_form(admin, app, "/dashboard/admin/practitioners", "/dashboard/admin/practitioners",
              ["email", "name", "role", "password"])
    # Each of its branches (role, activate, deactivate), and unknown actions.
    fuzz_form(admin, app, "/dashboard/admin/practitioners", f"/dashboard/admin/practitioners/{other}",
              ["role", "active", "action"],
              anchors={"action": st.sampled_from(["role", "activate", "deactivate"]) | values,
                       "role": st.sampled_from(list(ROLES)) | values})
    fuzz_form(admin, app, "/dashboard/admin/practitioners", f"/dashboard/admin/practitioners/{other}/password",
              ["password", "repeat"])


def test_fuzz_own_account(app: Flask, logged_in: Callable[[str], FlaskClient]) -> None:
    person = logged_in("pa@example.com")
    fuzz_form(person, app, "/dashboard/account", "/dashboard/account", ["current", "new", "repeat"])


def test_fuzz_list_filters_and_exports(
    app: Flask, logged_in: Callable[[str], FlaskClient], clinics: dict[str, int],
    submission_factory: Callable[..., int],
) -> None:
    admin = logged_in("admin@example.com")
    submission_factory(clinics["demo"])
    # The filter form's fields, the page links, the audit log's submission, the language.
    names = ["severity", "reviewed", "date_from", "date_to", "name", "submission", "lang", "x"]
    pairs = (
        st.tuples(st.sampled_from(names), values)
        | st.tuples(st.sampled_from(["before", "after"]), cursors | values)
        # Any real date, the first and the last included.
        | st.tuples(st.sampled_from(["date_from", "date_to"]),
                    (st.dates() | st.sampled_from([dt.date.min, dt.date.max])).map(str))
    )

    @FUZZ
    @given(query=st.lists(pairs, max_size=6))
    def run(query: list[tuple[str, str]]) -> None:
        for path in ("/dashboard/", "/dashboard/submissions.csv", "/dashboard/admin/audit"):
            r = admin.get(path, query_string=query)
            assert r.status_code in OK_STATUSES, (path, query, r.status_code)
            r.close()

    run()


def test_fuzz_ids_in_urls(
    app: Flask, logged_in: Callable[[str], FlaskClient], clinics: dict[str, int],
    submission_factory: Callable[..., int],
) -> None:
    """Every route with a row id in its path, with any number or text there (PostgreSQL refuses
    an id beyond its INTEGER range: that must be a 404, not a database error)."""
    admin = logged_in("admin@example.com")
    token = csrf_of(admin.get("/dashboard/admin/practitioners"))
    submission_factory(clinics["demo"])
    gets = ["/dashboard/submissions/{}", "/dashboard/submissions/{}.json",
            "/dashboard/submissions/{}.fhir.json", "/dashboard/submissions/{}/delete"]
    posts = ["/dashboard/submissions/{}/review", "/dashboard/submissions/{}/delete",
             "/dashboard/admin/practitioners/{}", "/dashboard/admin/practitioners/{}/password"]

    @FUZZ
    @given(row_id=ids | st.text(max_size=20))
    def run(row_id: str) -> None:
        segment = quote(row_id, safe="")
        for path in gets:
            r = admin.get(path.format(segment))
            assert r.status_code in OK_STATUSES, (path, row_id, r.status_code)
        for path in posts:
            r = admin.post(path.format(segment), data={"csrf_token": token, "action": "activate"})
            assert r.status_code in OK_STATUSES, (path, row_id, r.status_code)
        check_invariants(app)

    run()


# Clients and appointments -------------------------------------------------------------------------

days = (st.dates() | st.sampled_from([dt.date.min, dt.date.max])).map(str)
times = st.times().map(lambda t: t.strftime("%H:%M")) | st.sampled_from(["24:00", "9", "01:30"])


def test_fuzz_invitations(
    app: Flask, logged_in: Callable[[str], FlaskClient], clinics: dict[str, int],
    submission_factory: Callable[..., int],
) -> None:
    person = logged_in("pa@example.com")
    fuzz_form(person, app, "/dashboard/appointments/new", "/dashboard/appointments/new",
              ["client_id", "confirm_new", "name", "email", "phone", "day", "time", "send_email"],
              anchors={"day": days | values, "time": times | values,
                       "name": st.sampled_from(["Alice Chan", "陳美玲"]) | values})
    sub = submission_factory(clinics["demo"])
    detail = f"/dashboard/submissions/{sub}"
    fuzz_form(person, app, detail, f"{detail}/client", ["client_id", "new"],
              anchors={"new": st.sampled_from(["1", ""]) | values})


def test_fuzz_appointment_and_client_lists(
    app: Flask, logged_in: Callable[[str], FlaskClient],
) -> None:
    person = logged_in("pa@example.com")
    names = ["day", "status", "q", "client", "lang", "x"]
    pairs = (
        st.tuples(st.sampled_from(names), values)
        | st.tuples(st.sampled_from(["before", "after"]), cursors | values)
        | st.tuples(st.just("day"), days)
        | st.tuples(st.just("status"), st.sampled_from(["invited", "started", "sent", "reviewed"]))
    )

    @FUZZ
    @given(query=st.lists(pairs, max_size=6), row_id=ids | st.text(max_size=20))
    def run(query: list[tuple[str, str]], row_id: str) -> None:
        for path in ("/dashboard/appointments", "/dashboard/clients", "/dashboard/appointments/new"):
            r = person.get(path, query_string=query)
            assert r.status_code in OK_STATUSES, (path, query, r.status_code)
        segment = quote(row_id, safe="")
        for path in ("/dashboard/appointments/{}", "/dashboard/clients/{}"):
            r = person.get(path.format(segment))
            assert r.status_code in OK_STATUSES, (path, row_id, r.status_code)
        r = person.post(f"/dashboard/appointments/{segment}/send", data={})
        assert r.status_code in OK_STATUSES, (row_id, r.status_code)
        for prefix in ("/c/demo/i/", "/embed/demo/i/"):
            r = person.get(prefix + segment)
            assert r.status_code in OK_STATUSES, (prefix, row_id, r.status_code)

    run()
