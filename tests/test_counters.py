"""The counters at the top of the submission list (red flags not reviewed, not reviewed, red
flags in all) are kept in one row per clinic by the database itself: after any mix of
submissions, reviews, deletions, purges and bulk writes, and under concurrent writers, they
equal a full count."""

# ruff: noqa: F811  (shared fixtures from dashboard_support are imported by name)
from __future__ import annotations

import datetime as dt
import random
import threading
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import delete, func, insert, select, update

from screener.dashboard import operations, queries
from screener.extensions import db
from screener.storage.models import (
    Clinic,
    Practitioner,
    Submission,
    SubmissionCount,
    max_severity,
    utcnow,
)

from .dashboard_support import accounts, add_submission, clinics  # noqa: F401

# Answers that raise a red flag, another severity, or none (tests/test_screening.py).
ANSWERS: tuple[dict[str, Any], ...] = ({"pregnancy": "yes"}, {"blood_thinners": "yes"}, {}, {"age_band": "under_18"})


def full_counts(clinic_id: int) -> dict[str, int]:
    """The counters as a COUNT(*) over the clinic's submissions."""
    red = Submission.max_severity == "red_flag"
    unreviewed = Submission.reviewed_at.is_(None)

    def count(*where: Any) -> int:
        return int(db.session.scalar(
            select(func.count()).select_from(Submission)
            .where(Submission.clinic_id == clinic_id, *where)
        ) or 0)

    return {
        "total": count(),
        "unreviewed": count(unreviewed),
        "red_flags": count(red),
        "red_flags_unreviewed": count(red, unreviewed),
    }


def kept_counts(clinic_id: int) -> dict[str, int]:
    """The counters as kept, and as the dashboard reads them."""
    row = db.session.execute(
        select(SubmissionCount).where(SubmissionCount.clinic_id == clinic_id)
        .execution_options(populate_existing=True)
    ).scalar_one()
    shown = queries.counts(db.session, clinic_id)
    assert (shown.unreviewed, shown.red_flags, shown.red_flags_unreviewed) == (
        row.unreviewed, row.red_flags, row.red_flags_unreviewed
    )
    return {
        "total": row.total,
        "unreviewed": row.unreviewed,
        "red_flags": row.red_flags,
        "red_flags_unreviewed": row.red_flags_unreviewed,
    }


def assert_exact(app: Flask) -> None:
    with app.app_context():
        for clinic_id in db.session.scalars(select(Clinic.id)):
            assert kept_counts(clinic_id) == full_counts(clinic_id), clinic_id


def bulk_insert(app: Flask, clinic_id: int, rng: random.Random, n: int) -> None:
    """Rows inserted with one multi-row INSERT, as the benchmark seeds them."""
    qn = app.extensions["questionnaire"]
    flags = [[], [{"severity": "red_flag", "rule": "x"}], [{"severity": "discuss", "rule": "y"}]]
    rows = []
    for _ in range(n):
        chosen = rng.choice(flags)
        when = utcnow() - dt.timedelta(days=rng.randrange(0, 60))
        rows.append({
            "clinic_id": clinic_id, "answers": {}, "flags": chosen,
            "max_severity": max_severity(chosen), "questionnaire_version": qn.version,
            "lang": "en", "full_name": "Bulk", "submitted_at": when,
            "reviewed_at": when if rng.random() < 0.5 else None,
        })
    with app.app_context(), db.transaction() as s:
        s.execute(insert(Submission), rows)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_counters_equal_a_full_count_after_random_writes(
    app: Flask, clinics: dict[str, int], accounts: dict[str, int], seed: int
) -> None:
    rng = random.Random(seed)
    clinic_ids = list(clinics.values())
    with app.app_context(), db.transaction() as s:
        s.execute(update(Clinic).values(retention_days=30))
    me_of = {}
    with app.app_context():
        for account in db.session.scalars(select(Practitioner)):
            me_of[account.clinic_id] = account
    assert_exact(app)
    for _step in range(60):
        clinic_id = rng.choice(clinic_ids)
        me = me_of[clinic_id]
        with app.app_context():
            ids = list(db.session.scalars(
                select(Submission.id).where(Submission.clinic_id == clinic_id)
            ))
        action = rng.choice(("submit", "submit", "bulk", "review", "delete", "purge", "flags"))
        if action == "submit":
            add_submission(
                app, clinic_id, rng.choice(ANSWERS),
                submitted_at=utcnow() - dt.timedelta(days=rng.randrange(0, 60)),
                reviewed=rng.random() < 0.3,
            )
        elif action == "bulk":
            bulk_insert(app, clinic_id, rng, rng.randrange(1, 30))
        elif action == "review" and ids:
            with app.app_context():
                sub = queries.clinic_submission(db.session, clinic_id, rng.choice(ids))
                assert sub is not None
                operations.review_submission(me, sub, "seen")
        elif action == "delete" and ids:
            with app.app_context():
                sub = queries.clinic_submission(db.session, clinic_id, rng.choice(ids))
                assert sub is not None
                operations.delete_submission(me, sub)
        elif action == "purge":
            with app.app_context():
                operations.purge_expired(utcnow())
        elif action == "flags" and ids:  # a bulk UPDATE of severities and reviews
            with app.app_context(), db.transaction() as s:
                chosen = rng.sample(ids, min(len(ids), 5))
                s.execute(
                    update(Submission).where(Submission.id.in_(chosen))
                    .values(max_severity=rng.choice(("red_flag", "discuss", None)),
                            reviewed_at=rng.choice((utcnow(), None)))
                )
        assert_exact(app)


def test_a_rolled_back_write_changes_no_counter(app: Flask, clinics: dict[str, int]) -> None:
    add_submission(app, clinics["demo"], {"pregnancy": "yes"})
    with app.app_context():
        before = kept_counts(clinics["demo"])
        with pytest.raises(RuntimeError), db.transaction() as s:
            s.execute(delete(Submission))
            raise RuntimeError("undo")
        assert kept_counts(clinics["demo"]) == before == full_counts(clinics["demo"])


def test_a_new_clinic_starts_at_zero_and_a_deleted_one_takes_its_row(app: Flask) -> None:
    with app.app_context():
        with db.transaction() as s:
            clinic = Clinic(slug="new", name="New", allowed_origins=[])
            s.add(clinic)
        assert kept_counts(clinic.id) == dict.fromkeys(
            ("total", "unreviewed", "red_flags", "red_flags_unreviewed"), 0
        )
    add_submission(app, clinic.id, {"pregnancy": "yes"})
    with app.app_context():
        assert kept_counts(clinic.id)["red_flags_unreviewed"] == 1
        with db.transaction() as s:
            s.execute(delete(Clinic).where(Clinic.id == clinic.id))
        assert db.session.get(SubmissionCount, clinic.id) is None


def test_concurrent_writers_lose_no_count(app: Flask, clinics: dict[str, int]) -> None:
    """Four writers submit and review in one clinic at the same time (on PostgreSQL the
    counter row is updated atomically; on SQLite writes queue on the database lock)."""
    clinic_id = clinics["demo"]
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            for i in range(15):
                sid = add_submission(app, clinic_id, ANSWERS[(n + i) % len(ANSWERS)])
                if i % 3 == 0:
                    with app.app_context(), db.transaction() as s:
                        s.execute(
                            update(Submission).where(Submission.id == sid)
                            .values(reviewed_at=utcnow())
                        )
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with app.app_context():
        assert kept_counts(clinic_id) == full_counts(clinic_id)
        assert kept_counts(clinic_id)["total"] == 60
