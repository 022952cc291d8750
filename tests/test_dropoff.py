"""Where clients stop: the clinic admins' page of how far the questionnaires started in a period
got, counted from drafts the wizard made (walked here over HTTP like a browser)."""
# ruff: noqa: F811  (shared fixtures from dashboard_support are imported by name)
from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Callable
from html import unescape
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, select, update

from screener.dashboard.dropoff import duration_text
from screener.extensions import db
from screener.storage.models import Clinic, Draft

from .conftest import STEP_ANSWERS, Walker, draft_of, real_questionnaire
from .dashboard_support import (  # noqa: F401
    accounts,
    clinics,
    fast_hashing,
    logged_in,
)
from .test_i18n import english_fragments, visible_text

STEPS = list(STEP_ANSWERS)  # the real questionnaire's steps, in order
HK = ZoneInfo("Asia/Hong_Kong")
PAGE = "/dashboard/admin/dropoff"


def started(
    client: FlaskClient, *, prefix: str = "/c/demo", lang: str = "en", steps: int = 0,
    send: bool = False, back: bool = False,
) -> str:
    """A questionnaire walked in the wizard: started, `steps` steps sent, then Back once, or
    sent; its token."""
    walker = Walker(client, prefix)
    walker.start(lang)
    for step_id in STEPS[:steps]:
        assert f"/s/{step_id}" in walker.url, walker.url
        assert walker.post_step(STEP_ANSWERS[step_id]).status_code == 303
    if back:
        assert walker.post_step({}, action="back").status_code == 303
    if send:
        assert walker.url.endswith("/review"), walker.url
        assert walker.submit().status_code == 303
    return walker.token


def cells(page: str, caption: str) -> list[list[str]]:
    """The rows of the table with this caption (start), each as its header and cells' text."""
    tables = re.findall(r"<table.*?</table>", page, re.S)
    table = next(t for t in tables if re.search(rf"<caption[^>]*>\s*{re.escape(caption)}", t))
    return [
        [re.sub(r"<[^>]+>", "", unescape(c)).strip()
         for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)]
        for row in re.findall(r"<tr[^>]*>(.*?)</tr>", table, re.S)
    ]


def set_times(app: Flask, token: str, **values: dt.datetime) -> None:
    """Move a walked draft's times (what the wizard cannot wait for)."""
    with app.app_context():
        draft_id = draft_of(db.session, token).id
        with db.transaction() as s:
            s.execute(update(Draft).where(Draft.id == draft_id).values(**values))


@pytest.fixture
def walked(app: Flask, client: FlaskClient, accounts: dict[str, int]) -> dict[str, str]:
    """Six questionnaires of clinic "demo" and one of "other", in the wizard."""
    tokens = {
        "idle": started(client),  # sent the start page's first step only
        "back": started(client, steps=2, back=True),  # reached "comfort", went back to "goals"
        "review_zh": started(client, prefix="/embed/demo", lang="zh-Hant", steps=8),
        "sent_en": started(client, steps=8, send=True),
        "sent_zh": started(client, prefix="/embed/demo", lang="zh-Hant", steps=8, send=True),
        "embed_goals": started(client, prefix="/embed/demo", steps=1),
        "other": started(client, prefix="/c/other", steps=8, send=True),
    }
    # Sent 10 and 31 minutes 20 seconds after they were started: the median is their mean.
    with app.app_context():
        for name, minutes in (("sent_en", 10), ("sent_zh", 31), ("other", 1)):
            sent = draft_of(db.session, tokens[name]).submitted_at
            assert sent is not None
            set_times(app, tokens[name],
                      created_at=sent - dt.timedelta(minutes=minutes, seconds=20 * (name != "sent_en")))
    return tokens


def test_counts_each_step_reached_the_sent_and_the_median(
    app: Flask, walked: dict[str, str], logged_in: Callable[[str], FlaskClient]
) -> None:
    admin = logged_in("admin@example.com")
    r = admin.get(PAGE)
    assert r.status_code == 200
    page = r.get_data(as_text=True)
    qn = real_questionnaire()
    rows = cells(page, "Steps reached")
    assert rows[0] == ["Step", "Reached", "% of started"]
    # 6 started, each by sending the start page's first step, so all 6 reached "goals";
    # "comfort" by 4 (Back lowers nothing), every later step and the review by the 3 that went
    # through, 2 sent.
    reached = [6, 6, 4, 3, 3, 3, 3, 3, 3]
    assert rows[1:] == [
        ["Started", "6", "100%"],
        *[[s.title.en, str(n), f"{round(100 * n / 6)}%"]
          for s, n in zip(qn.steps, reached, strict=False)],
        ["Review and signature", "3", "50%"],
        ["Sent", "2", "33%"],
    ]
    assert re.search(r'<time datetime="P0DT0H20M40S">20 min 40 s</time>', page)
    breakdown = cells(page, "By language and page")
    assert breakdown[1:] == [
        ["All questionnaires", "6", "2", "33%", "20 min 40 s"],
        ["English", "4", "1", "25%", "10 min 0 s"],
        ["Traditional Chinese", "2", "1", "50%", "31 min 20 s"],
        ["Simplified Chinese", "0", "0", "–", "–"],
        ["The clinic's own page", "3", "1", "33%", "10 min 0 s"],
        ["A page embedding the form", "3", "1", "33%", "31 min 20 s"],
    ]
    # One part: embedded pages in English.
    part = admin.get(PAGE, query_string={"language": "en", "source": "embedded"})
    rows = cells(part.get_data(as_text=True), "Steps reached")
    assert rows[1][:2] == ["Started", "1"] and rows[2][:2] == [qn.steps[0].title.en, "1"]
    assert rows[3][:2] == [qn.steps[1].title.en, "1"] and rows[4][:2] == [qn.steps[2].title.en, "0"]
    assert rows[-1] == ["Sent", "0", "0%"]
    assert "Median time from start to sent: none sent" in part.get_data(as_text=True)


def test_the_table_downloads_as_csv(
    app: Flask, walked: dict[str, str], logged_in: Callable[[str], FlaskClient]
) -> None:
    admin = logged_in("admin@example.com")
    args = {"language": "zh-Hant", "date_from": dt.date.today().isoformat()}
    page = admin.get(PAGE, query_string=args).get_data(as_text=True)
    link = re.search(r'href="(/dashboard/admin/dropoff\.csv[^"]*)"', page)
    assert link is not None
    r = admin.get(unescape(link.group(1)))
    assert r.status_code == 200 and r.mimetype == "text/csv"
    today = dt.date.today().isoformat()
    assert f'filename="where-clients-stop-{today}-{today}.csv"' in r.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(r.get_data(as_text=True).removeprefix("\ufeff"))))
    assert rows[0] == ["Step", "Reached", "% of started"]
    assert rows[1:-1] == cells(page, "Steps reached")[1:]
    assert rows[1] == ["Started", "2", "100%"] and rows[-2] == ["Sent", "1", "50%"]
    assert rows[-1] == ["Median time from start to sent:", "31 min 20 s"]
    # A wrong period goes to the page, which says what is wrong.
    wrong = admin.get(f"{PAGE}.csv", query_string={"date_from": "2026-02-30"})
    assert wrong.status_code == 303
    assert wrong.headers["Location"].endswith(f"{PAGE}?date_from=2026-02-30")
    assert logged_in("pa@example.com").get(f"{PAGE}.csv").status_code == 403


def test_the_page_speaks_traditional_chinese(
    app: Flask, walked: dict[str, str], logged_in: Callable[[str], FlaskClient]
) -> None:
    page = logged_in("admin@example.com").get(PAGE, query_string={"lang": "zh-Hant"})
    assert page.status_code == 200
    zh = page.get_data(as_text=True)
    for step in real_questionnaire().steps:
        assert f"<th scope=\"row\">{step.title.get('zh-Hant')}</th>" in zh
    assert "20 分 40 秒" in zh
    assert "Where clients stop" not in zh and "Started" not in zh
    text = visible_text(zh)
    assert not sorted(e for e in english_fragments(app) if e in text)


def test_furthest_step_is_kept_on_the_draft(
    app: Flask, client: FlaskClient, accounts: dict[str, int]
) -> None:
    token = started(client, steps=3, back=True)
    embedded = started(client, prefix="/embed/demo")
    with app.app_context():
        draft = draft_of(db.session, token)
        assert (draft.furthest_step, draft.current_step, draft.embedded) == (3, "comfort", False)
        other = draft_of(db.session, embedded)
        # A draft is made when the start page's first step is sent: it has reached the second.
        assert (other.furthest_step, other.embedded) == (1, True)


def test_period_days_are_the_clinics(
    app: Flask, client: FlaskClient, accounts: dict[str, int],
    logged_in: Callable[[str], FlaskClient],
) -> None:
    with app.app_context(), db.transaction() as s:
        s.execute(update(Clinic).where(Clinic.slug == "demo").values(timezone="Asia/Hong_Kong"))
    today = dt.datetime.now(HK).date()
    yesterday = today - dt.timedelta(days=1)
    midnight = dt.datetime.combine(today, dt.time(), tzinfo=HK)
    # One started at Hong Kong's midnight (16:00 UTC the day before), one a microsecond earlier.
    set_times(app, started(client), created_at=midnight)
    set_times(app, started(client, steps=1), created_at=midnight - dt.timedelta(microseconds=1))
    admin = logged_in("admin@example.com")

    def started_count(first: dt.date, last: dt.date) -> str:
        r = admin.get(PAGE, query_string={"date_from": first.isoformat(),
                                          "date_to": last.isoformat()})
        assert r.status_code == 200
        return cells(r.get_data(as_text=True), "Steps reached")[1][1]

    assert started_count(today, today) == "1"
    assert started_count(yesterday, yesterday) == "1"
    assert started_count(yesterday, today) == "2"
    assert started_count(today + dt.timedelta(1), today + dt.timedelta(1)) == "0"
    # With no dates: the last DRAFT_DAYS days, today included.
    assert cells(admin.get(PAGE).get_data(as_text=True), "Steps reached")[1][1] == "2"


def test_a_period_beyond_the_kept_drafts_says_it_is_incomplete(
    app: Flask, accounts: dict[str, int], logged_in: Callable[[str], FlaskClient]
) -> None:
    admin = logged_in("admin@example.com")
    days = app.config["DRAFT_DAYS"]
    first = dt.date.today() - dt.timedelta(days=days + 5)
    early = admin.get(PAGE, query_string={"date_from": first.isoformat()})
    assert "its numbers are incomplete" in early.get_data(as_text=True)
    recent = admin.get(PAGE, query_string={"date_from": dt.date.today().isoformat()})
    assert "its numbers are incomplete" not in recent.get_data(as_text=True)
    assert f"deleted {days} days after" in recent.get_data(as_text=True)


def test_drafts_from_before_the_numbers_were_kept_are_left_out_and_said(
    app: Flask, client: FlaskClient, accounts: dict[str, int],
    logged_in: Callable[[str], FlaskClient],
) -> None:
    token = started(client, steps=2)
    started(client)
    set_times(app, token, furthest_step=None, embedded=None)  # type: ignore[arg-type]
    page = logged_in("admin@example.com").get(PAGE).get_data(as_text=True)
    assert cells(page, "Steps reached")[1] == ["Started", "1", "100%"]
    assert "1 questionnaire of this period was started before these numbers were kept" in page


def test_invitation_drafts_are_not_counted(
    app: Flask, client: FlaskClient, accounts: dict[str, int],
    logged_in: Callable[[str], FlaskClient],
) -> None:
    invited = app.test_cli_runner().invoke(args=[
        "invite", "demo", "--name", "Client", "--email", "client@example.com",
        "--appointment", f"{dt.date.today() + dt.timedelta(days=1)} 10:30", "--new-client",
    ])
    assert invited.exit_code == 0, invited.output
    link = invited.stdout.strip().removeprefix("http://127.0.0.1:5000")
    assert client.get(link).status_code == 303
    with app.app_context():
        assert db.session.scalar(select(Draft.appointment_id)) is not None
    page = logged_in("admin@example.com").get(PAGE).get_data(as_text=True)
    assert cells(page, "Steps reached")[1] == ["Started", "0", "–"]


def test_only_admins_see_it_and_only_their_clinics_numbers(
    app: Flask, client: FlaskClient, clinics: dict[str, int], accounts: dict[str, int],
    logged_in: Callable[[str], FlaskClient],
) -> None:
    started(client, prefix="/c/other", steps=3)
    practitioner = logged_in("pa@example.com")
    assert practitioner.get(PAGE).status_code == 403
    assert PAGE not in practitioner.get("/dashboard/").get_data(as_text=True)
    admin = logged_in("admin@example.com")
    assert PAGE in admin.get("/dashboard/").get_data(as_text=True)
    page = admin.get(PAGE).get_data(as_text=True)
    assert cells(page, "Steps reached")[1] == ["Started", "0", "–"]
    assert app.test_client().get(PAGE).status_code == 302  # to the login page


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"date_from": "2026-13-40"}, "Not a valid date value."),
        ({"date_to": "yesterday"}, "Not a valid date value."),
        ({"date_from": "2026-06-10", "date_to": "2026-06-01"},
         "The end date is before the start date."),
        # One end given, beyond the other end's default (the complete days; today).
        ({"date_to": "2000-01-01"}, "The end date is before the start date."),
        ({"date_to": "0001-01-01"}, "The end date is before the start date."),
        ({"date_from": "2999-01-01"}, "The end date is before the start date."),
        ({"date_from": "9999-12-31"}, "The end date is before the start date."),
        ({"language": "xx"}, "Not a valid choice."),
        ({"source": "cookie"}, "Not a valid choice."),
    ],
)
def test_a_wrong_period_is_said_on_its_field(
    accounts: dict[str, int], logged_in: Callable[[str], FlaskClient],
    args: dict[str, str], message: str,
) -> None:
    r = logged_in("admin@example.com").get(PAGE, query_string=args)
    assert r.status_code == 200
    page = r.get_data(as_text=True)
    assert message in unescape(page)
    assert "Correct the period above to see the numbers." in page
    assert "<table" not in page


def test_a_day_that_does_not_exist_is_not_put_back_in_the_date_box(
    accounts: dict[str, int], logged_in: Callable[[str], FlaskClient]
) -> None:
    """A date input holds a real day only (anything else is invalid HTML): the error says it."""
    args = {"date_from": "2026-02-30", "date_to": "2026-03-02"}
    page = logged_in("admin@example.com").get(PAGE, query_string=args).get_data(as_text=True)
    boxes = dict(re.findall(r'<input[^>]* id="(date_(?:from|to))"[^>]* value="([^"]*)"', page))
    assert boxes == {"date_from": "", "date_to": "2026-03-02"}
    assert "Not a valid date value." in page


@pytest.mark.parametrize(
    "args",
    [
        {"date_from": "0001-01-01", "date_to": "9999-12-31"},
        {"date_from": "0001-01-01"},
        {"date_to": "9999-12-31"},
    ],
)
def test_the_widest_periods_work(
    accounts: dict[str, int], logged_in: Callable[[str], FlaskClient], args: dict[str, str]
) -> None:
    r = logged_in("admin@example.com").get(PAGE, query_string=args)
    assert r.status_code == 200 and "<table" in r.get_data(as_text=True)


def test_the_period_reads_an_index_range(
    app: Flask, accounts: dict[str, int], logged_in: Callable[[str], FlaskClient]
) -> None:
    """The page reads the period's drafts through (clinic_id, created_at), not every draft."""
    admin = logged_in("admin@example.com")
    with app.app_context():
        engine = db.session.get_bind()
        if engine.dialect.name != "sqlite":
            pytest.skip("SQLite's query plan")
        seen: list[tuple[str, object]] = []

        def keep(_conn: object, _cursor: object, statement: str, parameters: object,
                 *_args: object) -> None:
            if "FROM draft" in statement:
                seen.append((statement, parameters))

        event.listen(engine, "before_cursor_execute", keep)
        try:
            assert admin.get(PAGE).status_code == 200
        finally:
            event.remove(engine, "before_cursor_execute", keep)
        assert len(seen) == 2
        with engine.connect() as conn:
            for statement, parameters in seen:
                plan = " ".join(
                    str(row[-1]) for row in conn.exec_driver_sql(
                        f"EXPLAIN QUERY PLAN {statement}", parameters  # type: ignore[arg-type]
                    )
                )
                assert "USING INDEX ix_draft_clinic_created" in plan, plan


@pytest.mark.parametrize(
    ("seconds", "en"),
    [(0, "0 s"), (59.9, "59 s"), (60, "1 min 0 s"), (3599, "59 min 59 s"), (3600, "1 h 0 min"),
     (86399, "23 h 59 min"), (86400, "1 day 0 h"), (2 * 86400 + 7200, "2 days 2 h")],
)
def test_durations_read_as_words(app: Flask, seconds: float, en: str) -> None:
    with app.test_request_context("/"):
        assert duration_text(dt.timedelta(seconds=seconds)) == en
