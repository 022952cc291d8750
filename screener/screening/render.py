"""Rendering helpers for the two summaries: the only modules of this package that use Flask are
this one and `pdf` (the PDF copies, made from the same templates).

The data comes from the pure `summary` module, built from the flags stored with the submission;
answers are put in words by the questionnaire's `display_answer` (translated, dates in the
locale), with the questionnaire version the submission was answered in (storage/versions.py).
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import g, render_template
from flask_babel import force_locale

from .. import clinic_texts
from ..extensions import db
from ..i18n import BABEL_LOCALE, DEFAULT_LANG
from ..questionnaire.answers import answer_rows
from ..questionnaire.model import LANGUAGES, Questionnaire
from ..questionnaire.types import display_answer
from ..storage import versions
from ..storage.models import Submission
from .rules import Flag, flags_from_json
from .summary import (
    ConsentRecord,
    check_changes,
    client_summary,
    consent_record,
    new_rules,
    practitioner_summary,
)


def signed_consent(submission: Submission, qn: Any) -> ConsentRecord | None:
    """The consent the submission's client signed, with the text of its questionnaire version."""
    return consent_record(
        qn, submission.consent_version, submission.consent_name, submission.consent_signed_at,
        submission.consent_signature,
        clinic_text=lambda version: clinic_texts.stored_consent(db.session, version),
    )


def client_summary_context(submission: Submission, lang: str) -> dict[str, Any]:
    """Template values for the client summary page (templates/wizard/summary.html)."""
    qn = versions.answered_in(submission.questionnaire_version)
    flags = flags_from_json(submission.flags)
    answers = submission.answers or {}
    return {
        "submission": submission,
        "screening": client_summary(qn, flags, answers, lang, display_answer),
        "sections": answer_rows(qn, answers, lang, submission.submitted_at.date()),
        "consent": signed_consent(submission, qn),
        "clinic_page": clinic_texts.page_texts(submission.clinic, lang),
    }


def practitioner_summary_context(submission: Submission, lang: str) -> dict[str, Any]:
    """Template values of practitioner/summary.html (also for pages that extend it).

    Answers are put in words in the active locale: call it with `lang`'s locale active.
    """
    qn = versions.answered_in(submission.questionnaire_version)
    flags = flags_from_json(submission.flags)
    answers = submission.answers or {}
    return {
        **_check_context(submission, qn, flags, lang),
        "lang": lang,
        "submission": submission,
        "summary": practitioner_summary(qn, flags, answers, lang, display_answer),
        "sections": answer_rows(qn, answers, lang, submission.submitted_at.date()),
        "orphans": [(k, v) for k, v in answers.items() if k not in qn.questions],
        "consent": signed_consent(submission, qn),
        "current_version": versions.current().version,
        "today": dt.date.today(),  # a timing window "ends" or "ended" as of the reading day
    }


@contextmanager
def reading_in(submission: Submission, lang: str) -> Iterator[str]:
    """Render for a reader of `lang` (any other: English): the interface language, the locale
    of dates and the clinic of the page, put back afterwards. Yields the language used."""
    lang = lang if lang in LANGUAGES else DEFAULT_LANG
    had_lang, old_lang = "lang" in g, g.get("lang")
    g.lang = lang
    g.setdefault("clinic", submission.clinic)
    g.setdefault("embedded", False)
    g.private_page = True  # health data: Cache-Control: no-store
    try:
        with force_locale(BABEL_LOCALE[lang]):
            yield lang
    finally:
        if had_lang:
            g.lang = old_lang
        else:
            g.pop("lang", None)


def _check_context(
    submission: Submission, qn: Questionnaire, flags: list[Flag], lang: str
) -> dict[str, Any]:
    """For a pre-session check: the submission it built on, what changed since, the flags that
    are new and those that went (practitioner/summary.html)."""
    if submission.rechecked is None:
        return {"check": None}
    previous = (
        db.session.get(Submission, submission.previous_id)
        if submission.previous_id is not None else None
    )
    before = (previous.answers or {}) if previous is not None else {}
    earlier = flags_from_json(previous.flags) if previous is not None else []
    now_rules = {f.rule for f in flags}
    return {"check": {
        "previous": previous,
        "changes": check_changes(
            qn, submission.rechecked, before, submission.answers or {}, lang, display_answer
        ),
        "new_rules": new_rules(flags, earlier) if previous is not None else frozenset(),
        "gone": [f for f in earlier if f.rule not in now_rules],
    }}


def render_practitioner_summary(submission: Submission, lang: str, **extra: Any) -> str:
    """The practitioner summary of a submission as HTML, in the reader's language `lang`.

    Needs a request context. The caller (the dashboard) is responsible for access control.
    `extra` goes to the template (the PDF's layout, for one).
    """
    with reading_in(submission, lang) as lang:
        return render_template(
            "practitioner/summary.html",
            **practitioner_summary_context(submission, lang),
            **extra,
        )


def render_client_summary(submission: Submission, lang: str, **extra: Any) -> str:
    """The client's summary of a submission as HTML in `lang`, outside the client's own pages
    (the PDF copy). Needs a request context; the caller checks access."""
    with reading_in(submission, lang) as lang:
        return render_template(
            "wizard/summary.html",
            already_sent=False,
            link_expires_at=None,
            **client_summary_context(submission, lang),
            **extra,
        )
