"""Property-based fuzzing of the wizard: arbitrary form data never gives a 500 or stores junk."""
from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.datastructures import MultiDict

from screener.i18n import LANGUAGE_NAMES
from screener.questionnaire.model import TEXT_TYPES, Questionnaire

from .conftest import (
    STEP_ANSWERS,
    Walker,
    assert_valid_answer,
    consent_fields,
    csrf_of,
    drafts,
    submissions,
)

FUZZ = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

nasty_text = st.one_of(
    st.text(max_size=50),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=300),
    st.sampled_from(["\x00", "a\x00b", "<script>alert(1)</script>", "=HYPERLINK(1)", "💉" * 10,
                     "9" * 400, "-1", "1e9", "NaN", "2024-02-30", "0000-00-00", "9999-12-31",
                     "yes", "no", "none", "other", "true", " ", "\u202e", "\ud7ff"]),
    st.integers(min_value=-(10**12), max_value=10**12).map(str),
    st.dates(min_value=dt.date(1, 1, 1)).map(dt.date.isoformat),
    st.just("x" * 5000),
)


def field_names(qn: Questionnaire, step_id: str) -> list[str]:
    step = qn.step(step_id)
    assert step is not None
    # A date question is posted as its three boxes (its own name is read too).
    return [name for q in step.questions for name in
            [q.id] + ([f"{q.id}-{part}" for part in ("day", "month", "year")] if q.type == "date" else [])]


@st.composite
def form_data(draw: st.DrawFn, names: list[str]) -> MultiDict[str, str]:
    """Some of the step's fields (missing, repeated, wrong type, valid) plus unknown fields."""
    md: MultiDict[str, str] = MultiDict()
    for name in draw(st.lists(st.sampled_from([*names, "extra", "csrf_token", "action", "id"]), max_size=12)):
        for value in draw(st.lists(nasty_text, min_size=1, max_size=3)):
            md.add(name, value)
    return md


# The step form's buttons: continue, back, a language switch; and anything else in their place.
actions = st.sampled_from(["continue", "back"]) | nasty_text
languages = st.sampled_from(["en", "zh-Hant", "zh-TW", "zh-Hans", "fr"]) | nasty_text


def check_stored(app: Flask, session: Any) -> None:
    qn = app.extensions["questionnaire"]
    today = dt.date.today()
    for draft in drafts(session):
        assert draft.lang in LANGUAGE_NAMES, draft.lang
        for qid, value in draft.answers.items():
            assert qid in qn.questions, f"unknown answer {qid!r} stored"
            assert_valid_answer(qn.questions[qid], value, today)
    seen: set[int] = set()
    for sub in submissions(session):
        assert sub.draft_id not in seen, "two submissions for one draft"
        seen.add(sub.draft_id)
        assert sub.lang in LANGUAGE_NAMES, sub.lang
        for qid, value in sub.answers.items():
            assert qid in qn.questions, f"unknown answer {qid!r} submitted"
            assert_valid_answer(qn.questions[qid], value, today)


@pytest.mark.parametrize("step_id", list(STEP_ANSWERS))
def test_arbitrary_posts_to_every_step(client: FlaskClient, app: Flask, session: Any, step_id: str) -> None:
    qn = app.extensions["questionnaire"]
    walker = Walker(client)
    walker.start()
    for earlier in list(STEP_ANSWERS)[: list(STEP_ANSWERS).index(step_id)]:
        walker.post_step(STEP_ANSWERS[earlier])
    url = walker.url
    token = csrf_of(client.get(url))

    @FUZZ
    @given(data=form_data(field_names(qn, step_id)), keep_csrf=st.booleans(),
           action=st.none() | actions, switch=st.none() | languages, from_valid=st.booleans())
    def fuzz(data: MultiDict[str, str], keep_csrf: bool, action: str | None, switch: str | None,
             from_valid: bool) -> None:
        if from_valid:  # the valid answers with some fields replaced: often accepted
            valid = MultiDict(STEP_ANSWERS[step_id])
            for name in data:
                valid.setlist(name, data.getlist(name))
            data = valid
        if keep_csrf:
            data.setlist("csrf_token", [token])
        if action is not None:
            data.setlist("action", [action])
        if switch is not None:
            data.setlist("switch_lang", [switch])
        r = client.post(url, data=data)
        assert r.status_code in (200, 303, 400), r.status_code
        if r.status_code == 200:  # the step again, with its errors (in the draft's language)
            assert 'id="error-summary-title"' in r.get_data(as_text=True)
        check_stored(app, session)

    fuzz()


@FUZZ
@given(data=form_data(["lang"]), lang=st.none() | languages)
def test_arbitrary_posts_to_start(client: FlaskClient, app: Flask, session: Any,
                                  data: MultiDict[str, str], lang: str | None) -> None:
    if lang is not None:
        data.setlist("lang", [lang])
    r = client.post("/c/demo/start", data=data)
    # A new draft when the first step's answers pass, else the start page with its errors.
    assert r.status_code in (200, 303), r.status_code
    if r.status_code == 303:
        assert "/d/" in r.headers["Location"]
    check_stored(app, session)


def test_arbitrary_posts_to_submit(client: FlaskClient, app: Flask, session: Any) -> None:
    """On a complete draft: only its own token submits, exactly once, whatever else is sent."""
    walker = Walker(client)
    walker.start()
    for answers in STEP_ANSWERS.values():
        walker.post_step(answers)
    review = client.get(f"{walker.base}/review")
    assert review.status_code == 200
    token = csrf_of(review)
    signature = consent_fields(review)

    done = False

    @FUZZ
    @given(
        data=form_data(["csrf_token", "lang", "consent_version", "signed_name", "signature"]),
        keep_csrf=st.booleans(), sign=st.booleans(),
    )
    def fuzz(data: MultiDict[str, str], keep_csrf: bool, sign: bool) -> None:
        nonlocal done
        if keep_csrf:
            data.setlist("csrf_token", [token])
        if sign:  # the consent signed with the name given, nothing drawn
            for name, value in signature.items():
                data.setlist(name, [value])
            data.poplist("signature")
        sent = data.get("csrf_token") == token  # the first value is the one read
        r = client.post(f"{walker.base}/submit", data=data)
        # Refused without the draft's token until submitted; with it, the review page again
        # until the consent is signed; afterwards a re-sent form (a double click) is sent to
        # the summary, token or not.
        expected = 303 if done or (sent and sign) else 200 if sent else 400
        assert r.status_code == expected, (r.status_code, sent, sign, done)
        done = done or (sent and sign)
        assert len(submissions(session)) == (1 if done else 0)
        check_stored(app, session)

    fuzz()
    client.post(f"{walker.base}/submit", data={"csrf_token": token, **signature})
    assert len(submissions(session)) == 1
    check_stored(app, session)


@given(token=st.text(max_size=80), step=st.text(max_size=40))
@FUZZ
def test_arbitrary_urls_never_fail(client: FlaskClient, token: str, step: str) -> None:
    from urllib.parse import quote

    for path in (f"/c/demo/d/{quote(token, safe='')}/", f"/c/demo/d/{quote(token, safe='')}/s/{quote(step, safe='')}",
                 f"/c/{quote(step, safe='')}/", f"/embed/{quote(step, safe='')}/d/{quote(token, safe='')}/review"):
        r = client.get(path)
        assert r.status_code in (200, 303, 404, 308), (path, r.status_code)


def test_every_text_question_has_a_length_limit(app: Flask) -> None:
    qn = app.extensions["questionnaire"]
    texts = [q for q in qn.questions.values() if q.type in TEXT_TYPES]
    assert texts
    for q in texts:
        assert 0 < q.text_max_length <= 10_000, q.id


def test_arbitrary_query_strings_and_headers_on_client_pages(client: FlaskClient) -> None:
    """Every kind of client page (a step, the review, a summary, standalone and framed, the
    scripts and styles) with any of the query parameters the pages read and any request headers
    they may look at: never a server error."""
    step, complete, sent = Walker(client), Walker(client), Walker(client)
    for w in (step, complete, sent):
        w.start()
    step.post_step(STEP_ANSWERS["about_you"])
    for w in (complete, sent):
        for answers in STEP_ANSWERS.values():
            w.post_step(answers)
    assert sent.submit().status_code == 303
    pages = ["/c/demo/", step.url, f"{step.base}/", f"{step.base}/intro",
             f"{step.base}/s/about_you", f"{complete.base}/review",
             f"{sent.base}/summary", "/embed.js", "/static/screener.css", "/healthz"]
    pages += [p.replace("/c/demo/", "/embed/demo/") for p in pages if p.startswith("/c/demo/")]
    params = st.lists(st.tuples(
        st.sampled_from(["lang", "from", "check", "sent", "done", "host", "v", "x"]),
        nasty_text | st.sampled_from(["zh-Hant", "review", "start", "https://a.example:99999",
                                      "http://localhost:5001", "https://[::1]", "javascript:x"]),
    ), max_size=5)
    headers = st.lists(st.tuples(
        st.sampled_from(["Referer", "Origin", "Accept-Language", "Sec-Fetch-Dest", "Host"]),
        st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=80),
    ), max_size=3)

    @FUZZ
    @given(query=params, sent_headers=headers)
    def fuzz(query: list[tuple[str, str]], sent_headers: list[tuple[str, str]]) -> None:
        for path in pages:
            r = client.get(path, query_string=query, headers=sent_headers)
            r.close()
            assert r.status_code in (200, 303, 304, 400, 404), (path, query, r.status_code)

    fuzz()
