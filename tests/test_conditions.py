"""Conditions (the operator table, within_days windows) and the pure wizard engine.

Uses tests/fixtures/conditional.yaml: has_history (A) shows the `history` step, whose
history_kind (B) shows injection_when (C), which shows injection_followup on a later step.
"""
from __future__ import annotations

import datetime as dt
import itertools
from pathlib import Path
from typing import Any

import pytest
from pydantic import TypeAdapter

from screener.questionnaire import Questionnaire, engine, parse_questionnaire
from screener.questionnaire.conditions import evaluate, window_end
from screener.questionnaire.model import Condition

FIXTURE = Path(__file__).parent / "fixtures" / "conditional.yaml"
QN: Questionnaire = parse_questionnaire(FIXTURE.read_bytes(), source=FIXTURE.name)
TODAY = dt.date(2024, 3, 10)
CONDITION = TypeAdapter(Condition)


def cond(data: dict[str, Any]) -> Condition:
    parsed: Condition = CONDITION.validate_python(data)
    return parsed


def ago(days: int, today: dt.date = TODAY) -> str:
    return (today - dt.timedelta(days=days)).isoformat()


def ahead(days: int, today: dt.date = TODAY) -> str:
    return (today + dt.timedelta(days=days)).isoformat()


YES = {"q": "has_history", "equals": "yes"}
PAIN_HIGH = {"q": "pain", "gte": 8}
PAIN_LOW = {"q": "pain", "lte": 3}
IN_YES_NOT_SURE = {"q": "has_history", "in": ["yes", "not_sure"]}
SKIN_SORE = {"q": "skin", "any_of": ["infection", "cold_sore"]}
W30 = {"q": "injection_when", "within_days": 30}
W1 = {"q": "injection_when", "within_days": 1}
WINDOW = {"q": "botox_when", "within_days": "window"}
INJ = "injection_when"

# (id, condition, answers, expected[, today])
TABLE: list[tuple[Any, ...]] = [
    # equals: single choice, scale, consent; the answer's type must match too.
    ("equals-single-true", YES, {"has_history": "yes"}, True),
    ("equals-single-false", YES, {"has_history": "no"}, False),
    ("equals-single-unanswered", YES, {}, False),
    ("equals-single-none", YES, {"has_history": None}, False),
    ("equals-single-empty-string", YES, {"has_history": ""}, False),
    ("equals-scale-true", {"q": "pain", "equals": 3}, {"pain": 3}, True),
    ("equals-scale-false", {"q": "pain", "equals": 3}, {"pain": 4}, False),
    ("equals-scale-string-answer", {"q": "pain", "equals": 3}, {"pain": "3"}, False),
    ("equals-scale-bool-answer", {"q": "pain", "equals": 1}, {"pain": True}, False),
    ("equals-scale-zero", {"q": "pain", "equals": 0}, {"pain": 0}, True),
    ("equals-consent-true", {"q": "agree", "equals": True}, {"agree": True}, True),
    ("equals-consent-false-answer", {"q": "agree", "equals": True}, {"agree": False}, False),
    ("equals-consent-false-unanswered", {"q": "agree", "equals": False}, {}, False),
    ("equals-consent-false-ticked", {"q": "agree", "equals": False}, {"agree": True}, False),
    # in: single choice.
    ("in-first", IN_YES_NOT_SURE, {"has_history": "yes"}, True),
    ("in-second", IN_YES_NOT_SURE, {"has_history": "not_sure"}, True),
    ("in-not", IN_YES_NOT_SURE, {"has_history": "no"}, False),
    ("in-unanswered", IN_YES_NOT_SURE, {}, False),
    # any_of: multi choice.
    ("any-of-one", SKIN_SORE, {"skin": ["cold_sore"]}, True),
    ("any-of-both", SKIN_SORE, {"skin": ["infection", "cold_sore"]}, True),
    ("any-of-other", SKIN_SORE, {"skin": ["none"]}, False),
    ("any-of-empty-list", {"q": "skin", "any_of": ["infection"]}, {"skin": []}, False),
    ("any-of-unanswered", {"q": "skin", "any_of": ["infection"]}, {}, False),
    ("any-of-tuple-answer", {"q": "skin", "any_of": ["infection"]}, {"skin": ("infection",)}, True),
    ("any-of-string-answer", {"q": "skin", "any_of": ["infection"]}, {"skin": "infection"}, False),
    # lte / gte: scale.
    ("lte-below", PAIN_LOW, {"pain": 2}, True),
    ("lte-equal", PAIN_LOW, {"pain": 3}, True),
    ("lte-zero", PAIN_LOW, {"pain": 0}, True),
    ("lte-above", PAIN_LOW, {"pain": 4}, False),
    ("lte-unanswered", PAIN_LOW, {}, False),
    ("lte-string-answer", PAIN_LOW, {"pain": "2"}, False),
    ("lte-bool-answer", PAIN_LOW, {"pain": False}, False),
    ("gte-above", PAIN_HIGH, {"pain": 10}, True),
    ("gte-equal", PAIN_HIGH, {"pain": 8}, True),
    ("gte-below", PAIN_HIGH, {"pain": 7}, False),
    ("gte-unanswered", PAIN_HIGH, {}, False),
    ("gte-bool-answer", {"q": "pain", "gte": 1}, {"pain": True}, False),
    # within_days with a number: open while fewer than N whole days separate the dates.
    ("within-same-day", W30, {INJ: ago(0)}, True),
    ("within-n-minus-1", W30, {INJ: ago(29)}, True),
    ("within-n", W30, {INJ: ago(30)}, False),
    ("within-n-plus-1", W30, {INJ: ago(31)}, False),
    ("within-future-n-minus-1", W30, {INJ: ahead(29)}, True),
    ("within-future-n", W30, {INJ: ahead(30)}, False),
    ("within-one-day", W1, {INJ: ago(0)}, True),
    ("within-one-day-yesterday", W1, {INJ: ago(1)}, False),
    ("within-date-object", W30, {INJ: TODAY}, True),
    ("within-not-a-date", W30, {INJ: "last week"}, False),
    ("within-number-answer", W30, {INJ: 5}, False),
    ("within-unanswered", W30, {}, False),
    # ... across the leap day: 2024-02-29 to 2024-03-30 is 30 days.
    (
        "within-leap-day-n-minus-1",
        {"q": "injection_when", "within_days": 31},
        {"injection_when": "2024-02-29"},
        True,
        dt.date(2024, 3, 30),
    ),
    (
        "within-leap-day-n",
        {"q": "injection_when", "within_days": 30},
        {"injection_when": "2024-02-29"},
        False,
        dt.date(2024, 3, 30),
    ),
    (
        "within-leap-day-year",
        {"q": "injection_when", "within_days": 366},
        {"injection_when": "2024-02-29"},
        True,
        dt.date(2025, 2, 28),
    ),
    (
        "within-leap-day-year-passed",
        {"q": "injection_when", "within_days": 365},
        {"injection_when": "2024-02-29"},
        False,
        dt.date(2025, 2, 28),
    ),
    (
        "within-across-feb-29",
        {"q": "injection_when", "within_days": 2},
        {"injection_when": "2024-02-28"},
        False,
        dt.date(2024, 3, 1),
    ),
    # within_days: window uses the question's window_days (14 for botox_when).
    ("window-n-minus-1", WINDOW, {"botox_when": ago(13)}, True),
    ("window-n", WINDOW, {"botox_when": ago(14)}, False),
    ("window-future", WINDOW, {"botox_when": ahead(13)}, True),
    ("window-future-n", WINDOW, {"botox_when": ahead(14)}, False),
    ("window-unanswered", WINDOW, {}, False),
    # all / any / not.
    ("all-true", {"all": [YES, PAIN_HIGH]}, {"has_history": "yes", "pain": 9}, True),
    ("all-one-false", {"all": [YES, PAIN_HIGH]}, {"has_history": "yes", "pain": 2}, False),
    ("all-one-unanswered", {"all": [YES, PAIN_HIGH]}, {"has_history": "yes"}, False),
    ("all-single", {"all": [YES]}, {"has_history": "yes"}, True),
    ("any-first", {"any": [YES, PAIN_HIGH]}, {"has_history": "yes", "pain": 1}, True),
    ("any-second", {"any": [YES, PAIN_HIGH]}, {"has_history": "no", "pain": 8}, True),
    ("any-none", {"any": [YES, PAIN_HIGH]}, {"has_history": "no", "pain": 1}, False),
    ("any-unanswered", {"any": [YES, PAIN_HIGH]}, {}, False),
    ("not-true", {"not": YES}, {"has_history": "no"}, True),
    ("not-false", {"not": YES}, {"has_history": "yes"}, False),
    # The comparison is false when unanswered, so its negation is true.
    ("not-unanswered", {"not": YES}, {}, True),
    ("not-not", {"not": {"not": YES}}, {"has_history": "yes"}, True),
    (
        "nested-true",
        {"all": [{"any": [YES, PAIN_HIGH]}, {"not": {"q": "skin", "any_of": ["none"]}}]},
        {"has_history": "no", "pain": 9, "skin": ["infection"]},
        True,
    ),
    (
        "nested-not-false",
        {"all": [{"any": [YES, PAIN_HIGH]}, {"not": {"q": "skin", "any_of": ["none"]}}]},
        {"has_history": "no", "pain": 9, "skin": ["none"]},
        False,
    ),
    (
        "nested-any-false",
        {"all": [{"any": [YES, PAIN_HIGH]}, {"not": {"q": "skin", "any_of": ["none"]}}]},
        {"has_history": "no", "pain": 2, "skin": ["infection"]},
        False,
    ),
    (
        "nested-deep",
        {"any": [{"all": [YES, {"not": PAIN_LOW}]}, WINDOW]},
        {"has_history": "yes", "pain": 4},
        True,
    ),
    (
        "nested-deep-window",
        {"any": [{"all": [YES, {"not": PAIN_LOW}]}, WINDOW]},
        {"has_history": "yes", "pain": 3, "botox_when": ago(1)},
        True,
    ),
    (
        "nested-deep-false",
        {"any": [{"all": [YES, {"not": PAIN_LOW}]}, WINDOW]},
        {"has_history": "yes", "pain": 3, "botox_when": ago(20)},
        False,
    ),
]


@pytest.mark.parametrize(
    ("condition", "answers", "expected", "today"),
    [pytest.param(c, a, e, *(rest or [TODAY]), id=i) for i, c, a, e, *rest in TABLE],
)
def test_evaluate(
    condition: dict[str, Any], answers: dict[str, Any], expected: bool, today: dt.date
) -> None:
    assert evaluate(cond(condition), answers, QN.questions, today) is expected


def test_table_ids_are_unique_and_cover_every_operator() -> None:
    ids = [row[0] for row in TABLE]
    assert len(ids) == len(set(ids))
    used: set[str] = set()

    def walk(c: Any) -> None:
        if isinstance(c, dict):
            used.update(c)
            for v in c.values():
                walk(v)
        elif isinstance(c, list):
            for v in c:
                walk(v)

    for row in TABLE:
        walk(row[1])
    assert {"equals", "in", "any_of", "lte", "gte", "within_days", "all", "any", "not"} <= used


def test_evaluate_does_not_read_other_answers() -> None:
    answers = {"has_history": "yes", "unrelated": object()}
    assert evaluate(cond(YES), answers, QN.questions, TODAY) is True


# window_end: the first day on which the window has passed.


def test_window_end_with_window_days() -> None:
    q = QN.questions["botox_when"]
    assert window_end(q, "2024-03-01", "window") == dt.date(2024, 3, 15)


def test_window_end_with_a_number() -> None:
    q = QN.questions["injection_when"]
    assert window_end(q, "2024-03-01", 30) == dt.date(2024, 3, 31)
    assert window_end(q, dt.date(2024, 3, 1), 1) == dt.date(2024, 3, 2)


def test_window_end_leap_day() -> None:
    q = QN.questions["injection_when"]
    assert window_end(q, "2024-02-29", 1) == dt.date(2024, 3, 1)
    assert window_end(q, "2024-02-29", 365) == dt.date(2025, 2, 28)
    assert window_end(q, "2024-02-28", 2) == dt.date(2024, 3, 1)


def test_window_end_without_a_date_or_window() -> None:
    assert window_end(QN.questions["botox_when"], "soon", "window") is None
    assert window_end(QN.questions["botox_when"], None, 10) is None
    # injection_when has no window_days.
    assert window_end(QN.questions["injection_when"], "2024-03-01", "window") is None


@pytest.mark.parametrize("days", [1, 14, 30, 90])
@pytest.mark.parametrize("answered", ["2024-02-29", "2023-12-31", "2024-03-10"])
def test_window_end_agrees_with_within_days(days: int, answered: str) -> None:
    q = QN.questions["injection_when"]
    end = window_end(q, answered, days)
    assert end is not None
    c = cond({"q": "injection_when", "within_days": days})
    answers = {"injection_when": answered}
    assert evaluate(c, answers, QN.questions, end - dt.timedelta(days=1)) is True
    assert evaluate(c, answers, QN.questions, end) is False


# The wizard engine.


def step_ids(steps: list[Any]) -> list[str]:
    return [s.id for s in steps]


FULL = {
    "has_history": "yes",
    "history_detail": "fillers",
    "pain": 5,
    "skin": ["none"],
    "botox_when": ago(40),
    "agree": True,
    "history_kind": "injection",
    "injection_when": ago(10),
    "injection_followup": "no",
    "comfort_note": "Prefer mornings",
    "numbing": "yes",
    "full_name": "Mei Chen",
}


@pytest.mark.parametrize(
    ("answers", "expected"),
    [
        pytest.param({}, ["start", "followup", "low_pain", "details"], id="nothing-answered"),
        pytest.param(
            {"has_history": "yes", "pain": 5, "skin": ["none"]},
            ["start", "history", "followup", "details"],
            id="history-shown",
        ),
        pytest.param(
            {"has_history": "no", "pain": 2, "skin": ["none"]},
            ["start", "followup", "low_pain", "details"],
            id="low-pain",
        ),
        pytest.param(
            {"has_history": "not_sure", "pain": 5, "skin": ["cold_sore"]},
            ["start", "followup", "low_pain", "details"],
            id="skin-condition",
        ),
    ],
)
def test_visible_steps(answers: dict[str, Any], expected: list[str]) -> None:
    assert step_ids(engine.visible_steps(QN, answers, TODAY)) == expected


def test_visible_and_rendered_questions() -> None:
    start = QN.steps[0]
    answers = {"has_history": "no"}
    visible = [q.id for q in engine.visible_questions(QN, start, answers, TODAY)]
    assert visible == ["has_history", "pain", "skin", "botox_when", "agree"]
    # history_detail depends on a question of its own step: it is rendered (to be revealed).
    rendered = [q.id for q in engine.rendered_questions(QN, start, answers, TODAY)]
    assert rendered == ["has_history", "history_detail", "pain", "skin", "botox_when", "agree"]
    followup = QN.step("followup")
    assert followup is not None
    # injection_followup depends on an earlier step: not rendered while hidden.
    assert [q.id for q in engine.rendered_questions(QN, followup, {}, TODAY)] == ["comfort_note"]
    shown = {"injection_when": ago(3)}
    assert [q.id for q in engine.rendered_questions(QN, followup, shown, TODAY)] == [
        "injection_followup",
        "comfort_note",
    ]


def test_prune_keeps_visible_answers() -> None:
    assert engine.prune(QN, FULL, TODAY) == {k: v for k, v in FULL.items() if k != "numbing"}


def test_prune_drops_a_hidden_question() -> None:
    answers = {**FULL, "has_history": "not_sure"}
    kept = engine.prune(QN, answers, TODAY)
    assert "history_detail" not in kept
    assert kept["has_history"] == "not_sure"


def test_prune_chain_through_a_hidden_step() -> None:
    # A (has_history) hides the history step, so B (history_kind) and C (injection_when) go,
    # and so does injection_followup on a later, visible step, which C controlled.
    answers = {**FULL, "has_history": "no"}
    kept = engine.prune(QN, answers, TODAY)
    assert kept == {
        "has_history": "no",
        "pain": 5,
        "skin": ["none"],
        "botox_when": FULL["botox_when"],
        "agree": True,
        "comfort_note": "Prefer mornings",
        "full_name": "Mei Chen",
    }


def test_prune_chain_within_a_visible_step() -> None:
    answers = {**FULL, "history_kind": "surgery"}
    kept = engine.prune(QN, answers, TODAY)
    assert kept["history_kind"] == "surgery"
    assert "injection_when" not in kept
    assert "injection_followup" not in kept
    assert kept["history_detail"] == "fillers"


def test_prune_depends_on_the_date() -> None:
    answers = {**FULL, "injection_when": ago(30)}
    assert "injection_followup" not in engine.prune(QN, answers, TODAY)
    assert engine.prune(QN, answers, TODAY - dt.timedelta(days=1))["injection_followup"] == "no"


def test_prune_drops_a_hidden_steps_answers_and_unknown_keys() -> None:
    answers = {**FULL, "pain": 9, "skin": ["none"], "numbing": "no", "not_a_question": "x"}
    kept = engine.prune(QN, answers, TODAY)
    assert "numbing" not in kept
    assert "not_a_question" not in kept
    shown = engine.prune(QN, {**answers, "pain": 1}, TODAY)
    assert shown["numbing"] == "no"


def test_prune_is_idempotent_and_does_not_change_its_input() -> None:
    answers = {**FULL, "has_history": "no"}
    before = dict(answers)
    once = engine.prune(QN, answers, TODAY)
    assert answers == before
    assert engine.prune(QN, once, TODAY) == once


@pytest.mark.parametrize(
    ("answers", "forward"),
    [
        pytest.param(
            {"has_history": "no", "pain": 5, "skin": ["none"]},
            ["start", "followup", "details"],
            id="skips-history-and-low-pain",
        ),
        pytest.param(
            {"has_history": "yes", "pain": 1, "skin": ["none"]},
            ["start", "history", "followup", "low_pain", "details"],
            id="all-steps",
        ),
    ],
)
def test_next_and_previous_step_skip_hidden_steps(
    answers: dict[str, Any], forward: list[str]
) -> None:
    assert forward == step_ids(engine.visible_steps(QN, answers, TODAY))
    for here, there in itertools.pairwise(forward):
        nxt = engine.next_step(QN, answers, here, TODAY)
        assert nxt is not None and nxt.id == there, (here, nxt)
        prev = engine.previous_step(QN, answers, there, TODAY)
        assert prev is not None and prev.id == here, (there, prev)
    assert engine.next_step(QN, answers, forward[-1], TODAY) is None
    assert engine.previous_step(QN, answers, forward[0], TODAY) is None


def test_next_step_from_a_hidden_step() -> None:
    answers = {"has_history": "no", "pain": 5, "skin": ["none"]}
    nxt = engine.next_step(QN, answers, "history", TODAY)
    assert nxt is not None and nxt.id == "followup"
    prev = engine.previous_step(QN, answers, "low_pain", TODAY)
    assert prev is not None and prev.id == "followup"


@pytest.mark.parametrize(
    ("question_id", "controller"),
    [
        ("history_detail", "has_history"),  # same step
        ("injection_when", "history_kind"),  # same step (the history step)
        ("injection_followup", None),  # controlled from an earlier step
        ("has_history", None),  # no show_if
        ("numbing", None),  # only its step has a show_if
    ],
)
def test_reveal_controller(question_id: str, controller: str | None) -> None:
    assert engine.reveal_controller(QN, QN.questions[question_id]) == controller


def test_compare_leaves() -> None:
    leaves = engine.compare_leaves(QN.questions["history_detail"])
    assert [(c.q, c.operator, c.operand) for c in leaves] == [("has_history", "equals", "yes")]
    assert engine.compare_leaves(QN.questions["pain"]) == []


# Applying a posted step (engine.apply_step): pure, no Flask.

START_SENT = {"has_history": "yes", "history_detail": "fillers", "pain": 5, "skin": ["none"]}


def nothing_missing(answers: dict[str, Any]) -> Any:
    return None


def test_continue_goes_to_the_next_visible_step_and_keeps_other_answers() -> None:
    start = QN.step("start")
    assert start is not None
    stored = {"numbing": "yes"}  # a later step's answer stays
    out = engine.apply_step(QN, stored, start, START_SENT, action=engine.CONTINUE, today=TODAY,
                            first_incomplete=nothing_missing)
    assert out.go_to == out.position == "history"
    assert out.answers["has_history"] == "yes"


def test_continue_drops_answers_the_new_ones_hide() -> None:
    start, history = QN.step("start"), QN.step("history")
    assert start is not None and history is not None
    stored = {**START_SENT, "history_kind": "injection", "injection_when": ago(10)}
    sent = {**START_SENT, "has_history": "no"}
    sent.pop("history_detail")
    out = engine.apply_step(QN, stored, start, sent, action=engine.CONTINUE, today=TODAY,
                            first_incomplete=nothing_missing)
    assert "history_kind" not in out.answers and "injection_when" not in out.answers
    assert out.go_to == "followup"  # the history step is hidden now


def test_back_keeps_what_passed_and_goes_to_the_previous_step_or_the_intro() -> None:
    start, history = QN.step("start"), QN.step("history")
    assert start is not None and history is not None
    out = engine.apply_step(QN, START_SENT, history, {"history_kind": "surgery"},
                            action=engine.BACK, today=TODAY, first_incomplete=nothing_missing)
    assert (out.go_to, out.position) == ("start", "start")
    assert out.answers["history_kind"] == "surgery"
    first = engine.apply_step(QN, {}, start, {"pain": 3}, action=engine.BACK, today=TODAY,
                              first_incomplete=nothing_missing)
    assert (first.go_to, first.position) == (engine.INTRO, "start")
    assert first.answers == {"pain": 3}


def test_language_switch_stays_on_the_step() -> None:
    history = QN.step("history")
    assert history is not None
    out = engine.apply_step(QN, START_SENT, history, {"history_kind": "surgery"},
                            action=engine.SWITCH_LANG, today=TODAY,
                            first_incomplete=nothing_missing)
    assert (out.go_to, out.position) == ("history", "history")
    assert out.answers["history_kind"] == "surgery"


def test_last_step_or_from_review_goes_to_the_first_incomplete_step_or_the_review() -> None:
    start, details = QN.step("start"), QN.step("details")
    assert start is not None and details is not None
    missing = QN.step("followup")
    out = engine.apply_step(QN, START_SENT, details, {"full_name": "Mei"},
                            action=engine.CONTINUE, today=TODAY,
                            first_incomplete=lambda answers: missing)
    assert out.go_to == out.position == "followup"
    done = engine.apply_step(QN, START_SENT, details, {"full_name": "Mei"},
                             action=engine.CONTINUE, today=TODAY,
                             first_incomplete=nothing_missing)
    assert done.go_to == done.position == engine.REVIEW
    # From the review page: back to the review, not on to the next step.
    again = engine.apply_step(QN, {**START_SENT, "full_name": "Mei"}, start, START_SENT,
                              action=engine.CONTINUE, today=TODAY, from_review=True,
                              first_incomplete=nothing_missing)
    assert again.go_to == engine.REVIEW
