"""Clients and invitations to appointments: from the command line and the dashboard, walked
end to end by the client's personal link; bad input refused with a clear message."""
# ruff: noqa: F811  (shared fixtures from dashboard_support are imported by name)
from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import update

from screener import outbox
from screener.extensions import db
from screener.storage.models import Appointment, AuditEvent, Client, Clinic, Draft, Submission

from .conftest import STEP_ANSWERS, Walker, drafts, submissions
from .dashboard_support import (  # noqa: F401
    accounts,
    add_submission,
    clinics,
    fast_hashing,
    fetch,
    logged_in,
)
from .test_notify import Inbox, body_of, inbox  # noqa: F401

pytestmark = pytest.mark.usefixtures("fast_hashing")

LINK_RE = re.compile(r"^https?://[^/]+(/c/demo/i/([A-Za-z0-9_-]{32}))$")


def soon(days: int = 3, hour: int = 10) -> str:
    """An appointment `days` from now, as the command line takes it."""
    return f"{dt.date.today() + dt.timedelta(days=days)} {hour:02d}:30"


def cli(app: Flask, *args: str) -> tuple[int, str]:
    """Exit code and what was printed (standard output and error)."""
    result = app.test_cli_runner().invoke(args=list(args))
    return result.exit_code, result.output


def invite(app: Flask, *args: str) -> str:
    """`flask invite demo ...`: the path of the link it prints (alone on standard output)."""
    result = app.test_cli_runner().invoke(args=["invite", "demo", *args])
    assert result.exit_code == 0, result.output
    m = LINK_RE.match(result.stdout.strip())
    assert m, result.output
    return m.group(1)


def set_zone(app: Flask, name: str, **contact: str) -> None:
    with app.app_context(), db.transaction() as s:
        s.execute(update(Clinic).where(Clinic.slug == "demo").values(timezone=name, **contact))


def events(app: Flask, action: str) -> list[AuditEvent]:
    return fetch(app, AuditEvent, AuditEvent.action == action)


def walk_from(client: FlaskClient, path: str, **overrides: dict[str, str]) -> Walker:
    """Open an invitation link and answer every step (the details as the page has them)."""
    r = client.get(path)
    assert r.status_code == 303, r.status_code
    resume = r.headers["Location"]
    assert "/d/" in resume and path.rsplit("/", 1)[1] in resume  # the draft's token is the link's
    walker = Walker(client)
    walker.url = client.get(resume).headers["Location"]
    for step_id, answers in STEP_ANSWERS.items():
        assert f"/s/{step_id}" in walker.url, walker.url
        data = {**answers, **overrides.get(step_id, {})}
        if step_id == "details":
            data = {k: v for k, v in data.items() if k.startswith("consent")}
            page = client.get(walker.url).get_data(as_text=True)
            for qid in ("full_name", "email", "phone"):
                m = re.search(rf'name="{qid}"[^>]*value="([^"]*)"', page)
                if m:
                    data[qid] = m.group(1)
        r = walker.post_step(data)
        assert r.status_code == 303, (step_id, r.get_data(as_text=True)[-1500:])
    assert walker.url.endswith("/review"), walker.url
    return walker


# The command line ---------------------------------------------------------------------------------


def test_an_invitation_from_the_command_line_walked_end_to_end(app: Flask) -> None:
    set_zone(app, "Asia/Hong_Kong")
    path = invite(
        app, "--name", "Alice Chan", "--email", "alice@example.com", "--phone", "+852 5555 0000",
        "--appointment", soon(),
    )
    [client] = fetch(app, Client)
    assert (client.full_name, client.email, client.phone) == (
        "Alice Chan", "alice@example.com", "+852 5555 0000"
    )
    [appointment] = fetch(app, Appointment)
    token = path.rsplit("/", 1)[1]
    assert token not in str(vars(appointment))  # only its hash is stored
    local = appointment.starts_at.astimezone(ZoneInfo("Asia/Hong_Kong"))
    assert (local.hour, local.minute) == (10, 30)
    # The link's end: the end of that day in Hong Kong.
    assert appointment.expires_at == dt.datetime.combine(
        local.date() + dt.timedelta(days=1), dt.time(), tzinfo=ZoneInfo("Asia/Hong_Kong")
    )

    web = app.test_client()
    walker = walk_from(web, path)
    details = web.get(walker.url.replace("/review", "/s/details")).get_data(as_text=True)
    assert 'value="Alice Chan"' in details and 'value="alice@example.com"' in details
    assert walker.submit().status_code == 303
    [sub] = submissions(db.of(app).sessions())
    assert (sub.client_id, sub.appointment_id) == (client.id, appointment.id)
    assert sub.answers["full_name"] == "Alice Chan"
    # Opening the link again makes no second draft: it says the answers were sent.
    again = web.get(path)
    assert again.status_code == 200
    assert "You have already sent your answers" in again.get_data(as_text=True)
    assert len(fetch(app, Draft)) == 1
    assert [e.detail["client_id"] for e in events(app, "invited")] == [client.id]


def test_opening_the_link_twice_resumes_the_same_draft(app: Flask) -> None:
    path = invite(app, "--name", "Bo Lee", "--appointment", soon())
    web = app.test_client()
    first = web.get(path).headers["Location"]
    assert web.get(path).headers["Location"] == first
    [draft] = fetch(app, Draft)
    assert draft.answers == {"full_name": "Bo Lee"}
    [appointment] = fetch(app, Appointment)
    assert draft.appointment_id == appointment.id and draft.expires_at == appointment.expires_at


def test_a_known_client_is_invited_by_id(app: Flask) -> None:
    invite(app, "--name", "Alice Chan", "--email", "alice@example.com", "--appointment", soon())
    [client] = fetch(app, Client)
    invite(app, "--client", str(client.id), "--appointment", soon(days=10))
    assert len(fetch(app, Client)) == 1
    assert [a.client_id for a in fetch(app, Appointment)] == [client.id, client.id]


def test_a_possible_same_person_is_never_made_twice_silently(app: Flask) -> None:
    invite(app, "--name", "Alice Chan", "--email", "alice@example.com", "--appointment", soon())
    [known] = fetch(app, Client)
    for details in (
        ["--name", "A. Chan", "--email", "ALICE@example.com"],
        ["--name", "Chan Alice"],
        ["--name", "Alice Chen"],
    ):
        code, out = cli(app, "invite", "demo", *details, "--appointment", soon(days=5))
        assert code == 1, out
        assert f"--client {known.id}: Alice Chan" in out and "--new-client" in out
    assert len(fetch(app, Client)) == 1 and len(fetch(app, Appointment)) == 1
    invite(app, "--name", "Alice Chen", "--new-client", "--appointment", soon(days=5))
    assert len(fetch(app, Client)) == 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["invite", "nowhere", "--name", "A", "--appointment", soon()], "no clinic with slug"),
        (["invite", "demo", "--name", "A", "--appointment", "tomorrow 10am"], "YYYY-MM-DD HH:MM"),
        (["invite", "demo", "--name", "A", "--appointment", "2020-01-01 10:00"], "has passed"),
        (["invite", "demo", "--name", "A", "--appointment", "0001-01-01 00:00"], "has passed"),
        (["invite", "demo", "--name", "A", "--appointment", "9999-12-31 23:59"],
         "more than five years ahead"),
        (["invite", "demo", "--name", "A", "--email", "alice@", "--appointment", soon()],
         "not an email address"),
        (["invite", "demo", "--name", "A", "--phone", "call me", "--appointment", soon()],
         "not a phone number"),
        (["invite", "demo", "--appointment", soon()], "--name"),
        (["invite", "demo", "--client", "999", "--appointment", soon()], "has no client 999"),
    ],
)
def test_bad_input_on_the_command_line(app: Flask, args: list[str], message: str) -> None:
    code, out = cli(app, *args)
    assert code != 0 and message in out, out
    assert "Traceback" not in out
    assert fetch(app, Client) == [] and fetch(app, Appointment) == []


def test_a_time_the_clocks_skip_is_refused(app: Flask) -> None:
    set_zone(app, "Europe/London")
    # The last Sunday of March of next year: at 01:00 the clocks go forward to 02:00.
    year = dt.date.today().year + 1
    day = max(dt.date(year, 3, d) for d in range(25, 32) if dt.date(year, 3, d).weekday() == 6)
    code, out = cli(app, "invite", "demo", "--name", "A", "--appointment", f"{day} 01:30")
    assert code == 1 and "does not exist in Europe/London" in out
    path = invite(app, "--name", "A", "--new-client", "--appointment", f"{day} 02:30")
    [appointment] = fetch(app, Appointment)
    assert appointment.starts_at == dt.datetime.combine(day, dt.time(1, 30), tzinfo=dt.UTC)
    assert path


def test_two_invitations_for_the_same_appointment_make_one(app: Flask) -> None:
    when = soon()
    first = invite(app, "--name", "Alice Chan", "--appointment", when)
    [client] = fetch(app, Client)
    code, out = cli(app, "invite", "demo", "--client", str(client.id), "--appointment", when)
    assert code == 1 and "invited to that appointment already" in out
    assert first in out  # the existing link, to copy
    assert len(fetch(app, Appointment)) == 1


def test_the_invitation_email(app: Flask, inbox: tuple[Inbox, int]) -> None:
    handler, port = inbox
    app.config.update(
        SMTP_HOST="127.0.0.1", SMTP_PORT=port, SMTP_STARTTLS=False,
        SMTP_FROM="screener@clinic.example", BASE_URL="https://screener.example",
    )
    set_zone(app, "Europe/London", contact_email="front@clinic.example")
    result = app.test_cli_runner().invoke(args=[
        "invite", "demo", "--name", "Alice Chan", "--email", "alice@example.com",
        "--appointment", soon(hour=9),
    ])
    assert result.exit_code == 0, result.output
    assert "Invitation to alice@example.com is in the outbox" in result.stderr
    link = result.stdout.strip()
    assert link.startswith("https://screener.example/c/demo/i/")
    assert handler.messages == []  # the delivery worker sends it
    with app.app_context():
        assert outbox.deliver_due() == 1
    [(to, message)] = handler.messages
    assert to == ["alice@example.com"]
    body = body_of(message)
    assert "Demo Clinic" in body and link in body and "9:30" in body and "Europe/London" in body
    assert "上午9:30" in body
    [sent] = events(app, "invitation_sent")
    assert sent.detail["count"] == 1


# The link's pages -----------------------------------------------------------------------------------


def test_an_unknown_or_expired_link_shows_the_clinic_contact(app: Flask) -> None:
    set_zone(app, "UTC", contact_email="front@clinic.example", contact_phone="+852 2222 3333")
    web = app.test_client()
    for bad in ("/c/demo/i/" + "A" * 32, "/c/demo/i/short", "/c/demo/i/" + "%00" * 32):
        r = web.get(bad)
        assert r.status_code == 404
        page = r.get_data(as_text=True)
        assert "This invitation link does not work" in page
        assert "front@clinic.example" in page and "+852 2222 3333" in page
    path = invite(app, "--name", "Bo Lee", "--appointment", soon())
    with app.app_context(), db.transaction() as s:
        s.execute(update(Appointment).values(
            expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
        ))
    r = web.get(path)
    assert r.status_code == 410
    page = r.get_data(as_text=True)
    assert "This invitation has expired" in page and "front@clinic.example" in page
    assert drafts(db.of(app).sessions()) == []
    zh = web.get(path + "?lang=zh-Hant").get_data(as_text=True)
    assert "邀請" in zh and "front@clinic.example" in zh


def test_a_draft_link_of_an_expired_invitation_shows_the_clinic_contact(app: Flask) -> None:
    """The resume link a step page shows (/d/<token>/) says the same as the invitation link
    once the appointment's day is over."""
    set_zone(app, "UTC", contact_phone="+852 2222 3333")
    path = invite(app, "--name", "Bo Lee", "--appointment", soon())
    web = app.test_client()
    resume = web.get(path).headers["Location"]
    assert web.get(resume).status_code == 303
    with app.app_context(), db.transaction() as s:
        past_time = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
        s.execute(update(Appointment).values(expires_at=past_time))
        s.execute(update(Draft).values(expires_at=past_time))
    r = web.get(resume)
    assert r.status_code == 410
    page = r.get_data(as_text=True)
    assert "This invitation has expired" in page and "+852 2222 3333" in page
    assert web.get("/c/demo/d/" + "B" * 32 + "/").status_code == 404


# The dashboard ------------------------------------------------------------------------------------


def form_of(page: str, **fields: str) -> dict[str, str]:
    m = re.search(r'name="csrf_token"[^>]*value="([^"]*)"', page)
    assert m
    return {"csrf_token": m.group(1), **fields}


def test_an_invitation_from_the_dashboard_walked_end_to_end(
    app: Flask, clinics: dict[str, int], logged_in: Callable[[str], FlaskClient]
) -> None:
    set_zone(app, "Europe/London")
    pa = logged_in("pa@example.com")
    first = pa.get("/dashboard/")
    assert first.status_code == 200
    page = pa.get("/dashboard/appointments/new").get_data(as_text=True)
    day = (dt.date.today() + dt.timedelta(days=2)).isoformat()
    r = pa.post("/dashboard/appointments/new", data=form_of(
        page, name="Alice Chan", email="alice@example.com", phone="+44 20 7946 0000",
        day=day, time="14:30", send_email="y",
    ))
    assert r.status_code == 303, r.get_data(as_text=True)[-2000:]
    detail = pa.get(r.headers["Location"])
    html = detail.get_data(as_text=True)
    assert "Email is not set up: copy the link below" in html
    m = re.search(r'value="http://localhost(/c/demo/i/[A-Za-z0-9_-]{32})" readonly', html)
    assert m, html
    path = m.group(1)
    [appointment] = fetch(app, Appointment)
    local = appointment.starts_at.astimezone(ZoneInfo("Europe/London"))
    assert (local.date().isoformat(), local.hour, local.minute) == (day, 14, 30)

    listing = pa.get("/dashboard/appointments").get_data(as_text=True)
    assert "Alice Chan" in listing and "Invited" in listing and path in listing

    web = app.test_client()
    walker = walk_from(web, path, skin_today={"unwell_now": "yes"})
    assert "Started" in pa.get("/dashboard/appointments").get_data(as_text=True)
    assert walker.submit().status_code == 303
    [sub] = submissions(db.of(app).sessions())
    listing = pa.get("/dashboard/appointments").get_data(as_text=True)
    assert ">Sent<" in listing and path not in listing  # answered: no link to copy
    assert re.search(r'class="badge badge-[a-z_]+"[^>]*>.*unwell_now</span>', listing)  # flags by name
    assert f"/dashboard/submissions/{sub.id}" in listing
    pa.post(f"/dashboard/submissions/{sub.id}/review", data=form_of(
        pa.get(f"/dashboard/submissions/{sub.id}").get_data(as_text=True), note=""
    ))
    assert ">Reviewed<" in pa.get("/dashboard/appointments?status=reviewed").get_data(as_text=True)
    assert "Alice Chan" not in pa.get("/dashboard/appointments?status=invited").get_data(as_text=True)
    [client] = fetch(app, Client)
    client_page = pa.get(f"/dashboard/clients/{client.id}").get_data(as_text=True)
    assert f"/dashboard/submissions/{sub.id}" in client_page
    assert f"/dashboard/appointments/{appointment.id}" in client_page
    assert [e.detail["client_id"] for e in events(app, "client_viewed")] == [client.id]


def test_dashboard_invitation_bad_input_keeps_what_was_typed(
    app: Flask, clinics: dict[str, int], logged_in: Callable[[str], FlaskClient]
) -> None:
    pa = logged_in("pa@example.com")
    page = pa.get("/dashboard/appointments/new").get_data(as_text=True)
    future_day = (dt.date.today() + dt.timedelta(days=2)).isoformat()
    for fields, message in (
        ({"name": "Alice Chan", "email": "alice@", "day": future_day, "time": "10:00"},
         "Enter an email address like name@example.com."),
        ({"name": "Alice Chan", "day": "2020-01-01", "time": "10:00"}, "This time has passed."),
        ({"name": "Alice Chan", "day": "0001-01-01", "time": "00:00"}, "This time has passed."),
        ({"name": "Alice Chan", "day": "9999-12-31", "time": "23:59"},
         "Enter a date within the next five years."),
        ({"name": "", "day": future_day, "time": "10:00"}, "s name."),
        ({"name": "Alice Chan", "day": future_day, "time": ""}, "s time, such as 14:30."),
        ({"name": "Alice Chan", "day": future_day, "time": "10:00", "phone": "call me"},
         "Enter a phone number using digits"),
    ):
        r = pa.post("/dashboard/appointments/new", data=form_of(page, **fields))
        assert r.status_code == 422, fields
        html = r.get_data(as_text=True)
        assert message in html, (message, fields)
        if fields["name"]:
            assert 'value="Alice Chan"' in html
    assert fetch(app, Client) == [] and fetch(app, Appointment) == []


def test_dashboard_suggests_the_same_person_and_a_second_invitation_is_refused(
    app: Flask, clinics: dict[str, int], logged_in: Callable[[str], FlaskClient]
) -> None:
    invite(app, "--name", "Alice Chan", "--email", "alice@example.com", "--appointment", soon())
    [known] = fetch(app, Client)
    [first] = fetch(app, Appointment)
    pa = logged_in("pa@example.com")
    page = pa.get("/dashboard/appointments/new").get_data(as_text=True)
    local = first.starts_at.astimezone(ZoneInfo("UTC"))
    data = form_of(page, name="alice chan", email="ALICE@example.com",
                   day=local.date().isoformat(), time=local.strftime("%H:%M"))
    r = pa.post("/dashboard/appointments/new", data=data)
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and "Is this someone the clinic knows already?" in html
    assert f'name="client_id" value="{known.id}"' in html and "same email" in html
    assert len(fetch(app, Client)) == 1  # nothing made yet
    r = pa.post("/dashboard/appointments/new", data={**data, "client_id": str(known.id)})
    assert r.status_code == 422
    assert "Alice Chan is invited to this appointment already." in r.get_data(as_text=True)
    assert len(fetch(app, Appointment)) == 1 and len(fetch(app, Client)) == 1
    r = pa.post("/dashboard/appointments/new", data={**data, "confirm_new": "1"})
    assert r.status_code == 303
    assert len(fetch(app, Client)) == 2 and len(fetch(app, Appointment)) == 2


def test_a_public_submission_is_linked_only_when_a_practitioner_says_so(
    app: Flask, clinics: dict[str, int], logged_in: Callable[[str], FlaskClient]
) -> None:
    invite(app, "--name", "Alice Chan", "--phone", "+852 5555 0000", "--appointment", soon())
    [known] = fetch(app, Client)
    sid = add_submission(app, clinics["demo"], {"full_name": "Chan Alice", "phone": "85255550000"})
    other = add_submission(app, clinics["demo"], {"full_name": "Zoe Wong"})
    pa = logged_in("pa@example.com")
    html = pa.get(f"/dashboard/submissions/{sid}").get_data(as_text=True)
    assert "not linked to a client" in html
    assert f'name="client_id" value="{known.id}"' in html and "same phone" in html
    assert fetch(app, Submission, Submission.id == sid)[0].client_id is None
    r = pa.post(f"/dashboard/submissions/{sid}/client", data=form_of(html, client_id=str(known.id)))
    assert r.status_code == 303
    assert fetch(app, Submission, Submission.id == sid)[0].client_id == known.id
    html = pa.get(f"/dashboard/submissions/{other}").get_data(as_text=True)
    assert "No client of the clinic has the same email or phone" in html
    r = pa.post(f"/dashboard/submissions/{other}/client", data=form_of(html, new="1"))
    assert r.status_code == 303
    [zoe] = fetch(app, Client, Client.full_name == "Zoe Wong")
    assert fetch(app, Submission, Submission.id == other)[0].client_id == zoe.id
    linked = events(app, "client_linked")
    assert sorted((e.submission_id, e.detail["client_id"]) for e in linked) == sorted(
        [(sid, known.id), (other, zoe.id)]
    )
    # Another clinic's client is no one here.
    pb = logged_in("pb@example.com")
    assert pb.get(f"/dashboard/clients/{known.id}").status_code == 404
    assert pb.get(f"/dashboard/appointments/{fetch(app, Appointment)[0].id}").status_code == 404


# Windows counted to the appointment ----------------------------------------------------------------


def test_windows_are_counted_to_the_appointment(
    app: Flask, clinics: dict[str, int], logged_in: Callable[[str], FlaskClient]
) -> None:
    """An anti-wrinkle injection 80 days before sending, for a visit 20 days later: past the
    90-day window at the visit. The same answers on the public link: within it."""
    set_zone(app, "Asia/Hong_Kong")
    today = dt.datetime.now(ZoneInfo("Asia/Hong_Kong")).date()
    botox = (dt.date.today() - dt.timedelta(days=80)).isoformat()
    treatments = {"recent_treatments": {"recent_procedures": ["botox"], "botox_when": botox,
                                        "permanent_implants": "no"}}
    visit = today + dt.timedelta(days=20)
    path = invite(app, "--name", "Alice Chan", "--appointment", f"{visit} 10:00")
    web = app.test_client()
    assert walk_from(web, path, **treatments).submit().status_code == 303
    public = Walker(web)
    public.start()
    for step_id, answers in STEP_ANSWERS.items():
        assert public.post_step({**answers, **treatments.get(step_id, {})}).status_code == 303
    assert public.submit().status_code == 303
    invited, walked_in = sorted(submissions(db.of(app).sessions()), key=lambda s: s.id)

    assert [f["rule"] for f in walked_in.flags] == ["botox_recent"]
    assert [f["rule"] for f in invited.flags] == ["botox_past"]
    [timing] = invited.flags[0]["timing"]
    assert timing["counted_to"] == visit.isoformat() and timing["counted_to_event"] == "appointment"
    assert timing["days_since"] == (visit - dt.date.fromisoformat(botox)).days

    pa = logged_in("pa@example.com")
    html = pa.get(f"/dashboard/submissions/{invited.id}").get_data(as_text=True)
    long_visit = f"{visit:%B} {visit.day}, {visit.year}"
    assert f"Counted to the appointment on {long_visit}." in html
    assert "days before the appointment." in html
    html = pa.get(f"/dashboard/submissions/{walked_in.id}").get_data(as_text=True)
    assert "Counted to the day of submission" in html
    # The client's summary says it too (a timing flag shows its window there).
    client_page = public.get(f"{public.base}/summary").get_data(as_text=True)
    assert "Counted to the day you sent your answers" in client_page


def test_the_client_summary_says_the_window_is_counted_to_the_appointment(app: Flask) -> None:
    visit = dt.date.today() + dt.timedelta(days=20)
    botox = (dt.date.today() - dt.timedelta(days=30)).isoformat()
    path = invite(app, "--name", "Bo Lee", "--appointment", f"{visit} 10:00")
    web = app.test_client()
    walker = walk_from(web, path, recent_treatments={
        "recent_procedures": ["botox"], "botox_when": botox, "permanent_implants": "no"
    })
    assert walker.submit().status_code == 303
    page = web.get(f"{walker.base}/summary").get_data(as_text=True)
    long_visit = f"{visit:%B} {visit.day}, {visit.year}"
    assert f"Counted to your appointment on {long_visit}." in page
    zh = web.get(f"{walker.base}/summary?lang=zh-Hant").get_data(as_text=True)
    assert f"{visit.year}年{visit.month}月{visit.day}日" in zh


# The pre-session check ------------------------------------------------------------------------------


def recheck_ids() -> list[str]:
    from .conftest import real_questionnaire

    return [q.id for q in real_questionnaire().questions.values() if q.recheck]


def test_a_client_invited_again_gets_the_short_check(
    app: Flask, clinics: dict[str, int], logged_in: Callable[[str], FlaskClient]
) -> None:
    from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse

    first_path = invite(app, "--name", "Alice Chan", "--email", "alice@example.com",
                        "--appointment", soon())
    web = app.test_client()
    assert walk_from(web, first_path).submit().status_code == 303
    [first] = submissions(db.of(app).sessions())
    [client] = fetch(app, Client)
    path = invite(app, "--client", str(client.id), "--appointment", soon(days=14))

    # The link opens the check: only the questions that can change, each with the last answer.
    r = web.get(path)
    walker = Walker(web)
    walker.url = web.get(r.headers["Location"]).headers["Location"]
    assert walker.url.endswith("/s/about_you"), walker.url
    page = web.get(walker.url).get_data(as_text=True)
    assert "A short check before your session" in page
    assert 'name="pregnancy"' in page and 'name="age_band"' not in page
    assert "Last time: No" in page
    assert 'checked' not in page.split('name="pregnancy"', 1)[1].split("</fieldset>", 1)[0]
    steps = []
    fresh = {
        "about_you": {"pregnancy": "yes"},
        "medicines": {"blood_thinners": "no", "bleeding_supplements": ["none"], "isotretinoin": "never"},
        "skin_today": {"facial_skin": ["cold_sore"], "facial_lesion": "no", "new_symptoms": "no",
                       "unwell_now": "no"},
        "recent_treatments": {"recent_procedures": ["none"]},
    }
    while not walker.url.endswith("/review"):
        step_id = walker.url.rsplit("/s/", 1)[1]
        steps.append(step_id)
        r = walker.post_step(fresh[step_id])
        assert r.status_code == 303, (step_id, r.get_data(as_text=True)[-1500:])
    assert steps == ["about_you", "medicines", "skin_today", "recent_treatments"]
    review = web.get(walker.url).get_data(as_text=True)
    assert "Alice Chan" not in review  # the review lists only what was asked now
    # The consent is signed again before each session, with the name the clinic has.
    assert walker.submit(signed_name="Alice Chan").status_code == 303

    check = max(submissions(db.of(app).sessions()), key=lambda s: s.id)
    assert check.previous_id == first.id and check.client_id == client.id
    assert check.rechecked == [q for q in recheck_ids() if q in check.rechecked]
    assert set(check.rechecked) >= {"pregnancy", "facial_skin", "recent_procedures"}
    assert check.answers["pregnancy"] == "yes" and check.answers["facial_skin"] == ["cold_sore"]
    assert check.answers["full_name"] == "Alice Chan" and check.full_name == "Alice Chan"
    assert check.answers["age_band"] == first.answers["age_band"]  # carried over
    rules = {f["rule"] for f in check.flags}
    assert "pregnancy" in rules and "pregnancy" not in {f["rule"] for f in first.flags}

    pa = logged_in("pa@example.com")
    html = pa.get(f"/dashboard/submissions/{check.id}").get_data(as_text=True)
    assert "Pre-session check: what changed" in html
    assert "2 answers changed." in html
    changed_rows = re.findall(r'<tr class="changed"><th scope="row">([^<]*)', html)
    assert len(changed_rows) == 2
    assert "New since the previous submission" in html
    assert f"/dashboard/submissions/{first.id}" in html
    first_html = pa.get(f"/dashboard/submissions/{first.id}").get_data(as_text=True)
    assert "Pre-session check" not in first_html

    # Its own FHIR QuestionnaireResponse: the same questionnaire, the other items absent.
    resource = pa.get(f"/dashboard/submissions/{check.id}.fhir.json").get_json()
    QuestionnaireResponse.model_validate(resource)
    answered = {i["linkId"] for step in resource["item"] for i in step["item"]}
    assert answered <= set(check.rechecked) and "pregnancy" in answered
    assert "full_name" not in answered
    [marker] = [e for e in resource["extension"] if e["url"].endswith("/pre-session-check")]
    assert marker["extension"][0]["valueIdentifier"]["value"] == str(first.id)


def test_a_check_question_with_an_error_keeps_the_last_answer_shown(app: Flask) -> None:
    path = invite(app, "--name", "Bo Lee", "--appointment", soon())
    web = app.test_client()
    assert walk_from(web, path).submit().status_code == 303
    [client] = fetch(app, Client)
    again = invite(app, "--client", str(client.id), "--appointment", soon(days=7))
    walker = Walker(web)
    walker.url = web.get(web.get(again).headers["Location"]).headers["Location"]
    r = walker.post_step({})
    assert r.status_code == 200
    page = r.get_data(as_text=True)
    assert "There is a problem" in page and "Last time: No" in page
    assert 'aria-describedby="pregnancy-last' in page


# Audit and exports ------------------------------------------------------------------------------------


def test_exports_carry_the_client_and_appointment(
    app: Flask, clinics: dict[str, int], logged_in: Callable[[str], FlaskClient]
) -> None:
    import csv
    import io

    from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse

    path = invite(app, "--name", "陳美玲", "--appointment", soon())
    assert walk_from(app.test_client(), path).submit().status_code == 303
    [sub] = submissions(db.of(app).sessions())
    [client] = fetch(app, Client)
    [appointment] = fetch(app, Appointment)
    walked_in = add_submission(app, clinics["demo"], {"full_name": "Zoe Wong"})
    pa = logged_in("pa@example.com")

    data = pa.get(f"/dashboard/submissions/{sub.id}.json").get_json()
    assert (data["client_id"], data["appointment_id"]) == (client.id, appointment.id)
    assert data["previous_id"] is None and data["rechecked"] is None
    other = pa.get(f"/dashboard/submissions/{walked_in}.json").get_json()
    assert other["client_id"] is None and other["appointment_id"] is None

    resource = pa.get(f"/dashboard/submissions/{sub.id}.fhir.json").get_json()
    QuestionnaireResponse.model_validate(resource)
    assert resource["subject"] == {
        "identifier": {"system": "http://127.0.0.1:5000/fhir/NamingSystem/client-id",
                       "value": str(client.id)},
        "display": "陳美玲",
    }
    [marker] = [e for e in resource["extension"] if e["url"].endswith("/appointment")]
    assert marker["valueIdentifier"]["value"] == str(appointment.id)
    assert "subject" not in pa.get(f"/dashboard/submissions/{walked_in}.fhir.json").get_json()

    text = pa.get("/dashboard/submissions.csv").get_data(as_text=True).lstrip("\ufeff")
    rows = {r["submission_id"]: r for r in csv.DictReader(io.StringIO(text))}
    assert rows[str(sub.id)]["client_id"] == str(client.id)
    assert rows[str(sub.id)]["appointment_id"] == str(appointment.id)
    assert rows[str(walked_in)]["client_id"] == ""


def test_the_audit_log_shows_invitations_links_and_client_views(
    app: Flask, clinics: dict[str, int], logged_in: Callable[[str], FlaskClient],
    inbox: tuple[Inbox, int],
) -> None:
    handler, port = inbox
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=port, SMTP_STARTTLS=False,
                      SMTP_FROM="screener@clinic.example", BASE_URL="https://screener.example")
    invite(app, "--name", "Alice Chan", "--email", "alice@example.com", "--appointment", soon())
    [client] = fetch(app, Client)
    [appointment] = fetch(app, Appointment)
    sid = add_submission(app, clinics["demo"], {"full_name": "Alice Chan"})
    pa = logged_in("pa@example.com")
    page = pa.get(f"/dashboard/appointments/{appointment.id}").get_data(as_text=True)
    r = pa.post(f"/dashboard/appointments/{appointment.id}/send", data=form_of(page))
    assert r.status_code == 303
    assert "The invitation was emailed to alice@example.com." in pa.get(r.headers["Location"]).get_data(as_text=True)
    with app.app_context():
        outbox.deliver_due()
    assert len(handler.messages) == 2  # the first (command line) and the reminder
    html = pa.get(f"/dashboard/submissions/{sid}").get_data(as_text=True)
    pa.post(f"/dashboard/submissions/{sid}/client", data=form_of(html, client_id=str(client.id)))
    pa.get(f"/dashboard/clients/{client.id}")

    assert [e.detail["count"] for e in events(app, "invitation_sent")] == [1, 2]
    [reminder] = [e for e in events(app, "invitation_sent") if e.detail["count"] == 2]
    assert reminder.actor == "pa@example.com"
    admin = logged_in("admin@example.com")
    log = admin.get("/dashboard/admin/audit").get_data(as_text=True)
    for words in ("Invited a client to an appointment", "Emailed an invitation",
                  "Linked a submission to a client", "Viewed a client",
                  "Added a client"):
        assert words in log, words
    # Never a link, nor the client's contact details, in the audit log.
    table = log.split("<table", 1)[1].split("</table>", 1)[0]
    assert "/i/" not in table and "alice@example.com" not in table
