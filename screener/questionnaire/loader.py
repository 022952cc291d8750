"""Load questions.yaml into a validated Questionnaire; every error names its YAML path."""
from __future__ import annotations

import codecs
import hashlib
import io
from collections.abc import Iterable, Iterator
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml
from pydantic import ValidationError

from .model import (
    CHOICE_TYPES,
    LANGUAGES,
    AllOf,
    AnyOf,
    Choice,
    Compare,
    Condition,
    ErrorMessages,
    Not,
    Question,
    Questionnaire,
    QuestionnaireDoc,
    Rule,
    Source,
    Step,
)

BOOL_HINT = ' (quote "yes"/"no" in YAML: unquoted they are booleans)'

# Every key the file may contain: a pydantic error location part that is none of these (and no
# list index) is a union member's name, such as 'constrained-int' or "literal['window']".
_YAML_KEYS = frozenset(
    field.alias or name
    for model in (Compare, AllOf, AnyOf, Not, Choice, ErrorMessages, Question, Step, Source,
                  Rule, QuestionnaireDoc)
    for name, field in model.model_fields.items()
) | frozenset(LANGUAGES)  # a Text's keys


class QuestionnaireError(Exception):
    """The questionnaire file is invalid; `errors` holds one 'path: message' line per problem."""

    def __init__(self, source: str, errors: Iterable[str]) -> None:
        self.source = source
        self.errors = tuple(errors)
        super().__init__(
            f"{source}: {len(self.errors)} error(s)\n"
            + "\n".join(f"  {source}: {e}" for e in self.errors)
        )


class _UniqueKeyLoader(yaml.SafeLoader):
    """A safe YAML loader that refuses a key written twice in one mapping."""


def _construct_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    loader.flatten_mapping(node)
    mapping: dict[Any, Any] = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node)
        if key in mapping:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        mapping[key] = loader.construct_object(value_node)
    return mapping


_UniqueKeyLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping
)


def load_questionnaire(path: str | Path) -> Questionnaire:
    """Read and validate a questionnaire file."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise QuestionnaireError(str(path), [f"cannot read the file: {exc.strerror}"]) from exc
    return parse_questionnaire(data, source=str(path))


def parse_questionnaire(
    data: bytes | str, source: str = "questions.yaml", stored: bool = False
) -> Questionnaire:
    """Validate questionnaire YAML text; raise QuestionnaireError listing every problem.

    `stored`: a version stored with submissions (storage/versions.py), which may lack languages
    added since (model.Text)."""
    raw = data.encode() if isinstance(data, str) else data
    try:
        stream = io.BytesIO(raw)
        stream.name = source  # YAML error marks name the file
        # _UniqueKeyLoader subclasses SafeLoader: no arbitrary objects are built.
        tree = yaml.load(stream, Loader=_UniqueKeyLoader)  # noqa: S506  # nosec B506
    except yaml.YAMLError as exc:
        raise QuestionnaireError(source, [f"not valid YAML: {exc}"]) from exc
    if not isinstance(tree, dict):
        raise QuestionnaireError(source, ["the file must be a mapping with steps, rules, sources"])
    try:
        doc = QuestionnaireDoc.model_validate(tree, context={"stored": stored})
    except ValidationError as exc:
        raise QuestionnaireError(source, _pydantic_errors(exc)) from exc
    errors = list(_check_references(doc))
    if errors:
        raise QuestionnaireError(source, errors)
    questions = {q.id: q for s in doc.steps for q in s.questions}
    step_of = {q.id: s for s in doc.steps for q in s.questions}
    return Questionnaire(
        doc=doc,
        version=hashlib.sha256(raw).hexdigest()[:12],
        questions=MappingProxyType(questions),
        step_of=MappingProxyType(step_of),
        text=_decoded(raw),
    )


def _decoded(raw: bytes) -> str:
    """The file's bytes as text, decoded as the YAML reader decoded them (UTF-16 after its byte
    order mark, else UTF-8)."""
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return raw.decode("utf-16")
    return raw.decode("utf-8")


def format_path(loc: Iterable[str | int]) -> str:
    """('steps', 3, 'questions', 2, 'show_if') -> 'steps[3].questions[2].show_if'."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part.startswith("<") or part in ("function-after", "function-before"):
            continue  # pydantic's union tags and validator wrappers are not YAML keys
        else:
            out += f".{part}" if out else part
    return out or "(top level)"


def _yaml_loc(err: Any) -> tuple[tuple[str | int, ...], bool]:
    """The error's location without pydantic's union member names, and whether it had any."""
    loc: tuple[str | int, ...] = err["loc"]
    last = len(loc) - 1
    kept: list[str | int] = []
    union = False
    for i, part in enumerate(loc):
        if isinstance(part, int) or part in _YAML_KEYS:
            kept.append(part)
        elif i == last and err["type"] == "extra_forbidden":
            kept.append(part)  # the unknown key itself
        elif not part.startswith(("<", "function-")):  # format_path drops those tags itself
            union = True
    return tuple(kept), union


def _pydantic_errors(exc: ValidationError) -> list[str]:
    lines: list[tuple[str, list[str]]] = []
    unions: dict[str, list[str]] = {}  # a value no member of a union accepts: one line
    errors = exc.errors()
    for err in errors:
        if err["type"] == "too_short" and any(
            e is not err and e["loc"][: len(err["loc"])] == err["loc"] for e in errors
        ):
            continue  # a list is "too short" only because its items failed: report the items
        loc, union = _yaml_loc(err)
        path = format_path(loc)
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "string_type" and isinstance(err.get("input"), bool):
            msg += BOOL_HINT  # e.g. an unquoted `yes` in a choice value or an `in` list
        if err["type"] == "dict_type" and isinstance(err.get("input"), str):
            # e.g. `required: Enter your name` where a text in every language is needed
            msg = "a text needs every language: {" + ", ".join(
                f"{lang}: ..." for lang in LANGUAGES) + "}"
        if err["type"] == "model_type" and err.get("ctx", {}).get("class_name") == "ErrorMessages":
            msg = "a mapping of messages by kind (required, too_long, invalid), each a text"
        if err["type"] == "extra_forbidden":
            msg = f"unknown key '{loc[-1]}'"
            path = format_path(loc[:-1])
        elif err["type"] == "missing":
            leaf = loc[-1]
            msg = (
                f"missing translation '{leaf}'"
                if leaf in LANGUAGES
                else f"missing key '{leaf}'"
            )
            path = format_path(loc[:-1])
        if union and path in unions:
            unions[path].append(msg)
            continue
        msgs = [msg]
        if union:
            unions[path] = msgs
        lines.append((path, msgs))
    return [f"{path}: {'; or '.join(msgs)}" for path, msgs in lines]


def _check_references(doc: QuestionnaireDoc) -> Iterator[str]:
    source_keys: set[str] = set()
    for i, src in enumerate(doc.sources):
        if src.key in source_keys:
            yield f"sources[{i}].key: duplicate source key '{src.key}'"
        source_keys.add(src.key)

    seen_steps: set[str] = set()
    earlier: dict[str, Question] = {}  # questions before the one being checked
    for si, step in enumerate(doc.steps):
        spath = f"steps[{si}]"
        if step.id in seen_steps:
            yield f"{spath}.id: duplicate step id '{step.id}'"
        seen_steps.add(step.id)
        if step.show_if is not None:
            yield from _check_condition(
                step.show_if, f"{spath}.show_if", earlier, "earlier question"
            )
        for qi, question in enumerate(step.questions):
            qpath = f"{spath}.questions[{qi}]"
            if question.id in earlier:
                yield f"{qpath}.id: duplicate question id '{question.id}'"
            yield from _check_question(question, qpath)
            if question.show_if is not None:
                yield from _check_condition(
                    question.show_if, f"{qpath}.show_if", earlier, "earlier question"
                )
            if question.recheck:
                # The pre-session check asks only recheck questions: what decides whether one
                # is shown must be asked in it too.
                conditions = [(question.show_if, f"{qpath}.show_if"),
                              (step.show_if, f"{spath}.show_if")]
                for cond, path in conditions:
                    for qid in cond.question_ids() if cond is not None else ():
                        if qid in earlier and not earlier[qid].recheck:
                            yield (
                                f"{path}: '{question.id}' has recheck: true, so the question"
                                f" its condition reads, '{qid}', needs recheck: true too"
                            )
            earlier[question.id] = question

    seen_rules: set[str] = set()
    for ri, rule in enumerate(doc.rules):
        rpath = f"rules[{ri}]"
        if rule.id in seen_rules:
            yield f"{rpath}.id: duplicate rule id '{rule.id}'"
        seen_rules.add(rule.id)
        if rule.source not in source_keys:
            yield f"{rpath}.source: unknown source key '{rule.source}'"
        yield from _check_condition(rule.when, f"{rpath}.when", earlier, "question")


def _check_question(q: Question, path: str) -> Iterator[str]:
    values = q.choice_values
    seen: set[str] = set()
    for ci, value in enumerate(values):
        if value in seen:
            yield f"{path}.choices[{ci}].value: duplicate choice value '{value}'"
        seen.add(value)
    for ei, value in enumerate(q.exclusive or ()):
        if value not in seen:
            yield f"{path}.exclusive[{ei}]: '{value}' is not a choice of '{q.id}'"
    if q.min_choices is not None and q.min_choices > len(values):
        yield f"{path}.min_choices: more than the {len(values)} choices"


def _check_condition(
    cond: Condition, path: str, known: dict[str, Question], what: str
) -> Iterator[str]:
    if isinstance(cond, AllOf):
        for i, c in enumerate(cond.all):
            yield from _check_condition(c, f"{path}.all[{i}]", known, what)
    elif isinstance(cond, AnyOf):
        for i, c in enumerate(cond.any):
            yield from _check_condition(c, f"{path}.any[{i}]", known, what)
    elif isinstance(cond, Not):
        yield from _check_condition(cond.not_, f"{path}.not", known, what)
    else:
        yield from _check_compare(cond, path, known, what)


def _check_compare(
    cond: Compare, path: str, known: dict[str, Question], what: str
) -> Iterator[str]:
    q = known.get(cond.q)
    if q is None:
        yield f"{path}.q: unknown {what} '{cond.q}'"
        return
    op, operand = cond.operator, cond.operand
    fits = {
        "equals": q.type in ("single", "scale", "consent"),
        "in": q.type == "single",
        "any_of": q.type == "multi",
        "lte": q.type == "scale",
        "gte": q.type == "scale",
        "within_days": q.type == "date",
    }
    if not fits[op]:
        yield f"{path}.{op}: operator '{op}' cannot be used on the {q.type} question '{q.id}'"
        return
    if q.type in CHOICE_TYPES:
        wanted = operand if isinstance(operand, tuple) else (operand,)
        for v in wanted:
            if v not in q.choice_values:
                hint = BOOL_HINT if isinstance(v, bool) else ""
                yield f"{path}.{op}: {v!r} is not a choice of '{q.id}'{hint}"
    elif q.type == "scale" and (isinstance(operand, bool) or not isinstance(operand, int)):
        yield f"{path}.{op}: '{q.id}' is a number scale; compare it with a number"
    elif q.type == "consent" and not isinstance(operand, bool):
        yield f"{path}.{op}: '{q.id}' is a checkbox; compare it with true or false"
    elif op == "within_days" and operand == "window" and q.window_days is None:
        yield f"{path}.within_days: '{q.id}' has no window_days for 'window'"
