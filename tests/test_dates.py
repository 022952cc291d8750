"""Date questions, the GOV.UK date input: three labelled boxes (day, month, year; year, month,
day in Chinese), messages that say what is missing, an example that fits the question, answers
stored as ISO dates."""
from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_babel import force_locale
from werkzeug.datastructures import MultiDict

from screener.extensions import db
from screener.questionnaire.model import Question, Text
from screener.questionnaire.types import make_field
from screener.storage.models import Draft
from screener.wizard.forms import StepForm

from .client_pages import client_pages
from .conftest import STEP_ANSWERS, Walker, csrf_of, drafts, future, past

STEPS = list(STEP_ANSWERS)
TODAY = dt.date.today
EVENT = {**STEP_ANSWERS["goals"], "upcoming_event": "yes"}  # asks upcoming_event_date (future)


def text(r: Any) -> str:
    return str(r.get_data(as_text=True))


def on_step(walker: Walker, step: str, lang: str = "en") -> str:
    """Start a draft and answer the steps before `step`; the step's URL."""
    walker.start(lang)
    for earlier in STEPS[: STEPS.index(step)]:
        walker.post_step(STEP_ANSWERS[earlier])
    return walker.url


def boxes(qid: str, day: str, month: str, year: str) -> dict[str, str]:
    return {f"{qid}-day": day, f"{qid}-month": month, f"{qid}-year": year}


def post_event(walker: Walker, day: str, month: str, year: str) -> Any:
    return walker.post_step({**EVENT, **boxes("upcoming_event_date", day, month, year)})


def invalid_boxes(page: str, qid: str) -> set[str]:
    return set(re.findall(rf'id="{qid}-(day|month|year)" name="[^"]+" inputmode="numeric" value="[^"]*" aria-invalid="true"', page))


def error_of(page: str, qid: str) -> str:
    m = re.search(rf'<p class="field-error" id="{qid}-error"><span class="visually-hidden">[^<]*</span> ([^<]*)</p>', page)
    assert m, page[-3000:]
    return m.group(1)


ALL = {"day", "month", "year"}
NEXT_YEAR = str(TODAY().year + 1)


@pytest.mark.parametrize(
    ("day", "month", "year", "message", "invalid"),
    [
        ("", "", "", "Enter the date of the event", ALL),
        ("7", "", "", "The date must include a month and year", {"month", "year"}),
        ("", "3", "", "The date must include a day and year", {"day", "year"}),
        ("", "", NEXT_YEAR, "The date must include a day and month", {"day", "month"}),
        ("", "3", NEXT_YEAR, "The date must include a day", {"day"}),
        ("7", "", NEXT_YEAR, "The date must include a month", {"month"}),
        ("7", "3", "", "The date must include a year", {"year"}),
        ("31", "2", NEXT_YEAR, "The date must be a real date", {"day"}),
        ("7", "13", NEXT_YEAR, "The date must be a real date", {"month"}),
        ("x", "3", NEXT_YEAR, "The date must be a real date", {"day"}),
        ("7", "3.5", NEXT_YEAR, "The date must be a real date", {"month"}),
        ("7", "3", "27", "The year must have 4 digits", {"year"}),
        ("7", "3", "2001", "The date must be today or in the future", ALL),
        ("7", "3", str(TODAY().year + 6), f"The year must be between 1900 and {TODAY().year + 5}", {"year"}),
    ],
)
def test_each_problem_gets_its_message_on_the_boxes_it_is_about(
    walker: Walker, session: Any, day: str, month: str, year: str, message: str, invalid: set[str]
) -> None:
    on_step(walker, "goals")
    r = post_event(walker, day, month, year)
    assert r.status_code == 200
    page = text(r)
    assert error_of(page, "upcoming_event_date") == message
    assert invalid_boxes(page, "upcoming_event_date") == invalid
    # What was typed stays in its box; the error summary links to the first box in question.
    for part, typed in (("day", day), ("month", month), ("year", year)):
        assert f'id="upcoming_event_date-{part}" name="upcoming_event_date-{part}" inputmode="numeric" value="{typed}"' in page
    first = next(p for p in ("day", "month", "year") if p in invalid)
    assert f'<li><a href="#upcoming_event_date-{first}">' in page
    assert "upcoming_event_date" not in drafts(session)[0].answers


@pytest.mark.parametrize(
    "typed",
    [
        lambda d: (str(d.day), str(d.month), str(d.year)),
        lambda d: (f"{d.day:02d}", f"{d.month:02d}", str(d.year)),
        lambda d: (f" {d.day} ", str(d.month), f"{d.year} "),
        # Full-width digits, as a Chinese keyboard may type them.
        lambda d: tuple(str(n).translate({ord(c): 0xFF10 + int(c) for c in "0123456789"})
                        for n in (d.day, d.month, d.year)),
    ],
    ids=["plain", "leading-zeros", "spaces", "full-width"],
)
def test_a_real_date_is_stored_as_an_iso_date(walker: Walker, session: Any, typed: Any) -> None:
    on_step(walker, "goals")
    day = TODAY() + dt.timedelta(days=20)
    r = post_event(walker, *typed(day))
    assert r.status_code == 303, error_of(text(r), "upcoming_event_date")
    assert drafts(session)[0].answers["upcoming_event_date"] == day.isoformat()
    # Shown again in its boxes.
    page = text(walker.get(f"{walker.base}/s/goals"))
    for part in ("day", "month", "year"):
        assert f'name="upcoming_event_date-{part}" inputmode="numeric" value="{getattr(day, part)}"' in page


def test_an_optional_date_may_stay_empty_but_not_half_filled(app: Flask) -> None:
    """Every date of the questionnaire is required; a made-up optional one behaves like the
    other optional questions: empty boxes are no answer, a half date is an error."""
    q = Question(id="when", type="date", label=Text(en="When?", **{"zh-Hant": "何時？", "zh-Hans": "何时？"}), required=False)
    form_class = type("WhenForm", (StepForm,), {"when": make_field(q)})
    with app.test_request_context():
        meta = {"csrf": False, "lang": "en", "today": TODAY()}
        empty = form_class(formdata=MultiDict(boxes("when", "", "", "")), meta=meta)
        assert empty.validate() and empty.when.data is None
        half = form_class(formdata=MultiDict(boxes("when", "", "", "2020")), meta=meta)
        assert not half.validate()
        assert [str(e) for e in half.when.errors] == ["The date must include a day and month"]


def test_one_iso_date_under_the_question_name_is_read_too(walker: Walker, session: Any) -> None:
    """Scripted clients (the load benchmark) may post `<question>=YYYY-MM-DD`."""
    url = on_step(walker, "goals")
    token = csrf_of(walker.get(url))
    data = {"csrf_token": token, "action": "continue", **EVENT, "upcoming_event_date": future(9)}
    assert walker.client.post(url, data=data).status_code == 303
    assert drafts(session)[0].answers["upcoming_event_date"] == future(9)
    data["upcoming_event_date"] = "2027-02-30"
    r = walker.client.post(f"{walker.base}/s/goals", data=data)
    assert r.status_code == 200 and error_of(text(r), "upcoming_event_date") == "The date must be a real date"


@pytest.mark.parametrize(
    ("lang", "order", "labels", "example"),
    [
        ("en", ("day", "month", "year"), ("Day", "Month", "Year"), "For example, {d.day} {d.month} {d.year}"),
        ("zh-Hant", ("year", "month", "day"), ("年", "月", "日"), "例如：{d.year} {d.month} {d.day}"),
    ],
)
def test_boxes_follow_the_language_and_the_example_fits_the_question(
    walker: Walker, lang: str, order: tuple[str, ...], labels: tuple[str, ...], example: str
) -> None:
    on_step(walker, "recent_treatments", lang)
    page = text(walker.get())
    block = page.split('id="q-botox_when"', 1)[1].split('id="q-filler_when"', 1)[0]
    found = re.findall(r'<label for="botox_when-(day|month|year)">([^<]*)</label>', block)
    assert found == list(zip(order, labels, strict=True))
    assert 'type="date"' not in block
    # Past question, past example; the event (future) gets a future one.
    assert f'<p class="hint" id="botox_when-example">{example.format(d=TODAY() - dt.timedelta(days=30))}</p>' in block
    assert 'aria-describedby="botox_when-help botox_when-example"' in block
    goals = text(walker.get(f"{walker.base}/s/goals"))
    assert f'id="upcoming_event_date-example">{example.format(d=TODAY() + dt.timedelta(days=30))}</p>' in goals


def test_chinese_messages_link_to_the_first_box_in_chinese_order(walker: Walker) -> None:
    on_step(walker, "goals", "zh-Hant")
    page = text(post_event(walker, "7", "", ""))
    assert error_of(page, "upcoming_event_date") == "日期必須包含年和月"
    assert '<li><a href="#upcoming_event_date-year">' in page  # year comes first in Chinese
    empty = text(post_event(walker, "", "", ""))
    assert error_of(empty, "upcoming_event_date") == "請輸入活動日期"


@pytest.mark.parametrize("lang", ["en", "zh-Hant"])
def test_no_client_page_has_a_native_date_input(client: FlaskClient, lang: str) -> None:
    pages = client_pages(client, lang)
    assert "recent_treatments" in pages and "goals" in pages
    for name, response in pages.items():
        assert 'type="date"' not in text(response), name
    assert 'name="botox_when-day"' in text(pages["recent_treatments"])


def test_a_stored_date_that_no_longer_passes_is_asked_again(walk: Any, app: Flask) -> None:
    """Before the review, stored dates are checked again through the same three boxes."""
    w = walk(recent_treatments={"recent_procedures": ["botox"], "botox_when": past(10)})
    assert w.get(f"{w.base}/review").status_code == 200
    with app.app_context(), db.transaction() as s:
        draft = s.query(Draft).one()
        draft.answers = {**draft.answers, "botox_when": "not a date"}
    r = w.get(f"{w.base}/review")
    assert r.status_code == 303 and "/s/recent_treatments?check=1" in r.headers["Location"]
    page = text(w.get(r.headers["Location"]))
    assert error_of(page, "botox_when") == "The date must include a day and month"
    with app.app_context(), db.transaction() as s:
        draft = s.query(Draft).one()
        draft.answers = {**draft.answers, "botox_when": future(3)}
    r = w.get(f"{w.base}/review")
    assert r.status_code == 303
    page = text(w.get(r.headers["Location"]))
    assert error_of(page, "botox_when") == "The date must be today or in the past"


def test_a_date_named_in_the_questionnaire_is_asked_for_by_its_name(app: Flask) -> None:
    name = Text(en="the date of the event", **{"zh-Hant": "活動日期", "zh-Hans": "活动日期"})
    q = Question(id="when", type="date", label=Text(en="When?", **{"zh-Hant": "何時？", "zh-Hans": "何时？"}),
                 date_name=name)
    form_class = type("WhenForm", (StepForm,), {"when": make_field(q)})
    for lang, locale, message in (("en", "en", "Enter the date of the event"),
                                  ("zh-Hant", "zh_Hant", "請輸入活動日期")):
        with app.test_request_context(), force_locale(locale):
            meta = {"csrf": False, "lang": lang, "today": TODAY()}
            form = form_class(formdata=MultiDict(boxes("when", "", "", "")), meta=meta)
            assert not form.validate()
            assert [str(e) for e in form.when.errors] == [message]
    with pytest.raises(ValueError, match="date_name not allowed on a text question"):
        Question(id="name", type="text", label=name, date_name=name)
