"""The WTForms field of each question type (questionnaire/types.py); our own messages."""
from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Callable
from typing import Any

from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    EmailField,
    Field,
    RadioField,
    SelectMultipleField,
    StringField,
    TelField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.utils import unset_value
from wtforms.validators import (
    Email,
    Optional,
    Regexp,
    StopValidation,
    ValidationError,
)

from ..questionnaire.model import Question, parse_date

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _strip(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


def _no_control_characters(form: Any, field: Field) -> None:
    if isinstance(field.data, str) and _CONTROL.search(field.data):
        raise ValidationError(_l("Remove the invisible control characters from your answer"))


class SingleChoiceField(RadioField):
    """Radio buttons whose unknown values get a clear message."""

    def pre_validate(self, form: Any) -> None:
        if self.data is not None and self.data not in {self.coerce(c.value) for c in self.choices}:
            raise ValidationError(_l("Select one of the options shown"))

    def process_formdata(self, valuelist: list[Any]) -> None:
        try:
            super().process_formdata(valuelist)
        except ValueError as exc:  # a scale value that is not a number
            self.data = None
            raise ValueError(_l("Select one of the options shown")) from exc


class MultiChoiceField(SelectMultipleField):
    """A group of checkboxes."""

    def pre_validate(self, form: Any) -> None:
        allowed = {c.value for c in self.choices}
        if any(v not in allowed for v in self.data or ()):
            raise ValidationError(_l("Select only from the options shown"))

    def process_formdata(self, valuelist: list[Any]) -> None:
        # Repeated values count once; order follows the questionnaire, not the request.
        order = [c.value for c in self.choices]
        seen = set(valuelist)
        self.data = [v for v in order if v in seen] + sorted(seen - set(order))


DATE_PARTS = ("day", "month", "year")
# What an incomplete date lacks, by the parts left empty (in DATE_PARTS order).
_MUST_INCLUDE = {
    ("day",): _l("The date must include a day"),
    ("month",): _l("The date must include a month"),
    ("year",): _l("The date must include a year"),
    ("day", "month"): _l("The date must include a day and month"),
    ("day", "year"): _l("The date must include a day and year"),
    ("month", "year"): _l("The date must include a month and year"),
}
_REAL_DATE = _l("The date must be a real date")
EXAMPLE_DAYS = 30  # how far the hint's example lies in the past or the future


def date_order(lang: str) -> tuple[str, ...]:
    """The parts of a date in the order a language writes them (Chinese: year, month, day)."""
    return ("year", "month", "day") if lang.startswith("zh") else DATE_PARTS


def _number(value: str) -> str:
    """A typed number: full-width digits as ASCII ones, spaces around it dropped."""
    return unicodedata.normalize("NFKC", value).strip()


class DateInputField(Field):
    """The GOV.UK date input: day, month and year typed in three boxes, posted as
    `<name>-day`, `<name>-month` and `<name>-year`. One ISO date posted under `<name>` itself
    is read too (scripted clients); the pages only ever show the three boxes.

    `data` is a date (or None); `parts` keeps what was typed, shown again with its error, and
    `invalid_parts` names the boxes an error is about (none: the whole date)."""

    def __init__(self, *args: Any, date_range: str | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.date_range = date_range
        self.parts: dict[str, str] | None = None
        self.invalid_parts: tuple[str, ...] = ()

    def process(self, formdata: Any, data: Any = unset_value, extra_filters: Any = None) -> None:
        self.parts, self.invalid_parts = None, ()
        if formdata is not None:
            names = {part: f"{self.name}-{part}" for part in DATE_PARTS}
            if any(name in formdata for name in names.values()):
                self.parts = {
                    part: _number(str((formdata.getlist(name) or [""])[0]))
                    for part, name in names.items()
                }
        super().process(formdata, data, extra_filters)
        if self.parts is not None:  # what validators see: anything typed, or nothing
            self.raw_data = [" ".join(v for v in self.parts.values() if v)]

    def _invalid(self, parts: tuple[str, ...], message: Any) -> None:
        self.data, self.invalid_parts = None, parts
        raise ValueError(message)

    def process_formdata(self, valuelist: list[Any]) -> None:
        if self.parts is None:  # one ISO date under the question's own name, or nothing
            if valuelist:
                text = str(valuelist[0]).strip()
                self.data = parse_date(text) if text else None
                if text and self.data is None:
                    self._invalid((), _REAL_DATE)
            return
        parts, self.data = self.parts, None
        if not any(parts.values()):
            return
        missing = tuple(part for part in DATE_PARTS if not parts[part])
        if missing:
            self._invalid(missing, _MUST_INCLUDE[missing])
        wrong = tuple(
            part for part in DATE_PARTS
            if not (parts[part].isascii() and parts[part].isdigit())
            or (part != "year" and len(parts[part]) > 2)
        )
        if wrong:
            self._invalid(wrong, _REAL_DATE)
        if len(parts["year"]) != 4:
            self._invalid(("year",), _l("The year must have 4 digits"))
        day, month, year = (int(parts[part]) for part in DATE_PARTS)
        try:
            self.data = dt.date(year, month, day)
        except ValueError:
            self._invalid(("day",) if 1 <= month <= 12 else ("month",), _REAL_DATE)

    @property
    def order(self) -> tuple[str, ...]:
        return date_order(self.meta.lang)

    def value_of(self, part: str) -> str:
        """What a box shows: as typed, else the stored date's number."""
        if self.parts is not None:
            return self.parts[part]
        return str(getattr(self.data, part)) if isinstance(self.data, dt.date) else ""

    def part_invalid(self, part: str) -> bool:
        return bool(self.errors) and (not self.invalid_parts or part in self.invalid_parts)

    @property
    def first_invalid(self) -> str:
        """The box an error message links to: the first one it is about."""
        return next((p for p in self.order if self.part_invalid(p)), self.order[0])

    @property
    def example(self) -> str:
        """A date that fits the question (past, future), in the boxes' order: "27 3 2026"."""
        today: dt.date = self.meta.today
        shift = {"past": -EXAMPLE_DAYS, "future": EXAMPLE_DAYS}.get(self.date_range or "", 0)
        day = today + dt.timedelta(days=shift)
        return " ".join(str(getattr(day, part)) for part in self.order)


# Error messages ------------------------------------------------------------------------------
# A question may word its own messages in the file (`error:`, model.ERROR_KINDS); any other is
# generated from its type and, when the file gives one, its short `name`: "Enter your full name".
# GOV.UK style: say what to do, no full stop.

# What the answer is when the file does not say ("Enter your answer").
_NAME_BY_TYPE = {
    "text": _l("your answer"),
    "textarea": _l("your answer"),
    "email": _l("your email address"),
    "tel": _l("your phone number"),
    "date": _l("the date"),
}


def _name(q: Question, lang: str) -> str | None:
    """What the answer is in a few words: the file's `name`, else the type's, else None."""
    if q.short_name is not None:
        return q.short_name.get(lang)
    default = _NAME_BY_TYPE.get(q.type)
    return str(default) if default is not None else None


def _s(message: Any) -> str:
    """A translated message as text (gettext's result is typed Any)."""
    return str(message)


def _required_default(q: Question, name: str | None) -> str:
    if q.type == "consent":
        return _s(gettext("Select the box to continue"))
    if q.type in ("single", "multi", "scale"):
        if q.short_name is not None:
            return _s(gettext("Select %(name)s", name=name))
        if q.type == "scale":
            return _s(gettext("Select a number from %(min)d to %(max)d", min=q.min, max=q.max))
        if q.type == "multi":
            return _s(gettext("Select at least one option"))
        return _s(gettext("Select an answer"))
    return _s(gettext("Enter %(name)s", name=name))


def _too_long_default(q: Question, name: str | None) -> str:
    name = name or ""
    return _s(gettext("%(name)s must be %(max)d characters or less",
              name=name[:1].upper() + name[1:], max=q.text_max_length))


def _invalid_default(q: Question, name: str | None) -> str:
    if q.type == "email":
        return _s(gettext("Enter an email address in the correct format, like name@example.com"))
    return _s(gettext("Enter a phone number using only digits, spaces and + ( ) -"))


_DEFAULTS: dict[str, Callable[[Question, str | None], str]] = {
    "required": _required_default,
    "too_long": _too_long_default,
    "invalid": _invalid_default,
}


def error_message(q: Question, kind: str, lang: str) -> str:
    """What a question's error of this kind (model.ERROR_KINDS) says in `lang`: the question's
    own words from the file, else the generated message (in the interface's language)."""
    own = q.own_message(kind)
    if own is not None:
        return own.get(lang)
    return _DEFAULTS[kind](q, _name(q, lang))


def _choices_min(q: Question) -> Callable[[Any, Field], None]:
    def check(form: Any, field: Field) -> None:
        chosen = len(field.data or ())
        if chosen == 0 and q.effective_min_choices > 0:
            raise ValidationError(error_message(q, "required", form.meta.lang))
        if chosen < q.effective_min_choices:
            least = q.effective_min_choices
            raise ValidationError(gettext("Select at least %(n)d options", n=least))
        exclusive = set(q.exclusive or ()) & set(field.data or ())
        if exclusive and len(field.data) > 1:
            labels = ", ".join(q.choice_label(v, form.meta.lang) for v in sorted(exclusive))
            raise ValidationError(
                _l("“%(choice)s” cannot be combined with other options", choice=labels)
            )

    return check


def _date_given(q: Question) -> Callable[[Any, Field], None]:
    """A required date: "Enter <the date's name>" when nothing was typed."""

    def check(form: Any, field: Field) -> None:
        if field.raw_data and field.raw_data[0]:
            return
        field.errors = []
        raise StopValidation(error_message(q, "required", form.meta.lang))

    return check


def _date_range(q: Question) -> Callable[[Any, Field], None]:
    def check(form: Any, field: Field) -> None:
        day: dt.date | None = field.data
        if day is None:
            return
        today: dt.date = form.meta.today
        if q.date_range == "past" and day > today:
            raise ValidationError(_l("The date must be today or in the past"))
        if q.date_range == "future" and day < today:
            raise ValidationError(_l("The date must be today or in the future"))
        if day.year < 1900 or day.year > today.year + 5:
            if isinstance(field, DateInputField):
                field.invalid_parts = ("year",)
            raise ValidationError(
                _l("The year must be between 1900 and %(last)d", last=today.year + 5)
            )

    return check


def _must_tick(q: Question) -> Callable[[Any, Field], None]:
    def check(form: Any, field: Field) -> None:
        if field.data is not True:
            raise ValidationError(error_message(q, "required", form.meta.lang))

    return check


def _required(q: Question) -> list[Any]:
    """An answer is needed (as InputRequired; text is stripped first, so whitespace alone counts
    as none, as DataRequired), with the question's message."""
    if not q.required:
        return [Optional()]
    text_like = q.type in ("text", "textarea")

    def check(form: Any, field: Field) -> None:
        if text_like:
            given = isinstance(field.data, str) and bool(field.data.strip())
        else:
            given = bool(field.raw_data and field.raw_data[0])
        if given:
            return
        field.errors = []
        raise StopValidation(error_message(q, "required", form.meta.lang))

    return [check]


def _text_validators(q: Question) -> list[Any]:
    limit = q.text_max_length

    def too_long(form: Any, field: Field) -> None:
        if isinstance(field.data, str) and len(field.data) > limit:
            raise ValidationError(error_message(q, "too_long", form.meta.lang))

    return [too_long, _no_control_characters]


def _in_format(
    q: Question, validator: Callable[[Any, Any], object]
) -> Callable[[Any, Field], None]:
    """A format check (email, phone) that fails with the question's `invalid` message."""

    def check(form: Any, field: Field) -> None:
        try:
            validator(form, field)
        except ValidationError as exc:
            raise ValidationError(error_message(q, "invalid", form.meta.lang)) from exc

    return check


def _choices(q: Question) -> list[SelectChoice]:
    return [SelectChoice(c.value, c.value) for c in q.choices or ()]


def single(q: Question) -> Field:
    return SingleChoiceField(choices=_choices(q), validators=_required(q))


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
        validators=_required(q),
    )


def text(q: Question) -> Field:
    cls = TextAreaField if q.type == "textarea" else StringField
    return cls(filters=[_strip], validators=[*_required(q), *_text_validators(q)])


def email(q: Question) -> Field:
    return EmailField(
        filters=[_strip],
        validators=[*_required(q), *_text_validators(q),
                    _in_format(q, Email(check_deliverability=False))],
    )


def tel(q: Question) -> Field:
    return TelField(
        filters=[_strip],
        validators=[*_required(q), *_text_validators(q),
                    _in_format(q, Regexp(r"^\+?[0-9 ().\-]{3,40}$"))],
    )


def date(q: Question) -> Field:
    given = _date_given(q) if q.required else Optional()
    return DateInputField(date_range=q.date_range, validators=[given, _date_range(q)])


def consent(q: Question) -> Field:
    return BooleanField(validators=[_must_tick(q)] if q.required else [Optional()])
