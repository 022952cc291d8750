"""Typed, frozen objects for the questionnaire file (format: docs/questions-format.md).

The pydantic models check the shape of the file; cross-references (question ids, choice values,
source keys, operator/type fit) are checked by the loader, which knows the whole file.
"""
from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    GetJsonSchemaHandler,
    RootModel,
    Tag,
    ValidationInfo,
    model_validator,
)
from pydantic.json_schema import JsonSchemaValue

from ..languages import DEFAULT_LANG, LANGS
from ..languages import LANGUAGES as LANGUAGES  # the codes (screener/languages.toml), in order

SEVERITIES = ("red_flag", "discuss", "timing", "comfort", "info")
Severity = Literal["red_flag", "discuss", "timing", "comfort", "info"]
QuestionType = Literal[
    "single", "multi", "scale", "text", "textarea", "email", "tel", "date", "consent"
]
CHOICE_TYPES = frozenset({"single", "multi"})
TEXT_TYPES = frozenset({"text", "textarea", "email", "tel"})
DEFAULT_MAX_LENGTH = {"text": 200, "textarea": 2000, "email": 254, "tel": 40}

Identifier = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=64)]
ChoiceValue = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_]*$", max_length=64)]


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


_CODE_OF_ATTRIBUTE = {code.replace("-", "_").lower(): code for code in LANGUAGES}


class Text(RootModel[dict[str, Annotated[str, Field(min_length=1)]]]):
    """A text in every interface language: {"en": ..., "zh-Hant": ..., "zh-Hans": ...}.

    The questionnaire file must give every language of screener/languages.toml, and no other.
    A stored questionnaire version (storage/versions.py: validated with the context
    {"stored": True}) may lack languages added since: it needs only the default language, and
    texts in languages no longer listed are dropped. `get` falls back along the language's
    fallback chain (languages.toml), so such a version still reads in every language.
    """

    model_config = ConfigDict(frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _languages(cls, value: Any, info: ValidationInfo) -> Any:
        if not isinstance(value, dict):
            return value
        # Keywords in Python: Text(en=..., zh_hant=...) is Text(en=..., **{"zh-Hant": ...}).
        value = {_CODE_OF_ATTRIBUTE.get(k, k) if isinstance(k, str) else k: v
                 for k, v in value.items()}
        stored = bool((info.context or {}).get("stored"))
        required = (DEFAULT_LANG,) if stored else LANGUAGES
        missing = [code for code in required if code not in value]
        unknown = [] if stored else [str(k) for k in value if k not in LANGUAGES]
        problems = []
        if missing:
            problems.append(
                f"missing translation{'s' if len(missing) > 1 else ''} "
                + ", ".join(f"'{code}'" for code in missing)
            )
        if unknown:
            problems.append(
                f"unknown language {', '.join(repr(k) for k in unknown)}"
                f" (the languages: {', '.join(LANGUAGES)})"
            )
        if problems:
            raise ValueError("; ".join(problems))
        return {k: v for k, v in value.items() if k in LANGUAGES} if stored else value

    @classmethod
    def __get_pydantic_json_schema__(
        cls, core_schema: Any, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return {
            "title": "Text",
            "description": "A text in every interface language (screener/languages.toml).",
            "type": "object",
            "properties": {code: {"type": "string", "minLength": 1} for code in LANGUAGES},
            "required": list(LANGUAGES),
            "additionalProperties": False,
        }

    def __hash__(self) -> int:
        return hash(tuple(sorted(self.root.items())))

    def get(self, lang: str) -> str:
        """The text in `lang`, else in its fallback languages (languages.toml), else any."""
        for code in LANGS.fallbacks(lang):
            if code in self.root:
                return self.root[code]
        return next(iter(self.root.values()))

    def __getattr__(self, name: str) -> str:
        """`text.en`, `text.zh_hant`, `text.zh_hans`: `get` of the language whose code this is
        (with "_" for "-", any case)."""
        if not name.startswith("_"):
            code = _CODE_OF_ATTRIBUTE.get(name)
            if code is not None:
                return self.get(code)
        return super().__getattr__(name)  # type: ignore[misc,no-any-return]

    def has(self, lang: str) -> bool:
        """Whether the text is given in `lang` itself (not by a fallback)."""
        return lang in self.root


# Conditions -------------------------------------------------------------------------------

OPERATORS = ("equals", "in", "any_of", "lte", "gte", "within_days")


class Compare(_Frozen):
    """A comparison on one question's answer; exactly one operator key is set."""

    q: Identifier
    equals: str | bool | int | None = None
    in_: Annotated[tuple[str, ...] | None, Field(alias="in", min_length=1)] = None
    any_of: Annotated[tuple[str, ...] | None, Field(min_length=1)] = None
    lte: int | None = None
    gte: int | None = None
    within_days: Annotated[int, Field(ge=1)] | Literal["window"] | None = None

    @model_validator(mode="after")
    def _one_operator(self) -> Compare:
        used = [op for op in OPERATORS if getattr(self, _attr(op)) is not None]
        if len(used) != 1:
            raise ValueError(
                f"a comparison needs exactly one operator of {', '.join(OPERATORS)}"
                f" (found {', '.join(used) or 'none'})"
            )
        return self

    @property
    def operator(self) -> str:
        return next(op for op in OPERATORS if getattr(self, _attr(op)) is not None)

    @property
    def operand(self) -> Any:
        return getattr(self, _attr(self.operator))

    def question_ids(self) -> Iterator[str]:
        yield self.q


def _attr(op: str) -> str:
    return "in_" if op == "in" else op


class AllOf(_Frozen):
    all: Annotated[tuple[Condition, ...], Field(min_length=1)]

    def question_ids(self) -> Iterator[str]:
        for c in self.all:
            yield from c.question_ids()


class AnyOf(_Frozen):
    any: Annotated[tuple[Condition, ...], Field(min_length=1)]

    def question_ids(self) -> Iterator[str]:
        for c in self.any:
            yield from c.question_ids()


class Not(_Frozen):
    not_: Condition = Field(alias="not")

    def question_ids(self) -> Iterator[str]:
        yield from self.not_.question_ids()


def _condition_kind(value: Any) -> str:
    if isinstance(value, dict):
        for key in ("all", "any", "not"):
            if key in value:
                return f"<{key}>"
        return "<compare>"
    kinds: dict[type, str] = {Compare: "<compare>", AllOf: "<all>", AnyOf: "<any>", Not: "<not>"}
    return kinds.get(type(value), "<compare>")


Condition = Annotated[
    Annotated[Compare, Tag("<compare>")]
    | Annotated[AllOf, Tag("<all>")]
    | Annotated[AnyOf, Tag("<any>")]
    | Annotated[Not, Tag("<not>")],
    Discriminator(_condition_kind),
]
AllOf.model_rebuild()
AnyOf.model_rebuild()
Not.model_rebuild()


# Questions, steps, rules --------------------------------------------------------------------


class Choice(_Frozen):
    value: ChoiceValue
    label: Text


_TYPE_KEYS: dict[str, frozenset[str]] = {
    "single": frozenset({"choices"}),
    "multi": frozenset({"choices", "exclusive", "min_choices"}),
    "scale": frozenset({"min", "max", "min_label", "max_label"}),
    "text": frozenset({"max_length"}),
    "textarea": frozenset({"max_length"}),
    "email": frozenset({"max_length"}),
    "tel": frozenset({"max_length"}),
    "date": frozenset({"date_range", "window_days", "date_name"}),
    "consent": frozenset(),
}
# The kinds of message a question may word itself (`error:`), by type: `required` when it is not
# answered (a consent box: not ticked), `too_long` past its max_length, `invalid` when an email
# address or a phone number is not in a form that can be used.
ERROR_KINDS: dict[str, frozenset[str]] = {
    "single": frozenset({"required"}),
    "multi": frozenset({"required"}),
    "scale": frozenset({"required"}),
    "text": frozenset({"required", "too_long"}),
    "textarea": frozenset({"required", "too_long"}),
    "email": frozenset({"required", "too_long", "invalid"}),
    "tel": frozenset({"required", "too_long", "invalid"}),
    "date": frozenset({"required"}),
    "consent": frozenset({"required"}),
}
_REQUIRED_TYPE_KEYS: dict[str, frozenset[str]] = {
    "single": frozenset({"choices"}),
    "multi": frozenset({"choices"}),
    "scale": frozenset({"min", "max"}),
}
_OPTIONAL_KEYS = frozenset().union(*_TYPE_KEYS.values())


class ErrorMessages(_Frozen):
    """A question's own error messages (GOV.UK style: what to do, "Enter your full name"); a
    kind left out gets a message generated from the question's type and `name`."""

    required: Text | None = None
    too_long: Text | None = None
    invalid: Text | None = None

    def given(self) -> list[str]:
        return [kind for kind in ("required", "too_long", "invalid") if getattr(self, kind)]


class Question(_Frozen):
    id: Identifier
    type: QuestionType
    label: Text
    help: Text | None = None
    required: bool = True
    show_if: Condition | None = None
    choices: Annotated[tuple[Choice, ...], Field(min_length=2)] | None = None
    exclusive: tuple[ChoiceValue, ...] | None = None
    min_choices: Annotated[int, Field(ge=0)] | None = None
    min: int | None = None
    max: int | None = None
    min_label: Text | None = None
    max_label: Text | None = None
    max_length: Annotated[int, Field(ge=1, le=10000)] | None = None
    date_range: Literal["past", "future", "any"] | None = None
    window_days: Annotated[int, Field(ge=1, le=3650)] | None = None
    # What the answer is in a few words ("your full name", "the date of the event"): the
    # generated error messages use it ("Enter your full name") where `error` says nothing.
    name: Text | None = None
    # The older spelling of `name`, on a date question only (files written before `name`).
    date_name: Text | None = None
    error: ErrorMessages | None = None
    # Asked again in the short check before each later session (what can change between
    # sessions: a pregnancy, a new medicine, a recent treatment, the skin today).
    recheck: bool = False

    @model_validator(mode="after")
    def _keys_fit_type(self) -> Question:
        allowed = _TYPE_KEYS[self.type]
        wrong = sorted(k for k in _OPTIONAL_KEYS - allowed if getattr(self, k) is not None)
        if wrong:
            raise ValueError(f"{', '.join(wrong)} not allowed on a {self.type} question")
        required = _REQUIRED_TYPE_KEYS.get(self.type, ())
        missing = sorted(k for k in required if getattr(self, k) is None)
        if missing:
            raise ValueError(f"a {self.type} question needs {', '.join(missing)}")
        scale = self.type == "scale" and self.min is not None and self.max is not None
        if scale and self.min >= self.max:  # type: ignore[operator]
            raise ValueError("min must be less than max")
        if self.name is not None and self.date_name is not None:
            raise ValueError("name and date_name say the same: keep name")
        if self.error is not None:
            kinds = self.error.given()
            if not kinds:
                raise ValueError("error: give at least one of required, too_long, invalid")
            wrong = [k for k in kinds if k not in ERROR_KINDS[self.type]]
            if wrong:
                raise ValueError(
                    f"error.{wrong[0]} does not fit a {self.type} question (it may have"
                    f" {', '.join(sorted(ERROR_KINDS[self.type]))})"
                )
            if "required" in kinds and self.effective_min_choices == 0 and not self.required:
                raise ValueError(
                    "error.required on an optional question (required: false) is never shown"
                )
        return self

    @property
    def choice_values(self) -> tuple[str, ...]:
        return tuple(c.value for c in self.choices or ())

    def choice_label(self, value: str, lang: str) -> str:
        """The label of a choice value in `lang` (the value itself if unknown)."""
        for c in self.choices or ():
            if c.value == value:
                return c.label.get(lang)
        return value

    @property
    def text_max_length(self) -> int:
        return self.max_length or DEFAULT_MAX_LENGTH.get(self.type, 200)

    @property
    def short_name(self) -> Text | None:
        """What the answer is in a few words (`name`, or a date's `date_name`), if given."""
        return self.name or self.date_name

    def own_message(self, kind: str) -> Text | None:
        """The question's own error message of this kind (ERROR_KINDS), if it words one."""
        return getattr(self.error, kind) if self.error is not None else None

    @property
    def effective_min_choices(self) -> int:
        if self.min_choices is not None:
            return self.min_choices
        return 1 if self.required else 0


class Step(_Frozen):
    id: Identifier
    title: Text
    intro: Text | None = None
    show_if: Condition | None = None
    questions: Annotated[tuple[Question, ...], Field(min_length=1)]


class Source(_Frozen):
    key: Annotated[str, Field(pattern=r"^[A-Za-z0-9_]+$")]
    citation: Annotated[str, Field(min_length=1)]
    url: str | None = None


class Rule(_Frozen):
    id: Identifier
    label: Text | None = None  # a short name for lists (the dashboard's): a few words
    severity: Severity
    when: Condition
    source: str
    client: Text
    practitioner: Text


class Consent(_Frozen):
    """The clinic's consent text for the treatment, which the client signs before sending.

    Its version in a language is the hash of its text in that language (`text`): what a
    submission records, with the typed name and the time, so the exact words signed are known.
    """

    title: Text
    paragraphs: Annotated[tuple[Text, ...], Field(min_length=1)]
    declaration: Text  # what signing says ("I have read ... and agree ...")

    def text(self, lang: str) -> str:
        """The whole text in `lang`: title, paragraphs and declaration, a blank line between."""
        parts = [self.title, *self.paragraphs, self.declaration]
        return "\n\n".join(part.get(lang) for part in parts)

    def version(self, lang: str) -> str:
        """The version of the text in `lang`: the first 12 hex digits of its SHA-256."""
        return hashlib.sha256(self.text(lang).encode("utf-8")).hexdigest()[:12]

    def lang_of(self, version: str) -> str | None:
        """The language whose text has this version, or None."""
        return next((lang for lang in LANGUAGES if self.version(lang) == version), None)


class QuestionnaireDoc(_Frozen):
    """The file as written: the shape the JSON Schema describes."""

    sources: tuple[Source, ...] = ()
    consent: Consent | None = None  # without one, clients send without signing
    steps: Annotated[tuple[Step, ...], Field(min_length=1)]
    rules: tuple[Rule, ...] = ()


@dataclass(frozen=True, eq=False)
class Questionnaire:
    """A validated questionnaire with its version (content hash) and look-up tables.

    `text` is the file as text: what is stored for the version (storage/versions.py), so that a
    submission is read with the questionnaire it was answered in.
    """

    doc: QuestionnaireDoc
    version: str
    questions: Mapping[str, Question] = field(repr=False)
    step_of: Mapping[str, Step] = field(repr=False)
    text: str = field(default="", repr=False)

    @property
    def steps(self) -> tuple[Step, ...]:
        return self.doc.steps

    @property
    def rules(self) -> tuple[Rule, ...]:
        return self.doc.rules

    @property
    def sources(self) -> tuple[Source, ...]:
        return self.doc.sources

    @property
    def consent(self) -> Consent | None:
        return self.doc.consent

    def step(self, step_id: str) -> Step | None:
        return next((s for s in self.doc.steps if s.id == step_id), None)

    def source(self, key: str) -> Source | None:
        return next((s for s in self.doc.sources if s.key == key), None)


def parse_date(value: object) -> dt.date | None:
    """An answer's ISO date, or None when it is not one."""
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            return None
    return None
