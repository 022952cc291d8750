"""Step forms generated from the questionnaire: field name = question id."""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any

from werkzeug.datastructures import MultiDict
from wtforms import Form
from wtforms.meta import DefaultMeta

from ..questionnaire.model import Question, Questionnaire, Step
from ..questionnaire.types import field_value, make_field, posted_values, stored_answer
from .drafts import DraftCSRF


class StepMeta(DefaultMeta):
    csrf = True
    csrf_class = DraftCSRF
    csrf_field_name = "csrf_token"
    lang = "en"
    today: dt.date  # set per form: the date answers are checked against


class StepForm(Form):
    Meta = StepMeta


@lru_cache(maxsize=256)
def _form_class(
    qn_version: str, step_id: str, question_ids: tuple[str, ...], qn: Questionnaire
) -> type[StepForm]:
    attrs = {qid: make_field(qn.questions[qid]) for qid in question_ids}
    return type(f"{step_id.title().replace('_', '')}Form", (StepForm,), attrs)


def step_form_class(qn: Questionnaire, step: Step, questions: Iterable[Question]) -> type[StepForm]:
    """The form class for the given questions of a step (built once, then cached)."""
    return _form_class(qn.version, step.id, tuple(q.id for q in questions), qn)


def make_form(
    qn: Questionnaire,
    step: Step,
    questions: list[Question],
    *,
    formdata: MultiDict[str, Any] | None,
    answers: Mapping[str, Any],
    csrf_context: str,
    secret: str,
    lang: str,
    today: dt.date,
    csrf: bool = True,
) -> StepForm:
    """A bound step form: from the posted data, or (formdata=None) from stored answers."""
    cls = step_form_class(qn, step, questions)
    data = {q.id: field_value(q, answers.get(q.id)) for q in questions}
    meta = {
        "csrf": csrf,
        "csrf_context": csrf_context,
        "csrf_secret": secret.encode(),
        "lang": lang,
        "today": today,
    }
    return cls(formdata=formdata, data=data, meta=meta)


def form_answers(form: StepForm, questions: Iterable[Question]) -> dict[str, Any]:
    """The answers of a validated form, as stored: JSON-ready, empty answers left out."""
    out: dict[str, Any] = {}
    for q in questions:
        value = stored_answer(q, form[q.id].data)
        if value is not None:
            out[q.id] = value
    return out


def answers_formdata(
    questions: Iterable[Question], answers: Mapping[str, Any]
) -> MultiDict[str, Any]:
    """Stored answers encoded as a browser would post them, to re-validate a step."""
    md: MultiDict[str, Any] = MultiDict()
    for q in questions:
        for name, value in posted_values(q, answers.get(q.id)):
            md.add(name, value)
    return md
