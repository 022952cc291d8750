"""The questionnaire loader: every kind of mistake is reported with its exact YAML path.

Each case starts from tests/fixtures/minimal.yaml (a small valid questionnaire), changes one
thing, and checks the complete list of errors, so an unrelated or missing error fails the test.
"""
from __future__ import annotations

import copy
import dataclasses
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

import screener
from screener.config import ROOT
from screener.questionnaire import QuestionnaireError, load_questionnaire, parse_questionnaire

FIXTURES = Path(__file__).parent / "fixtures"
MINIMAL = FIXTURES / "minimal.yaml"
SOURCE = "t.yaml"
BOOL_HINT = '(quote "yes"/"no" in YAML'

Doc = dict[str, Any]


def base() -> Doc:
    doc: Doc = yaml.safe_load(MINIMAL.read_text(encoding="utf-8"))
    return copy.deepcopy(doc)


def dump(doc: Doc) -> str:
    return yaml.safe_dump(doc, allow_unicode=True, sort_keys=False)


def errors_of(data: str | bytes) -> tuple[str, ...]:
    with pytest.raises(QuestionnaireError) as info:
        parse_questionnaire(data, source=SOURCE)
    exc = info.value
    assert exc.source == SOURCE
    # Every error is also in the message, prefixed with the file name.
    for line in exc.errors:
        assert f"{SOURCE}: {line}" in str(exc)
    return exc.errors


def errors_after(mutate: Callable[[Doc], object]) -> tuple[str, ...]:
    doc = base()
    mutate(doc)
    return errors_of(dump(doc))


def question(doc: Doc, step: int, index: int) -> dict[str, Any]:
    q: dict[str, Any] = doc["steps"][step]["questions"][index]
    return q


def set_when(cond: dict[str, Any], rule: int = 0) -> Callable[[Doc], None]:
    def mutate(doc: Doc) -> None:
        doc["rules"][rule]["when"] = cond

    return mutate


def _drop_window_days(doc: Doc) -> None:
    del question(doc, 1, 0)["window_days"]  # rules[1] uses `within_days: window`


def _text_label(en: str, zh: str) -> dict[str, str]:
    return {"en": en, "zh-Hant": zh, "zh-Hans": zh}


# The base is valid: without this, every "exactly these errors" test below would be meaningless.
def test_base_fixture_is_valid() -> None:
    doc = base()
    qn = parse_questionnaire(dump(doc), source=SOURCE)
    assert [s.id for s in qn.steps] == ["about_you", "recent"]
    assert list(qn.questions) == [
        "pregnancy", "pain_tolerance", "facial_skin", "botox_when", "notes", "consent_store",
    ]
    assert [r.id for r in qn.rules] == ["pregnancy", "botox_recent"]


CASES: list[tuple[str, Callable[[Doc], object], list[str]]] = [
    # Unknown keys, at every depth.
    (
        "unknown-key-top-level",
        lambda d: d.update(questions=[]),
        ["(top level): unknown key 'questions'"],
    ),
    (
        "unknown-key-source",
        lambda d: d["sources"][1].update(link="x"),
        ["sources[1]: unknown key 'link'"],
    ),
    (
        "unknown-key-step",
        lambda d: d["steps"][1].update(description=_text_label("a", "b")),
        ["steps[1]: unknown key 'description'"],
    ),
    (
        "unknown-key-question",
        lambda d: question(d, 0, 1).update(step=1),
        ["steps[0].questions[1]: unknown key 'step'"],
    ),
    (
        "unknown-key-choice",
        lambda d: question(d, 0, 2)["choices"][1].update(hint="x"),
        ["steps[0].questions[2].choices[1]: unknown key 'hint'"],
    ),
    (
        "unknown-key-text",
        lambda d: question(d, 0, 0)["label"].update(fr="Enceinte ?"),
        ["steps[0].questions[0].label: unknown language 'fr' (the languages: en, zh-Hant, zh-Hans)"],
    ),
    (
        "unknown-key-rule",
        lambda d: d["rules"][1].update(sources=["S1"]),
        ["rules[1]: unknown key 'sources'"],
    ),
    (
        "unknown-key-nested-condition",
        set_when(
            {
                "all": [
                    {"q": "pregnancy", "equals": "yes"},
                    {"not": {"q": "pain_tolerance", "lte": 3, "note": "x"}},
                ]
            }
        ),
        ["rules[0].when.all[1].not: unknown key 'note'"],
    ),
    # Duplicates.
    (
        "duplicate-question-id",
        lambda d: question(d, 1, 1).update(id="pain_tolerance"),
        ["steps[1].questions[1].id: duplicate question id 'pain_tolerance'"],
    ),
    (
        "duplicate-question-id-same-step",
        lambda d: question(d, 1, 2).update(id="notes"),
        ["steps[1].questions[2].id: duplicate question id 'notes'"],
    ),
    (
        "duplicate-step-id",
        lambda d: d["steps"][1].update(id="about_you"),
        ["steps[1].id: duplicate step id 'about_you'"],
    ),
    (
        "duplicate-choice-value",
        lambda d: question(d, 0, 0)["choices"].append(
            {"value": "no", "label": _text_label("No again", "否")}
        ),
        ["steps[0].questions[0].choices[3].value: duplicate choice value 'no'"],
    ),
    (
        "duplicate-rule-id",
        lambda d: d["rules"][1].update(id="pregnancy"),
        ["rules[1].id: duplicate rule id 'pregnancy'"],
    ),
    (
        "duplicate-source-key",
        lambda d: d["sources"].append({"key": "S1", "citation": "Another"}),
        ["sources[2].key: duplicate source key 'S1'"],
    ),
    # Conditions naming questions that do not exist (yet).
    (
        "show-if-unknown-question",
        lambda d: question(d, 0, 1).update(show_if={"q": "pregancy", "equals": "yes"}),
        ["steps[0].questions[1].show_if.q: unknown earlier question 'pregancy'"],
    ),
    (
        "show-if-later-question",
        lambda d: question(d, 0, 0).update(show_if={"q": "pain_tolerance", "gte": 3}),
        ["steps[0].questions[0].show_if.q: unknown earlier question 'pain_tolerance'"],
    ),
    (
        "show-if-later-question-other-step",
        lambda d: question(d, 0, 2).update(show_if={"q": "botox_when", "within_days": 30}),
        ["steps[0].questions[2].show_if.q: unknown earlier question 'botox_when'"],
    ),
    (
        "show-if-itself",
        lambda d: question(d, 0, 1).update(show_if={"q": "pain_tolerance", "gte": 3}),
        ["steps[0].questions[1].show_if.q: unknown earlier question 'pain_tolerance'"],
    ),
    (
        "step-show-if-own-question",
        lambda d: d["steps"][1].update(
            show_if={"any": [{"q": "pregnancy", "equals": "no"}, {"q": "notes", "equals": "x"}]}
        ),
        ["steps[1].show_if.any[1].q: unknown earlier question 'notes'"],
    ),
    (
        "rule-unknown-question",
        set_when({"not": {"q": "pregnant", "equals": "yes"}}),
        ["rules[0].when.not.q: unknown question 'pregnant'"],
    ),
    # Choice values that are referenced but not defined.
    (
        "equals-undefined-choice",
        set_when({"q": "pregnancy", "equals": "maybe"}),
        ["rules[0].when.equals: 'maybe' is not a choice of 'pregnancy'"],
    ),
    (
        "in-undefined-choice",
        set_when({"q": "pregnancy", "in": ["yes", "unsure"]}),
        ["rules[0].when.in: 'unsure' is not a choice of 'pregnancy'"],
    ),
    (
        "any-of-undefined-choice",
        set_when({"q": "facial_skin", "any_of": ["acne", "infection"]}),
        ["rules[0].when.any_of: 'acne' is not a choice of 'facial_skin'"],
    ),
    (
        "show-if-undefined-choice",
        lambda d: question(d, 0, 2).update(show_if={"q": "pregnancy", "in": ["pregnant"]}),
        ["steps[0].questions[2].show_if.in: 'pregnant' is not a choice of 'pregnancy'"],
    ),
    # Translations.
    (
        "missing-translation-en",
        lambda d: d["steps"][0]["title"].pop("en"),
        ["steps[0].title: missing translation 'en'"],
    ),
    (
        "missing-translation-zh-hant",
        lambda d: question(d, 1, 2)["label"].pop("zh-Hant"),
        ["steps[1].questions[2].label: missing translation 'zh-Hant'"],
    ),
    (
        "missing-translation-choice-label",
        lambda d: question(d, 0, 2)["choices"][0]["label"].pop("zh-Hant"),
        ["steps[0].questions[2].choices[0].label: missing translation 'zh-Hant'"],
    ),
    (
        "empty-translation-en",
        lambda d: d["rules"][0]["client"].update(en=""),
        ["rules[0].client.en: String should have at least 1 character"],
    ),
    (
        "empty-translation-zh-hant",
        lambda d: d["rules"][1]["practitioner"].update({"zh-Hant": ""}),
        ["rules[1].practitioner.zh-Hant: String should have at least 1 character"],
    ),
    # Operators.
    (
        "unknown-operator",
        set_when({"q": "pregnancy", "is": "yes"}),
        ["rules[0].when: unknown key 'is'"],
    ),
    (
        "no-operator",
        set_when({"q": "pregnancy"}),
        [
            "rules[0].when: a comparison needs exactly one operator of equals, in, any_of, lte,"
            " gte, within_days (found none)"
        ],
    ),
    (
        "two-operators",
        set_when({"q": "pain_tolerance", "gte": 2, "lte": 8}),
        [
            "rules[0].when: a comparison needs exactly one operator of equals, in, any_of, lte,"
            " gte, within_days (found lte, gte)"
        ],
    ),
    (
        "lte-on-single",
        set_when({"q": "pregnancy", "lte": 3}),
        ["rules[0].when.lte: operator 'lte' cannot be used on the single question 'pregnancy'"],
    ),
    (
        "gte-on-date",
        set_when({"q": "botox_when", "gte": 3}),
        ["rules[0].when.gte: operator 'gte' cannot be used on the date question 'botox_when'"],
    ),
    (
        "any-of-on-single",
        set_when({"q": "pregnancy", "any_of": ["yes"]}),
        [
            "rules[0].when.any_of: operator 'any_of' cannot be used on the single question"
            " 'pregnancy'"
        ],
    ),
    (
        "in-on-multi",
        set_when({"q": "facial_skin", "in": ["none"]}),
        ["rules[0].when.in: operator 'in' cannot be used on the multi question 'facial_skin'"],
    ),
    (
        "equals-on-multi",
        set_when({"q": "facial_skin", "equals": "none"}),
        [
            "rules[0].when.equals: operator 'equals' cannot be used on the multi question"
            " 'facial_skin'"
        ],
    ),
    (
        "within-days-on-scale",
        set_when({"q": "pain_tolerance", "within_days": 3}),
        [
            "rules[0].when.within_days: operator 'within_days' cannot be used on the scale"
            " question 'pain_tolerance'"
        ],
    ),
    (
        "equals-string-on-scale",
        set_when({"q": "pain_tolerance", "equals": "3"}),
        ["rules[0].when.equals: 'pain_tolerance' is a number scale; compare it with a number"],
    ),
    (
        "equals-bool-on-scale",
        set_when({"q": "pain_tolerance", "equals": True}),
        ["rules[0].when.equals: 'pain_tolerance' is a number scale; compare it with a number"],
    ),
    (
        "equals-string-on-consent",
        set_when({"q": "consent_store", "equals": "yes"}),
        ["rules[0].when.equals: 'consent_store' is a checkbox; compare it with true or false"],
    ),
    (
        "within-days-window-without-window-days",
        _drop_window_days,
        ["rules[1].when.within_days: 'botox_when' has no window_days for 'window'"],
    ),
    (
        "within-days-zero",
        set_when({"q": "botox_when", "within_days": 0}, rule=1),
        # One line for the union `int >= 1 | 'window'`, without pydantic's member names.
        [
            "rules[1].when.within_days: Input should be greater than or equal to 1;"
            " or Input should be 'window'"
        ],
    ),
    (
        "equals-a-list",
        set_when({"q": "pregnancy", "equals": ["yes"]}),
        [
            "rules[0].when.equals: Input should be a valid string; or Input should be a valid"
            " boolean; or Input should be a valid integer"
        ],
    ),
    # Rules.
    (
        "unknown-source-key",
        lambda d: d["rules"][1].update(source="S3"),
        ["rules[1].source: unknown source key 'S3'"],
    ),
    (
        "unknown-severity",
        lambda d: d["rules"][0].update(severity="urgent"),
        [
            "rules[0].severity: Input should be 'red_flag', 'discuss', 'timing', 'comfort'"
            " or 'info'"
        ],
    ),
    # Type-specific keys.
    (
        "choices-on-text",
        lambda d: question(d, 1, 1).update(choices=copy.deepcopy(question(d, 0, 0)["choices"])),
        ["steps[1].questions[1]: choices not allowed on a text question"],
    ),
    (
        "min-on-single",
        lambda d: question(d, 0, 0).update(min=1),
        ["steps[0].questions[0]: min not allowed on a single question"],
    ),
    (
        "window-days-on-scale",
        lambda d: question(d, 0, 1).update(window_days=5),
        ["steps[0].questions[1]: window_days not allowed on a scale question"],
    ),
    (
        "missing-choices-on-single",
        lambda d: question(d, 0, 0).pop("choices"),
        ["steps[0].questions[0]: a single question needs choices"],
    ),
    (
        "missing-max-on-scale",
        lambda d: question(d, 0, 1).pop("max"),
        ["steps[0].questions[1]: a scale question needs max"],
    ),
    (
        "scale-min-equals-max",
        lambda d: question(d, 0, 1).update(min=10),
        ["steps[0].questions[1]: min must be less than max"],
    ),
    (
        "scale-min-above-max",
        lambda d: question(d, 0, 1).update(min=5, max=1),
        ["steps[0].questions[1]: min must be less than max"],
    ),
    (
        "exclusive-not-a-choice",
        lambda d: question(d, 0, 2).update(exclusive=["none", "nothing"]),
        ["steps[0].questions[2].exclusive[1]: 'nothing' is not a choice of 'facial_skin'"],
    ),
    (
        "min-choices-above-choices",
        lambda d: question(d, 0, 2).update(min_choices=4),
        ["steps[0].questions[2].min_choices: more than the 3 choices"],
    ),
    (
        "unknown-question-type",
        lambda d: question(d, 0, 1).update(type="slider"),
        [
            "steps[0].questions[1].type: Input should be 'single', 'multi', 'scale', 'text',"
            " 'textarea', 'email', 'tel', 'date' or 'consent'"
        ],
    ),
    (
        "bad-question-id",
        lambda d: question(d, 1, 1).update(id="Notes"),
        ["steps[1].questions[1].id: String should match pattern '^[a-z][a-z0-9_]*$'"],
    ),
    (
        "step-without-questions",
        lambda d: d["steps"][1].update(questions=[]),
        ["steps[1].questions: Tuple should have at least 1 item after validation, not 0"],
    ),
    (
        "missing-steps",
        lambda d: d.pop("steps"),
        ["(top level): missing key 'steps'"],
    ),
    # A question's own error messages.
    (
        "error-message-not-translated",
        lambda d: question(d, 0, 0).update(error={"required": "Select one"}),
        ["steps[0].questions[0].error.required: a text needs every language:"
         " {en: ..., zh-Hant: ..., zh-Hans: ...}"],
    ),
    (
        "error-message-missing-language",
        lambda d: question(d, 0, 0).update(error={"required": {"en": "Select one"}}),
        ["steps[0].questions[0].error.required: missing translations 'zh-Hant', 'zh-Hans'"],
    ),
    (
        "error-unknown-kind",
        lambda d: question(d, 0, 0).update(error={"requried": _text_label("Select", "請選擇")}),
        ["steps[0].questions[0].error: unknown key 'requried'"],
    ),
    (
        "error-kind-not-of-the-type",
        lambda d: question(d, 0, 0).update(error={"too_long": _text_label("Shorter", "短些")}),
        ["steps[0].questions[0]: error.too_long does not fit a single question"
         " (it may have required)"],
    ),
    (
        "error-without-message",
        lambda d: question(d, 0, 0).update(error={}),
        ["steps[0].questions[0]: error: give at least one of required, too_long, invalid"],
    ),
    (
        "error-not-a-mapping",
        lambda d: question(d, 0, 0).update(error="Select one"),
        ["steps[0].questions[0].error: a mapping of messages by kind (required, too_long,"
         " invalid), each a text"],
    ),
    (
        "error-required-on-an-optional-question",
        lambda d: question(d, 1, 1).update(error={"required": _text_label("Enter", "請輸入")}),
        ["steps[1].questions[1]: error.required on an optional question (required: false)"
         " is never shown"],
    ),
    (
        "name-and-date-name",
        lambda d: question(d, 1, 0).update(
            name=_text_label("the date", "日期"), date_name=_text_label("the date", "日期")
        ),
        ["steps[1].questions[0]: name and date_name say the same: keep name"],
    ),
]


@pytest.mark.parametrize(
    ("mutate", "expected"), [pytest.param(m, e, id=i) for i, m, e in CASES]
)
def test_error_names_its_yaml_path(
    mutate: Callable[[Doc], object], expected: list[str]
) -> None:
    assert list(errors_after(mutate)) == expected


def test_case_ids_are_unique() -> None:
    ids = [i for i, _, _ in CASES]
    assert len(ids) == len(set(ids))


# Unquoted yes/no: YAML 1.1 reads them as booleans; the message says to quote them.


def test_unquoted_yes_in_equals_hints_at_quoting() -> None:
    text = MINIMAL.read_text(encoding="utf-8").replace('in: ["yes", not_sure]', "equals: yes")
    (error,) = errors_of(text)
    assert error.startswith("rules[0].when.equals: True is not a choice of 'pregnancy' ")
    assert BOOL_HINT in error


def test_unquoted_yes_in_list_hints_at_quoting() -> None:
    text = MINIMAL.read_text(encoding="utf-8")
    text = text.replace('in: ["yes", not_sure]', "in: [yes, not_sure]")
    (error,) = errors_of(text)
    assert error.startswith("rules[0].when.in[0]: Input should be a valid string ")
    assert BOOL_HINT in error


def test_unquoted_no_as_choice_value_hints_at_quoting() -> None:
    text = MINIMAL.read_text(encoding="utf-8").replace('- value: "no"', "- value: no", 1)
    errors = errors_of(text)
    assert errors[0].startswith(
        "steps[0].questions[0].choices[1].value: Input should be a valid string "
    )
    assert BOOL_HINT in errors[0]
    assert len(errors) == 1


def test_a_string_that_is_not_a_bool_has_no_hint() -> None:
    (error,) = errors_after(set_when({"q": "pregnancy", "equals": "maybe"}))
    assert "quote" not in error


# YAML-level problems.


def test_duplicate_mapping_key_top_level() -> None:
    text = MINIMAL.read_text(encoding="utf-8") + "\nsources: []\n"
    (error,) = errors_of(text)
    assert error.startswith("not valid YAML: duplicate key 'sources'")
    line = MINIMAL.read_text(encoding="utf-8").count("\n") + 2
    assert f"line {line}," in error


def test_duplicate_mapping_key_nested() -> None:
    text = MINIMAL.read_text(encoding="utf-8").replace(
        "        min: 0\n", "        min: 0\n        min: 1\n", 1
    )
    (error,) = errors_of(text)
    assert error.startswith("not valid YAML: duplicate key 'min'")
    line = text.splitlines().index("        min: 1") + 1
    assert f"line {line}," in error


def test_duplicate_key_in_flow_mapping() -> None:
    text = MINIMAL.read_text(encoding="utf-8").replace(
        '{en: "About you", zh-Hant: "關於您", zh-Hans: "关于您"}',
        '{en: "About you", en: "Me", zh-Hant: "關於您", zh-Hans: "关于您"}'
    )
    (error,) = errors_of(text)
    assert error.startswith("not valid YAML: duplicate key 'en'")


def test_invalid_yaml() -> None:
    (error,) = errors_of("steps:\n  - id: [unclosed\n")
    assert error.startswith("not valid YAML: ")
    assert "line 3" in error or "line 2" in error


def test_invalid_utf8() -> None:
    (error,) = errors_of(b"steps: \xff\xfe\n")
    assert error.startswith("not valid YAML: ")


@pytest.mark.parametrize("text", ["- steps\n- rules\n", "just text\n", "", "42\n", "null\n"])
def test_top_level_not_a_mapping(text: str) -> None:
    assert errors_of(text) == ("the file must be a mapping with steps, rules, sources",)


def test_steps_not_a_list() -> None:
    assert errors_of("steps: 1\n") == ("steps: Input should be a valid tuple",)


# Several problems at once.


def test_several_reference_errors_are_reported_together() -> None:
    def mutate(d: Doc) -> None:
        d["steps"][1]["id"] = "about_you"
        question(d, 1, 1)["show_if"] = {"q": "pregancy", "equals": "yes"}
        d["rules"][0]["source"] = "S9"
        d["rules"][1]["when"] = {"q": "pain_tolerance", "within_days": 3}

    doc = base()
    mutate(doc)
    with pytest.raises(QuestionnaireError) as info:
        parse_questionnaire(dump(doc), source=SOURCE)
    assert info.value.errors == (
        "steps[1].id: duplicate step id 'about_you'",
        "steps[1].questions[1].show_if.q: unknown earlier question 'pregancy'",
        "rules[0].source: unknown source key 'S9'",
        "rules[1].when.within_days: operator 'within_days' cannot be used on the scale question"
        " 'pain_tolerance'",
    )
    message = str(info.value)
    assert message.startswith(f"{SOURCE}: 4 error(s)\n")
    assert len(message.splitlines()) == 5


def test_several_shape_errors_are_reported_together() -> None:
    def mutate(d: Doc) -> None:
        d["steps"][0]["colour"] = "red"
        question(d, 1, 2)["label"].pop("en")
        d["rules"][1]["severity"] = "high"

    assert errors_after(mutate) == (
        "steps[0]: unknown key 'colour'",
        "steps[1].questions[2].label: missing translation 'en'",
        "rules[1].severity: Input should be 'red_flag', 'discuss', 'timing', 'comfort' or 'info'",
    )


# The real file, versions, immutability, start-up.


def test_real_questionnaire_loads() -> None:
    qn = load_questionnaire(ROOT / "questions.yaml")
    assert len(qn.steps) >= 1
    assert len(qn.questions) == sum(len(s.questions) for s in qn.steps)
    assert qn.rules, "the real questionnaire has screening rules"
    keys = {s.key for s in qn.sources}
    assert all(r.source in keys for r in qn.rules)
    assert all(qn.step_of[q.id] is s for s in qn.steps for q in s.questions)


def test_version_is_a_content_hash(tmp_path: Path) -> None:
    path = tmp_path / "questions.yaml"
    path.write_text(MINIMAL.read_text(encoding="utf-8"), encoding="utf-8")
    first = load_questionnaire(path).version
    assert re.fullmatch(r"[0-9a-f]{12}", first)
    # Stable: same bytes, same version (also through parse_questionnaire, str or bytes).
    assert load_questionnaire(path).version == first
    assert parse_questionnaire(path.read_bytes()).version == first
    assert parse_questionnaire(path.read_text(encoding="utf-8")).version == first
    # Any change of the bytes changes it, even one that does not change the content.
    path.write_text(MINIMAL.read_text(encoding="utf-8") + "# a comment\n", encoding="utf-8")
    second = load_questionnaire(path).version
    assert re.fullmatch(r"[0-9a-f]{12}", second)
    assert second != first


def test_loaded_objects_are_frozen() -> None:
    qn = parse_questionnaire(MINIMAL.read_bytes())
    with pytest.raises(dataclasses.FrozenInstanceError):
        qn.version = "000000000000"  # type: ignore[misc]
    with pytest.raises(TypeError):
        qn.questions["x"] = qn.questions["pregnancy"]  # type: ignore[index]
    step = qn.steps[0]
    with pytest.raises(ValidationError):
        step.id = "other"
    q = qn.questions["pregnancy"]
    with pytest.raises(ValidationError):
        q.required = False
    assert q.choices is not None
    with pytest.raises(ValidationError):
        q.choices[0].value = "other"
    with pytest.raises(ValidationError):
        q.label.en = "Changed"
    with pytest.raises(ValidationError):
        qn.rules[0].severity = "info"
    with pytest.raises(TypeError):
        qn.steps[0].questions[0] = q  # type: ignore[index]
    assert qn.questions["pregnancy"].required is True


def test_missing_file_names_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    with pytest.raises(QuestionnaireError) as info:
        load_questionnaire(missing)
    assert str(missing) in str(info.value)
    assert info.value.errors[0].startswith("cannot read the file")


def test_create_app_refuses_a_broken_questionnaire(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SCREENER_INSTANCE", str(tmp_path / "instance"))
    bad = tmp_path / "broken-questions.yaml"
    doc = base()
    question(doc, 0, 1)["show_if"] = {"q": "pregancy", "equals": "yes"}
    bad.write_text(dump(doc), encoding="utf-8")
    with pytest.raises(QuestionnaireError) as info:
        screener.create_app(
            {
                "TESTING": True,
                "SECRET_KEY": "x" * 32,
                "QUESTIONS_FILE": str(bad),
                "DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}",
            }
        )
    message = str(info.value)
    assert bad.name in message
    assert (
        f"{bad.name}: steps[0].questions[1].show_if.q: unknown earlier question 'pregancy'"
        in message
    )


def test_different_errors_at_one_path_stay_separate() -> None:
    def mutate(d: Doc) -> None:
        q = question(d, 0, 1)
        del q["label"]
        q["colour"] = "red"

    assert sorted(errors_after(mutate)) == [
        "steps[0].questions[1]: missing key 'label'",
        "steps[0].questions[1]: unknown key 'colour'",
    ]


def test_a_recheck_question_may_depend_only_on_recheck_questions() -> None:
    """The pre-session check asks only `recheck: true` questions: a condition of one of them
    that reads another question needs that one asked too."""

    def depends(doc: Doc) -> None:
        botox = question(doc, 1, 0)
        botox["recheck"] = True
        botox["show_if"] = {"q": "facial_skin", "any_of": ["none"]}
        doc["steps"][1]["show_if"] = {"q": "pregnancy", "equals": "yes"}

    assert errors_after(depends) == (
        "steps[1].questions[0].show_if: 'botox_when' has recheck: true, so the question its"
        " condition reads, 'facial_skin', needs recheck: true too",
        "steps[1].show_if: 'botox_when' has recheck: true, so the question its condition reads,"
        " 'pregnancy', needs recheck: true too",
    )

    def both(doc: Doc) -> None:
        depends(doc)
        question(doc, 0, 0)["recheck"] = True
        question(doc, 0, 2)["recheck"] = True

    doc = base()
    both(doc)
    qn = parse_questionnaire(dump(doc), source=SOURCE)
    assert [q.id for q in qn.questions.values() if q.recheck] == [
        "pregnancy", "facial_skin", "botox_when"
    ]
