"""Evaluate conditions (show_if and rule `when`) over answers: the operator table."""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any

from .model import AllOf, AnyOf, Compare, Condition, Not, Question, parse_date

Answers = Mapping[str, Any]


def _within_days(value: Any, operand: Any, question: Question, today: dt.date) -> bool:
    day = parse_date(value)
    if day is None:
        return False
    days = question.window_days if operand == "window" else operand
    return days is not None and abs((today - day).days) < days


_OPERATORS: dict[str, Callable[[Any, Any, Question, dt.date], bool]] = {
    "equals": lambda v, x, q, t: v == x and type(v) is type(x),
    "in": lambda v, x, q, t: v in x,
    "any_of": lambda v, x, q, t: isinstance(v, list | tuple) and any(c in v for c in x),
    "lte": lambda v, x, q, t: isinstance(v, int) and not isinstance(v, bool) and v <= x,
    "gte": lambda v, x, q, t: isinstance(v, int) and not isinstance(v, bool) and v >= x,
    "within_days": _within_days,
}


def evaluate(
    cond: Condition, answers: Answers, questions: Mapping[str, Question], today: dt.date
) -> bool:
    """True when the condition holds; a comparison on an unanswered question is false."""
    if isinstance(cond, AllOf):
        return all(evaluate(c, answers, questions, today) for c in cond.all)
    if isinstance(cond, AnyOf):
        return any(evaluate(c, answers, questions, today) for c in cond.any)
    if isinstance(cond, Not):
        return not evaluate(cond.not_, answers, questions, today)
    assert isinstance(cond, Compare)
    value = answers.get(cond.q)
    if value is None or value == "" or value == []:
        return False
    return _OPERATORS[cond.operator](value, cond.operand, questions[cond.q], today)


def window_end(question: Question, value: Any, days: int | str) -> dt.date | None:
    """The first day on which a `within_days` window after the answered date has passed."""
    day = parse_date(value)
    n = question.window_days if days == "window" else days
    if day is None or not isinstance(n, int):
        return None
    return day + dt.timedelta(days=n)
