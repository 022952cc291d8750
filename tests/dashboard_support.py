"""Shared pieces of the dashboard, export, access and purge tests: clinics, accounts, logins and
submissions made straight in the database (the wizard's own tests cover how they get there)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from argon2 import PasswordHasher
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from screener.dashboard import auth
from screener.extensions import db
from screener.screening import screen
from screener.storage.models import Clinic, Practitioner, Submission, utcnow

from .conftest import csrf_of

PASSWORD = "correct horse battery staple"
# Cheap argon2 parameters for the tests' accounts; production uses argon2-cffi's defaults.
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)

# A client with nothing notable, as the wizard stores the answers (see tests/test_screening.py).
from .test_screening import BASE  # noqa: E402


@pytest.fixture(autouse=True)
def fast_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(auth, "hasher", FAST_HASHER)


@pytest.fixture
def clinics(app: Flask) -> dict[str, int]:
    """Clinic "demo" (made by the app fixture) as A and a second clinic "other" as B."""
    with app.app_context():
        with db.transaction() as s:
            s.add(Clinic(slug="other", name="Other Clinic", allowed_origins=[]))
        ids = {slug: cid for slug, cid in db.session.execute(select(Clinic.slug, Clinic.id))}
    return ids


@pytest.fixture
def accounts(app: Flask, clinics: dict[str, int]) -> dict[str, int]:
    """practitioner_a and admin_a of clinic A, practitioner_b of clinic B: email -> id."""
    made = {}
    with app.app_context(), db.transaction() as s:
        for email, slug, role in (
            ("pa@example.com", "demo", "practitioner"),
            ("admin@example.com", "demo", "admin"),
            ("pb@example.com", "other", "practitioner"),
        ):
            clinic = s.get(Clinic, clinics[slug])
            assert clinic is not None
            account = auth.create_practitioner(
                s, clinic, email, email.split("@")[0], PASSWORD, role
            )
            s.flush()
            made[email] = account.id
    return made


def login(client: FlaskClient, email: str, password: str = PASSWORD) -> Any:
    """Log in through the login form, like a browser; returns the POST's response."""
    page = client.get("/dashboard/login")
    assert page.status_code == 200
    return client.post(
        "/dashboard/login",
        data={"csrf_token": csrf_of(page), "email": email, "password": password},
    )


@pytest.fixture
def logged_in(app: Flask, accounts: dict[str, int]) -> Callable[[str], FlaskClient]:
    """A new test client logged in as the given account."""

    def make(email: str) -> FlaskClient:
        client = app.test_client()
        r = login(client, email)
        assert r.status_code == 302, r.get_data(as_text=True)[-500:]
        return client

    return make


def add_submission(
    app: Flask,
    clinic_id: int,
    answers: dict[str, Any] | None = None,
    *,
    submitted_at: dt.datetime | None = None,
    reviewed: bool = False,
) -> int:
    """A submission made as the wizard makes one (answers screened on their date); its id."""
    qn = app.extensions["questionnaire"]
    answers = {**BASE, **(answers or {})}
    when = submitted_at or utcnow()
    with app.app_context(), db.transaction() as s:
        sub = Submission(
            clinic_id=clinic_id,
            answers=answers,
            flags=[f.to_json() for f in screen(qn, answers, when.date())],
            questionnaire_version=qn.version,
            lang="en",
            full_name=str(answers.get("full_name", "")),
            submitted_at=when,
            reviewed_at=when if reviewed else None,
        )
        s.add(sub)
        s.flush()
        return sub.id


@pytest.fixture
def submission_factory(app: Flask) -> Callable[..., int]:
    def make(clinic_id: int, answers: dict[str, Any] | None = None, **kwargs: Any) -> int:
        return add_submission(app, clinic_id, answers, **kwargs)

    return make


def fetch(app: Flask, model: Any, *where: Any) -> list[Any]:
    """Rows of a model, read in a fresh session (what other connections committed)."""
    with db.of(app).sessions() as s:
        return list(s.scalars(select(model).where(*where)))


__all__ = [
    "BASE",
    "PASSWORD",
    "Practitioner",
    "accounts",
    "add_submission",
    "clinics",
    "fast_hashing",
    "fetch",
    "logged_in",
    "login",
    "submission_factory",
]
