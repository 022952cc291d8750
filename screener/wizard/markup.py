"""The markup of one question on a step page, from the `question` macro, memoised per process.

A question's markup depends only on the question, the language, the field's value and errors,
whether it is revealed by another answer, and (date inputs carry `min`/`max`) the date. Most step
pages show unanswered questions or closed answers (choices, scales, consents), so that markup is
rendered once per worker and reused. Free text is different: a name or a health note typed by a
client is rendered every time and never kept in memory after its request.
"""
from __future__ import annotations

import datetime as dt
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from typing import Any, TypeVar

from flask import current_app
from markupsafe import Markup
from wtforms import Field

from ..questionnaire.model import Question, Questionnaire
from . import engine

T = TypeVar("T")

CLOSED_TYPES = frozenset({"single", "multi", "scale", "consent"})
CACHE_SIZE = 4096  # entries; a question's markup is 0.2 to 3 KB
BLOCK_CACHE_SIZE = 512  # a step's questions: up to ~30 KB
SECTION_CACHE_SIZE = 2048  # a step's answers on the review page: up to ~5 KB


class LRU:
    """A small thread-safe least-recently-used map."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._data: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def get(self, key: Hashable) -> Any:
        with self._lock:
            value = self._data.get(key)
            if value is None:
                self.misses += 1
                return None
            self.hits += 1
            self._data.move_to_end(key)
            return value

    def put(self, key: Hashable, value: Any) -> None:
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self.size:
                self._data.popitem(last=False)

    def get_or_make(self, key: Hashable, make: Callable[[], T]) -> T:
        """The value under `key`, made by `make()` and kept when missing."""
        value = self.get(key)
        if value is None:
            value = make()
            self.put(key, value)
        return value  # type: ignore[no-any-return]

    def __len__(self) -> int:
        return len(self._data)


FREE_TEXT = object()  # a state that is not memoised


def kept_in(name: str) -> LRU | None:
    """The app's cache of that name, or None when nothing is to be kept: in debug mode
    (templates may change) or when the cache has no room (size 0: off, as tests set it)."""
    cache: LRU = current_app.extensions[name]
    return None if current_app.debug or cache.size == 0 else cache


def _closed_state(q: Question, value: Any) -> Hashable:
    """The value as the field holds it (WTForms' coercion, mirrored), reduced to what the
    markup shows: only known values are ever marked checked."""
    if value is None:
        return () if q.type == "multi" else False if q.type == "consent" else None
    if q.type == "consent":
        return bool(value)
    if q.type == "multi":
        try:
            chosen = {str(v) for v in value}
        except TypeError:
            return ()
        return tuple(v for v in q.choice_values if v in chosen)
    if q.type == "scale":
        try:
            number = int(value)
        except (TypeError, ValueError):
            return None
        return number if q.min is not None and q.max is not None and q.min <= number <= q.max else None
    text = str(value)
    return text if text in q.choice_values else None


def stored_state(q: Question, value: Any) -> Hashable:
    """What the markup shows of a stored answer, or FREE_TEXT for a typed one (not kept)."""
    if q.type in CLOSED_TYPES:
        return _closed_state(q, value)
    return "" if value is None or value == "" else FREE_TEXT


def field_state(q: Question, field: Field) -> Hashable:
    """The same for a bound field (a posted step shown again with its errors)."""
    if q.type in CLOSED_TYPES:
        return _closed_state(q, field.data)
    return "" if field._value() == "" else FREE_TEXT


def question_markup(
    qn: Questionnaire,
    q: Question,
    state: Hashable,
    errors: Sequence[Any],
    field: Callable[[], Field],
    lang: str,
    today: dt.date,
    locale: str,
) -> Markup:
    """The rendered question: from the per-process cache when its state allows, else rendered
    from `field()` (the bound WTForms field, made only when needed). `locale`: ui_locale()."""

    def render() -> Markup:
        reveal = engine.reveal_controller(qn, q)
        leaves = engine.compare_leaves(q) if reveal else ()
        macro: Any = current_app.jinja_env.get_template("macros/forms.html").module.question  # type: ignore[attr-defined]
        return macro(q, field(), lang, reveal, leaves, today)  # type: ignore[no-any-return]  # escaped by the template

    cache = kept_in("question_markup")
    if state is FREE_TEXT or cache is None:
        return render()
    # `lang` picks the question's texts, the interface locale the macro's own words.
    key = (qn.version, q.id, lang, locale, state, tuple(str(e) for e in errors),
           today if q.type == "date" else None)
    return cache.get_or_make(key, render)  # type: ignore[no-any-return]


def questions_block(
    qn: Questionnaire,
    questions: Sequence[Question],
    states: Sequence[Hashable],
    lang: str,
    locale: str,
    today: dt.date,
    render: Callable[[], Markup],
) -> Markup:
    """The markup of a step's questions shown from stored answers: `render()`, kept per process
    for these questions in these states (a step first reached has them all unanswered, the
    same for every client). With a typed answer among them it is not kept."""
    cache = kept_in("questions_blocks")
    if cache is None or any(s is FREE_TEXT for s in states):
        return render()
    key = (qn.version, tuple(q.id for q in questions), tuple(states), lang, locale,
           today if any(q.type == "date" for q in questions) else None)
    return cache.get_or_make(key, render)


def answer_state(q: Question, value: Any) -> Hashable:
    """What a review row shows of a stored answer, as a cache key; FREE_TEXT (never kept) for
    typed text, dates, and anything that is not one of the question's own choices or values."""
    if value is None or value == "" or value == []:
        return None  # "Not answered"
    if q.type == "single" and type(value) is str and value in q.choice_values:
        return value
    if q.type == "multi" and type(value) is list and all(
        type(v) is str and v in q.choice_values for v in value
    ):
        return tuple(value)
    if q.type == "scale" and type(value) is int:
        return value
    if q.type == "consent":
        return value is True
    return FREE_TEXT


def init_app(app: Any) -> None:
    app.extensions["question_markup"] = LRU(CACHE_SIZE)
    app.extensions["questions_blocks"] = LRU(BLOCK_CACHE_SIZE)
    app.extensions["answer_sections"] = LRU(SECTION_CACHE_SIZE)
