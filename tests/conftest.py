"""Shared fixtures: an app on a real database (SQLite file, or PostgreSQL), a client, a clean db.

Set SCREENER_TEST_DATABASE_URL to run the suite against another database (e.g. PostgreSQL);
the suite drops and re-creates the schema there.
"""
from __future__ import annotations

import datetime as dt
import os
import re
import socket
from collections.abc import Callable, Iterator
from functools import cache
from html import unescape as html_unescape
from pathlib import Path
from typing import Any

import jinja2
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import delete, select
from werkzeug.test import TestResponse

from screener import create_app
from screener.config import ROOT
from screener.extensions import db, limiter
from screener.questionnaire import load_questionnaire
from screener.questionnaire.model import TEXT_TYPES, Question, Questionnaire
from screener.storage.migrate import recreate
from screener.storage.models import Base, Clinic, Draft, Submission
from screener.wizard.drafts import hash_token

TEST_SECRET = "test-secret-key-0123456789abcdef"
BROWSER_TESTS = Path(__file__).parent / "browser"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests in tests/browser are marked `browser` (left out by `scripts/test --quick`)."""
    for item in items:
        if BROWSER_TESTS in item.path.parents:
            item.add_marker(pytest.mark.browser)
RELAXED_LIMITS = {"DRAFT_RATE_LIMIT": "100000 per minute", "SUBMIT_RATE_LIMIT": "100000 per minute"}


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A migrated, empty database for the whole session."""
    url = os.environ.get("SCREENER_TEST_DATABASE_URL")
    if not url:
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'screener-test.db'}"
    recreate(url)
    yield url


class SharedApp:
    """One app for the session (loading the questionnaire is most of an app's start), made
    again only when a test made an app of its own: the rate limiter is one object for every
    app, and counts in the storage of the app that last started."""

    def __init__(self, database_url: str) -> None:
        self.database_url = database_url
        self.app: Flask | None = None
        self.storage: object = None

    def get(self) -> Flask:
        if self.app is None or limiter.storage is not self.storage:
            self.close()
            self.app = create_app(
                {
                    "TESTING": True,
                    "SECRET_KEY": TEST_SECRET,
                    "DATABASE_URL": self.database_url,
                    "QUESTIONS_FILE": str(ROOT / "questions.yaml"),
                    # Suites walk many drafts from one address; test_rate_limits sets its own.
                    **RELAXED_LIMITS,
                }
            )
            self.app.jinja_env.undefined = jinja2.StrictUndefined
            self.storage = limiter.storage
        return self.app

    def close(self) -> None:
        if self.app is not None:
            db.of(self.app).engine.dispose()
            self.app = None


@pytest.fixture(scope="session")
def shared_app(database_url: str) -> Iterator[SharedApp]:
    shared = SharedApp(database_url)
    yield shared
    shared.close()


@pytest.fixture
def app(shared_app: SharedApp) -> Iterator[Flask]:
    """The session's app on an empty database with the demo clinic; a test's changes to the
    app's configuration and its rate-limit counts are undone after it."""
    app = shared_app.get()
    config = dict(app.config)
    with app.app_context():
        _clean(app)
        with db.transaction() as session:
            session.add(
                Clinic(slug="demo", name="Demo Clinic", allowed_origins=["http://localhost:5001"])
            )
    limiter.reset()
    yield app
    app.config.clear()
    app.config.update(config)


def _clean(app: Flask) -> None:
    with db.transaction() as session:
        for table in reversed(Base.metadata.sorted_tables):
            session.execute(delete(table))


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def session(app: Flask) -> Iterator[Any]:
    """A database session of its own, for assertions.

    It deliberately holds no app context: requests made while one is pushed would share its
    `g` (and so one db session) instead of getting their own, as in production.
    """
    s = db.of(app).sessions()
    yield s
    s.close()


CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]*)"|value="([^"]*)"[^>]*name="csrf_token"')


def csrf_of(response: TestResponse) -> str:
    m = CSRF_RE.search(response.get_data(as_text=True))
    assert m, "no csrf_token in the page"
    return m.group(1) or m.group(2)


DATE_VALUE = re.compile(r"^(\d+)-(\d+)-(\d+)$")


def date_boxes(name: str, value: str) -> dict[str, str]:
    """A date as a browser posts the three boxes of a date question: "2026-03-07" gives
    `<name>-day` 07, `<name>-month` 03, `<name>-year` 2026 (out-of-range numbers too); any
    other text is typed into the day box."""
    m = DATE_VALUE.match(value)
    if m is None:
        return {f"{name}-day": value, f"{name}-month": "", f"{name}-year": ""}
    year, month, day = m.groups()
    return {f"{name}-day": day, f"{name}-month": month, f"{name}-year": year}


def as_posted(client: FlaskClient, data: dict[str, Any]) -> dict[str, Any]:
    """Answers written as they are stored (dates as ISO text) turned into the form fields a
    browser posts (a date question's three boxes)."""
    questions = client.application.extensions["questionnaire"].questions
    out: dict[str, Any] = {}
    for name, value in data.items():
        q = questions.get(name)
        if q is not None and q.type == "date" and isinstance(value, str):
            out.update(date_boxes(name, value))
        else:
            out[name] = value
    return out


class Walker:
    """Drives the client wizard over HTTP like a browser with no cookies would."""

    def __init__(self, client: FlaskClient, prefix: str = "/c/demo") -> None:
        self.client = client
        self.prefix = prefix
        self.url = ""

    def start(self, lang: str = "en", first: dict[str, Any] | None = None) -> TestResponse:
        """Send the start page's form with the first step answered (STEP_ANSWERS', or `first`
        for another questionnaire): a new draft, whose first step page becomes the current URL
        (its answers can be sent again from there)."""
        data = start_form(lang) if first is None else {"lang": lang, **first}
        r = self.client.post(f"{self.prefix}/start", data=as_posted(self.client, data))
        assert r.status_code == 303, r.status_code
        m = re.search(r"/d/([^/]+)/", r.headers["Location"])
        assert m, r.headers["Location"]
        first_step = self.client.application.extensions["questionnaire"].steps[0].id
        self.url = f"{self.prefix}/d/{m.group(1)}/s/{first_step}"
        return r

    @property
    def token(self) -> str:
        m = re.search(r"/d/([^/]+)/", self.url)
        assert m
        return m.group(1)

    @property
    def base(self) -> str:
        return f"{self.prefix}/d/{self.token}"

    def get(self, url: str | None = None) -> TestResponse:
        r = self.client.get(url or self.url)
        return r

    def post_step(self, data: dict[str, Any], action: str = "continue", url: str | None = None) -> TestResponse:
        url = url or self.url
        page = self.client.get(url)
        assert page.status_code == 200, (url, page.status_code)
        form = {"csrf_token": csrf_of(page), "action": action, **as_posted(self.client, data)}
        r = self.client.post(url, data=form)
        if r.status_code == 303:
            self.url = r.headers["Location"]
        return r

    def submit(self, signed_name: str | None = None, **extra: str) -> TestResponse:
        """Send from the review page, signing the consent with the name given in the details
        step (or `signed_name`)."""
        review = self.client.get(f"{self.base}/review")
        assert review.status_code == 200, review.status_code
        form = {"csrf_token": csrf_of(review), **consent_fields(review), **extra}
        if signed_name is not None:
            form["signed_name"] = signed_name
        return self.client.post(f"{self.base}/submit", data=form)


CONSENT_VERSION_RE = re.compile(r'name="consent_version" value="([0-9a-f]+)"')
NAME_RE = re.compile(r"<dt>(?:Full name|姓名)</dt>\s*<dd[^>]*>([^<]*)</dd>")


def consent_fields(review: TestResponse) -> dict[str, str]:
    """What signing the consent on a review page posts: its text version and the full name
    the page shows among the answers (typed as the signature)."""
    html = review.get_data(as_text=True)
    version = CONSENT_VERSION_RE.search(html)
    if version is None:
        return {}
    name = NAME_RE.search(html)
    return {
        "consent_version": version.group(1),
        "signed_name": html_unescape(name.group(1)) if name else "",
    }


def past(days: int) -> str:
    return (dt.date.today() - dt.timedelta(days=days)).isoformat()


def future(days: int) -> str:
    return (dt.date.today() + dt.timedelta(days=days)).isoformat()


# Answers for every step of the real questionnaire, in step order: a client with nothing notable.
STEP_ANSWERS: dict[str, dict[str, Any]] = {
    "about_you": {"age_band": "30_44", "pregnancy": "no"},
    "goals": {
        "skin_goals": ["fine_lines", "texture"],
        "expected_timeframe": "over_months",
        "course_commitment": "a_course",
        "upcoming_event": "no",
    },
    "comfort": {
        "pain_sensitivity": "4",
        "needle_fear": "none",
        "fainting_history": "no",
        "acupuncture_before": "body",
        "lie_still": "yes",
    },
    "conditions": {
        "bleeding_disorder": "no",
        "heart_valve": "no",
        "recent_stroke_heart": "no",
        "implanted_device": "no",
        "blood_pressure": "normal",
        "diabetes": "no",
        "immunosuppressed": "no",
        "cancer_treatment": "no",
        "seizures": "no",
        "migraine": "no",
    },
    "medicines": {
        "blood_thinners": "no",
        "bleeding_supplements": ["none"],
        "isotretinoin": "never",
        "metal_allergy": "no",
    },
    "skin_today": {
        "facial_skin": ["none"],
        "facial_lesion": "no",
        "cold_sore_history": "no",
        "bruise_easily": "no",
        "keloid": "no",
        "new_symptoms": "no",
        "facial_nerve": "no",
        "unwell_now": "no",
    },
    "recent_treatments": {"recent_procedures": ["none"], "permanent_implants": "no"},
    "details": {
        "full_name": "Mei Chen",
        "email": "mei@example.com",
        "consent_store": "y",
        "consent_not_advice": "y",
    },
}


@cache
def real_questionnaire() -> Questionnaire:
    """questions.yaml, the questionnaire the app fixture serves."""
    return load_questionnaire(ROOT / "questions.yaml")


def step_of(question_id: str) -> str:
    """The id of the step that asks this question (its page in the wizard)."""
    return real_questionnaire().step_of[question_id].id


FIRST_STEP = "about_you"


def start_form(lang: str = "en", **extra: str) -> dict[str, Any]:
    """What the start page's form sends: its language and the first step's answers."""
    return {"lang": lang, **STEP_ANSWERS[FIRST_STEP], **extra}


def answers_by_step(**answers: Any) -> dict[str, dict[str, Any]]:
    """STEP_ANSWERS with these answers (by question id) put on the steps that ask them."""
    out = {step_id: dict(step_answers) for step_id, step_answers in STEP_ANSWERS.items()}
    for question_id, value in answers.items():
        out[step_of(question_id)][question_id] = value
    return out


def stored_answers(step_ids: list[str] | None = None) -> dict[str, Any]:
    """STEP_ANSWERS (of the given steps, default all) as the wizard stores them: typed by the
    questions' types (a number scale as an int, a ticked box as True)."""
    questions = real_questionnaire().questions
    out: dict[str, Any] = {}
    for step_id in step_ids if step_ids is not None else list(STEP_ANSWERS):
        for k, v in STEP_ANSWERS[step_id].items():
            kind = questions[k].type
            out[k] = True if kind == "consent" else int(v) if kind == "scale" else v
    return out


@pytest.fixture
def walker(client: FlaskClient) -> Walker:
    return Walker(client)


@pytest.fixture
def walk(walker: Walker) -> Callable[..., Walker]:
    """Walk every step with STEP_ANSWERS (overridden per step), ending on the review page."""

    def run(lang: str = "en", **overrides: dict[str, Any]) -> Walker:
        assert set(overrides) <= set(STEP_ANSWERS), f"not step ids: {set(overrides) - set(STEP_ANSWERS)}"
        walker.start(lang)
        for step_id, answers in STEP_ANSWERS.items():
            assert f"/s/{step_id}" in walker.url, walker.url
            r = walker.post_step({**answers, **overrides.get(step_id, {})})
            assert r.status_code == 303, (step_id, r.get_data(as_text=True)[-2000:])
        assert walker.url.endswith("/review"), walker.url
        return walker

    return run


def drafts(session: Any) -> list[Draft]:
    session.rollback()  # a new transaction: see what other connections committed
    return list(session.scalars(select(Draft)))


def free_port() -> int:
    """A loopback TCP port nothing listens on now (for a server a test starts, or none)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def draft_of(session: Any, token: str) -> Draft:
    """The stored draft of a client's token, as committed now."""
    session.rollback()  # a new transaction: see what other connections committed
    return session.scalars(select(Draft).where(Draft.token_hash == hash_token(token))).one()


def submissions(session: Any) -> list[Submission]:
    session.rollback()  # a new transaction: see what other connections committed
    return list(session.scalars(select(Submission)))


CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def assert_valid_answer(q: Question, value: Any, today: dt.date) -> None:
    """What may be stored for a question: the right type, an allowed value, within limits."""
    if q.type == "single":
        assert value in q.choice_values
    elif q.type == "multi":
        assert isinstance(value, list) and value and set(value) <= set(q.choice_values)
        assert len(set(value)) == len(value)
        if set(q.exclusive or ()) & set(value):
            assert len(value) == 1
    elif q.type == "scale":
        assert isinstance(value, int) and not isinstance(value, bool)
        assert q.min is not None and q.max is not None and q.min <= value <= q.max
    elif q.type in TEXT_TYPES:
        assert isinstance(value, str) and value == value.strip() and value
        assert len(value) <= q.text_max_length and not CONTROL.search(value)
    elif q.type == "date":
        day = dt.date.fromisoformat(value)
        if q.date_range == "past":
            assert day <= today
        if q.date_range == "future":
            assert day >= today
    elif q.type == "consent":
        assert value is True
