"""Screening: answers in, flags out. Pure Python (no Flask): rules are data in questions.yaml.

`screen()` evaluates every rule's `when` condition with the one condition evaluator
(`screener.questionnaire.conditions.evaluate`) and returns a frozen `Flag` per rule that holds,
ordered by severity (`SEVERITIES`), then by the rule's place in the file.

A flag is stored with the submission as JSON (`Flag.to_json()`), so what a client and a
practitioner read about an old submission never changes when the rules are edited later.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from ..questionnaire.conditions import evaluate, window_end
from ..questionnaire.engine import prune
from ..questionnaire.model import (
    SEVERITIES,
    AllOf,
    AnyOf,
    Compare,
    Condition,
    Not,
    Questionnaire,
    Rule,
    Text,
    parse_date,
)

Answers = Mapping[str, Any]
SEVERITY_RANK = {s: i for i, s in enumerate(SEVERITIES)}
# What timing windows are counted to: the day the answers were sent, or the appointment's day.
SUBMISSION, APPOINTMENT = "submission", "appointment"


@dataclass(frozen=True)
class Timing:
    """One date question read by a `within_days` comparison of a rule.

    `days_since` is counted from the date to the screening day: positive for a date in the past
    (days since a procedure), negative for a date ahead (an upcoming event), 0 for that very day.
    `window_ends` is the first day on which the window counted from the date has passed.
    """

    question: str
    date: dt.date
    days_since: int
    window_days: int
    window_ends: dt.date
    # The day the window was counted to, and what it is: "submission" (the day the answers
    # were sent) or "appointment" (the day of the appointment they were sent for). None for
    # flags stored before this was recorded (counted to the day of submission).
    counted_to: dt.date | None = None
    counted_to_event: str = SUBMISSION

    @property
    def days_until(self) -> int:
        """Days until the date (for a date ahead); negative for a past date."""
        return -self.days_since

    @property
    def ahead(self) -> bool:
        return self.days_since < 0

    @property
    def counted_to_appointment(self) -> bool:
        return self.counted_to_event == APPOINTMENT

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "question": self.question,
            "date": self.date.isoformat(),
            "days_since": self.days_since,
            "window_days": self.window_days,
            "window_ends": self.window_ends.isoformat(),
        }
        if self.counted_to is not None:
            out["counted_to"] = self.counted_to.isoformat()
            out["counted_to_event"] = self.counted_to_event
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Timing:
        counted_to = data.get("counted_to")
        event = data.get("counted_to_event")
        return cls(
            question=str(data["question"]),
            date=dt.date.fromisoformat(data["date"]),
            days_since=int(data["days_since"]),
            window_days=int(data["window_days"]),
            window_ends=dt.date.fromisoformat(data["window_ends"]),
            counted_to=dt.date.fromisoformat(counted_to) if counted_to else None,
            counted_to_event=APPOINTMENT if event == APPOINTMENT else SUBMISSION,
        )


@dataclass(frozen=True)
class Flag:
    """One rule that held for a client's answers, with everything needed to explain it."""

    rule: str
    severity: str
    because: tuple[str, ...]  # answered questions the rule read, in questionnaire order
    client: Text
    practitioner: Text
    source: str
    timing: tuple[Timing, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """The stored (JSON-ready) form; see docs/submission-json.md."""
        return {
            "rule": self.rule,
            "severity": self.severity,
            "because": list(self.because),
            "source": self.source,
            "client": self.client.model_dump(by_alias=True),
            "practitioner": self.practitioner.model_dump(by_alias=True),
            "timing": [t.to_json() for t in self.timing],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Flag:
        severity = str(data["severity"])
        if severity not in SEVERITY_RANK:
            raise ValueError(f"unknown severity {severity!r} in a stored flag")
        return cls(
            rule=str(data["rule"]),
            severity=severity,
            because=tuple(str(q) for q in data.get("because") or ()),
            # Stored flags may lack languages added since: they read in the fallbacks (Text).
            client=Text.model_validate(data["client"], context={"stored": True}),
            practitioner=Text.model_validate(data["practitioner"], context={"stored": True}),
            source=str(data.get("source", "")),
            timing=tuple(Timing.from_json(t) for t in data.get("timing") or ()),
        )


def screen(
    qn: Questionnaire, answers: Answers, today: dt.date, event: str = SUBMISSION
) -> list[Flag]:
    """The flags raised by the answers on `today`, most serious first.

    `today` is the day timing windows are counted to: the submission date, or for answers sent
    for an appointment the appointment's date (`event` says which; the flags record it).
    Answers of questions the client could not see are dropped first (the wizard engine's
    `prune`): a hidden question counts as unanswered, as everywhere else.
    """
    kept = prune(qn, answers, today)
    flags = [
        _flag(qn, rule, kept, today, event)
        for rule in qn.rules
        if evaluate(rule.when, kept, qn.questions, today)
    ]
    flags.sort(key=lambda f: SEVERITY_RANK[f.severity])  # stable: file order within a severity
    return flags


def flags_from_json(stored: Any) -> list[Flag]:
    """Stored flags (a submission's `flags` column) back as Flag objects, in stored order."""
    return [Flag.from_json(f) for f in stored or ()]


def _answered(value: Any) -> bool:
    return not (value is None or value == "" or value == [])


def _flag(
    qn: Questionnaire, rule: Rule, answers: Answers, today: dt.date, event: str
) -> Flag:
    read = set(rule.when.question_ids())
    because = tuple(qid for qid in qn.questions if qid in read and _answered(answers.get(qid)))
    return Flag(
        rule=rule.id,
        severity=rule.severity,
        because=because,
        client=rule.client,
        practitioner=rule.practitioner,
        source=rule.source,
        timing=tuple(_timing(qn, rule.when, answers, today, event)),
    )


def _leaves(cond: Condition) -> Iterator[Compare]:
    if isinstance(cond, AllOf):
        for c in cond.all:
            yield from _leaves(c)
    elif isinstance(cond, AnyOf):
        for c in cond.any:
            yield from _leaves(c)
    elif isinstance(cond, Not):
        yield from _leaves(cond.not_)
    else:
        yield cond


def _timing(
    qn: Questionnaire, cond: Condition, answers: Answers, today: dt.date, event: str
) -> Iterator[Timing]:
    seen: set[str] = set()
    for leaf in _leaves(cond):
        if leaf.within_days is None or leaf.q in seen:
            continue
        question = qn.questions[leaf.q]
        value = answers.get(leaf.q)
        day = parse_date(value)
        ends = window_end(question, value, leaf.within_days)
        if day is None or ends is None:
            continue
        seen.add(leaf.q)
        yield Timing(
            question=leaf.q,
            date=day,
            days_since=(today - day).days,
            window_days=(ends - day).days,
            window_ends=ends,
            counted_to=today,
            counted_to_event=event,
        )
