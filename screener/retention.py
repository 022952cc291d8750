"""Retention: delete unfinished drafts that have expired and submissions past their clinic's
retention period. Run daily (`flask --app screener purge`, see the README).

Rows go in batches, each in a write transaction of its own (screener/dashboard/operations.py
runs them, each with its audit entry), sized to take about BATCH_SECONDS: on SQLite, where one
writer at a time holds the database, a client's step save then waits for at most one batch,
never for a whole backlog. Between batches on SQLite the purge pauses for longer than SQLite's
busy handler sleeps between its tries (100 ms at most), so writers that queued get their turn.
"""
from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, delete, exists, func, select
from sqlalchemy.orm import Session

from .storage.models import Clinic, Draft, ExportJob, OutboxMessage, Submission

BATCH_SECONDS = 0.1  # the time one batch's transaction aims at
FIRST_BATCH = 100  # rows
LARGEST_BATCH = 5000
SQLITE_PAUSE = 0.15  # seconds between batches on SQLite


@dataclass
class PurgeReport:
    drafts: int = 0  # expired unfinished drafts, and the summary links of deleted submissions
    submissions: dict[str, int] = field(default_factory=dict)  # clinic slug -> deleted
    exports: int = 0  # CSV files prepared for download, a day old
    batches: int = 0
    longest_batch: float = 0.0  # seconds: the longest a batch's transaction held its writes

    @property
    def total_submissions(self) -> int:
        return sum(self.submissions.values())


class Batches:
    """Batch sizes that keep each batch near BATCH_SECONDS: doubled after a batch that took
    less than half of it, halved after one that took longer."""

    def __init__(self, report: PurgeReport, pause: float) -> None:
        self.size = FIRST_BATCH
        self.report = report
        self.pause = pause

    @contextmanager
    def timed(self) -> Iterator[None]:
        """Time one batch's transaction (the caller commits inside) and adapt the size."""
        if self.report.batches and self.pause:
            time.sleep(self.pause)
        start = time.perf_counter()
        yield
        took = time.perf_counter() - start
        self.report.batches += 1
        self.report.longest_batch = max(self.report.longest_batch, took)
        if took < BATCH_SECONDS / 2:
            self.size = min(LARGEST_BATCH, self.size * 2)
        elif took > BATCH_SECONDS:
            self.size = max(1, self.size // 2)


def cutoff(clinic: Clinic, now: dt.datetime) -> dt.datetime:
    """Submissions before this time are past the clinic's retention period."""
    return now - dt.timedelta(days=clinic.retention_days)


def delete_submissions(
    session: Session, clinic_id: int, before: dt.datetime, limit: int
) -> tuple[int, int]:
    """Delete up to `limit` of the clinic's submissions made before `before`, oldest first, with
    their drafts (the clients' summary links); how many submissions, how many drafts."""
    rows = session.execute(
        select(Submission.id, Submission.draft_id)
        .where(Submission.clinic_id == clinic_id, Submission.submitted_at < before)
        .order_by(Submission.submitted_at, Submission.id)
        .limit(limit)
    ).all()
    if not rows:
        return 0, 0
    ids = [r.id for r in rows]
    session.execute(
        delete(Submission).where(Submission.id.in_(ids))
        .execution_options(synchronize_session=False)
    )
    # Webhook events carrying answers of these submissions go with them.
    session.execute(
        delete(OutboxMessage)
        .where(OutboxMessage.private.is_(True), OutboxMessage.submission_id.in_(ids))
        .execution_options(synchronize_session=False)
    )
    drafts = [r.draft_id for r in rows if r.draft_id is not None]
    if drafts:
        session.execute(
            delete(Draft).where(Draft.id.in_(drafts)).execution_options(synchronize_session=False)
        )
    return len(rows), len(drafts)


def _expired_drafts(now: dt.datetime) -> list[ColumnElement[bool]]:
    """The drafts to delete: past their date (an unfinished one with its answers, a submitted
    one as the client's summary link; the submission stays with the clinic); and a summary link
    whose submission is gone."""
    return [
        Draft.expires_at <= now,
        Draft.submitted_at.is_not(None) & ~exists().where(Submission.draft_id == Draft.id),
    ]


def delete_drafts(session: Session, now: dt.datetime, limit: int) -> int:
    """Delete up to `limit` expired drafts (_expired_drafts); how many."""
    deleted = 0
    for condition in _expired_drafts(now):
        ids = session.scalars(select(Draft.id).where(condition).limit(limit - deleted)).all()
        if ids:
            session.execute(
                delete(Draft).where(Draft.id.in_(ids)).execution_options(synchronize_session=False)
            )
            deleted += len(ids)
        if deleted >= limit:
            break
    return deleted


def count_expired(session: Session, now: dt.datetime) -> PurgeReport:
    """What a purge at `now` would delete (a dry run)."""
    report = PurgeReport()
    for clinic in session.scalars(select(Clinic).order_by(Clinic.slug)).all():
        expiring = (
            Submission.clinic_id == clinic.id, Submission.submitted_at < cutoff(clinic, now)
        )
        report.submissions[clinic.slug] = int(
            session.scalar(select(func.count()).select_from(Submission).where(*expiring)) or 0
        )
        # Their summary links, but those that expired anyway (counted below).
        report.drafts += int(session.scalar(
            select(func.count()).select_from(Submission)
            .join(Draft, Draft.id == Submission.draft_id)
            .where(*expiring, Draft.expires_at > now)
        ) or 0)
    for condition in _expired_drafts(now):
        report.drafts += int(
            session.scalar(select(func.count()).select_from(Draft).where(condition)) or 0
        )
    report.exports = int(session.scalar(
        select(func.count()).select_from(ExportJob).where(ExportJob.expires_at <= now)
    ) or 0)
    return report
