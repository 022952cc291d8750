"""The client wizard over HTTP: the walk, navigation, conditions, resume, submit, bad input."""
from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask, request_finished
from flask.testing import FlaskClient
from sqlalchemy import select

from screener.extensions import db
from screener.storage.models import Clinic, Draft
from screener.wizard.drafts import START_NONCE_SECONDS, hash_token, start_nonce, submit_token

from .conftest import (
    STEP_ANSWERS,
    TEST_SECRET,
    Walker,
    consent_fields,
    csrf_of,
    drafts,
    future,
    past,
    real_questionnaire,
    start_form,
    step_of,
    submissions,
)

STEPS = list(STEP_ANSWERS)
BEFORE_TREATMENTS = STEPS[: STEPS.index("recent_treatments")]
PROCEDURES = [
    v for v in real_questionnaire().questions["recent_procedures"].choice_values if v != "none"
]


def text(r: Any) -> str:
    return str(r.get_data(as_text=True))


@pytest.fixture(autouse=True)
def no_cookies(app: Flask) -> Iterator[None]:
    """Every client response in these tests is checked: no Set-Cookie, ever."""

    def check(sender: Flask, response: Any, **extra: Any) -> None:
        assert "Set-Cookie" not in response.headers, response.headers

    request_finished.connect(check, app)
    yield
    request_finished.disconnect(check, app)


@pytest.mark.parametrize("lang", ["en", "zh-Hant"])
def test_full_walk_to_summary(walk: Callable[..., Walker], session: Any, lang: str) -> None:
    w = walk(lang)
    review = w.get(f"{w.base}/review")
    assert review.status_code == 200
    assert f'<html lang="{lang}">' in text(review)
    r = w.submit()
    assert r.status_code == 303 and r.headers["Location"].endswith("/summary")
    page = w.get(r.headers["Location"])
    assert page.status_code == 200
    assert "Mei Chen" in text(page)
    [sub] = submissions(session)
    assert sub.lang == lang
    assert sub.answers["skin_goals"] == ["fine_lines", "texture"]
    assert sub.answers["pain_sensitivity"] == 4
    assert sub.answers["consent_store"] is True
    assert sub.questionnaire_version == w.client.application.extensions["questionnaire"].version
    assert sub.full_name == "Mei Chen"
    assert w.client.get_cookie("session") is None
    assert not list(w.client._cookies)  # type: ignore[attr-defined]


def test_zh_hant_pages_show_chinese_question_texts(walker: Walker) -> None:
    walker.start("zh-Hant")
    page = text(walker.get())
    assert '<html lang="zh-Hant">' in page
    assert re.search(r"[\u4e00-\u9fff]", page.split("<main", 1)[1])


def test_progress_says_step_n_of_m(walker: Walker) -> None:
    walker.start()
    assert f"Step 1 of {len(STEPS)}" in text(walker.get())
    walker.post_step(STEP_ANSWERS["about_you"])
    assert f"Step 2 of {len(STEPS)}" in text(walker.get())


def test_start_page_and_healthz(client: FlaskClient) -> None:
    r = client.get("/c/demo/")
    assert r.status_code == 200 and "Continue" in text(r)
    h = client.get("/healthz")
    assert h.status_code == 200 and h.json is not None and h.json["status"] == "ok"


NONCE_RE = re.compile(r'name="nonce" value="([^"]+)"')


def nonce_of(page: Any) -> str:
    m = NONCE_RE.search(text(page))
    assert m, "no start nonce"
    return m.group(1)


@pytest.mark.parametrize("prefix", ["/c/demo", "/embed/demo"])
def test_the_start_page_shows_the_first_step_and_creates_nothing(
    client: FlaskClient, session: Any, prefix: str
) -> None:
    pages = [client.get(f"{prefix}/"), client.get(f"{prefix}/?lang=zh-Hant")]
    for page in pages:
        html = text(page)
        assert page.status_code == 200
        assert 'name="age_band"' in html and 'name="pregnancy"' in html
        assert f'action="{prefix}/start"' in html
        # One client's page (its nonce): never kept by a shared cache.
        assert "private" in page.headers["Cache-Control"]
    assert nonce_of(pages[0]) != nonce_of(pages[1])
    assert drafts(session) == []


def test_start_form_errors_keep_the_answers_and_make_no_draft(
    client: FlaskClient, session: Any
) -> None:
    nonce = nonce_of(client.get("/c/demo/"))
    r = client.post("/c/demo/start", data={"lang": "en", "age_band": "45_59", "nonce": nonce})
    html = text(r)
    assert r.status_code == 200 and "error-summary" in html
    assert re.search(r'value="45_59"[^>]* checked', html), "the answer given is kept"
    assert nonce_of(r) == nonce  # the same form: sent again, it still makes one draft only
    assert r.headers["Cache-Control"] == "no-store"
    assert drafts(session) == []
    zh = client.post("/c/demo/start", data={"lang": "zh-Hant", "pregnancy": "no"})
    assert zh.status_code == 200 and 'lang="zh-Hant"' in text(zh)
    assert re.search(r'value="no"[^>]* checked', text(zh))
    assert drafts(session) == []


def test_the_start_form_sent_again_with_its_nonce_goes_on_with_the_same_draft(
    client: FlaskClient, session: Any
) -> None:
    nonce = nonce_of(client.get("/c/demo/"))
    first = client.post("/c/demo/start", data=start_form(nonce=nonce))
    assert first.status_code == 303 and "/s/goals" in first.headers["Location"]
    # The browser's Back to the start page, a changed answer, Continue again.
    again = client.post("/c/demo/start", data=start_form(nonce=nonce, pregnancy="not_sure"))
    assert again.status_code == 303
    assert again.headers["Location"].split("/s/")[0] == first.headers["Location"].split("/s/")[0]
    [draft] = drafts(session)
    assert draft.answers["pregnancy"] == "not_sure"
    # Another page's nonce, a forged or a missing one: a draft of its own.
    raw, stamp, sig = nonce.split(".")
    for other in (nonce_of(client.get("/c/demo/")), f"{raw}.{stamp}.{'0' * 64}",
                  f"{raw[:-1]}A.{stamp}.{sig}", ""):
        r = client.post("/c/demo/start", data=start_form(nonce=other))
        assert r.status_code == 303
        assert r.headers["Location"].split("/s/")[0] != first.headers["Location"].split("/s/")[0]
    assert len(drafts(session)) == 5


def test_a_start_nonce_whose_draft_has_expired_makes_a_new_draft(
    app: Flask, client: FlaskClient, session: Any
) -> None:
    nonce = nonce_of(client.get("/c/demo/"))
    first = client.post("/c/demo/start", data=start_form(nonce=nonce))
    [draft] = drafts(session)
    with app.app_context(), db.transaction() as s:
        s.get(Draft, draft.id).expires_at = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    again = client.post("/c/demo/start", data=start_form(nonce=nonce))
    assert again.status_code == 303, again.status_code
    assert again.headers["Location"].split("/s/")[0] != first.headers["Location"].split("/s/")[0]
    assert len(drafts(session)) == 2


@pytest.mark.parametrize(("age", "continues"), [
    (START_NONCE_SECONDS - 60, True),
    (START_NONCE_SECONDS + 60, False),  # a page kept for hours: never a deleted draft's token
    (-30, True),  # stamped by a server whose clock runs a little ahead
    (-600, False),
])
def test_a_start_nonce_goes_on_with_its_draft_for_a_few_hours_only(
    app: Flask, client: FlaskClient, session: Any, age: int, continues: bool
) -> None:
    clinic_id = session.scalars(select(Clinic.id).where(Clinic.slug == "demo")).one()
    nonce = start_nonce(app.config["SECRET_KEY"], clinic_id, int(time.time()) - age)
    first = client.post("/c/demo/start", data=start_form(nonce=nonce))
    again = client.post("/c/demo/start", data=start_form(nonce=nonce))
    assert first.status_code == again.status_code == 303
    same = again.headers["Location"].split("/s/")[0] == first.headers["Location"].split("/s/")[0]
    assert same is continues
    assert len(drafts(session)) == (1 if continues else 2)


def test_a_fetched_step_is_answered_with_the_next_page(walker: Walker) -> None:
    """wizard.js's step change: one round trip, the next page and its URL, or the same page
    with its errors; not stored by any cache, with every security header."""
    fetch = {"Screener-Fetch": "1"}
    client = walker.client
    nonce = nonce_of(client.get("/c/demo/"))
    r = client.post("/c/demo/start", data=start_form(nonce=nonce), headers=fetch)
    assert r.status_code == 200, r.status_code
    walker.url = r.headers["Screener-Location"]
    assert walker.url == f"{walker.base}/s/goals"
    assert r.headers["Screener-First"] == f"{walker.base}/s/about_you"
    assert f"Step 2 of {len(STEPS)}" in text(r)
    assert r.headers["Cache-Control"] == "no-store"
    assert "Content-Security-Policy" in r.headers and r.headers["X-Frame-Options"] == "DENY"
    page = client.get(walker.url)
    invalid = client.post(walker.url, data={"csrf_token": csrf_of(page), "action": "continue"},
                          headers=fetch)
    assert invalid.status_code == 200 and "error-summary" in text(invalid)
    assert "Screener-Location" not in invalid.headers
    answers = {"csrf_token": csrf_of(page), "action": "continue", **STEP_ANSWERS["goals"]}
    ok = client.post(walker.url, data=answers, headers=fetch)
    assert ok.status_code == 200 and ok.headers["Screener-Location"] == f"{walker.base}/s/comfort"
    assert "Screener-First" not in ok.headers
    assert f"Step 3 of {len(STEPS)}" in text(ok)
    assert ok.headers["Cache-Control"] == "no-store"
    # Back, and the language switch, the same way.
    comfort = client.get(f"{walker.base}/s/comfort")
    back = client.post(f"{walker.base}/s/comfort", headers=fetch,
                       data={"csrf_token": csrf_of(comfort), "action": "back"})
    assert back.headers["Screener-Location"] == f"{walker.base}/s/goals"
    switched = client.post(f"{walker.base}/s/goals", headers=fetch,
                           data={"csrf_token": csrf_of(page), "switch_lang": "zh-Hant"})
    assert switched.status_code == 200 and 'lang="zh-Hant"' in text(switched)
    # Without the header: the plain POST, 303, GET.
    plain = client.post(walker.url, data=answers)
    assert plain.status_code == 303 and plain.headers["Location"] == f"{walker.base}/s/comfort"


def test_token_is_stored_only_as_a_hash(walker: Walker, session: Any) -> None:
    walker.start()
    [draft] = drafts(session)
    assert draft.token_hash == hash_token(walker.token)
    assert walker.token not in repr(draft.__dict__)
    assert len(walker.token) >= 32  # 192 random bits, URL-safe base64


def test_back_keeps_answers_of_every_step_including_current(walker: Walker, session: Any) -> None:
    walker.start()
    walker.post_step(STEP_ANSWERS["about_you"])
    goals_url = walker.url
    # Part of the goals step, then Back: what was entered here is kept.
    r = walker.post_step({"skin_goals": ["firmness"], "upcoming_event": "no"}, action="back")
    assert r.status_code == 303 and "/s/about_you" in r.headers["Location"]
    page = text(walker.get())
    assert 'value="30_44" checked' in page
    page = text(walker.get(goals_url))
    assert 'value="firmness" checked' in page
    assert 'name="upcoming_event" value="no" checked' in page
    [draft] = drafts(session)
    assert draft.answers["skin_goals"] == ["firmness"]


@pytest.mark.parametrize("prefix", ["/c/demo", "/embed/demo"])
def test_back_from_the_first_step_stays_in_the_draft(
    client: FlaskClient, session: Any, prefix: str
) -> None:
    walker = Walker(client, prefix)
    walker.start()
    r = walker.post_step({"age_band": "45_59"}, action="back")
    assert r.status_code == 303 and r.headers["Location"] == f"{walker.base}/intro"
    assert drafts(session)[0].answers == {"age_band": "45_59"}
    intro = walker.get()
    assert intro.status_code == 200 and intro.headers["Cache-Control"] == "no-store"
    page = text(intro)
    assert "Before your facial acupuncture consultation" in page
    # Continue goes on with this draft: to its first step, the answer still there.
    continue_url = re.findall(r'<a class="button" href="([^"]+)">Continue</a>', page)
    assert continue_url == [f"{walker.base}/s/about_you"]
    assert 'value="45_59" checked' in text(walker.get(continue_url[0]))
    assert len(drafts(session)) == 1
    assert f"{walker.base}/" in page  # the private link, as on every draft page


def links_and_forms(html: str) -> set[str]:
    return {u.replace("&amp;", "&") for u in re.findall(r'(?:href|action)="([^"#]+)', html)}


def test_no_page_of_a_draft_leads_to_the_public_start_page(walk: Callable[..., Walker]) -> None:
    w = walk()
    urls = {f"{w.base}/intro", f"{w.base}/intro?lang=zh-Hant", f"{w.base}/review"}
    urls |= {f"{w.base}/s/{step}" for step in STEPS}
    for url in sorted(urls):
        page = w.get(url)
        assert page.status_code == 200, url
        for target in links_and_forms(text(page)):
            assert not target.split("?")[0].endswith(("/c/demo/", "/c/demo/start")), (url, target)
    # The check does see such a form where there is one: on the start page itself.
    assert "/c/demo/start" in links_and_forms(text(w.get("/c/demo/")))


def test_the_intro_page_of_a_sent_draft_shows_the_summary(walk: Callable[..., Walker]) -> None:
    w = walk()
    intro = w.get(f"{w.base}/intro?lang=zh-Hant")
    assert intro.status_code == 200 and '<html lang="zh-Hant">' in text(intro)
    w.submit()
    r = w.get(f"{w.base}/intro")
    assert r.status_code == 303 and r.headers["Location"] == f"{w.base}/summary?sent=1"


def test_back_drops_only_invalid_values(walker: Walker, session: Any) -> None:
    walker.start()
    for step in BEFORE_TREATMENTS:
        walker.post_step(STEP_ANSWERS[step])
    r = walker.post_step(
        {"recent_procedures": ["botox"], "botox_when": "not a date", "permanent_implants": "no"},
        action="back",
    )
    assert r.status_code == 303
    answers = drafts(session)[0].answers
    assert answers["recent_procedures"] == ["botox"] and answers["permanent_implants"] == "no"
    assert "botox_when" not in answers


@pytest.mark.parametrize(
    ("step", "data", "question", "message"),
    [
        ("about_you", {"pregnancy": "no"}, "age_band", "Select your age group"),
        ("about_you", {"age_band": "ancient", "pregnancy": "no"}, "age_band", "Select one of the options shown"),
        ("goals", {**STEP_ANSWERS["goals"], "skin_goals": []}, "skin_goals", "Select what you would like to work on"),
        ("goals", {**STEP_ANSWERS["goals"], "skin_goals": ["fine_lines", "bogus"]}, "skin_goals", "Select only from the options shown"),
        ("goals", {**STEP_ANSWERS["goals"], "upcoming_event": "yes", "upcoming_event_date": "2020-13-45"}, "upcoming_event_date", "The date must be a real date"),
        ("goals", {**STEP_ANSWERS["goals"], "upcoming_event": "yes", "upcoming_event_date": past(3)}, "upcoming_event_date", "The date must be today or in the future"),
        ("goals", {**STEP_ANSWERS["goals"], "upcoming_event": "yes"}, "upcoming_event_date", "Enter the date of the event"),
        ("goals", {**STEP_ANSWERS["goals"], "skin_goals": ["other"]}, "skin_goals_other", "Enter what else you would like to work on"),
        ("goals", {**STEP_ANSWERS["goals"], "skin_goals": ["other"], "skin_goals_other": "   "}, "skin_goals_other", "Enter what else you would like to work on"),
        ("comfort", {**STEP_ANSWERS["comfort"], "pain_sensitivity": "11"}, "pain_sensitivity", "Select one of the options shown"),
        ("comfort", {**STEP_ANSWERS["comfort"], "pain_sensitivity": "high"}, "pain_sensitivity", "Select one of the options shown"),
        ("conditions", {**STEP_ANSWERS["conditions"], "recent_stroke_heart": "maybe"}, "recent_stroke_heart", "Select one of the options shown"),
        ("medicines", {**STEP_ANSWERS["medicines"], "bleeding_supplements": ["none", "fish_oil"]}, "bleeding_supplements", "cannot be combined"),
        ("medicines", {**STEP_ANSWERS["medicines"], "bleeding_supplements": []}, "bleeding_supplements", "Select which of these you take regularly, or select ‘None of these’"),
        ("skin_today", {**STEP_ANSWERS["skin_today"], "facial_skin": ["none", "acne"]}, "facial_skin", "cannot be combined"),
        ("skin_today", {k: v for k, v in STEP_ANSWERS["skin_today"].items() if k != "facial_lesion"}, "facial_lesion", "Select whether there is a new or changed mole"),
        ("skin_today", {**STEP_ANSWERS["skin_today"], "other_health": "x" * 2001}, "other_health", "Your answer must be 2000 characters or less"),
        ("skin_today", {**STEP_ANSWERS["skin_today"], "other_health": "bad\x00byte"}, "other_health", "control characters"),
        ("recent_treatments", {"recent_procedures": ["laser"], "laser_when": past(5), "permanent_implants": "no"}, "laser_type", "Select what kind of laser treatment it was"),
        ("recent_treatments", {"recent_procedures": ["peel"], "peel_when": past(5), "peel_depth": "very", "permanent_implants": "no"}, "peel_depth", "Select one of the options shown"),
        ("recent_treatments", {"recent_procedures": ["botox"], "botox_when": future(5), "permanent_implants": "no"}, "botox_when", "The date must be today or in the past"),
        ("recent_treatments", {"recent_procedures": ["botox"], "permanent_implants": "no"}, "botox_when", "Enter the date you last had anti-wrinkle injections"),
        ("details", {**STEP_ANSWERS["details"], "full_name": "x" * 201}, "full_name", "Your full name must be 200 characters or less"),
        ("details", {**STEP_ANSWERS["details"], "email": "not-an-email"}, "email", "Enter an email address in the correct format, like name@example.com"),
        ("details", {**STEP_ANSWERS["details"], "phone": "call me maybe"}, "phone", "Enter a phone number using only numbers, spaces and + ( ) -"),
        ("details", {k: v for k, v in STEP_ANSWERS["details"].items() if k != "consent_store"}, "consent_store", "Select the box to agree that your answers are stored"),
    ],
)
def test_bad_input_gets_a_message_on_the_field_and_nothing_is_stored(
    walker: Walker, session: Any, step: str, data: dict[str, Any], question: str, message: str
) -> None:
    walker.start()
    for earlier in STEPS[: STEPS.index(step)]:
        walker.post_step(STEP_ANSWERS[earlier])
    before = dict(drafts(session)[0].answers)
    r = walker.post_step(data)
    assert r.status_code == 200
    page = text(r)
    # The message sits next to the field, and the error summary links to it.
    assert f'id="{question}-error"' in page
    assert message in page.split(f'id="{question}-error"', 1)[1].split("</p>", 1)[0]
    assert re.search(rf'class="error-summary".*href="#{question}(-0|-day|-month)?"', page, re.S)
    assert "<title>Error:" in page
    # The page keeps what was typed, and the stored draft is unchanged.
    assert drafts(session)[0].answers == before


def test_extra_and_missing_fields(walker: Walker, session: Any) -> None:
    walker.start()
    r = walker.post_step({**STEP_ANSWERS["about_you"], "is_admin": "1", "clinic_id": "2"})
    assert r.status_code == 303
    assert drafts(session)[0].answers == {"age_band": "30_44", "pregnancy": "no"}


def test_optional_questions_may_stay_empty(walker: Walker, session: Any) -> None:
    walker.start()
    for step in STEPS[:-1]:
        walker.post_step(STEP_ANSWERS[step])
    r = walker.post_step({"full_name": "Ann", "email": "", "phone": "", "consent_store": "y", "consent_not_advice": "y"})
    assert r.status_code == 303 and r.headers["Location"].endswith("/review")
    assert "email" not in drafts(session)[0].answers


def test_conditional_question_shown_and_kept_only_when_its_condition_holds(
    walker: Walker, session: Any
) -> None:
    walker.start()
    walker.post_step(STEP_ANSWERS["about_you"])
    goals = {**STEP_ANSWERS["goals"], "skin_goals": ["other"], "skin_goals_other": "jawline",
             "upcoming_event": "yes", "upcoming_event_date": future(20)}
    assert walker.post_step(goals).status_code == 303
    answers = drafts(session)[0].answers
    assert answers["skin_goals_other"] == "jawline" and answers["upcoming_event_date"] == future(20)
    # Change the controlling answers: the dependent answers are dropped, even if still posted.
    goals_url = walker.url.replace("/s/comfort", "/s/goals")
    r = walker.post_step({**goals, "skin_goals": ["texture"], "upcoming_event": "no"}, url=goals_url)
    assert r.status_code == 303
    answers = drafts(session)[0].answers
    assert "skin_goals_other" not in answers and "upcoming_event_date" not in answers


# The follow-up questions of each procedure: its date, and for a laser or a peel its kind.
FOLLOW_UPS = {p: {f"{p}_when": past(7)} for p in PROCEDURES} | {
    "laser": {"laser_when": past(7), "laser_type": "ablative"},
    "peel": {"peel_when": past(7), "peel_depth": "superficial"},
}


def test_every_procedure_has_its_follow_up_questions() -> None:
    assert set(PROCEDURES) == set(FOLLOW_UPS) and len(PROCEDURES) == 9
    questions = real_questionnaire().questions
    for answers in FOLLOW_UPS.values():
        assert all(step_of(q) == "recent_treatments" and questions[q].required for q in answers)


@pytest.mark.parametrize("procedure", PROCEDURES)
def test_each_procedure_date_is_asked_only_for_that_procedure(
    walker: Walker, session: Any, procedure: str
) -> None:
    walker.start()
    for step in BEFORE_TREATMENTS:
        walker.post_step(STEP_ANSWERS[step])
    page = text(walker.get())
    follow_ups = FOLLOW_UPS[procedure]
    for q in follow_ups:
        assert f'id="q-{q}"' in page  # on the page, revealed by the checkbox
    r = walker.post_step({"recent_procedures": [procedure], "permanent_implants": "no"})
    assert r.status_code == 200
    for q in follow_ups:
        assert f'id="{q}-error"' in text(r)
    r = walker.post_step({"recent_procedures": [procedure], **follow_ups, "permanent_implants": "no"})
    assert r.status_code == 303
    answers = drafts(session)[0].answers
    assert {q: answers[q] for q in follow_ups} == follow_ups
    others = {q for p, qs in FOLLOW_UPS.items() if p != procedure for q in qs}
    assert not others & set(answers)


def test_hidden_answers_are_dropped_when_a_procedure_is_unticked(walk: Callable[..., Walker], session: Any) -> None:
    laser = {"laser_when": past(10), "laser_type": "ablative"}
    w = walk(recent_treatments={"recent_procedures": ["botox", "laser"], "botox_when": past(10), **laser})
    assert {"botox_when", "laser_when", "laser_type"} <= set(drafts(session)[0].answers)
    url = f"{w.base}/s/recent_treatments?from=review"
    # Laser unticked; its date and kind are still posted (stale fields of the page): dropped.
    r = w.post_step({"recent_procedures": ["botox"], "botox_when": past(10), **laser, "permanent_implants": "no"}, url=url)
    assert r.status_code == 303 and r.headers["Location"].endswith("/review")
    answers = drafts(session)[0].answers
    assert "laser_when" not in answers and "laser_type" not in answers
    assert answers["botox_when"] == past(10)
    w.submit()
    [sub] = submissions(session)
    assert "laser_type" not in sub.answers and "laser_when" not in sub.answers
    assert [f["rule"] for f in sub.flags] == ["botox_recent"]  # no laser_deep_recent


def test_review_lists_answers_and_change_returns_to_review(walk: Callable[..., Walker], session: Any) -> None:
    w = walk()
    review = text(w.get(f"{w.base}/review"))
    assert "Mei Chen" in review
    links = re.findall(r'href="([^"]*/s/comfort\?from=review)#q-pain_sensitivity"', review)
    assert links, "no change link for pain sensitivity"
    r = w.post_step({**STEP_ANSWERS["comfort"], "pain_sensitivity": "8"}, url=links[0])
    assert r.status_code == 303 and r.headers["Location"].endswith("/review")
    assert drafts(session)[0].answers["pain_sensitivity"] == 8


def test_change_that_reveals_a_new_question_asks_it_before_review(walk: Callable[..., Walker]) -> None:
    w = walk()
    url = f"{w.base}/s/goals?from=review"
    # Say there is an event, but the date is asked on this same step: an error until given.
    r = w.post_step({**STEP_ANSWERS["goals"], "upcoming_event": "yes"}, url=url)
    assert r.status_code == 200 and 'id="upcoming_event_date-error"' in text(r)
    r = w.post_step({**STEP_ANSWERS["goals"], "upcoming_event": "yes", "upcoming_event_date": future(30)}, url=url)
    assert r.headers["Location"].endswith("/review")


def test_resume_link_brings_the_client_back_with_answers(client: FlaskClient, app: Flask, session: Any) -> None:
    w = Walker(client)
    w.start()
    w.post_step(STEP_ANSWERS["about_you"])
    w.post_step(STEP_ANSWERS["goals"])
    # A new browser: nothing but the link.
    fresh = Walker(app.test_client())
    r = fresh.get(f"{w.base}/")
    assert r.status_code == 303 and r.headers["Location"].endswith("/s/comfort")
    assert f"{w.base}/" in text(client.get(r.headers["Location"]))  # the page shows the resume link
    goals = text(fresh.get(f"{w.base}/s/goals"))
    assert 'value="fine_lines" checked' in goals and 'value="over_months" checked' in goals


def test_resume_page_says_how_long_the_draft_is_kept(walker: Walker, session: Any) -> None:
    walker.start()
    page = text(walker.get())
    expires = drafts(session)[0].expires_at
    assert (expires - drafts(session)[0].created_at).days == 14
    assert "kept until" in page and str(expires.year) in page


def test_double_submit_makes_one_submission(walk: Callable[..., Walker], session: Any) -> None:
    w = walk()
    review = w.get(f"{w.base}/review")
    data = {"csrf_token": csrf_of(review), **consent_fields(review)}
    first = w.client.post(f"{w.base}/submit", data=data)
    second = w.client.post(f"{w.base}/submit", data=data)
    assert first.status_code == 303 and second.status_code == 303
    assert first.headers["Location"].endswith("/summary")
    assert second.headers["Location"].endswith("/summary?sent=1")  # "sent on <date>"
    assert len(submissions(session)) == 1


def test_back_and_refresh_after_submit_never_error(walk: Callable[..., Walker], session: Any) -> None:
    w = walk()
    w.submit()
    for url in (f"{w.base}/s/details", f"{w.base}/review", f"{w.base}/"):
        r = w.client.get(url)
        assert r.status_code == 303 and "/summary" in r.headers["Location"]
    # Re-posting an old step form (browser Back + resend) changes nothing.
    r = w.client.post(f"{w.base}/s/details", data={"full_name": "Changed"})
    assert r.status_code == 303 and "/summary" in r.headers["Location"]
    assert submissions(session)[0].answers["full_name"] == "Mei Chen"
    summary = w.client.get(f"{w.base}/summary?sent=1")
    assert summary.status_code == 200 and "nothing more to do" in text(summary)
    assert len(submissions(session)) == 1


SENT_ON = {
    "en": "Your answers were sent on {date}; there is nothing more to do.",
    "zh-Hant": "您的回答已於{date}送出，您無需再做任何事。",
}


@pytest.mark.parametrize("lang", ["en", "zh-Hant"])
def test_back_after_sending_says_when_the_answers_were_sent(
    walk: Callable[..., Walker], session: Any, app: Flask, lang: str
) -> None:
    from flask_babel import force_locale, format_date

    w = walk(lang)
    first = text(w.get(w.submit().headers["Location"]))
    with app.test_request_context(), force_locale(lang.replace("-", "_")):
        day = format_date(submissions(session)[0].submitted_at, "long")
    line = SENT_ON[lang].format(date=day)
    assert line not in first  # just sent: the page says so in its heading already
    back = w.get(f"{w.base}/review")  # the browser's Back from the summary
    assert back.status_code == 303 and back.headers["Location"] == f"{w.base}/summary?sent=1"
    page = text(w.get(back.headers["Location"]))
    assert f'<p class="notice" role="status">{line}</p>' in page


def test_the_summary_has_a_print_button_for_the_script(walk: Callable[..., Walker]) -> None:
    w = walk()
    page = text(w.get(w.submit().headers["Location"]))
    assert (
        '<p class="print-action" hidden><button type="button" class="button secondary"'
        " data-print>Print or save as PDF</button></p>"
    ) in page


def test_submit_revalidates_every_visible_step(walker: Walker, session: Any, app: Flask) -> None:
    walker.start()
    for step in STEPS:
        walker.post_step(STEP_ANSWERS[step])
    # Stored answers went stale (e.g. a required answer lost) behind the wizard's back: review
    # and submit check every visible step again.
    with app.app_context():
        from screener.extensions import db

        with db.transaction() as s:
            draft = s.query(Draft).one()
            draft.answers = {k: v for k, v in draft.answers.items() if k != "needle_fear"}
    review = walker.client.get(f"{walker.base}/review")
    assert review.status_code == 303 and "/s/comfort?check=1" in review.headers["Location"]
    page = text(walker.client.get(review.headers["Location"]))
    assert 'id="needle_fear-error"' in page
    token = submit_token(TEST_SECRET, hash_token(walker.token))
    r = walker.client.post(f"{walker.base}/submit", data={"csrf_token": token})
    assert r.status_code == 303 and "/s/comfort?check=1" in r.headers["Location"]
    assert not submissions(session)


def test_wrong_or_missing_csrf_is_a_400_and_changes_nothing(walker: Walker, session: Any) -> None:
    walker.start()
    for token in (None, "forged", "0" * 64):
        data = {"age_band": "18_29", "pregnancy": "yes", "action": "continue"}
        if token:
            data["csrf_token"] = token
        for headers in ({}, {"Screener-Fetch": "1"}):
            r = walker.client.post(walker.url, data=data, headers=headers)
            assert r.status_code == 400 and "could not be sent" in text(r)
    assert drafts(session)[0].answers == STEP_ANSWERS["about_you"]


def test_csrf_token_is_bound_to_draft_and_step(client: FlaskClient, session: Any) -> None:
    a, b = Walker(client), Walker(client)
    a.start()
    b.start()
    token_a = csrf_of(client.get(a.url))
    r = client.post(b.url, data={**STEP_ANSWERS["about_you"], "csrf_token": token_a})
    assert r.status_code == 400
    a.post_step(STEP_ANSWERS["about_you"])  # now on goals
    r = client.post(a.url, data={**STEP_ANSWERS["goals"], "csrf_token": token_a})
    assert r.status_code == 400


@pytest.mark.parametrize(
    "path",
    [
        "/c/demo/d/{bad}/",
        "/c/demo/d/{bad}/s/about_you",
        "/c/demo/d/{bad}/review",
        "/c/demo/d/{bad}/summary",
        "/c/nope/",
        "/c/demo/d/{tok}/s/no_such_step",
    ],
)
def test_unknown_or_tampered_tokens_get_a_404_page(walker: Walker, path: str) -> None:
    walker.start()
    tampered = walker.token[:-1] + ("A" if walker.token[-1] != "A" else "B")
    url = path.format(bad=tampered, tok=walker.token)
    r = walker.client.get(url)
    if "no_such_step" in url:
        assert r.status_code == 303  # an unknown step of a good draft: back to where they were
    else:
        assert r.status_code == 404 and "Page not found" in text(r)
    for junk in ("x", "../../etc", "a" * 500, "%00"):
        assert walker.client.get(f"/c/demo/d/{junk}/").status_code == 404


def test_a_draft_of_another_clinic_is_not_found(walker: Walker, app: Flask) -> None:
    from screener.extensions import db
    from screener.storage.models import Clinic

    with app.app_context(), db.transaction() as s:
        s.add(Clinic(slug="other", name="Other", allowed_origins=[]))
    walker.start()
    assert walker.client.get(f"/c/other/d/{walker.token}/").status_code == 404


def test_expired_draft_is_gone(walker: Walker, app: Flask) -> None:
    from screener.extensions import db

    walker.start()
    with app.app_context(), db.transaction() as s:
        d = s.query(Draft).one()
        d.expires_at = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    assert walker.client.get(walker.url).status_code == 404


def test_oversized_body_is_413(walker: Walker) -> None:
    walker.start()
    r = walker.client.post(walker.url, data={"other_health": "x" * 600_000})
    assert r.status_code == 413 and "Too much was sent" in text(r)


def test_method_not_allowed_is_a_page(client: FlaskClient) -> None:
    r = client.get("/c/demo/start")
    assert r.status_code == 405 and "<main" in text(r)


def test_client_pages_are_private_and_framing_is_denied(walker: Walker) -> None:
    walker.start()
    r = walker.get()
    assert r.headers["Cache-Control"] == "no-store"
    assert r.headers["Referrer-Policy"] == "no-referrer"
    assert r.headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in r.headers["Content-Security-Policy"]


def test_refresh_of_a_post_is_avoided_by_redirects(walker: Walker) -> None:
    walker.start()
    r = walker.post_step(STEP_ANSWERS["about_you"])
    assert r.status_code == 303  # Post/Redirect/Get: a refresh re-loads a GET page


def test_summary_link_expires_after_the_draft_period(walk: Callable[..., Walker], app: Flask, session: Any) -> None:
    from screener.dashboard import operations
    from screener.extensions import db

    w = walk()
    w.submit()
    [draft] = drafts(session)
    assert draft.submitted_at is not None
    assert (draft.expires_at - draft.submitted_at).days == app.config["DRAFT_DAYS"]
    summary = w.get(f"{w.base}/summary")
    assert summary.status_code == 200 and "The link works until" in text(summary)
    with app.app_context(), db.transaction() as s:
        s.get(Draft, draft.id).expires_at = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    assert w.get(f"{w.base}/summary").status_code == 404  # health data no longer behind the link
    with app.app_context():
        operations.purge_expired(dt.datetime.now(dt.UTC))
    assert not drafts(session) and len(submissions(session)) == 1  # the clinic keeps the submission
