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
from .drafts import DraftCSRF
from .fields import make_field


class StepMeta(DefaultMeta):
    csrf = True
    csrf_class = DraftCSRF
    csrf_field_name = "csrf_token"
    lang = "en"
    today: dt.date  # set per form: the date answers are checked against


class StepForm(Form):
    Meta = StepMeta


@lru_cache(maxsize=256)
def _form_class(qn_version: str, step_id: str, question_ids: tuple[str, ...], qn: Questionnaire) -> type[StepForm]:
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
    data = {q.id: _form_value(q, answers.get(q.id)) for q in questions}
    meta = {
        "csrf": csrf,
        "csrf_context": csrf_context,
        "csrf_secret": secret.encode(),
        "lang": lang,
        "today": today,
    }
    return cls(formdata=formdata, data=data, meta=meta)


def _form_value(q: Question, value: Any) -> Any:
    if q.type == "date":  # stored as ISO text; anything else is shown as no answer
        try:
            return dt.date.fromisoformat(value) if isinstance(value, str) else None
        except ValueError:
            return None
    return value


def form_answers(form: StepForm, questions: Iterable[Question]) -> dict[str, Any]:
    """The answers of a validated form, as stored: JSON-ready, empty answers left out."""
    out: dict[str, Any] = {}
    for q in questions:
        value = form[q.id].data
        if isinstance(value, dt.date):
            value = value.isoformat()
        if q.type == "consent":
            value = True if value else None
        if value is None or value == "" or value == []:
            continue
        out[q.id] = value
    return out


def valid_field_answers(form: StepForm, questions: Iterable[Question]) -> dict[str, Any]:
    """The answers of the fields that validated, for saving a step the client leaves with Back."""
    ok = [q for q in questions if not form[q.id].errors]
    return form_answers(form, ok)


def answers_formdata(questions: Iterable[Question], answers: Mapping[str, Any]) -> MultiDict[str, Any]:
    """Stored answers encoded as a browser would post them, to re-validate a step."""
    md: MultiDict[str, Any] = MultiDict()
    for q in questions:
        value = answers.get(q.id)
        if value is None:
            continue
        if isinstance(value, list):
            for v in value:
                md.add(q.id, str(v))
        elif value is True:
            md.add(q.id, "y")
        else:
            md.add(q.id, str(value))
    return md
