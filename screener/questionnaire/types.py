"""One table per question type: everything a type does, in one place.

A type says how its question is asked (the WTForms field), how a field's data is stored and
shown again, how a browser posts a stored answer (to re-check a step), how the answer reads in
words (translated, and plain for the practitioner's reasons), and what it is in FHIR. A new
question type is one new entry in TYPES (and its name in model.QuestionType).
"""
from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext
from wtforms import Field

from ..i18n import format_date
from . import fields
from .model import Question, parse_date

# FHIR answer[x] entries of one answer; None when the value does not fit the type.
FhirValues = list[dict[str, Any]] | None


def is_empty(value: Any) -> bool:
    """No answer: nothing, an empty text or an empty choice list."""
    return value is None or value == "" or value == []


def _same(value: Any) -> Any:
    return value


def _cell(value: Any) -> str:
    """A stored answer as one CSV cell: lists joined by ';', booleans as true/false."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return ";".join(_cell(v) for v in value)
    return str(value)


def _posted_one(name: str, value: Any) -> list[tuple[str, str]]:
    return [(name, str(value))]


def _posted_each(name: str, value: Any) -> list[tuple[str, str]]:
    return [(name, v) for v in _as_list(value)]


def _joined(q: Question, values: list[str], lang: str) -> str:
    return ("、" if lang.startswith("zh") else ", ").join(q.choice_label(v, lang) for v in values)


def _as_list(value: Any) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list | tuple) else [str(value)]


def _choice_words(q: Question, value: Any, lang: str) -> str:
    return _joined(q, _as_list(value), lang)


def _coding(q: Question, value: Any, system: str) -> FhirValues:
    values = value if isinstance(value, list) else [value]
    if not all(isinstance(v, str) and v for v in values):
        return None
    return [{"valueCoding": {"system": system, "code": v, "display": q.choice_label(v, "en")}}
            for v in values]


def _text_words(q: Question, value: Any, lang: str) -> str:
    return str(value)


def _string(q: Question, value: Any, system: str) -> FhirValues:
    return None  # every text is a valueString (the fallback)


# scale


def _scale_words(q: Question, value: Any, lang: str) -> str:
    return str(gettext("%(value)s out of %(max)s", value=value, max=q.max))


def _scale_plain(q: Question, value: Any, lang: str) -> str:
    return f"{value}/{q.max}"


def _integer(q: Question, value: Any, system: str) -> FhirValues:
    ok = isinstance(value, int) and not isinstance(value, bool)
    return [{"valueInteger": value}] if ok else None


# date: stored as ISO text


def _date_to_field(value: Any) -> dt.date | None:
    return parse_date(value) if isinstance(value, str) else None


def _date_posted(name: str, value: Any) -> list[tuple[str, str]]:
    """The three boxes; a stored value that is no date is posted as typed into the year."""
    day = parse_date(value)
    if day is None:
        return [(f"{name}-day", ""), (f"{name}-month", ""), (f"{name}-year", str(value))]
    return [(f"{name}-{part}", str(getattr(day, part))) for part in fields.DATE_PARTS]


def _date_from_field(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.date) else value


def _date_words(q: Question, value: Any, lang: str) -> str:
    day = parse_date(value)
    return format_date(day, "long") if day else str(value)


def _date_plain(q: Question, value: Any, lang: str) -> str:
    day = parse_date(value)
    return day.isoformat() if day else str(value)


def _date(q: Question, value: Any, system: str) -> FhirValues:
    day = parse_date(value)
    return [{"valueDate": day.isoformat()}] if day else None


# consent: stored as true, or no answer


def _consent_from_field(value: Any) -> Any:
    return True if value else None


def _consent_posted(name: str, value: Any) -> list[tuple[str, str]]:
    return [(name, "y")] if value is True else []


def _consent_words(q: Question, value: Any, lang: str) -> str:
    return str(gettext("Yes, I agree") if value is True else gettext("Not answered"))


def _consent_plain(q: Question, value: Any, lang: str) -> str:
    return "✓" if value is True else "-"


def _boolean(q: Question, value: Any, system: str) -> FhirValues:
    return [{"valueBoolean": value}] if isinstance(value, bool) else None


@dataclass(frozen=True)
class Kind:
    """What one question type does."""

    field: Callable[[Question], Field]  # the unbound WTForms field
    fhir_item: str  # the FHIR Questionnaire item type
    words: Callable[[Question, Any, str], str]  # an answer in words, translated
    fhir: Callable[[Question, Any, str], FhirValues]  # answer[x] (code system URL given)
    plain: Callable[[Question, Any, str], str] | None = None  # words without gettext
    to_field: Callable[[Any], Any] = _same  # stored answer -> field data
    from_field: Callable[[Any], Any] = _same  # field data -> stored answer (None: none)
    # (field name, stored answer) -> what a browser posts: (name, value) pairs
    posted: Callable[[str, Any], list[tuple[str, str]]] = _posted_one
    cell: Callable[[Any], str] = _cell  # stored answer -> CSV cell


_TEXT = Kind(fields.text, "string", _text_words, _string)
TYPES: dict[str, Kind] = {
    "single": Kind(fields.single, "choice", _choice_words, _coding),
    "multi": Kind(fields.multi, "choice", _choice_words, _coding, posted=_posted_each),
    "scale": Kind(fields.scale, "integer", _scale_words, _integer, plain=_scale_plain),
    "text": _TEXT,
    "textarea": Kind(fields.text, "text", _text_words, _string),
    "email": Kind(fields.email, "string", _text_words, _string),
    "tel": Kind(fields.tel, "string", _text_words, _string),
    "date": Kind(fields.date, "date", _date_words, _date, plain=_date_plain,
                 to_field=_date_to_field, from_field=_date_from_field, posted=_date_posted),
    "consent": Kind(fields.consent, "boolean", _consent_words, _boolean, plain=_consent_plain,
                    from_field=_consent_from_field, posted=_consent_posted),
}


def kind(q: Question) -> Kind:
    return TYPES[q.type]


def make_field(q: Question) -> Field:
    """The unbound WTForms field for a question."""
    return kind(q).field(q)


def display_answer(q: Question, value: Any, lang: str) -> str:
    """An answer in words, in `lang` (translated; dates in the interface's locale)."""
    if is_empty(value):
        return str(gettext("Not answered"))
    return kind(q).words(q, value, lang)


def plain_answer(q: Question, value: Any, lang: str) -> str:
    """An answer in words without any translation machinery (choice labels, ISO dates)."""
    if is_empty(value):
        return "-"
    k = kind(q)
    return (k.plain or k.words)(q, value, lang)


def field_value(q: Question, value: Any) -> Any:
    """A stored answer as the question's field holds it."""
    return kind(q).to_field(value)


def stored_answer(q: Question, data: Any) -> Any:
    """A field's data as stored (JSON-ready), or None for no answer."""
    value = kind(q).from_field(data)
    return None if is_empty(value) else value


def posted_values(q: Question, value: Any) -> list[tuple[str, str]]:
    """A stored answer as a browser would post it: (field name, value) pairs."""
    return [] if value is None else kind(q).posted(q.id, value)


def csv_cell(q: Question | None, value: Any) -> str:
    """A stored answer as one CSV cell ("" for none); any question, or none that still exists."""
    if value is None:
        return ""
    return (kind(q).cell if q is not None else _cell)(value)


def fhir_values(q: Question | None, value: Any, code_system: str) -> list[dict[str, Any]]:
    """The typed answer[x] entries of one stored answer; a value that no longer fits the
    question's type (the questionnaire changed after the submission) becomes a valueString."""
    if is_empty(value):
        return []
    typed = kind(q).fhir(q, value, code_system) if q is not None else None
    if typed is not None:
        return typed
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return [{"valueString": text}] if text.strip() else []
