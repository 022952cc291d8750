"""Questionnaire versions: every version used is stored, and a submission is read with its own.

A submission stores the version (content hash) of the questionnaire it was answered in. The
questionnaire itself is stored under that version in `questionnaire_version` when the version is
first used: by `flask init-db` (the version being deployed) and with every submission, in the
submission's own transaction, so a submission made here always finds its version. The insert
does nothing when the version is there already, also when another server inserts it at the same
moment (both databases).

Submissions made before versions were stored name a version that may not be stored: they are
read with the current questionnaire (their answers to questions removed since show under their
ids, as before), and so is a stored version the loader no longer accepts. A stored version may
lack a language added since (screener/languages.toml): it loads all the same, and its texts read
in that language's fallback (model.Text, docs/languages.md).
"""
from __future__ import annotations

import dataclasses
import functools
import logging
from collections.abc import Iterable

from flask import current_app
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from ..extensions import db
from ..questionnaire import Questionnaire, QuestionnaireError, parse_questionnaire
from .models import QuestionnaireVersion, utcnow

log = logging.getLogger(__name__)

# Parsed versions kept per process: immutable data, a few at most in use at once.
CACHED_VERSIONS = 16


def record(session: Session, qn: Questionnaire) -> None:
    """Store `qn` under its version unless it is stored already (in the caller's transaction)."""
    stored = session.scalar(
        select(QuestionnaireVersion.version).where(QuestionnaireVersion.version == qn.version)
    )
    if stored is not None:
        return
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    session.execute(
        insert(QuestionnaireVersion)
        .values(version=qn.version, source=qn.text, created_at=utcnow())
        .on_conflict_do_nothing(index_elements=["version"])
    )


def questionnaire_for(session: Session, version: str, current: Questionnaire) -> Questionnaire:
    """The questionnaire of `version`: `current` when it is that version, else the stored one.

    A version that was never stored (a submission from before versions were stored) or that
    the loader no longer accepts falls back to `current`.
    """
    if version == current.version:
        return current
    source = session.scalar(
        select(QuestionnaireVersion.source).where(QuestionnaireVersion.version == version)
    )
    if source is None:
        return current
    try:
        return _parsed(version, source)
    except QuestionnaireError:
        log.warning("stored questionnaire version %s no longer loads; using the current", version)
        return current


@functools.lru_cache(maxsize=CACHED_VERSIONS)
def _parsed(version: str, source: str) -> Questionnaire:
    qn = parse_questionnaire(source, source=f"questionnaire version {version}", stored=True)
    # The stored text hashes to its version, unless the file was UTF-16 (stored as text).
    return dataclasses.replace(qn, version=version)


def versions_by_first_use(session: Session, versions: Iterable[str]) -> list[str]:
    """Those of `versions` that are stored, in the order they were first used (then by name)."""
    wanted = set(versions)
    if not wanted:
        return []
    return list(
        session.scalars(
            select(QuestionnaireVersion.version)
            .where(QuestionnaireVersion.version.in_(wanted))
            .order_by(QuestionnaireVersion.created_at, QuestionnaireVersion.version)
        )
    )


def stored_newest_first(session: Session) -> list[str]:
    """Every stored version, the most recently first used first."""
    return list(
        session.scalars(
            select(QuestionnaireVersion.version).order_by(
                QuestionnaireVersion.created_at.desc(), QuestionnaireVersion.version
            )
        )
    )


# In a request or CLI command of the app ---------------------------------------------------------


def current() -> Questionnaire:
    """The app's questionnaire, loaded at start-up (questions.yaml)."""
    return current_app.extensions["questionnaire"]  # type: ignore[no-any-return]


def answered_in(version: str) -> Questionnaire:
    """The questionnaire a submission of `version` was answered in (see questionnaire_for)."""
    return questionnaire_for(db.session, version, current())
