"""The dashboard's migrations: the schema they build is the models' schema, on SQLite and on
PostgreSQL, and 0002 derives max_severity for submissions made before it."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text

from screener.storage.db import make_engine
from screener.storage.migrate import downgrade, include_object, upgrade
from screener.storage.models import Base


def test_migrations_build_the_models_schema(database_url: str) -> None:
    engine = make_engine(database_url)  # migrated to head by the session fixture
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"include_object": include_object})
            assert compare_metadata(context, Base.metadata) == []
    finally:
        engine.dispose()


def test_0002_derives_max_severity_of_earlier_submissions(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    try:
        upgrade(engine, "0001")
        flags = '[{"severity": "timing"}, {"severity": "discuss"}, {"severity": "info"}]'
        with engine.begin() as conn:
            conn.execute(text(
                "INSERT INTO clinic (id, slug, name, allowed_origins, retention_days, created_at)"
                " VALUES (1, 'c', 'C', '[]', 365, '2025-01-01 00:00:00')"
            ))
            for sid, stored in ((1, flags), (2, "[]")):
                conn.execute(
                    text(
                        "INSERT INTO submission (id, clinic_id, answers, flags,"
                        " questionnaire_version, lang, full_name, submitted_at)"
                        " VALUES (:id, 1, '{}', :flags, 'v', 'en', '', '2025-01-01 00:00:00')"
                    ),
                    {"id": sid, "flags": stored},
                )
        upgrade(engine)
        with engine.connect() as conn:
            rows = dict(conn.execute(text("SELECT id, max_severity FROM submission")).all())
        assert rows == {1: "discuss", 2: None}
    finally:
        engine.dispose()


def test_0006_upgrades_drafts_that_hold_completion_marks(tmp_path: Path) -> None:
    """A database from before 0006 (drafts with checked_for and step_checks) upgrades with its
    drafts intact, and can go back down."""
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    try:
        upgrade(engine, "0005")
        with engine.begin() as conn:
            conn.execute(text(
                "INSERT INTO clinic (id, slug, name, allowed_origins, retention_days, created_at)"
                " VALUES (1, 'c', 'C', '[]', 365, '2025-01-01 00:00:00')"
            ))
            conn.execute(text(
                "INSERT INTO draft (id, clinic_id, token_hash, answers, current_step, lang,"
                " created_at, updated_at, expires_at, checked_for, step_checks)"
                " VALUES (1, 1, 'h', '{\"age_band\": \"30_44\"}', 'goals', 'en',"
                " '2025-01-01 00:00:00', '2025-01-01 00:00:00', '2099-01-01 00:00:00',"
                " 'v:2025-01-01:abc', '{\"about_you\": \"abc\"}')"
            ))
        upgrade(engine)
        with engine.connect() as conn:
            columns = {r[1] for r in conn.execute(text("PRAGMA table_info(draft)"))}
            row = conn.execute(text("SELECT answers, current_step FROM draft")).one()
        assert "checked_for" not in columns and "step_checks" not in columns
        assert tuple(row) == ('{"age_band": "30_44"}', "goals")
        downgrade(engine, "0005")
        with engine.connect() as conn:
            columns = {r[1] for r in conn.execute(text("PRAGMA table_info(draft)"))}
        assert {"checked_for", "step_checks"} <= columns
    finally:
        engine.dispose()


def test_0010_counts_and_indexes_earlier_submissions(tmp_path: Path) -> None:
    """Submissions made before 0010 are counted and found by name after it; down and up again
    leaves the same."""
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    try:
        upgrade(engine, "0008")
        with engine.begin() as conn:
            conn.execute(text(
                "INSERT INTO clinic (id, slug, name, allowed_origins, retention_days, created_at)"
                " VALUES (1, 'c', 'C', '[]', 365, '2025-01-01 00:00:00')"
            ))
            for sid, name, severity, reviewed in (
                (1, "陳美玲", "red_flag", None),
                (2, "Mei Chen", "red_flag", "2025-01-02 00:00:00"),
                (3, "李明", None, None),
            ):
                conn.execute(
                    text(
                        "INSERT INTO submission (id, clinic_id, answers, flags,"
                        " questionnaire_version, lang, full_name, submitted_at, max_severity,"
                        " reviewed_at) VALUES (:id, 1, '{}', '[]', 'v', 'en', :name,"
                        " '2025-01-01 00:00:00', :severity, :reviewed)"
                    ),
                    {"id": sid, "name": name, "severity": severity, "reviewed": reviewed},
                )

        def state() -> tuple[Any, ...]:
            with engine.connect() as conn:
                counts = conn.execute(text(
                    "SELECT total, unreviewed, red_flags, red_flags_unreviewed"
                    " FROM submission_count WHERE clinic_id = 1"
                )).one()
                found = [
                    conn.execute(
                        text("SELECT rowid FROM submission_name WHERE submission_name MATCH :q"),
                        {"q": q},
                    ).scalars().all()
                    for q in ('name : "chen"', 'short : "美美美玲玲玲"', 'short : "李李李"')
                ]
            return tuple(counts), found

        upgrade(engine)
        assert state() == ((3, 2, 2, 1), [[2], [1], [3]])
        downgrade(engine, "0008")
        with engine.connect() as conn:
            tables = {r[0] for r in conn.execute(text("SELECT name FROM sqlite_master"))}
        assert not {t for t in tables if t.startswith(("submission_count", "submission_name"))}
        upgrade(engine)
        assert state() == ((3, 2, 2, 1), [[2], [1], [3]])
    finally:
        engine.dispose()


def test_migrations_keep_every_row_that_refers_to_a_copied_table(tmp_path: Path) -> None:
    """SQLite alters a table by copying it: the copy must not delete or empty the rows that
    refer to it (a submission's draft, a clinic's submissions), going up and down again."""
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    try:
        upgrade(engine, "0005")
        with engine.begin() as conn:
            conn.execute(text(
                "INSERT INTO clinic (id, slug, name, allowed_origins, retention_days, created_at)"
                " VALUES (1, 'c', 'C', '[]', 365, '2025-01-01 00:00:00')"
            ))
            conn.execute(text(
                "INSERT INTO draft (id, clinic_id, token_hash, answers, lang, created_at,"
                " updated_at, expires_at) VALUES (1, 1, 'h', '{}', 'en', '2025-01-01 00:00:00',"
                " '2025-01-01 00:00:00', '2099-01-01 00:00:00')"
            ))
            conn.execute(text(
                "INSERT INTO submission (id, clinic_id, draft_id, answers, flags,"
                " questionnaire_version, lang, full_name, submitted_at) VALUES (1, 1, 1, '{}',"
                " '[]', 'v', 'en', 'A', '2025-01-01 00:00:00')"
            ))

        def rows() -> tuple[Any, ...]:
            with engine.connect() as conn:
                return tuple(conn.execute(text(
                    "SELECT (SELECT count(*) FROM draft), id, draft_id FROM submission"
                )).one())

        upgrade(engine)
        assert rows() == (1, 1, 1)
        downgrade(engine, "0005")
        assert rows() == (1, 1, 1)
        upgrade(engine)
        assert rows() == (1, 1, 1)
    finally:
        engine.dispose()


def test_0013_adds_clinic_languages_and_texts_and_goes_back(tmp_path: Path) -> None:
    """A clinic from before 0013 offers every language with no texts of its own; its texts
    and a signed consent text stored after it go with a downgrade, the clinic and its
    submission count stay, and it upgrades again."""
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    try:
        upgrade(engine, "0012")
        with engine.begin() as conn:
            conn.execute(text(
                "INSERT INTO clinic (id, slug, name, allowed_origins, retention_days, created_at,"
                " timezone) VALUES (1, 'c', 'C', '[]', 365, '2025-01-01 00:00:00', 'UTC')"
            ))
            conn.execute(text(
                "INSERT INTO submission (id, clinic_id, answers, flags, questionnaire_version,"
                " lang, full_name, submitted_at) VALUES (1, 1, '{}', '[]', 'v', 'en', 'A',"
                " '2025-01-01 00:00:00')"
            ))

        def clinic_columns() -> set[str]:
            with engine.connect() as conn:
                return {r[1] for r in conn.execute(text("PRAGMA table_info(clinic)"))}

        def kept() -> tuple[Any, ...]:
            with engine.connect() as conn:
                return tuple(conn.execute(text(
                    "SELECT name, (SELECT total FROM submission_count WHERE clinic_id = 1),"
                    " (SELECT count(*) FROM submission) FROM clinic WHERE id = 1"
                )).one())

        upgrade(engine)
        assert {"languages", "default_lang", "texts"} <= clinic_columns()
        with engine.begin() as conn:
            assert tuple(conn.execute(text(
                "SELECT languages, default_lang, texts FROM clinic"
            )).one()) == (None, None, None)
            conn.execute(text(
                "UPDATE clinic SET languages = '[\"zh-Hant\"]', default_lang = 'zh-Hant',"
                " texts = '{\"zh-Hant\": {\"intro\": \"歡迎\"}}'"
            ))
            conn.execute(text(
                "INSERT INTO consent_text (version, lang, title, body, declaration, created_at)"
                " VALUES ('abc123abc123', 'zh-Hant', 'T', '同意', 'D', '2025-01-02 00:00:00')"
            ))
            # A clinic made after 0013 still gets its submission counter (0012's trigger).
            conn.execute(text(
                "INSERT INTO clinic (id, slug, name, allowed_origins, retention_days, created_at,"
                " timezone) VALUES (2, 'd', 'D', '[]', 365, '2025-01-01 00:00:00', 'UTC')"
            ))
            assert conn.execute(text(
                "SELECT count(*) FROM submission_count WHERE clinic_id = 2"
            )).scalar() == 1
        assert kept() == ("C", 1, 1)
        downgrade(engine, "0012")
        assert not {"languages", "default_lang", "texts"} & clinic_columns()
        with engine.connect() as conn:
            tables = {r[0] for r in conn.execute(text("SELECT name FROM sqlite_master"))}
        assert "consent_text" not in tables and "clinic_submission_count" in tables
        assert kept() == ("C", 1, 1)
        upgrade(engine)
        assert kept() == ("C", 1, 1)
    finally:
        engine.dispose()


def test_0015_keeps_drafts_and_marks_them_unrecorded(tmp_path: Path) -> None:
    """Drafts made before 0015 keep their rows (and their submission's link) and get NULL in
    embedded and furthest_step, how far they got being unknown; down again drops the two
    columns and the index, and keeps the rows."""
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    try:
        upgrade(engine, "0012")
        with engine.begin() as conn:
            conn.execute(text(
                "INSERT INTO clinic (id, slug, name, allowed_origins, retention_days, created_at)"
                " VALUES (1, 'c', 'C', '[]', 365, '2025-01-01 00:00:00')"
            ))
            for did, step, sent in ((1, "goals", None), (2, None, "2025-01-01 00:20:00")):
                conn.execute(text(
                    "INSERT INTO draft (id, clinic_id, token_hash, answers, current_step, lang,"
                    " created_at, updated_at, expires_at, submitted_at) VALUES (:id, 1, :h,"
                    " '{\"age_band\": \"30_44\"}', :step, 'zh-Hant', '2025-01-01 00:00:00',"
                    " '2025-01-01 00:00:00', '2099-01-01 00:00:00', :sent)"
                ), {"id": did, "h": f"h{did}", "step": step, "sent": sent})
            conn.execute(text(
                "INSERT INTO submission (id, clinic_id, draft_id, answers, flags,"
                " questionnaire_version, lang, full_name, submitted_at) VALUES (1, 1, 2, '{}',"
                " '[]', 'v', 'zh-Hant', 'A', '2025-01-01 00:20:00')"
            ))

        def rows() -> list[tuple[Any, ...]]:
            with engine.connect() as conn:
                return [tuple(r) for r in conn.execute(text(
                    "SELECT d.id, d.current_step, d.lang, d.submitted_at IS NOT NULL, s.id"
                    " FROM draft d LEFT JOIN submission s ON s.draft_id = d.id ORDER BY d.id"
                ))]

        def indexes() -> set[str]:
            with engine.connect() as conn:
                return {r[1] for r in conn.execute(text("PRAGMA index_list(draft)"))}

        before = rows()
        assert before == [(1, "goals", "zh-Hant", 0, None), (2, None, "zh-Hant", 1, 1)]
        upgrade(engine)
        assert rows() == before
        assert "ix_draft_clinic_created" in indexes()
        with engine.connect() as conn:
            added = conn.execute(text("SELECT embedded, furthest_step FROM draft")).all()
        assert [tuple(r) for r in added] == [(None, None), (None, None)]
        downgrade(engine, "0012")
        assert rows() == before
        assert "ix_draft_clinic_created" not in indexes()
        with engine.connect() as conn:
            columns = {r[1] for r in conn.execute(text("PRAGMA table_info(draft)"))}
        assert not {"embedded", "furthest_step"} & columns
    finally:
        engine.dispose()
