"""The dashboard's migrations: the schema they build is the models' schema, on SQLite and on
PostgreSQL, and 0002 derives max_severity for submissions made before it."""
from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text

from screener.storage.db import make_engine
from screener.storage.migrate import downgrade, upgrade
from screener.storage.models import Base


def test_migrations_build_the_models_schema(database_url: str) -> None:
    engine = make_engine(database_url)  # migrated to head by the session fixture
    try:
        with engine.connect() as conn:
            assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
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
