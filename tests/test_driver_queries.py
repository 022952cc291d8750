"""The client pages' own statements (storage/db.py DriverStatement) read and write as the ORM."""
from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from screener.extensions import db
from screener.storage.db import DriverStatement, driver_transaction
from screener.storage.models import Clinic, Draft, Submission, max_severity, utcnow
from screener.wizard.drafts import (
    ClinicRow,
    DraftRow,
    find_clinic_and_draft,
    hash_token,
    save_draft,
    submit_draft,
)
from tests.conftest import Walker, draft_of


def _columns(model: Any) -> list[str]:
    return [c.key for c in model.__table__.columns]


def test_the_rows_have_every_column_of_their_model() -> None:
    assert [f.name for f in dataclasses.fields(ClinicRow)] == _columns(Clinic)
    assert [f.name for f in dataclasses.fields(DraftRow)] == _columns(Draft)


def test_clinic_and_draft_hold_what_the_orm_loads(app: Flask, walker: Walker) -> None:
    walker.start()
    assert walker.post_step({"age_band": "30_44", "pregnancy": "no"}).status_code == 303
    with app.app_context():
        clinic, draft = find_clinic_and_draft(db.driver(), "demo", walker.token)
        orm_draft = db.session.scalars(
            select(Draft).where(Draft.token_hash == hash_token(walker.token))
        ).one()
        assert clinic is not None and draft is not None
        for name in _columns(Clinic):
            assert getattr(clinic, name) == getattr(orm_draft.clinic, name), name
        for name in _columns(Draft):
            assert getattr(draft, name) == getattr(orm_draft, name), name
        assert draft.answers["age_band"] == "30_44"
        assert draft.created_at.tzinfo is not None and draft.submitted_at is None


def test_unknown_clinic_token_or_expired_draft(app: Flask, walker: Walker) -> None:
    walker.start()
    with app.app_context():
        assert find_clinic_and_draft(db.driver(), "nowhere", walker.token) == (None, None)
        clinic, draft = find_clinic_and_draft(db.driver(), "demo", "x" * 32)
        assert clinic is not None and clinic.slug == "demo" and draft is None
        clinic, draft = find_clinic_and_draft(db.driver(), "demo", None)
        assert clinic is not None and draft is None
        with db.transaction() as s:
            stored = s.scalars(select(Draft).where(Draft.token_hash == hash_token(walker.token))).one()
            stored.expires_at = stored.created_at
        assert find_clinic_and_draft(db.driver(), "demo", walker.token)[1] is None


def test_driver_errors_come_out_as_sqlalchemy_errors(app: Flask) -> None:
    broken = DriverStatement(text("SELECT no_such_column FROM clinic"))
    with app.app_context():
        with pytest.raises(DBAPIError):
            broken.first(db.driver(), {})
        # the connection is still usable: the next statement of the request runs
        assert find_clinic_and_draft(db.driver(), "demo", None)[0] is not None


def test_a_submit_stores_the_submission_and_empties_the_draft(
    app: Flask, walk: Any, session: Any
) -> None:
    w = walk(about_you={"pregnancy": "yes"})  # a red flag
    assert w.submit().status_code == 303
    draft = draft_of(session, w.token)
    sub = session.scalars(select(Submission).where(Submission.draft_id == draft.id)).one()
    assert sub.flags and sub.max_severity == max_severity(sub.flags) == "red_flag"
    assert sub.answers["pregnancy"] == "yes" and sub.clinic_id == draft.clinic_id
    assert sub.submitted_at == draft.submitted_at and sub.reviewed_at is None
    assert (draft.answers, draft.current_step, draft.checked_for) == ({}, None, None)
    days = app.config["DRAFT_DAYS"]
    assert draft.expires_at - draft.submitted_at == dt.timedelta(days=days)


def _submission_of(draft: DraftRow) -> dict[str, Any]:
    """A submission of the draft's answers as read, as the submit view builds it."""
    return {"clinic_id": draft.clinic_id, "draft_id": draft.id, "answers": draft.answers,
            "flags": [], "questionnaire_version": "x", "lang": "en", "full_name": "",
            "submitted_at": utcnow()}


def test_a_submit_with_answers_older_than_the_draft_writes_nothing(
    app: Flask, walk: Any, session: Any
) -> None:
    w = walk()
    with app.app_context():
        _, read = find_clinic_and_draft(db.driver(), "demo", w.token)
        _, other_tab = find_clinic_and_draft(db.driver(), "demo", w.token)
        assert read is not None and other_tab is not None
        assert save_draft(db.driver(), other_tab, {**other_tab.answers, "full_name": "Changed"}, "review")
        submission = _submission_of(read)
        assert submit_draft(db.driver(), read, submission, utcnow()) is None
        # the draft as now stored is submitted
        _, fresh = find_clinic_and_draft(db.driver(), "demo", w.token)
        assert fresh is not None
        assert submit_draft(db.driver(), fresh, {**submission, "answers": fresh.answers}, utcnow())
        # and only once: the draft is no longer open for a submit
        again = {**submission, "answers": fresh.answers}
        assert submit_draft(db.driver(), fresh, again, utcnow()) is None
    assert session.scalars(select(Submission)).one().answers["full_name"] == "Changed"


def test_a_submit_stores_both_writes_or_neither(app: Flask, walk: Any, session: Any) -> None:
    w = walk()
    draft = draft_of(session, w.token)
    answers = dict(draft.answers)
    # A submission already stored for this draft (the unique key) makes the INSERT fail ...
    session.add(Submission(clinic_id=draft.clinic_id, draft_id=draft.id, answers={}, flags=[],
                           questionnaire_version="x", lang="en"))
    session.commit()
    with app.app_context():
        _, read = find_clinic_and_draft(db.driver(), "demo", w.token)
        assert read is not None
        submission = _submission_of(read)
        with pytest.raises(IntegrityError):
            submit_draft(db.driver(), read, submission, utcnow())
        # ... and then the draft is not marked either: its answers are where they were.
        _, after = find_clinic_and_draft(db.driver(), "demo", w.token)
        assert after is not None and after.submitted_at is None and after.answers == answers
        assert after.updated_at == read.updated_at
        # the connection is usable (no transaction left open)
        assert save_draft(db.driver(), after, {**answers, "full_name": "Next"}, "review")


def test_driver_transactions_roll_back_on_error_and_are_for_sqlite_only(
    app: Flask, walker: Walker
) -> None:
    walker.start()
    with app.app_context():
        driver = db.driver()
        _, draft = find_clinic_and_draft(driver, "demo", walker.token)
        assert draft is not None
        if driver[1].dialect.name != "sqlite":  # a server database does it in one statement
            with pytest.raises(ValueError), driver_transaction(driver):
                pass
            return
        with pytest.raises(RuntimeError), driver_transaction(driver):
            assert save_draft(driver, draft, {"full_name": "Not kept"}, "details")
            raise RuntimeError("after the write")
        _, again = find_clinic_and_draft(driver, "demo", walker.token)
        assert again is not None and "full_name" not in again.answers


def test_statements_with_literal_values_are_refused(app: Flask) -> None:
    with app.app_context():
        stmt = DriverStatement(Draft.__table__.update().values(lang="en"))
        with pytest.raises(ValueError, match="bindparam"):
            stmt.rowcount(db.driver(), {})


def test_a_submit_that_finds_the_draft_changed_goes_back_to_the_review(
    walk: Any, session: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import screener.wizard.views as views

    w = walk()
    monkeypatch.setattr(views, "submit_draft", lambda *args: None)  # lost the race
    r = w.submit()
    assert r.status_code == 303 and r.headers["Location"].endswith(f"/d/{w.token}/review")
    assert session.scalars(select(Submission)).first() is None


def test_a_lost_connection_is_invalidated_and_errors_hide_answers(app: Flask) -> None:
    with app.app_context():
        conn, engine = db.driver()
        pool_before = engine.pool
        conn.dbapi_connection.close()  # the server went away under this connection
        with pytest.raises(DBAPIError) as caught:
            save_draft(db.driver(), DraftRow(0, 0, "", {}, None, "en", utcnow(), utcnow(),
                                             utcnow(), None, None, None),
                       {"health_notes": "secret"}, "health")
        assert caught.value.connection_invalidated and not conn.is_valid
        assert "secret" not in str(caught.value)
        assert engine.pool is not pool_before  # older pooled connections are not reused
    with app.app_context():  # the next request gets a working connection
        assert find_clinic_and_draft(db.driver(), "demo", None)[0] is not None
