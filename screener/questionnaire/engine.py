"""The questionnaire's pure logic: which steps and questions are visible, where to go next,
and what a posted step does to a draft's answers.

No Flask here: given a questionnaire and answers it answers the wizard's questions, so the
views stay thin and the logic is tested directly.
"""
from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from .conditions import evaluate
from .model import Compare, Question, Questionnaire, Step

Answers = Mapping[str, Any]

REVIEW = "review"  # where a draft stands once every step was sent: the review page
# Before the first step: the draft's own intro page. Not a possible step id (ids match
# ^[a-z][a-z0-9_]*$), so a step may be called anything.
INTRO = ":intro"

# What a posted step asks for.
CONTINUE, BACK, SWITCH_LANG = "continue", "back", "switch_lang"


def step_visible(qn: Questionnaire, step: Step, answers: Answers, today: dt.date) -> bool:
    return step.show_if is None or evaluate(step.show_if, answers, qn.questions, today)


def question_visible(qn: Questionnaire, q: Question, answers: Answers, today: dt.date) -> bool:
    return q.show_if is None or evaluate(q.show_if, answers, qn.questions, today)


def visible_steps(qn: Questionnaire, answers: Answers, today: dt.date) -> list[Step]:
    """The steps this client sees, in order, given the answers so far."""
    return [s for s in qn.steps if step_visible(qn, s, answers, today)]


def visible_questions(
    qn: Questionnaire, step: Step, answers: Answers, today: dt.date
) -> list[Question]:
    return [q for q in step.questions if question_visible(qn, q, answers, today)]


def reveal_controller(qn: Questionnaire, q: Question) -> str | None:
    """The question of the same step that a question's visibility depends on, if any.

    Such a question is rendered on its step (revealed by script, or shown with a hint when
    script is off) because its condition can change before the step is sent.
    """
    if q.show_if is None:
        return None
    own_step = qn.step_of[q.id]
    for qid in q.show_if.question_ids():
        if qn.step_of[qid] is own_step:
            return qid
    return None


def rendered_questions(
    qn: Questionnaire, step: Step, answers: Answers, today: dt.date
) -> list[Question]:
    """Questions to put on the step page: visible ones plus same-step conditional ones."""
    return [
        q
        for q in step.questions
        if reveal_controller(qn, q) is not None or question_visible(qn, q, answers, today)
    ]


def prune(qn: Questionnaire, answers: Answers, today: dt.date) -> dict[str, Any]:
    """Keep only the answers of questions that are visible; hidden answers are dropped.

    Conditions refer only to earlier questions (the loader checks), so one pass in order settles it.
    """
    kept: dict[str, Any] = {}
    for step in qn.steps:
        if not step_visible(qn, step, kept, today):
            continue
        for q in step.questions:
            if q.id in answers and question_visible(qn, q, kept, today):
                kept[q.id] = answers[q.id]
    return kept


def step_index(steps: list[Step], step_id: str) -> int | None:
    return next((i for i, s in enumerate(steps) if s.id == step_id), None)


def position_index(qn: Questionnaire, position: str | None) -> int:
    """Where a draft stands (a step id or REVIEW) as a number in the questionnaire's order: the
    step's index, the number of steps for the review page; 0 for anything else. A pre-session
    check's steps are the whole questionnaire's, so `qn` is always the whole one."""
    if position == REVIEW:
        return len(qn.steps)
    return step_index(list(qn.steps), position or "") or 0


def next_step(qn: Questionnaire, answers: Answers, step_id: str, today: dt.date) -> Step | None:
    """The visible step after `step_id`, or None when it was the last."""
    seen = False
    for step in qn.steps:
        if seen and step_visible(qn, step, answers, today):
            return step
        seen = seen or step.id == step_id
    return None


def previous_step(
    qn: Questionnaire, answers: Answers, step_id: str, today: dt.date
) -> Step | None:
    """The visible step before `step_id`, or None when it is the first."""
    prev = None
    for step in qn.steps:
        if step.id == step_id:
            return prev
        if step_visible(qn, step, answers, today):
            prev = step
    return prev


def compare_leaves(q: Question) -> list[Compare]:
    """The comparisons of a question's show_if (for the reveal script's data attributes)."""
    out: list[Compare] = []

    def walk(c: Any) -> None:
        if isinstance(c, Compare):
            out.append(c)
        for attr in ("all", "any"):
            for sub in getattr(c, attr, ()) or ():
                walk(sub)
        if getattr(c, "not_", None) is not None:
            walk(c.not_)

    if q.show_if is not None:
        walk(q.show_if)
    return out


def shown_questions(
    qn: Questionnaire, questions: list[Question], answers: Answers, today: dt.date
) -> list[Question]:
    """Those of a step page's questions that apply, given the answers (posted ones included)."""
    return [q for q in questions if question_visible(qn, q, answers, today)]


@dataclass(frozen=True)
class StepOutcome:
    """What a posted step leads to."""

    answers: dict[str, Any]  # the draft's answers to store
    position: str  # where the draft now stands (Draft.current_step): a step id or REVIEW
    go_to: str  # the page to show next: a step id, REVIEW or INTRO


def apply_step(
    qn: Questionnaire,
    stored: Answers,
    step: Step,
    sent: Answers,
    *,
    action: str,
    today: dt.date,
    from_review: bool = False,
    first_incomplete: Callable[[dict[str, Any]], Step | None],
) -> StepOutcome:
    """A posted step applied to a draft's stored answers.

    `sent` holds this step's answers that passed their checks: for CONTINUE the view calls this
    only when every question shown passed; Back and the language switch keep what passed and
    drop the rest, so nothing valid is ever lost. Answers of questions no longer visible are
    dropped. After the last step, or when the client came from the review page, the draft goes
    to the first step whose answers do not pass (`first_incomplete`), else to the review.
    """
    own = {q.id for q in step.questions}
    others = {k: v for k, v in stored.items() if k not in own}
    answers = prune(qn, {**others, **sent}, today)
    if action == SWITCH_LANG:
        return StepOutcome(answers, step.id, step.id)
    if action == BACK:
        previous = previous_step(qn, answers, step.id, today)
        if previous is None:
            return StepOutcome(answers, step.id, INTRO)
        return StepOutcome(answers, previous.id, previous.id)
    following = next_step(qn, answers, step.id, today)
    if following is not None and not from_review:
        return StepOutcome(answers, following.id, following.id)
    missing = first_incomplete(answers)
    position = missing.id if missing is not None else REVIEW
    return StepOutcome(answers, position, position)


# The pre-session check ---------------------------------------------------------------------------


@functools.lru_cache(maxsize=16)
def recheck_questionnaire(qn: Questionnaire) -> Questionnaire | None:
    """The short check before a later session: the same questionnaire with only its
    `recheck: true` questions (and the steps that hold some), under the same version. None when
    no question is marked. The loader made sure that every condition of these reads only them.
    """
    steps = []
    for step in qn.steps:
        kept = tuple(q for q in step.questions if q.recheck)
        if kept:
            steps.append(step.model_copy(update={"questions": kept}))
    if not steps:
        return None
    doc = qn.doc.model_copy(update={"steps": tuple(steps), "rules": ()})
    return Questionnaire(
        doc=doc,
        version=qn.version,
        questions=MappingProxyType({q.id: q for s in steps for q in s.questions}),
        step_of=MappingProxyType({q.id: s for s in steps for q in s.questions}),
        text=qn.text,
    )


def rechecked_answers(
    qn: Questionnaire, previous: Answers, fresh: Answers, today: dt.date
) -> dict[str, Any]:
    """A check's answers as a whole: the previous answers with every recheck question's
    replaced by the fresh ones (a recheck question not answered now has no answer any more),
    then pruned like any answers."""
    kept = {
        k: v for k, v in previous.items() if not (k in qn.questions and qn.questions[k].recheck)
    }
    fresh_kept = {k: v for k, v in fresh.items() if k in qn.questions and qn.questions[k].recheck}
    return prune(qn, {**kept, **fresh_kept}, today)


def asked_questions(check: Questionnaire, answers: Answers, today: dt.date) -> list[str]:
    """The ids of the check's questions a client was asked, given their answers."""
    return [
        q.id
        for step in visible_steps(check, answers, today)
        for q in visible_questions(check, step, answers, today)
    ]
