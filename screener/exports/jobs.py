"""CSV exports too large to stream in one request, prepared in the background.

A request can stream a CSV of up to CSV_STREAM_ROWS rows within the server's worker timeout
(gunicorn.conf.py, README). A larger list becomes an ExportJob: `flask --app screener export`
(run_pending, run it every minute) writes the CSV to a gzip-compressed file in the instance
folder's exports/ (mode 0600), and the practitioner who asked downloads it from the dashboard's
Exports page for a day; the purge then deletes the file and the job.

The file is served with `Content-Encoding: gzip` and its length: the browser unpacks it into
the CSV as it saves it, and a download cut short shows as failed, never as a shorter file.
"""
from __future__ import annotations

import datetime as dt
import gzip
import logging
import os
import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from flask import current_app
from sqlalchemy import select

from ..dashboard import operations
from ..dashboard.queries import Filters
from ..extensions import db
from ..storage.models import ExportJob, utcnow
from .csv import RowCount, submissions_csv

log = logging.getLogger(__name__)

# A job 'running' for this long was left by a run that died: it is taken again.
STALE = dt.timedelta(hours=6)
COMPRESS_LEVEL = 1  # gzip: fast (CSV text still shrinks about tenfold)


def exports_dir() -> Path:
    """The instance folder's exports/ (mode 0700), made when missing."""
    path = Path(current_app.instance_path) / "exports"
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


def file_of(job: ExportJob) -> Path | None:
    """The ready file of a job, if it is there."""
    if job.file_name is None:
        return None
    path = exports_dir() / job.file_name
    return path if path.is_file() else None


@dataclass(frozen=True)
class Result:
    job_id: int
    outcome: str  # "ready", "failed", or "skipped" (not pending, or another run took it)
    rows: int = 0
    seconds: float = 0.0


def pending_ids() -> list[int]:
    """The jobs waiting to be run, oldest first (and those a dead run left 'running')."""
    now = utcnow()
    ids = db.session.scalars(
        select(ExportJob.id)
        .where(
            (ExportJob.status == "pending")
            | ((ExportJob.status == "running") & (ExportJob.started_at < now - STALE))
        )
        .order_by(ExportJob.requested_at, ExportJob.id)
    ).all()
    db.session.rollback()
    return list(ids)


def run_pending(only: int | None = None) -> list[Result]:
    """Run every pending job (or the job `only`, if pending); one Result each."""
    return [run_job(job_id) for job_id in ([only] if only is not None else pending_ids())]


def run_job(job_id: int) -> Result:
    """Write one job's file, if this run is the one to claim it."""
    start = time.perf_counter()
    job = operations.claim_export(job_id)
    if job is None:  # not pending, or another run took it
        return Result(job_id, "skipped")
    directory = exports_dir()
    name = f"{secrets.token_hex(16)}.csv.gz"
    partial = directory / f"{name}.part"
    written = RowCount()
    try:
        write_csv(partial, submissions_csv(
            db.session, job.clinic_id, Filters.from_json(job.filters), count=written
        ))
        db.session.rollback()  # end the long read before the write
        partial.rename(directory / name)
    except Exception:
        db.session.rollback()
        partial.unlink(missing_ok=True)
        log.exception("export %s failed", job_id)
        operations.export_failed(job)
        return Result(job_id, "failed", seconds=time.perf_counter() - start)
    operations.export_ready(job, name, written.rows, utcnow() + operations.EXPORT_KEEP)
    return Result(job_id, "ready", written.rows, time.perf_counter() - start)


def write_csv(path: Path, pieces: Iterable[str]) -> None:
    """Write the CSV text gzip-compressed to a new file of mode 0600, flushed to disk."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as raw:
        with gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=COMPRESS_LEVEL, mtime=0) as out:
            for piece in pieces:
                out.write(piece.encode())
        raw.flush()
        os.fsync(raw.fileno())

