"""The clinic's time zone: set from the command line and the clinic settings, and every time the
dashboard shows is in it, in one format per language, with the zone named once per page."""
# ruff: noqa: F811  (shared fixtures from dashboard_support are imported by name)
from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import update

from screener.extensions import db
from screener.storage.models import Clinic

from .conftest import csrf_of
from .dashboard_support import (  # noqa: F401
    accounts,
    add_submission,
    clinics,
    fast_hashing,
    fetch,
    logged_in,
)

pytestmark = pytest.mark.usefixtures("fast_hashing")


def set_zone(app: Flask, clinic_id: int, name: str) -> None:
    with app.app_context(), db.transaction() as s:
        s.execute(update(Clinic).where(Clinic.id == clinic_id).values(timezone=name))


def page(client: FlaskClient, url: str) -> str:
    r = client.get(url)
    assert r.status_code == 200, r.status_code
    return str(r.get_data(as_text=True))


def cells(html: str) -> list[str]:
    """The submitted-at cells of the submission list, in page order (CLDR writes a narrow
    no-break space before AM and PM: a plain space here)."""
    found = re.findall(r"<tr class=\"severity-[a-z_]+\">\s*<td[^>]*>([^<]*)</td>", html)
    return [cell.replace("\u202f", " ") for cell in found]


def test_create_clinic_takes_a_time_zone(app: Flask) -> None:
    runner = app.test_cli_runner()
    r = runner.invoke(args=["create-clinic", "harbour", "--name", "H", "--timezone", "asia/hong_kong"])
    assert r.exit_code == 0, r.output
    assert "Asia/Hong_Kong" in r.output
    [clinic] = fetch(app, Clinic, Clinic.slug == "harbour")
    assert clinic.timezone == "Asia/Hong_Kong"  # stored as the zone spells its name
    r = runner.invoke(args=["create-clinic", "plain", "--name", "P"])
    assert r.exit_code == 0, r.output
    assert fetch(app, Clinic, Clinic.slug == "plain")[0].timezone == "UTC"


@pytest.mark.parametrize("bad", ["Mars/Olympus", "", "../../etc/passwd", "Asia/Hong Kong"])
def test_create_clinic_refuses_an_unknown_time_zone(app: Flask, bad: str) -> None:
    r = app.test_cli_runner().invoke(
        args=["create-clinic", "harbour", "--name", "H", "--timezone", bad]
    )
    assert r.exit_code == 1
    assert "not a time zone" in r.output and "Traceback" not in r.output
    assert fetch(app, Clinic, Clinic.slug == "harbour") == []


def test_admin_sets_the_time_zone(
    app: Flask, clinics: dict[str, int], logged_in: Callable[[str], FlaskClient]
) -> None:
    admin = logged_in("admin@example.com")
    form = admin.get("/dashboard/admin/clinic")
    assert 'name="timezone"' in form.get_data(as_text=True)
    data = {"csrf_token": csrf_of(form), "name": "Demo", "retention_days": "365"}
    r = admin.post("/dashboard/admin/clinic", data={**data, "timezone": "Mars/Olympus"})
    assert r.status_code == 422
    assert "Not a time zone: use a name such as Asia/Hong_Kong" in r.get_data(as_text=True)
    assert 'value="Mars/Olympus"' in r.get_data(as_text=True)  # what was typed stays
    assert fetch(app, Clinic, Clinic.id == clinics["demo"])[0].timezone == "UTC"
    r = admin.post("/dashboard/admin/clinic", data={**data, "timezone": " europe/london "})
    assert r.status_code == 303
    assert fetch(app, Clinic, Clinic.id == clinics["demo"])[0].timezone == "Europe/London"
    r = admin.get("/dashboard/admin/clinic?lang=zh-Hant")
    assert "不是時區" not in r.get_data(as_text=True)  # no error shown on a plain GET


def test_times_are_shown_in_the_clinic_zone_named_once(
    app: Flask, clinics: dict[str, int], logged_in: Callable[[str], FlaskClient]
) -> None:
    add_submission(app, clinics["demo"], submitted_at=dt.datetime(2026, 3, 29, 0, 30, tzinfo=dt.UTC))
    client = logged_in("pa@example.com")
    html = page(client, "/dashboard/")
    assert cells(html) == ["Mar 29, 2026, 12:30 AM"]
    assert html.count("Times are in UTC.") == 1

    set_zone(app, clinics["demo"], "Asia/Hong_Kong")
    html = page(client, "/dashboard/")
    assert cells(html) == ["Mar 29, 2026, 8:30 AM"]
    assert html.count("Hong Kong Time (Asia/Hong_Kong)") == 1
    assert "UTC" not in html
    html = page(client, "/dashboard/?lang=zh-Hant")
    assert cells(html) == ["2026年3月29日 上午8:30"]
    assert html.count("香港時間 (Asia/Hong_Kong)") == 1


def test_a_daylight_saving_change_day_in_london(
    app: Flask, clinics: dict[str, int], logged_in: Callable[[str], FlaskClient]
) -> None:
    # 29 March 2026: at 01:00 GMT the clocks in London go forward to 02:00 BST.
    set_zone(app, clinics["demo"], "Europe/London")
    for hour, minute in ((0, 30), (1, 30)):
        add_submission(
            app, clinics["demo"], submitted_at=dt.datetime(2026, 3, 29, hour, minute, tzinfo=dt.UTC)
        )
    client = logged_in("pa@example.com")
    html = page(client, "/dashboard/")
    # An hour apart in UTC, two hours apart on London's clocks.
    assert cells(html) == ["Mar 29, 2026, 2:30 AM", "Mar 29, 2026, 12:30 AM"]
    assert html.count("(Europe/London)") == 1


def test_the_date_filter_counts_the_clinic_days(
    app: Flask, clinics: dict[str, int], logged_in: Callable[[str], FlaskClient]
) -> None:
    # 17:00 UTC on 28 March is 01:00 on 29 March in Hong Kong.
    sid = add_submission(
        app, clinics["demo"], submitted_at=dt.datetime(2026, 3, 28, 17, 0, tzinfo=dt.UTC)
    )
    client = logged_in("pa@example.com")
    day = "/dashboard/?date_from=2026-03-29&date_to=2026-03-29"
    assert f"/dashboard/submissions/{sid}" not in page(client, day)
    set_zone(app, clinics["demo"], "Asia/Hong_Kong")
    assert f"/dashboard/submissions/{sid}" in page(client, day)
    assert f"/dashboard/submissions/{sid}" not in page(
        client, "/dashboard/?date_from=2026-03-28&date_to=2026-03-28"
    )


def last_sunday(year: int, month: int) -> dt.date:
    return max(
        dt.date(year, month, d) for d in range(25, 32) if dt.date(year, month, d).weekday() == 6
    )


def test_appointments_on_daylight_saving_change_days_in_london(
    app: Flask, clinics: dict[str, int], logged_in: Callable[[str], FlaskClient]
) -> None:
    """Typed on the clinic's clocks: on the spring day 00:30 and 03:00 are 1 h 30 apart in
    UTC; on the autumn day 01:30 happens twice and the first one (still summer time) is taken.
    The appointments view lists each under its London day, at the hour typed."""
    set_zone(app, clinics["demo"], "Europe/London")
    year = dt.date.today().year + 1
    spring, autumn = last_sunday(year, 3), last_sunday(year, 10)
    runner = app.test_cli_runner()
    for when in (f"{spring} 00:30", f"{spring} 03:00", f"{autumn} 01:30"):
        r = runner.invoke(args=["invite", "demo", "--name", f"Client {when}", "--new-client",
                                "--appointment", when])
        assert r.exit_code == 0, r.output
    from screener.storage.models import Appointment

    starts = sorted(a.starts_at for a in fetch(app, Appointment))
    assert starts == [
        dt.datetime.combine(spring, dt.time(0, 30), tzinfo=dt.UTC),  # GMT
        dt.datetime.combine(spring, dt.time(2, 0), tzinfo=dt.UTC),  # BST
        dt.datetime.combine(autumn, dt.time(0, 30), tzinfo=dt.UTC),  # the first 01:30, BST
    ]
    client = logged_in("pa@example.com")
    html = page(client, f"/dashboard/appointments?day={spring}")
    hours = [h.replace("\u202f", " ") for h in re.findall(r'class="appointment-time">([^<]*)<', html)]
    assert hours == ["12:30 AM", "3:00 AM"]
    assert f"{spring:%B} {spring.day}, {spring.year}" in html
    html = page(client, f"/dashboard/appointments?day={autumn}")
    hours = [h.replace("\u202f", " ") for h in re.findall(r'class="appointment-time">([^<]*)<', html)]
    assert hours == ["1:30 AM"]
