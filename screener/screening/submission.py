"""The JSON form of a submission (documented in docs/submission-json.md). Pure Python."""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any, Protocol

from ..questionnaire.model import Questionnaire
from .rules import flags_from_json

JSON_KEYS = (
    "id", "clinic", "submitted_at", "lang", "questionnaire_version", "answers", "flags",
    "client_id", "appointment_id", "previous_id", "rechecked", "consent",
)


class ClinicRecord(Protocol):
    @property
    def slug(self) -> str: ...


class SubmissionRecord(Protocol):
    """What the exports read of a submission (the Submission model, or a stand-in in tests)."""

    id: int

    @property
    def clinic(self) -> ClinicRecord: ...

    submitted_at: dt.datetime
    lang: str
    questionnaire_version: str
    answers: dict[str, Any]
    flags: list[Any]
    consent_version: str | None
    consent_name: str | None
    consent_signed_at: dt.datetime | None
    consent_signature: dict[str, Any] | None


def utc_iso(when: dt.datetime) -> str:
    """A stored time (UTC; naive ones too) in ISO 8601 with its +00:00 offset."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return when.astimezone(dt.UTC).isoformat()


def consent_json(
    submission: SubmissionRecord,
    questionnaire: Questionnaire,
    clinic_text_lang: Callable[[str], str | None] = lambda version: None,
) -> dict[str, Any] | None:
    """The signed consent: its text version and language, the typed name, the time, and the
    drawing when there is one; None for a submission sent without one. `clinic_text_lang`
    gives the language of a clinic's own consent text signed, by its version."""
    if not submission.consent_version or submission.consent_signed_at is None:
        return None
    consent = questionnaire.consent
    lang = consent.lang_of(submission.consent_version) if consent is not None else None
    return {
        "version": submission.consent_version,
        "lang": lang or clinic_text_lang(submission.consent_version),
        "name": submission.consent_name,
        "signed_at": utc_iso(submission.consent_signed_at),
        "signature": submission.consent_signature,
    }


def submission_json(
    submission: SubmissionRecord,
    questionnaire: Questionnaire,
    clinic_text_lang: Callable[[str], str | None] = lambda version: None,
) -> dict[str, Any]:
    """A submission as a JSON-ready dict: answers as stored, flags as frozen at submission.

    Answers are listed in questionnaire order (answers to questions no longer in the
    questionnaire follow, in stored order); the flags are the stored ones, never re-screened.
    """
    stored = dict(submission.answers or {})
    order = [qid for qid in questionnaire.questions if qid in stored]
    answers = {qid: stored[qid] for qid in order}
    answers.update((k, v) for k, v in stored.items() if k not in answers)
    submitted = submission.submitted_at
    if submitted.tzinfo is None:  # stored times are UTC
        submitted = submitted.replace(tzinfo=dt.UTC)
    return {
        "id": submission.id,
        "clinic": submission.clinic.slug,
        "submitted_at": submitted.astimezone(dt.UTC).isoformat(),
        "lang": submission.lang,
        "questionnaire_version": submission.questionnaire_version,
        "answers": answers,
        "flags": [f.to_json() for f in flags_from_json(submission.flags)],
        # Its client and appointment, and for a pre-session check the submission it built on
        # and the questions asked afresh (stand-ins without them read as None).
        "client_id": getattr(submission, "client_id", None),
        "appointment_id": getattr(submission, "appointment_id", None),
        "previous_id": getattr(submission, "previous_id", None),
        "rechecked": getattr(submission, "rechecked", None),
        "consent": consent_json(submission, questionnaire, clinic_text_lang),
    }
