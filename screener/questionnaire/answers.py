"""Answers as rows for people: the review page and the summaries."""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from . import engine
from .model import Question, Questionnaire, Step
from .types import display_answer


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
