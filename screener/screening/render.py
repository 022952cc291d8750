"""Rendering helpers for the two summaries: the only module of this package that uses Flask.

The data comes from the pure `summary` module, built from the flags stored with the submission;
answers are put in words by the questionnaire's `display_answer` (translated, dates in the
locale), with the questionnaire version the submission was answered in (storage/versions.py).
"""
from __future__ import annotations

from typing import Any

from flask import g, render_template
from flask_babel import force_locale

from ..extensions import db
from ..i18n import BABEL_LOCALE, DEFAULT_LANG
from ..questionnaire.answers import answer_rows
from ..questionnaire.model import LANGUAGES, Questionnaire
from ..questionnaire.types import display_answer
from ..storage import versions
from ..storage.models import Submission
from .rules import Flag, flags_from_json
from .summary import check_changes, client_summary, new_rules, practitioner_summary


def client_summary_context(submission: Submission, lang: str) -> dict[str, Any]:
    """Template values for the client summary page (templates/wizard/summary.html)."""
    qn = versions.answered_in(submission.questionnaire_version)
    flags = flags_from_json(submission.flags)
    answers = submission.answers or {}
    return {
        "screening": client_summary(qn, flags, answers, lang, display_answer),
        "sections": answer_rows(qn, answers, lang, submission.submitted_at.date()),
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
        "current_version": versions.current().version,
    }


def render_practitioner_summary(submission: Submission, lang: str) -> str:
    """The practitioner summary of a submission as HTML, in the reader's language `lang`.

    Needs a request context. The caller (the dashboard) is responsible for access control.
    """
    lang = lang if lang in LANGUAGES else DEFAULT_LANG
    had_lang, old_lang = "lang" in g, g.get("lang")
    g.lang = lang
    g.setdefault("clinic", submission.clinic)
    g.setdefault("embedded", False)
    g.private_page = True  # health data: Cache-Control: no-store
    try:
        with force_locale(BABEL_LOCALE[lang]):
            return render_template(
                "practitioner/summary.html", **practitioner_summary_context(submission, lang)
            )
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
