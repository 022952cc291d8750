"""The WTForms field of each question type (questionnaire/types.py); our own messages."""
from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Any

from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    Field,
    RadioField,
    SelectMultipleField,
    StringField,
    TelField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import (
    DataRequired,
    Email,
    InputRequired,
    Length,
    Optional,
    Regexp,
    ValidationError,
)

from ..questionnaire.model import Question

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _strip(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


def _no_control_characters(form: Any, field: Field) -> None:
    if isinstance(field.data, str) and _CONTROL.search(field.data):
        raise ValidationError(_l("Remove the invisible control characters from your answer."))


class SingleChoiceField(RadioField):
    """Radio buttons whose unknown values get a clear message."""

    def pre_validate(self, form: Any) -> None:
        if self.data is not None and self.data not in {self.coerce(c.value) for c in self.choices}:
            raise ValidationError(_l("Choose one of the options shown."))

    def process_formdata(self, valuelist: list[Any]) -> None:
        try:
            super().process_formdata(valuelist)
        except ValueError as exc:  # a scale value that is not a number
            self.data = None
            raise ValueError(_l("Choose one of the options shown.")) from exc


class MultiChoiceField(SelectMultipleField):
    """A group of checkboxes."""

    def pre_validate(self, form: Any) -> None:
        allowed = {c.value for c in self.choices}
        if any(v not in allowed for v in self.data or ()):
            raise ValidationError(_l("Choose only from the options shown."))

    def process_formdata(self, valuelist: list[Any]) -> None:
        # Repeated values count once; order follows the questionnaire, not the request.
        order = [c.value for c in self.choices]
        seen = set(valuelist)
        self.data = [v for v in order if v in seen] + sorted(seen - set(order))


class IsoDateField(DateField):
    def process_formdata(self, valuelist: list[Any]) -> None:
        try:
            super().process_formdata(valuelist)
        except ValueError as exc:
            raise ValueError(
                _l("Enter a real date, for example 2025-03-27 (year-month-day).")
            ) from exc


def _choices_min(q: Question) -> Callable[[Any, Field], None]:
    def check(form: Any, field: Field) -> None:
        if len(field.data or ()) < q.effective_min_choices:
            raise ValidationError(_l("Choose at least one option."))
        exclusive = set(q.exclusive or ()) & set(field.data or ())
        if exclusive and len(field.data) > 1:
            labels = ", ".join(q.choice_label(v, form.meta.lang) for v in sorted(exclusive))
            raise ValidationError(
                _l("“%(choice)s” cannot be combined with other options.", choice=labels)
            )

    return check


def _date_range(q: Question) -> Callable[[Any, Field], None]:
    def check(form: Any, field: Field) -> None:
        day: dt.date | None = field.data
        if day is None:
            return
        today: dt.date = form.meta.today
        if q.date_range == "past" and day > today:
            raise ValidationError(_l("This date is in the future: enter the date it happened."))
        if q.date_range == "future" and day < today:
            raise ValidationError(_l("This date has passed: enter a date from today on."))
        if day.year < 1900 or day.year > today.year + 5:
            raise ValidationError(_l("Enter a date between 1900 and a few years from now."))

    return check


def _must_tick(form: Any, field: Field) -> None:
    if field.data is not True:
        raise ValidationError(_l("Tick this box to continue."))


def _required(q: Question, message: Any) -> list[Any]:
    if not q.required:
        return [Optional()]
    # Text is stripped first, so whitespace alone counts as no answer.
    return [DataRequired(message) if q.type in ("text", "textarea") else InputRequired(message)]


def _text_validators(q: Question) -> list[Any]:
    limit = q.text_max_length
    return [
        Length(max=limit, message=_l("Keep this under %(max)d characters.", max=limit)),
        _no_control_characters,
    ]


def _choices(q: Question) -> list[SelectChoice]:
    return [SelectChoice(c.value, c.value) for c in q.choices or ()]


def single(q: Question) -> Field:
    return SingleChoiceField(
        choices=_choices(q),
        validators=_required(q, _l("Choose one of the options.")),
    )


def multi(q: Question) -> Field:
    validators: list[Any] = [_choices_min(q)]
    if not q.required and not q.min_choices:
        validators.insert(0, Optional())
    return MultiChoiceField(choices=_choices(q), validators=validators)


def scale(q: Question) -> Field:
    assert q.min is not None and q.max is not None
    return SingleChoiceField(
        choices=[SelectChoice(str(i), str(i)) for i in range(q.min, q.max + 1)],
        coerce=int,
        validators=_required(
            q, _l("Choose a number from %(min)d to %(max)d.", min=q.min, max=q.max)
        ),
    )


def text(q: Question) -> Field:
    cls = TextAreaField if q.type == "textarea" else StringField
    validators = [*_required(q, _l("Enter your answer.")), *_text_validators(q)]
    return cls(filters=[_strip], validators=validators)


def email(q: Question) -> Field:
    return EmailField(
        filters=[_strip],
        validators=_required(q, _l("Enter your email address."))
        + _text_validators(q)
        + [Email(_l("Enter an email address like name@example.com."), check_deliverability=False)],
    )


def tel(q: Question) -> Field:
    return TelField(
        filters=[_strip],
        validators=_required(q, _l("Enter your phone number."))
        + _text_validators(q)
        + [Regexp(r"^\+?[0-9 ().\-]{3,40}$",
                  message=_l("Enter a phone number using digits, spaces and + ( ) - only."))],
    )


def date(q: Question) -> Field:
    return IsoDateField(
        format="%Y-%m-%d",
        validators=[*_required(q, _l("Enter a date.")), _date_range(q)],
    )


def consent(q: Question) -> Field:
    return BooleanField(validators=[_must_tick] if q.required else [Optional()])
