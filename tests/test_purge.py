"""Retention: `flask --app screener purge` deletes expired unfinished drafts and submissions past
their clinic's retention period (with the client's summary link), reports the counts, and
touches nothing else."""

# ruff: noqa: F811  (shared fixtures from dashboard_support are imported by name)
from __future__ import annotations

import datetime as dt
import threading
import time
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import insert, select, update

from screener import retention
from screener.dashboard import operations, queries
from screener.extensions import db
from screener.storage.models import AuditEvent, Clinic, Draft, Submission, utcnow
from screener.wizard.drafts import new_draft

from .dashboard_support import add_submission, clinics, fetch  # noqa: F401


@pytest.fixture
def scene(app: Flask, clinics: dict[str, int]) -> dict[str, Any]:
    """Clinic A keeps submissions 30 days, clinic B 365; rows on both sides of each limit."""
    now = utcnow()
    days = lambda n: now - dt.timedelta(days=n)  # noqa: E731
    with app.app_context(), db.transaction() as s:
        s.execute(update(Clinic).where(Clinic.id == clinics["demo"]).values(retention_days=30))
        s.execute(update(Clinic).where(Clinic.id == clinics["other"]).values(retention_days=365))
    ids = {
        "a_new": add_submission(app, clinics["demo"], submitted_at=days(29)),
        "a_old": add_submission(app, clinics["demo"], submitted_at=days(31)),
        "b_mid": add_submission(app, clinics["other"], submitted_at=days(200)),
        "b_old": add_submission(app, clinics["other"], submitted_at=days(366)),
    }
    with app.app_context(), db.transaction() as s:
        clinic_a = s.get(Clinic, clinics["demo"])
        assert clinic_a is not None
        live, _ = new_draft(s, clinic_a, "en", 14)
        expired, _ = new_draft(s, clinic_a, "en", 14)
        expired.expires_at = days(1)
        # Summary links (submitted drafts): one still valid, one of an expiring submission, and
        # one that lapsed although its submission stays with the clinic.
        clinic_b = s.get(Clinic, clinics["other"])
        assert clinic_b is not None
        kept_link, _ = new_draft(s, clinic_a, "en", 14)
        old_link, _ = new_draft(s, clinic_a, "en", 14)
        lapsed_link, _ = new_draft(s, clinic_b, "en", 14)
        for draft, sid, until in (
            (kept_link, ids["a_new"], days(-5)),
            (old_link, ids["a_old"], days(-5)),  # goes with its submission, whatever its date
            (lapsed_link, ids["b_mid"], days(1)),
        ):
            draft.submitted_at = days(40)
            draft.expires_at = until
            s.flush()
            s.execute(update(Submission).where(Submission.id == sid).values(draft_id=draft.id))
        s.flush()
        ids.update(live=live.id, expired=expired.id, kept_link=kept_link.id, old_link=old_link.id,
                   lapsed_link=lapsed_link.id)
    return ids


def run(app: Flask, *args: str) -> Any:
    result = app.test_cli_runner().invoke(args=["purge", *args])
    assert result.exit_code == 0, result.output
    return result


def test_purge_deletes_what_expired_and_reports_it(app: Flask, scene: dict[str, Any]) -> None:
    result = run(app)
    assert "Deleted 2 submission(s) and 3 draft(s)." in result.output
    assert "demo: 1 submission(s)" in result.output and "other: 1 submission(s)" in result.output
    assert {s.id for s in fetch(app, Submission)} == {scene["a_new"], scene["b_mid"]}
    assert {d.id for d in fetch(app, Draft)} == {scene["live"], scene["kept_link"]}
    purges = fetch(app, AuditEvent, AuditEvent.action == "purge")
    assert sorted(e.detail["submissions"] for e in purges) == [1, 1]
    assert {e.actor for e in purges} == {"retention"}
    # A second run finds nothing more.
    assert "Deleted 0 submission(s) and 0 draft(s)." in run(app).output


def test_dry_run_counts_and_deletes_nothing(app: Flask, scene: dict[str, Any]) -> None:
    result = run(app, "--dry-run")
    assert "Would delete 2 submission(s) and 3 draft(s)." in result.output
    assert len(fetch(app, Submission)) == 4 and len(fetch(app, Draft)) == 5
    assert fetch(app, AuditEvent, AuditEvent.action == "purge") == []


def test_a_shorter_retention_applies_at_the_next_run(
    app: Flask, scene: dict[str, Any], clinics: dict[str, int]
) -> None:
    with app.app_context(), db.transaction() as s:
        s.execute(update(Clinic).where(Clinic.id == clinics["other"]).values(retention_days=100))
    run(app)
    with app.app_context():
        left = set(db.session.scalars(select(Submission.id)))
    assert left == {scene["a_new"]}


def _backlog(app: Flask, clinic_id: int, n: int) -> None:
    """n submissions of the clinic made 400 days ago (past any retention of this file)."""
    qn = app.extensions["questionnaire"]
    old = utcnow() - dt.timedelta(days=400)
    with app.app_context(), db.transaction() as s:
        s.execute(insert(Submission), [
            {"clinic_id": clinic_id, "answers": {}, "flags": [], "questionnaire_version": qn.version,
             "lang": "en", "full_name": f"Client {i}", "submitted_at": old}
            for i in range(n)
        ])


def test_purge_deletes_in_batches_each_audited(
    app: Flask, clinics: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(retention, "FIRST_BATCH", 2)
    monkeypatch.setattr(retention, "LARGEST_BATCH", 2)
    monkeypatch.setattr(retention, "SQLITE_PAUSE", 0)
    _backlog(app, clinics["demo"], 7)
    assert "Deleted 7 submission(s)" in run(app).output
    assert fetch(app, Submission) == []
    purges = fetch(app, AuditEvent, AuditEvent.action == "purge")
    assert sorted(e.detail["submissions"] for e in purges) == [1, 2, 2, 2]
    with app.app_context():
        assert queries.counts(db.session, clinics["demo"]).unreviewed == 0


def test_a_large_purge_never_holds_up_a_clients_save(app: Flask, clinics: dict[str, int]) -> None:
    """A client saves a step again and again while the purge deletes a backlog: no save waits
    half a second (on SQLite, where one writer at a time holds the database, one transaction
    for these 20,000 rows held a save for a second, and for a backlog of a million, 19)."""
    clinic_id = clinics["demo"]
    _backlog(app, clinic_id, 20000)
    with app.app_context(), db.transaction() as s:
        clinic = s.get(Clinic, clinic_id)
        assert clinic is not None
        draft, _ = new_draft(s, clinic, "en", 14)
        draft_id = draft.id
    waits: list[tuple[float, float]] = []  # (start, seconds)
    done = threading.Event()

    def client() -> None:
        n = 0
        while not done.is_set():
            n += 1
            start = time.perf_counter()
            with app.app_context(), db.transaction() as s:
                s.execute(update(Draft).where(Draft.id == draft_id).values(answers={"n": n}))
            waits.append((start, time.perf_counter() - start))
            time.sleep(0.01)

    thread = threading.Thread(target=client)
    thread.start()
    try:
        time.sleep(0.1)
        began = time.perf_counter()
        with app.app_context():
            report = operations.purge_expired(utcnow())
        ended = time.perf_counter()
    finally:
        done.set()
        thread.join()
    assert report.total_submissions == 20000 and fetch(app, Submission) == []
    longest = max(seconds for _, seconds in waits)
    assert longest < 0.5, longest  # a fraction of a second
    assert len([1 for start, _ in waits if began <= start <= ended]) >= 3  # saves meanwhile
