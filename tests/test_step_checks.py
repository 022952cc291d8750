"""Draft.step_checks: the final check re-validates only steps changed since they were sent."""
from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import update

from screener.storage.models import Draft
from screener.wizard import views

from .conftest import STEP_ANSWERS, Walker, draft_of


@pytest.fixture
def checked_steps(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The steps whose stored answers go through their form (views.stored_form)."""
    seen: list[str] = []
    real = views.stored_form

    def counting(step: Any, answers: dict[str, Any], lang: str) -> Any:
        seen.append(step.id)
        return real(step, answers, lang)

    monkeypatch.setattr(views, "stored_form", counting)
    return seen


def test_a_straight_walk_is_not_checked_twice(
    walk: Any, session: Any, checked_steps: list[str]
) -> None:
    walker = walk()  # every step sent, ending on the review page
    assert checked_steps == []  # every step was marked when it was sent
    assert set(draft_of(session, walker.token).step_checks or {}) == set(STEP_ANSWERS)
    assert walker.get().status_code == 200  # the review page: complete, no re-check either
    assert checked_steps == []


def test_a_step_changed_behind_its_mark_is_checked_again(
    walker: Walker, session: Any, checked_steps: list[str]
) -> None:
    walker.start()
    steps = list(STEP_ANSWERS)
    for step_id in steps[:-1]:
        assert walker.post_step(STEP_ANSWERS[step_id]).status_code == 303
    # A required answer of "goals" disappears (the marks stay as they were).
    draft = draft_of(session, walker.token)
    answers = {k: v for k, v in draft.answers.items() if k != "course_commitment"}
    session.execute(update(Draft).where(Draft.id == draft.id).values(answers=answers))
    session.commit()
    r = walker.post_step(STEP_ANSWERS[steps[-1]])
    assert r.status_code == 303 and r.headers["Location"].endswith("/s/goals")
    assert checked_steps == ["goals"]  # the others still match their marks


def test_the_digest_covers_what_the_check_reads(app: Flask) -> None:
    qn = app.extensions["questionnaire"]
    day = dt.date(2026, 11, 22)
    answers: dict[str, Any] = {k: v for a in STEP_ANSWERS.values() for k, v in a.items()}
    with app.app_context():
        for step in qn.steps:
            inputs = set(views._step_inputs(qn, step.id))
            for q in step.questions:
                assert q.id in inputs
                if q.show_if is not None:
                    assert set(q.show_if.question_ids()) <= inputs
            digest = views.step_digest(step, answers, day)
            assert digest == views.step_digest(step, dict(answers), day)
            assert digest != views.step_digest(step, answers, day + dt.timedelta(days=1))
            for qid in inputs:
                assert digest != views.step_digest(step, {**answers, qid: "changed"}, day), qid
            outside = next(k for k in qn.questions if k not in inputs)
            assert digest == views.step_digest(step, {**answers, outside: "changed"}, day)
