"""Answers as rows for people: the review page and the summaries."""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext

from ..i18n import format_date

from ..questionnaire.model import Question, Questionnaire, Step, parse_date
from . import engine


@dataclass(frozen=True)
class Row:
    question: Question
    value: str
    label: str  # the question's label in the rows' language


@dataclass(frozen=True)
class Section:
    step: Step
    rows: list[Row]
    title: str  # the step's title in the rows' language


def display_answer(q: Question, value: Any, lang: str) -> str:
    """An answer in words, in `lang`."""
    if value is None or value == "" or value == []:
        return gettext("Not answered")
    if q.type == "single":
        return q.choice_label(str(value), lang)
    if q.type == "multi":
        return ", ".join(q.choice_label(str(v), lang) for v in value) if lang == "en" else "、".join(
            q.choice_label(str(v), lang) for v in value
        )
    if q.type == "scale":
        return gettext("%(value)s out of %(max)s", value=value, max=q.max)
    if q.type == "date":
        day = parse_date(value)
        return format_date(day, "long") if day else str(value)
    if q.type == "consent":
        return gettext("Yes, I agree") if value is True else gettext("Not answered")
    return str(value)


def answer_section(
    step: Step, questions: Iterable[Question], answers: Mapping[str, Any], lang: str
) -> Section:
    """A step with these (its visible) questions and their answers in words."""
    rows = [
        Row(q, display_answer(q, answers.get(q.id), lang), q.label.get(lang)) for q in questions
    ]
    return Section(step, rows, step.title.get(lang))


def answer_rows(
    qn: Questionnaire, answers: Mapping[str, Any], lang: str, day: dt.date
) -> list[Section]:
    """Every visible step with its visible questions and the answers in words."""
    return [
        answer_section(step, engine.visible_questions(qn, step, answers, day), answers, lang)
        for step in engine.visible_steps(qn, answers, day)
    ]
