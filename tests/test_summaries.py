"""The client and practitioner summaries, frozen flags, and the JSON form of a submission."""

# ruff: noqa: F811  (shared fixtures from dashboard_support are imported by name)
from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import jinja2
import pytest
from flask import Flask, g
from flask.testing import FlaskClient
from flask_babel import gettext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from markupsafe import escape
from sqlalchemy import select

from screener import create_app
from screener.config import ROOT
from screener.extensions import db
from screener.questionnaire import load_questionnaire
from screener.questionnaire.engine import prune
from screener.questionnaire.model import LANGUAGES, Question, Questionnaire
from screener.screening import screen, submission_json
from screener.screening.render import render_practitioner_summary
from screener.screening.submission import JSON_KEYS
from screener.storage.models import Clinic, Submission, utcnow
from screener.wizard.drafts import new_draft

from .conftest import TEST_SECRET, Walker, past, submissions
from .dashboard_support import accounts, clinics, fast_hashing, logged_in  # noqa: F401
from .test_screening import BASE

RECOMMENDATION = (
    "Please discuss treatment with a qualified, experienced practitioner before any needling."
)
FLAG_KEYS = {"rule", "severity", "because", "source", "client", "practitioner", "timing"}
FORBIDDEN_EN = re.compile(r"\b(suitable|eligible|cleared|safe)\b|stop taking", re.IGNORECASE)
FORBIDDEN_ZH = ("適合", "合格", "安全", "停藥")
XSS = "<script>alert(1)</script>"



def qn_of(app: Flask) -> Questionnaire:
    return app.extensions["questionnaire"]  # type: ignore[no-any-return]


def store(
    app: Flask,
    answers: dict[str, Any],
    lang: str = "en",
    *,
    old: tuple[list[dict[str, Any]], str] | None = None,
) -> str:
    """Store a submission as `submit` does (pruned answers, flags screened once); its token.

    `old` = (stored flags, questionnaire version): a submission made with an earlier
    questionnaire, stored as it was then (its answers and flags as given).
    """
    qn = qn_of(app)
    with app.app_context(), db.transaction() as s:
        clinic = s.scalars(select(Clinic).where(Clinic.slug == "demo")).one()
        draft, token = new_draft(s, clinic, lang, 14)
        s.flush()
        now = utcnow()
        day = dt.date.today()
        kept = prune(qn, answers, day) if old is None else answers
        flags = [f.to_json() for f in screen(qn, kept, day)] if old is None else old[0]
        s.add(
            Submission(
                clinic_id=clinic.id,
                draft_id=draft.id,
                answers=kept,
                flags=flags,
                questionnaire_version=qn.version if old is None else old[1],
                lang=lang,
                full_name=str(kept.get("full_name", "")),
                submitted_at=now,
            )
        )
        draft.submitted_at = now
        draft.answers = {}
    return token


def page(client: FlaskClient, token: str, lang: str | None = None) -> str:
    url = f"/c/demo/d/{token}/summary" + (f"?lang={lang}" if lang else "")
    r = client.get(url)
    assert r.status_code == 200, r.status_code
    return r.get_data(as_text=True)


def main_of(html: str) -> str:
    m = re.search(r"<main\b.*?</main>", html, re.S)
    assert m
    return m.group(0)


def squash(html: str) -> str:
    return re.sub(r"\s+", " ", html)


def the_submission() -> Submission:
    latest = select(Submission).order_by(Submission.id.desc()).limit(1)
    return db.session.scalars(latest).one()


# Client summary: end to end ------------------------------------------------------------------


def test_end_to_end_submit_stores_flags_and_the_summary_shows_them(
    walk: Callable[..., Walker], session: Any, app: Flask
) -> None:
    w = walk(
        about_you={"pregnancy": "yes"},
        comfort={"fainting_history": "yes", "pain_sensitivity": "8"},
        medicines={"blood_thinners": "yes"},
        recent_treatments={"recent_procedures": ["botox"], "botox_when": past(10)},
    )
    r = w.submit()
    assert r.status_code == 303
    [sub] = submissions(session)
    assert {(f["severity"], f["rule"]) for f in sub.flags} == {
        ("red_flag", "pregnancy"),
        ("discuss", "blood_thinners"),
        ("discuss", "fainting_history"),
        ("comfort", "pain_sensitive"),
        ("timing", "botox_recent"),
    }
    assert [f["severity"] for f in sub.flags] == ["red_flag", "discuss", "discuss", "timing", "comfort"]
    botox = next(f for f in sub.flags if f["rule"] == "botox_recent")
    assert botox["because"] == ["botox_when"]
    assert botox["timing"][0]["days_since"] == 10

    html = w.get(r.headers["Location"]).get_data(as_text=True)
    assert 'class="outcome outcome-see_doctor"' in html
    assert "speak with your doctor before you book any needling" in html
    qn = qn_of(app)
    for flag in sub.flags:
        assert str(escape(flag["client"]["en"])) in html
        assert f'id="flag-{flag["rule"]}"' in html
    # the answer that raised a flag: the question's label and the answer in words
    item = html[html.index('id="flag-blood_thinners"') :]
    item = item[: item.index("</li>")]
    assert str(escape(qn.questions["blood_thinners"].label.en)) in item
    assert "<dd>Yes</dd>" in item
    assert RECOMMENDATION in html
    # red flags come first on the page
    assert html.index('id="flag-pregnancy"') < html.index('id="flag-blood_thinners"') < html.index(
        'id="flag-botox_recent"'
    ) < html.index('id="flag-pain_sensitive"')


def test_summary_with_nothing_notable(app: Flask, client: FlaskClient) -> None:
    html = page(client, store(app, BASE))
    assert 'class="outcome outcome-nothing_special"' in html
    assert (
        "Your answers raised nothing to check before your consultation; your practitioner will"
        " still go through your health with you."
    ) in html
    assert 'class="flag ' not in html
    assert RECOMMENDATION in html


def test_summary_with_points_to_discuss(app: Flask, client: FlaskClient) -> None:
    html = page(client, store(app, {**BASE, "unwell_now": "yes", "needle_fear": "some"}))
    assert 'class="outcome outcome-discuss_first"' in html
    assert "points your practitioner will talk through with you before any treatment" in html
    assert html.index('id="flag-unwell_now"') < html.index('id="flag-needle_fear_some"')


def test_summary_says_what_to_expect_and_the_cautions(app: Flask, client: FlaskClient) -> None:
    html = page(client, store(app, BASE))
    for fact in (
        "0.12 to 0.16 mm",
        "0.22 to 0.25 mm",
        "still thicker than a human hair",
        "0.06 to 0.10 mm across, depending on the type of hair",
        "dozens",
        "several weeks",
        "injectable",
        "bruises are the most common",
        "slight bleeding",
        "soreness",
        "swelling",
        "redness",
        "one to two weeks to fade",
        "faint, dizzy, drowsy or sick",
        "Serious problems are rare: about 1 in 10,000",
        "redness spreads, feels hot, swells or has pus, or if you get a fever",
        "skin type, your general health, your lifestyle and the skill and experience",
        "not medical advice",
        "shares them only with its practitioners",
    ):
        assert fact in html, fact
    assert not re.search(r"thinner than (a|the) hair|to be honest|about a week", html, re.I)


def test_timing_flag_tells_the_client_when_the_wait_ends(app: Flask, client: FlaskClient) -> None:
    when = dt.date.today() - dt.timedelta(days=10)
    answers = {
        **BASE, "recent_procedures": ["laser"], "laser_when": when.isoformat(), "laser_type": "non_ablative"
    }
    html = page(client, store(app, answers))
    ends = when + dt.timedelta(days=30)
    assert f"ends on {ends:%B} {ends.day}, {ends.year}" in html


def test_summary_in_traditional_chinese_uses_the_chinese_texts(
    app: Flask, client: FlaskClient
) -> None:
    qn = qn_of(app)
    html = page(client, store(app, {**BASE, "keloid": "yes"}, lang="zh-Hant"))
    rule = next(r for r in qn.rules if r.id == "keloid")
    assert str(escape(rule.client.get("zh-Hant"))) in html
    assert str(escape(qn.questions["keloid"].label.get("zh-Hant"))) in html
    assert str(escape(rule.client.en)) not in html


def test_summary_reads_the_stored_flags_not_the_rules(app: Flask, client: FlaskClient) -> None:
    token = store(app, BASE)  # nothing notable: no flags from the rules
    fake = {
        "rule": "a_rule_since_deleted",
        "severity": "discuss",
        "because": ["keloid"],
        "source": "S16",
        "client": {"en": "Text stored with the submission.", "zh-Hant": "隨提交保存的文字。"},
        "practitioner": {"en": "Stored note for the practitioner.", "zh-Hant": "保存的備註。"},
        "timing": [],
    }
    with app.app_context(), db.transaction():
        the_submission().flags = [fake]
    html = page(client, token)
    assert "Text stored with the submission." in html
    assert 'id="flag-a_rule_since_deleted"' in html
    assert 'class="outcome outcome-discuss_first"' in html


# Frozen flags --------------------------------------------------------------------------------


@pytest.fixture
def changed_rules(tmp_path: Path) -> Path:
    """questions.yaml with edited rules: a text, a severity, and a rule that now fires for everyone."""
    text = (ROOT / "questions.yaml").read_text(encoding="utf-8")
    edits = [
        ("  - id: pregnancy\n    severity: red_flag\n", "  - id: pregnancy\n    severity: info\n"),
        ("You told us you are, or might be, pregnant.", "EDITED PREGNANCY TEXT."),
        ('when: {q: keloid, equals: "yes"}', 'when: {q: keloid, equals: "no"}'),
    ]
    for old, new in edits:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    path = tmp_path / "questions.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_summary_does_not_change_when_the_rules_change(
    app: Flask, client: FlaskClient, changed_rules: Path, database_url: str
) -> None:
    answers = {**BASE, "pregnancy": "yes", "blood_thinners": "yes"}
    token = store(app, answers)
    before = page(client, token)
    with app.test_request_context():
        g.lang = "en"
        practitioner_before = render_practitioner_summary(the_submission(), "en")
    assert "outcome-see_doctor" in before

    app2 = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": TEST_SECRET,
            "DATABASE_URL": database_url,
            "QUESTIONS_FILE": str(changed_rules),
        }
    )
    app2.jinja_env.undefined = jinja2.StrictUndefined
    qn2 = qn_of(app2)
    assert qn2.version != qn_of(app).version
    # Screening again with the edited rules would give other flags ...
    today = dt.date.today()
    assert {(f.severity, f.rule) for f in screen(qn2, prune(qn2, answers, today), today)} == {
        ("info", "pregnancy"),
        ("discuss", "blood_thinners"),
        ("discuss", "keloid"),
    }
    # ... but the summaries show the flags stored at submission, unchanged.
    after = page(app2.test_client(), token)
    assert after == before
    assert "EDITED PREGNANCY TEXT" not in after
    with app2.test_request_context():
        g.lang = "en"
        practitioner_after = render_practitioner_summary(the_submission(), "en")
    assert "earlier version of the questionnaire" in practitioner_after
    without_notice = re.sub(r'<p class="notice">.*?</p>', "", practitioner_after, flags=re.S)
    assert squash(without_notice) == squash(practitioner_before)
    db.of(app2).engine.dispose()


# The property: any answers, both languages -----------------------------------------------------

_TEXT_SAMPLES = ("Mei Chen", "陳美玲", "Dry skin around the eyes", "O'Brien & <Co>")


def _answer_strategy(q: Question, today: dt.date) -> st.SearchStrategy[Any]:
    if q.type == "single":
        return st.sampled_from(q.choice_values)
    if q.type == "multi":
        exclusive = set(q.exclusive or ())
        others = [v for v in q.choice_values if v not in exclusive]
        combos = st.lists(st.sampled_from(others), min_size=1, unique=True).map(
            lambda vs: [v for v in others if v in vs]
        )
        return st.one_of(combos, *(st.just([v]) for v in sorted(exclusive)))
    if q.type == "scale":
        assert q.min is not None and q.max is not None
        return st.integers(q.min, q.max)
    if q.type == "date":
        low = today - dt.timedelta(days=800) if q.date_range != "future" else today
        high = today + dt.timedelta(days=60) if q.date_range != "past" else today
        return st.dates(low, high).map(dt.date.isoformat)
    if q.type == "consent":
        return st.just(True)
    if q.type == "email":
        return st.just("client@example.com")
    if q.type == "tel":
        return st.just("+44 20 7946 0000")
    return st.sampled_from(_TEXT_SAMPLES)


@st.composite
def any_answers(draw: st.DrawFn, qn: Questionnaire) -> dict[str, Any]:
    today = dt.date.today()
    answers: dict[str, Any] = {}
    for q in qn.questions.values():
        value = draw(_answer_strategy(q, today))
        if q.required or draw(st.booleans()):
            answers[q.id] = value
    return answers


_QN = load_questionnaire(ROOT / "questions.yaml")


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(answers=any_answers(_QN), lang=st.sampled_from(["en", "zh-Hant"]))
def test_any_client_summary_recommends_a_practitioner_and_avoids_forbidden_words(
    app: Flask, client: FlaskClient, answers: dict[str, Any], lang: str
) -> None:
    html = page(client, store(app, answers, lang))
    body = main_of(html)
    with app.test_request_context():
        g.lang = lang
        recommendation = gettext(RECOMMENDATION)
    assert recommendation in body
    assert not FORBIDDEN_EN.search(html), FORBIDDEN_EN.search(html)
    for word in FORBIDDEN_ZH:
        assert word not in body, word
    assert "<Co>" not in html  # free text is escaped
    with app.app_context():
        flags = the_submission().flags
    expected = (
        "see_doctor"
        if any(f["severity"] == "red_flag" for f in flags)
        else "discuss_first"
        if any(f["severity"] in ("discuss", "timing") for f in flags)
        else "nothing_special"
    )
    assert f'class="outcome outcome-{expected}"' in body
    for f in flags:
        assert f'id="flag-{f["rule"]}"' in body


def test_the_property_test_questionnaire_is_the_apps(app: Flask) -> None:
    assert _QN.version == qn_of(app).version


# Practitioner summary --------------------------------------------------------------------------


@pytest.fixture
def practitioner_html(app: Flask) -> Iterator[Callable[..., str]]:
    def render(answers: dict[str, Any], lang: str = "en") -> str:
        store(app, answers)
        with app.test_request_context():
            return render_practitioner_summary(the_submission(), lang)

    yield render


def test_practitioner_summary_puts_red_flags_before_discuss_items(
    practitioner_html: Callable[..., str], app: Flask
) -> None:
    html = practitioner_html(
        {**BASE, "blood_thinners": "yes", "keloid": "yes", "cancer_treatment": "yes", "unwell_now": "yes"}
    )
    ids = ("red-flags", "discuss", "timing", "comfort", "goals", "all-answers")
    sections = [html.index(f'id="{s}"') for s in ids]
    assert sections == sorted(sections)
    red, discuss = html.index('id="red-flags"'), html.index('id="discuss"')
    assert red < html.index('id="flag-cancer_treatment"') < discuss
    thinners, keloid = html.index('id="flag-blood_thinners"'), html.index('id="flag-keloid"')
    assert discuss < thinners < keloid < html.index('id="timing"')
    rule = next(r for r in qn_of(app).rules if r.id == "cancer_treatment")
    assert str(escape(rule.practitioner.en)) in html
    assert str(escape(rule.client.en)) not in html


def test_practitioner_summary_fainting_means_first_treatment_lying_down_said_once(
    practitioner_html: Callable[..., str],
) -> None:
    html = practitioner_html({**BASE, "fainting_history": "yes", "acupuncture_before": "never"})
    discuss = html[html.index('id="discuss"') : html.index('id="timing"')]
    assert 'id="flag-fainting_history"' in discuss
    # Each piece of advice once: the flag says it; the comfort profile only lists the answers.
    assert html.count("Give the first treatment lying down") == 1
    assert html.count("lying down") == 2  # the fainting flag, the first-timer flag
    assert html.count("Explain the procedure beforehand") == 1
    comfort = html[html.index('id="comfort"') : html.index('id="goals"')]
    assert "Give the first treatment lying down" not in comfort
    assert 'id="flag-first_timer"' in comfort


def test_practitioner_summary_without_fainting_has_no_lying_down_note(
    practitioner_html: Callable[..., str],
) -> None:
    html = practitioner_html(BASE)
    assert "lying down" not in html


def test_practitioner_summary_comfort_profile_and_first_timer(
    practitioner_html: Callable[..., str],
) -> None:
    html = practitioner_html({**BASE, "acupuncture_before": "never", "pain_sensitivity": 8, "needle_fear": "strong"})
    comfort = html[html.index('id="comfort"') : html.index('id="goals"')]
    assert 'id="flag-first_timer"' in comfort and 'id="flag-pain_sensitive"' in comfort
    assert "8 out of 10" in comfort
    assert html.count("finest facial needles") <= 1  # the pain flag's own words, once
    assert 'id="flag-needle_fear_strong"' in html[html.index('id="discuss"') : html.index('id="timing"')]
    assert html.count("Strong fear of needles") == 1


def test_practitioner_summary_top_shows_name_age_and_contacts(
    practitioner_html: Callable[..., str],
) -> None:
    html = practitioner_html(
        {**BASE, "age_band": "45_59", "email": "mei@example.com", "phone": "+852 5555 0123"}
    )
    top = squash(html[html.index("<h1") : html.index('id="red-flags"')])
    assert "Mei Chen" in top and "45 to 59" in top
    assert '<a href="mailto:mei@example.com">mei@example.com</a>' in top
    assert '<a href="tel:+85255550123">+852 5555 0123</a>' in top


def test_free_text_sits_beside_the_flag_it_explains(
    practitioner_html: Callable[..., str],
) -> None:
    html = practitioner_html(
        {**BASE, "blood_thinners": "yes", "blood_thinners_which": f"Apixaban {XSS}"}
    )
    start = html.index('id="flag-blood_thinners"')
    flag = html[start : html.index("</li>", start)]
    assert "Which medicine, if you know?" in flag
    assert "Apixaban &lt;script&gt;alert(1)&lt;/script&gt;" in flag
    assert XSS not in html


def test_timing_line_reads_as_of_the_reading_day(app: Flask) -> None:
    """A window still open when the client sent the answers but closed since says "ended"."""
    sent = dt.date.today() - dt.timedelta(days=100)
    when = sent - dt.timedelta(days=10)
    ends = when + dt.timedelta(days=90)
    qn = qn_of(app)
    answers = {**BASE, "recent_procedures": ["filler"], "filler_when": when.isoformat()}
    flags = [f.to_json() for f in screen(qn, prune(qn, answers, sent), sent)]
    assert [f["rule"] for f in flags] == ["filler_recent"]
    store(app, prune(qn, answers, sent), old=(flags, qn.version))
    with app.test_request_context():
        html = squash(render_practitioner_summary(the_submission(), "en"))
        zh = squash(render_practitioner_summary(the_submission(), "zh-Hant"))
    assert f"Window: 90 days; it ended on {ends:%B} {ends.day}, {ends.year}." in html
    assert f"等候期：90 天；已於 {ends.year}年{ends.month}月{ends.day}日 屆滿。" in zh


def test_the_language_answered_in_is_named_in_the_readers_language(
    practitioner_html: Callable[..., str],
) -> None:
    html = practitioner_html(BASE, lang="zh-Hant")
    assert "以英文填寫" in html and "English" not in html[html.index("<main") :]


def test_practitioner_summary_shows_timing_dates(practitioner_html: Callable[..., str]) -> None:
    when = dt.date.today() - dt.timedelta(days=10)
    html = practitioner_html({**BASE, "recent_procedures": ["botox"], "botox_when": when.isoformat()})
    timing = html[html.index('id="timing"') : html.index('id="comfort"')]
    ends = when + dt.timedelta(days=90)
    assert 'id="flag-botox_recent"' in timing
    assert "10 days before submission" in timing
    assert f"Window: 90 days; it ends on {ends:%B} {ends.day}, {ends.year}." in squash(timing)
    assert "it has passed from" not in timing


def test_practitioner_summary_shows_goals_and_escapes_free_text(
    practitioner_html: Callable[..., str],
) -> None:
    html = practitioner_html(
        {
            **BASE,
            "skin_goals": ["firmness", "other"],
            "skin_goals_other": XSS,
            "other_health": XSS,
            "full_name": XSS,
            "expected_timeframe": "within_a_week",
        }
    )
    assert XSS not in html
    assert "<script>" not in html
    escaped = "&lt;script&gt;alert(1)&lt;/script&gt;"
    goals = html[html.index('id="goals"') : html.index('id="all-answers"')]
    assert escaped in goals
    # The client's other health information comes before the comfort profile and the goals.
    assert escaped in html[html.index('id="other-health"') : html.index('id="comfort"')]
    assert escaped in html[: html.index('id="red-flags"')]  # the name in the heading
    assert "Firmness, Something else" in goals


def test_practitioner_summary_in_the_readers_language(
    practitioner_html: Callable[..., str], app: Flask
) -> None:
    html = practitioner_html({**BASE, "metal_allergy": "yes"}, lang="zh-Hant")
    qn = qn_of(app)
    rule = next(r for r in qn.rules if r.id == "metal_allergy")
    assert str(escape(rule.practitioner.get("zh-Hant"))) in html
    assert str(escape(rule.practitioner.en)) not in html
    assert '<html lang="zh-Hant">' in html


# JSON form -------------------------------------------------------------------------------------


def test_submission_json_round_trips_and_has_the_documented_keys(app: Flask) -> None:
    answers = {**BASE, "recent_procedures": ["filler"], "filler_when": past(20), "keloid": "yes"}
    store(app, answers)
    with app.app_context():
        sub = the_submission()
        data = submission_json(sub, qn_of(app))
        assert data["id"] == sub.id
        assert data["answers"] == sub.answers
    again = json.loads(json.dumps(data))
    assert again == data
    assert tuple(data) == JSON_KEYS == (
        "id",
        "clinic",
        "submitted_at",
        "lang",
        "questionnaire_version",
        "answers",
        "flags",
        "client_id",
        "appointment_id",
        "previous_id",
        "rechecked",
        "consent",
    )
    assert data["consent"] is None  # stored here without the wizard: nothing signed
    assert data["clinic"] == "demo"
    assert data["lang"] == "en"
    assert data["questionnaire_version"] == qn_of(app).version
    assert dt.datetime.fromisoformat(data["submitted_at"]).tzinfo is not None
    assert [(f["severity"], f["rule"]) for f in data["flags"]] == [
        ("discuss", "keloid"),
        ("timing", "filler_recent"),
    ]
    for flag in data["flags"]:
        assert set(flag) == FLAG_KEYS
        assert set(flag["client"]) == set(flag["practitioner"]) == set(LANGUAGES)
    assert data["flags"][1]["timing"][0]["question"] == "filler_when"
    assert list(data["answers"])[:2] == ["age_band", "pregnancy"]  # questionnaire order


def test_the_documented_example_has_the_same_shape() -> None:
    doc = (ROOT / "docs" / "submission-json.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```json\n(.*?)```", doc, re.S)
    assert blocks
    example = json.loads(blocks[0])
    assert tuple(example) == JSON_KEYS
    for flag in example["flags"]:
        assert set(flag) == FLAG_KEYS
    for key in JSON_KEYS:
        assert f"`{key}`" in doc


# Timing lines ----------------------------------------------------------------------------------


def test_practitioner_timing_line_says_when_the_window_ends_in_both_languages(
    app: Flask,
) -> None:
    when = dt.date.today() - dt.timedelta(days=10)
    ends = when + dt.timedelta(days=90)
    store(app, {**BASE, "recent_procedures": ["filler"], "filler_when": when.isoformat()})
    with app.test_request_context():
        en = squash(render_practitioner_summary(the_submission(), "en"))
        zh = squash(render_practitioner_summary(the_submission(), "zh-Hant"))
    assert f"Window: 90 days; it ends on {ends:%B} {ends.day}, {ends.year}." in en
    assert f"等候期：90 天；至 {ends.year}年{ends.month}月{ends.day}日 屆滿。" in zh
    assert "it has passed from" not in en and "起已過" not in zh


def test_practitioner_timing_line_of_a_window_that_has_ended(app: Flask) -> None:
    when = dt.date.today() - dt.timedelta(days=120)
    ends = when + dt.timedelta(days=90)
    store(app, {**BASE, "recent_procedures": ["threads"], "threads_when": when.isoformat()})
    with app.test_request_context():
        html = render_practitioner_summary(the_submission(), "en")
    info = squash(html[html.index('id="info"') : html.index('id="all-answers"')])
    assert 'id="flag-threads_past"' in info
    assert f"Window: 90 days; it ended on {ends:%B} {ends.day}, {ends.year}." in info


def test_client_timing_line_in_chinese_uses_the_agreed_terms(
    app: Flask, client: FlaskClient
) -> None:
    when = dt.date.today() - dt.timedelta(days=3)
    ends = when + dt.timedelta(days=14)
    answers = {
        **BASE, "recent_procedures": ["microneedling"], "microneedling_when": when.isoformat()
    }
    html = squash(page(client, store(app, answers, lang="zh-Hant")))
    assert f"自這個日期起算的一般等候期至 {ends.year}年{ends.month}月{ends.day}日 屆滿。" in html
    assert "為您施針的醫師會與您確認" in html


def test_the_event_flag_shows_how_many_days_ahead(app: Flask) -> None:
    event = dt.date.today() + dt.timedelta(days=14)
    store(app, {**BASE, "upcoming_event": "yes", "upcoming_event_date": event.isoformat()})
    with app.test_request_context():
        html = squash(render_practitioner_summary(the_submission(), "en"))
    assert 'id="flag-upcoming_event_soon"' in html
    assert "in 14 days." in html
    assert "Window:" not in html  # a date ahead has no waiting window


# A submission made with the first edition of the questionnaire ---------------------------------

# Answers and flags as the first edition stored them: pain_tolerance (0 = very sensitive), no
# answer to the questions added since, a cold sore as a red flag (rule facial_skin_broken).
NEW_SINCE = ("pain_sensitivity", "bleeding_supplements", "recent_stroke_heart", "facial_lesion",
             "cold_sore_history")
OLD_ANSWERS = {
    **{k: v for k, v in BASE.items() if k not in NEW_SINCE},
    "pain_tolerance": 2,
    "facial_skin": ["cold_sore"],
}
OLD_FLAGS = [
    {
        "rule": "facial_skin_broken",
        "severity": "red_flag",
        "because": ["facial_skin"],
        "source": "S2",
        "client": {"en": "Old text: a cold sore.", "zh-Hant": "舊文字：唇疱疹。"},
        "practitioner": {"en": "Old note: no needling here.", "zh-Hant": "舊備註：患處不得施針。"},
        "timing": [],
    },
    {
        "rule": "low_pain_tolerance",
        "severity": "comfort",
        "because": ["pain_tolerance"],
        "source": "S22",
        "client": {"en": "Old text: sensitive.", "zh-Hant": "舊文字：對不適敏感。"},
        "practitioner": {"en": "Old note: low pain tolerance.", "zh-Hant": "舊備註：痛感低。"},
        "timing": [],
    },
]
OLD_VERSION = "0123456789ab"


@pytest.mark.parametrize("lang", ["en", "zh-Hant"])
def test_an_old_submission_with_pain_tolerance_still_reads(
    app: Flask, client: FlaskClient, lang: str
) -> None:
    assert "pain_tolerance" not in qn_of(app).questions
    token = store(app, OLD_ANSWERS, lang, old=(OLD_FLAGS, OLD_VERSION))
    html = page(client, token)
    assert 'class="outcome outcome-see_doctor"' in html  # from the stored flags
    for flag in OLD_FLAGS:
        assert flag["client"][lang] in html
        assert f'id="flag-{flag["rule"]}"' in html
    with app.test_request_context():
        practitioner = render_practitioner_summary(the_submission(), lang)
    comfort = practitioner[practitioner.index('id="comfort"') : practitioner.index('id="goals"')]
    assert 'id="flag-low_pain_tolerance"' in comfort  # the stored comfort flag
    orphans = practitioner[practitioner.index('id="all-answers"') :]
    assert "<code>pain_tolerance</code>" in orphans
    assert '<dd class="answer-value">2</dd>' in orphans
    assert all(f["practitioner"][lang] in practitioner for f in OLD_FLAGS)


def test_old_submission_exports(
    app: Flask, logged_in: Callable[[str], FlaskClient]
) -> None:
    store(app, OLD_ANSWERS, old=(OLD_FLAGS, OLD_VERSION))
    with app.app_context():
        sid = the_submission().id
    dash = logged_in("pa@example.com")
    data = dash.get(f"/dashboard/submissions/{sid}.json").get_json()
    assert data["answers"]["pain_tolerance"] == 2 and data["questionnaire_version"] == OLD_VERSION
    assert [f["rule"] for f in data["flags"]] == ["facial_skin_broken", "low_pain_tolerance"]
    fhir_doc = dash.get(f"/dashboard/submissions/{sid}.fhir.json")
    assert fhir_doc.status_code == 200 and "pain_tolerance" in fhir_doc.get_data(as_text=True)
    listing = dash.get("/dashboard/submissions.csv")
    assert listing.status_code == 200
    rows = list(csv.DictReader(io.StringIO(listing.get_data(as_text=True).lstrip("\ufeff"))))
    [row] = rows
    assert row["flags"] == "facial_skin_broken;low_pain_tolerance"
    assert row["pain_sensitivity"] == "" and row["facial_skin"] == "cold_sore"
    page_of_it = dash.get(f"/dashboard/submissions/{sid}")
    assert page_of_it.status_code == 200
    assert "earlier version of the questionnaire" in page_of_it.get_data(as_text=True)
