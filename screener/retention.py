"""Retention: delete unfinished drafts that have expired and submissions past their clinic's
retention period. Run daily (`flask --app screener purge`, see the README)."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import delete, exists, select
from sqlalchemy.orm import Session

from .storage.models import Clinic, Draft, OutboxMessage, Submission


@dataclass
class PurgeReport:
    drafts: int = 0  # expired unfinished drafts, and the summary links of deleted submissions
    submissions: dict[str, int] = field(default_factory=dict)  # clinic slug -> deleted

    @property
    def total_submissions(self) -> int:
        return sum(self.submissions.values())


def purge(session: Session, now: dt.datetime) -> PurgeReport:
    """Delete what has expired at `now` in the session's transaction; the caller commits (or
    rolls back, for a dry run)."""
    report = PurgeReport()
    for clinic in session.scalars(select(Clinic).order_by(Clinic.slug)).all():
        cutoff = now - dt.timedelta(days=clinic.retention_days)
        result = session.execute(
            delete(Submission)
            .where(Submission.clinic_id == clinic.id, Submission.submitted_at < cutoff)
            .execution_options(synchronize_session=False)
        )
        report.submissions[clinic.slug] = int(result.rowcount or 0)  # type: ignore[attr-defined]

    # An expired draft goes: an unfinished one with its answers, a submitted one as the client's
    # summary link (the submission stays for the clinic). So does a link whose submission is gone.
    expired = Draft.expires_at <= now
    orphaned = Draft.submitted_at.is_not(None) & ~exists().where(Submission.draft_id == Draft.id)
    result = session.execute(
        delete(Draft)
        .where(expired | orphaned)
        .execution_options(synchronize_session=False)
    )
    report.drafts = int(result.rowcount or 0)  # type: ignore[attr-defined]
    # Webhook events carrying answers of submissions deleted here go with them.
    session.execute(
        delete(OutboxMessage)
        .where(
            OutboxMessage.private.is_(True),
            OutboxMessage.submission_id.is_not(None),
            ~exists().where(Submission.id == OutboxMessage.submission_id),
        )
        .execution_options(synchronize_session=False)
    )
    return report
