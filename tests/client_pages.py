"""Every client page over HTTP, as the server sends it: for the HTML checker and the weight test.

`client_pages` walks the questionnaire with the test client and keeps the response of each page
a person can meet: the start page, a draft's intro page, every step before and after an empty Continue (errors shown),
the review page, the summary, the embedded layout and the error pages.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from .conftest import Walker, answers_by_step, consent_fields, csrf_of, future, past

ACCEPT_LANGUAGE = {
    "en": "en-GB,en;q=0.8", "zh-Hant": "zh-TW,zh;q=0.8", "zh-Hans": "zh-CN,zh;q=0.8"
}

# Answers that reveal conditional questions and raise flags of each severity, so the summary
# shows every kind of section.
JOURNEY_ANSWERS: dict[str, dict[str, Any]] = answers_by_step(
    upcoming_event="yes",
    upcoming_event_date=future(20),
    pain_sensitivity="8",
    fainting_history="yes",
    blood_thinners="yes",
    blood_thinners_which="Apixaban",
    bleeding_supplements=["fish_oil"],
    new_symptoms="yes",
    recent_procedures=["botox"],
    botox_when=past(5),
)


def client_pages(
    client: FlaskClient, lang: str, headers: dict[str, str] | None = None
) -> dict[str, TestResponse]:
    """The response of every client page, each requested with `headers` (e.g. Accept-Encoding)."""
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = ACCEPT_LANGUAGE.get(lang, lang)
    extra = headers or {}
    pages: dict[str, TestResponse] = {}

    def keep(name: str, response: TestResponse, status: int = 200) -> None:
        assert response.status_code == status, (name, response.status_code)
        pages[name] = response

    def post_kept(url: str, data: dict[str, Any], name: str) -> TestResponse:
        form = {"csrf_token": csrf_of(client.get(url)), "action": "continue", **data}
        response = client.post(url, data=form, headers=extra)
        if response.status_code == 200:
            keep(name, response)
        return response

    keep("start", client.get("/c/demo/", headers=extra))
    walker = Walker(client)
    walker.start(lang)
    keep("intro", client.get(f"{walker.base}/intro", headers=extra))
    for step_id, answers in JOURNEY_ANSWERS.items():
        assert f"/s/{step_id}" in walker.url, walker.url
        keep(step_id, client.get(walker.url, headers=extra))
        post_kept(walker.url, {}, f"{step_id}-errors")
        assert walker.post_step(answers).status_code == 303, step_id
    review = client.get(f"{walker.base}/review", headers=extra)
    keep("review", review)
    plain = client.get(f"{walker.base}/review")  # not compressed: read for its fields
    unsigned = {"csrf_token": csrf_of(plain), **consent_fields(plain), "signed_name": ""}
    keep("review-errors", client.post(f"{walker.base}/submit", data=unsigned, headers=extra))
    assert walker.submit().status_code == 303
    keep("summary", client.get(f"{walker.base}/summary", headers=extra))
    keep("summary-sent-twice", client.get(f"{walker.base}/summary?sent=1", headers=extra))

    embed = Walker(client, prefix="/embed/demo")
    keep("embed-start", client.get("/embed/demo/", headers=extra))
    embed.start(lang)
    keep("embed-step", client.get(embed.url, headers=extra))
    post_kept(embed.url, {}, "embed-step-errors")
    keep("error-400", client.post(embed.url, data={"csrf_token": "stale"}, headers=extra), 400)
    keep("error-404", client.get("/c/no-such-clinic/", headers=extra), 404)
    keep("error-404-draft", client.get("/c/demo/d/not-a-real-draft-token/", headers=extra), 404)
    keep("error-405", client.get("/c/demo/start", headers=extra), 405)
    assert "embed-step-errors" in pages and "details-errors" in pages
    return pages


STAFF_PASSWORD = "correct horse battery staple"


def dashboard_pages(
    app: Any, client: FlaskClient, lang: str, monkeypatch: Any
) -> dict[str, TestResponse]:
    """Every dashboard page a clinic admin meets, after a client's submission (logged in)."""
    from argon2 import PasswordHasher
    from sqlalchemy import select

    from screener.dashboard import auth
    from screener.extensions import db
    from screener.storage.models import Appointment, Clinic, Submission

    monkeypatch.setattr(
        auth, "hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    )
    email = f"admin-{lang.lower()}@example.com"
    with app.app_context(), db.transaction() as s:
        clinic = s.scalars(select(Clinic).where(Clinic.slug == "demo")).one()
        auth.create_practitioner(s, clinic, email, "Admin", STAFF_PASSWORD, "admin")
    with app.app_context():  # the API and webhook pages with rows (and buttons) in their tables
        from screener.dashboard import operations

        demo = db.session.scalars(select(Clinic).where(Clinic.slug == "demo")).one()
        for n in (1, 2):
            operations.create_api_token_cli(demo, f"Records system {n}")
            operations.add_webhook_cli(demo, f"https://ehr{n}.example.com/hooks", n == 2)
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = ACCEPT_LANGUAGE.get(lang, lang)
    walker = Walker(client)
    walker.start(lang)
    for answers in JOURNEY_ANSWERS.values():
        walker.post_step(answers)
    assert walker.submit().status_code == 303
    with app.app_context():
        submission_id = db.session.scalars(select(Submission.id)).first()

    pages: dict[str, TestResponse] = {}
    login = client.get("/dashboard/login")
    pages["login"] = login
    form = {"csrf_token": csrf_of(login), "email": email}
    pages["login-failed"] = client.post("/dashboard/login", data={**form, "password": "wrong"})
    assert (
        client.post("/dashboard/login", data={**form, "password": STAFF_PASSWORD}).status_code
        == 302
    )
    invited = app.test_cli_runner().invoke(args=[
        "invite", "demo", "--name", f"Client {lang}", "--email", "client@example.com",
        "--appointment", f"{dt.date.today() + dt.timedelta(days=1)} 10:30", "--new-client",
    ])
    assert invited.exit_code == 0, invited.output
    link = invited.stdout.strip().removeprefix("http://127.0.0.1:5000")
    with app.app_context():
        appointment_id, client_id = db.session.execute(
            select(Appointment.id, Appointment.client_id).order_by(Appointment.id.desc())
        ).first()
    invite_form = client.get("/dashboard/appointments/new")
    pages["invite"] = invite_form
    pages["invite-errors"] = client.post(
        "/dashboard/appointments/new",
        data={"csrf_token": csrf_of(invite_form), "email": "x@", "day": "2020-01-01", "time": ""},
    )
    pages["invite-matches"] = client.post(
        "/dashboard/appointments/new",
        data={"csrf_token": csrf_of(invite_form), "name": f"Client {lang}",
              "day": str(dt.date.today() + dt.timedelta(days=3)), "time": "11:00"},
    )
    assert pages["invite-matches"].status_code == 200
    pages["invitation-unknown"] = client.get("/c/demo/i/" + "A" * 32)
    for name, url in {
        "appointments": "/dashboard/appointments",
        "appointments-filtered": "/dashboard/appointments?status=invited&day=2020-01-01",
        "appointment": f"/dashboard/appointments/{appointment_id}",
        "clients": "/dashboard/clients?q=client",
        "client": f"/dashboard/clients/{client_id}",
        "index": "/dashboard/",
        "index-filtered": "/dashboard/?severity=red_flag&reviewed=no",
        "submission": f"/dashboard/submissions/{submission_id}",
        "delete": f"/dashboard/submissions/{submission_id}/delete",
        "account": "/dashboard/account",
        "practitioners": "/dashboard/admin/practitioners",
        "clinic": "/dashboard/admin/clinic",
        "audit": "/dashboard/admin/audit",
        "sessions": "/dashboard/admin/sessions",
        "api": "/dashboard/admin/api",
        "webhooks": "/dashboard/admin/webhooks",
        "dropoff": "/dashboard/admin/dropoff",
        "dropoff-errors": "/dashboard/admin/dropoff?date_from=2026-02-30&language=xx",
        "exports": "/dashboard/exports",
        "not-found": "/dashboard/submissions/999999",
    }.items():
        pages[name] = client.get(url)
    assert pages["index"].status_code == 200 and pages["not-found"].status_code == 404
    pages["clinic-texts"] = client.get("/dashboard/admin/clinic/texts")
    pages["clinic-texts-preview"] = client.post("/dashboard/admin/clinic/texts", data={
        "csrf_token": csrf_of(pages["clinic-texts"]), "offered": ["en", "zh-Hant"],
        "default_lang": "en", "en-intro": "Welcome.\nhttps://www.example.com",
        "zh_Hant-next_steps": "請致電 2345 6789。", "en-address": "1 Road\nHong Kong",
        "action": "preview",
    })
    assert pages["clinic-texts-preview"].status_code == 200
    assert pages["appointment"].status_code == 200 and pages["client"].status_code == 200
    assert client.get(link).status_code == 303
    # A list larger than the CSV streaming bound: the page offering to prepare the file, then
    # the Exports page with the file being prepared.
    bound = app.config["CSV_STREAM_ROWS"]
    app.config["CSV_STREAM_ROWS"] = 0
    pages["export-large"] = client.get("/dashboard/submissions.csv")
    app.config["CSV_STREAM_ROWS"] = bound
    client.post("/dashboard/exports", data={"csrf_token": csrf_of(pages["export-large"])})
    pages["exports-pending"] = client.get("/dashboard/exports")
    assert "Being prepared" in pages["exports-pending"].get_data(as_text=True) or lang != "en"
    return pages
