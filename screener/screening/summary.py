"""What the two summaries show, as plain data. Pure Python (no Flask).

Both summaries are built from the flags STORED with a submission (never by screening again), so
an old submission reads the same after the rules change. Interface sentences (headings, the
outcome line) live in the templates, wrapped for translation; this module decides which of them
apply and gathers the questionnaire texts in the reader's language.

Answers are put in words by a `describe(question, value, lang)` function: the pages pass the
questionnaire's `display_answer` (translated, locale dates); `plain_answer` is the fallback.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..questionnaire.consent import ConsentWords, svg_path
from ..questionnaire.model import SEVERITIES, Question, Questionnaire, Rule
from ..questionnaire.types import plain_answer
from .rules import Flag, Timing

Describe = Callable[[Question, Any, str], str]

# The outcome line of the client summary, from the most serious flag (content brief).
SEE_DOCTOR = "see_doctor"  # any red_flag
DISCUSS_FIRST = "discuss_first"  # else any discuss or timing
NOTHING_SPECIAL = "nothing_special"  # else

# pain_tolerance (0 = very sensitive) left the questionnaire for pain_sensitivity (10 = extremely
# sensitive); old submissions keep it, and show it when read with their own questionnaire.
PAIN_QUESTIONS = ("pain_sensitivity", "pain_tolerance")
COMFORT_QUESTIONS = (
    *PAIN_QUESTIONS,
    "needle_fear",
    "fainting_history",
    "acupuncture_before",
    "lie_still",
)
GOAL_QUESTIONS = (
    "skin_goals",
    "skin_goals_other",
    "expected_timeframe",
    "course_commitment",
    "upcoming_event",
    "upcoming_event_date",
)
OTHER_HEALTH = "other_health"
# Beside the client's name at the top of the practitioner summary.
AGE, EMAIL, PHONE = "age_band", "email", "phone"
FREE_TEXT_TYPES = ("text", "textarea")


def outcome(flags: Iterable[Flag]) -> str:
    severities = {f.severity for f in flags}
    if "red_flag" in severities:
        return SEE_DOCTOR
    if severities & {"discuss", "timing"}:
        return DISCUSS_FIRST
    return NOTHING_SPECIAL


@dataclass(frozen=True)
class Reason:
    """One answer behind a flag (or in a profile): the question's label and the answer in words."""

    question_id: str
    label: str
    answer: str


@dataclass(frozen=True)
class TimingRow:
    label: str  # the date question's label
    timing: Timing


@dataclass(frozen=True)
class Item:
    """A flag as a reader sees it: the text for this reader and the answers that raised it."""

    rule: str
    severity: str
    text: str
    reasons: tuple[Reason, ...]
    timing: tuple[TimingRow, ...]
    source: str
    citation: str  # the source's citation, when the current questionnaire still lists it
    label: str  # the flag's short name (the rule's label, else its id in words)
    # What the client wrote in the free-text questions that follow up an answer behind this
    # flag (which medicine, for the blood-thinner flag): shown beside it, escaped.
    own_words: tuple[Reason, ...] = ()


@dataclass(frozen=True)
class Group:
    severity: str
    items: tuple[Item, ...]


@dataclass(frozen=True)
class ClientSummary:
    outcome: str
    groups: tuple[Group, ...]  # one per severity that has flags, most serious first

    @property
    def count(self) -> int:
        return sum(len(g.items) for g in self.groups)


@dataclass(frozen=True)
class ClientFacts:
    """What the top of the practitioner summary shows beside the name (answers in words)."""

    age: str | None
    email: str | None
    phone: str | None


@dataclass(frozen=True)
class PractitionerSummary:
    """Each piece of advice once: a flag's text says what to do; the comfort profile lists the
    answers behind it (its advice is in the comfort flags, or under "discuss")."""

    client: ClientFacts
    red_flags: tuple[Item, ...]
    discuss: tuple[Item, ...]
    timing: tuple[Item, ...]
    comfort_flags: tuple[Item, ...]
    info: tuple[Item, ...]
    comfort: tuple[Reason, ...]  # the comfort questions' answers
    goals: tuple[Reason, ...]
    other_health: str | None  # the client's own words, to be shown escaped
    outcome: str


def _reason(
    qn: Questionnaire, qid: str, answers: Mapping[str, Any], lang: str, describe: Describe
) -> Reason:
    q = qn.questions.get(qid)
    value = answers.get(qid)
    if q is None:  # the question was removed from the file after this submission
        return Reason(qid, qid, "" if value is None else str(value))
    return Reason(qid, q.label.get(lang), describe(q, value, lang))


def _label(qn: Questionnaire, qid: str, lang: str) -> str:
    q = qn.questions.get(qid)
    return q.label.get(lang) if q is not None else qid


def follow_up_texts(qn: Questionnaire, question_ids: Iterable[str]) -> list[str]:
    """The free-text questions (text, textarea) shown only after an answer to one of
    `question_ids`: what the client wrote there explains that answer."""
    wanted = set(question_ids)
    return [
        q.id
        for q in qn.questions.values()
        if q.type in FREE_TEXT_TYPES
        and q.show_if is not None
        and wanted & set(q.show_if.question_ids())
    ]


def _item(
    qn: Questionnaire,
    flag: Flag,
    answers: Mapping[str, Any],
    lang: str,
    describe: Describe,
    reader: str,
) -> Item:
    text = flag.client if reader == "client" else flag.practitioner
    source = qn.source(flag.source)
    own = [qid for qid in follow_up_texts(qn, flag.because) if answers.get(qid) not in (None, "")]
    return Item(
        rule=flag.rule,
        severity=flag.severity,
        text=text.get(lang),
        reasons=tuple(_reason(qn, qid, answers, lang, describe) for qid in flag.because),
        timing=tuple(TimingRow(_label(qn, t.question, lang), t) for t in flag.timing),
        source=flag.source,
        citation=source.citation if source is not None else "",
        label=rule_label(qn, flag.rule, lang),
        own_words=tuple(_reason(qn, qid, answers, lang, describe) for qid in own),
    )


def rule_label(qn: Questionnaire, rule_id: str, lang: str) -> str:
    """A flag's short name (the rule's `label`), else its id in words."""
    rule: Rule | None = next((r for r in qn.rules if r.id == rule_id), None)
    if rule is not None and rule.label is not None:
        return rule.label.get(lang)
    return rule_id.replace("_", " ")


def _by_severity(flags: Sequence[Flag]) -> dict[str, list[Flag]]:
    out: dict[str, list[Flag]] = {s: [] for s in SEVERITIES}
    for f in flags:
        out.setdefault(f.severity, []).append(f)
    return out


def client_summary(
    qn: Questionnaire,
    flags: Sequence[Flag],
    answers: Mapping[str, Any],
    lang: str,
    describe: Describe = plain_answer,
) -> ClientSummary:
    """The client's summary data from stored flags, in the client's language."""
    groups = tuple(
        Group(sev, tuple(_item(qn, f, answers, lang, describe, "client") for f in fs))
        for sev, fs in _by_severity(flags).items()
        if fs
    )
    return ClientSummary(outcome=outcome(flags), groups=groups)


def practitioner_summary(
    qn: Questionnaire,
    flags: Sequence[Flag],
    answers: Mapping[str, Any],
    lang: str,
    describe: Describe = plain_answer,
) -> PractitionerSummary:
    """The practitioner's summary data from stored flags, in the reader's language."""
    by = {
        sev: tuple(_item(qn, f, answers, lang, describe, "practitioner") for f in fs)
        for sev, fs in _by_severity(flags).items()
    }

    def rows(ids: Iterable[str]) -> tuple[Reason, ...]:
        return tuple(
            _reason(qn, qid, answers, lang, describe)
            for qid in ids
            if qid in qn.questions and answers.get(qid) not in (None, "", [])
        )

    def fact(qid: str) -> str | None:
        q = qn.questions.get(qid)
        value = answers.get(qid)
        if q is None or value in (None, ""):
            return None
        return describe(q, value, lang)

    other = answers.get(OTHER_HEALTH)
    return PractitionerSummary(
        client=ClientFacts(age=fact(AGE), email=fact(EMAIL), phone=fact(PHONE)),
        red_flags=by.get("red_flag", ()),
        discuss=by.get("discuss", ()),
        timing=by.get("timing", ()),
        comfort_flags=by.get("comfort", ()),
        info=by.get("info", ()),
        comfort=rows(COMFORT_QUESTIONS),
        goals=rows(GOAL_QUESTIONS),
        other_health=str(other) if other not in (None, "") else None,
        outcome=outcome(flags),
    )


# The pre-session check ------------------------------------------------------------------------


@dataclass(frozen=True)
class Change:
    """A question of a pre-session check: the answer before and now, and whether it changed."""

    question_id: str
    label: str
    before: str
    now: str
    changed: bool


def check_changes(
    qn: Questionnaire,
    asked: Iterable[str],
    before: Mapping[str, Any],
    now: Mapping[str, Any],
    lang: str,
    describe: Describe = plain_answer,
) -> tuple[Change, ...]:
    """Every recheck question asked now or answered before, in questionnaire order."""
    wanted = set(asked)
    rows = []
    for qid, q in qn.questions.items():
        if not q.recheck or not (qid in wanted or qid in before):
            continue
        rows.append(Change(
            qid, q.label.get(lang), describe(q, before.get(qid), lang),
            describe(q, now.get(qid), lang), before.get(qid) != now.get(qid),
        ))
    return tuple(rows)


def new_rules(flags: Iterable[Flag], previous: Iterable[Flag]) -> frozenset[str]:
    """The rules that hold now and did not before."""
    return frozenset(f.rule for f in flags) - {f.rule for f in previous}


@dataclass(frozen=True)
class ConsentRecord:
    """The consent a client signed, as the summaries show it."""

    name: str  # the full name typed as the signature
    signed_at: dt.datetime
    version: str  # of the text in the language shown (questionnaire/consent.py, ConsentWords)
    lang: str | None  # that language; None when the text of the version is not known
    consent: ConsentWords | None  # the text signed (in `lang`)
    drawing: str | None  # the drawn signature as an SVG path, when there is one


def consent_record(
    qn: Questionnaire,
    version: str | None,
    name: str | None,
    signed_at: dt.datetime | None,
    drawing: Mapping[str, Any] | None,
    clinic_text: Callable[[str], ConsentWords | None] = lambda version: None,
) -> ConsentRecord | None:
    """The signed consent of a submission (`qn`: the version it was answered in), or None for
    a submission sent without one. `clinic_text` finds a clinic's own consent text signed,
    by its version (clinic_texts.stored_consent)."""
    if not version or not name or signed_at is None:
        return None
    lang = qn.consent.lang_of(version) if qn.consent is not None else None
    words = (
        ConsentWords.of(qn.consent, lang)
        if qn.consent is not None and lang is not None else clinic_text(version)
    )
    return ConsentRecord(
        name=name,
        signed_at=signed_at,
        version=version,
        lang=words.lang if words is not None else None,
        consent=words,
        drawing=svg_path(dict(drawing)) if drawing else None,
    )
