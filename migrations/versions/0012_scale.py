"""submission_count: the dashboard's counters, kept by triggers; name search by trigram index;
export_job: CSV exports too large for one request, prepared in the background

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-10

The numbers at the top of the submission list (red flags not reviewed, not reviewed, red flags
in all) were counted over every matching row on every page load. They now live in one row per
clinic, changed by triggers on `submission` in the same transaction as the INSERT, UPDATE or
DELETE that changes them: exact, and one row to read at any size. Triggers rather than
application code, because every way a submission is written then counts (the wizard, the
dashboard, the purge's bulk DELETEs, a bulk INSERT, a clinic deleted with its submissions),
and no future code path can forget them.

- SQLite: row triggers (writes are serialized by the database lock anyway).
- PostgreSQL: statement triggers with transition tables, one atomic
  `UPDATE ... SET n = n + delta` per clinic and statement (a purge batch of thousands of rows
  changes the counter row once); concurrent writers of one clinic queue on that row's lock for
  the rest of their (short) transaction, and never lose a count.

A TRUNCATE of `submission` bypasses them (the product never truncates).

Name search ("Name contains", screener/dashboard/queries.py) reads an index on both engines:

- SQLite: `submission_name`, an FTS5 table with the trigram tokenizer (SQLite 3.34 or newer),
  kept by triggers. It stores no text of its own (content=''), only the index, of two columns:
  `name` (the name) for searches of 3 characters or more, and `short` (the name with every
  character written three times, "陳美玲" -> "陳陳陳美美美玲玲玲") for searches of 1 or 2: tripled,
  a 1- or 2-character search is a 3- or 6-character one, which the trigram index answers
  exactly (a Chinese surname, a 2-character given name).
- PostgreSQL: `pg_trgm` GIN indexes on lower(full_name) and on the same tripled form, for LIKE.
  CREATE EXTENSION needs PostgreSQL's contrib modules (in Debian's postgresql package) and the
  CREATE privilege on the database; the database's locale must class Chinese characters as
  letters (any UTF-8 locale such as C.UTF-8 or en_US.UTF-8; not plain C), or pg_trgm skips them.
"""
# ruff: noqa: S608  (SQL built from this file's constants only)
from __future__ import annotations

import sqlite3

import sqlalchemy as sa
from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

COUNTERS = ('total', 'unreviewed', 'red_flags', 'red_flags_unreviewed')
RED = "max_severity = 'red_flag'"
UNREVIEWED = 'reviewed_at IS NULL'


def _sqlite_deltas(row: str, sign: str) -> str:
    """SET clauses adding (sign '+') or taking away ('-') one row's contributions."""
    red = f"({row}.max_severity IS 'red_flag')"
    unreviewed = f"({row}.reviewed_at IS NULL)"
    return (
        f"total = total {sign} 1, unreviewed = unreviewed {sign} {unreviewed},"
        f" red_flags = red_flags {sign} {red},"
        f" red_flags_unreviewed = red_flags_unreviewed {sign} ({red} AND {unreviewed})"
    )


SQLITE_TRIGGERS = (
    """CREATE TRIGGER clinic_submission_count AFTER INSERT ON clinic BEGIN
        INSERT INTO submission_count (clinic_id) VALUES (NEW.id);
    END""",
    f"""CREATE TRIGGER submission_count_insert AFTER INSERT ON submission BEGIN
        UPDATE submission_count SET {_sqlite_deltas('NEW', '+')}
        WHERE clinic_id = NEW.clinic_id;
    END""",  # nosec B608
    f"""CREATE TRIGGER submission_count_delete AFTER DELETE ON submission BEGIN
        UPDATE submission_count SET {_sqlite_deltas('OLD', '-')}
        WHERE clinic_id = OLD.clinic_id;
    END""",  # nosec B608
    f"""CREATE TRIGGER submission_count_update
    AFTER UPDATE OF clinic_id, reviewed_at, max_severity ON submission
    WHEN OLD.clinic_id IS NOT NEW.clinic_id
      OR (OLD.reviewed_at IS NULL) IS NOT (NEW.reviewed_at IS NULL)
      OR OLD.max_severity IS NOT NEW.max_severity
    BEGIN
        UPDATE submission_count SET {_sqlite_deltas('OLD', '-')}
        WHERE clinic_id = OLD.clinic_id;
        UPDATE submission_count SET {_sqlite_deltas('NEW', '+')}
        WHERE clinic_id = NEW.clinic_id;
    END""",  # nosec B608
)


def _pg_rows(table: str, sign: str) -> str:
    """Each row of a transition table as its signed contributions."""
    return (
        f"SELECT clinic_id, {sign}1 AS total,"
        f" {sign}({UNREVIEWED})::int AS unreviewed,"
        f" {sign}(coalesce({RED}, false))::int AS red_flags,"
        f" {sign}(coalesce({RED}, false) AND {UNREVIEWED})::int AS red_flags_unreviewed"
        f" FROM {table}"  # nosec B608
    )


def _pg_apply(rows: str) -> str:
    sums = ', '.join(f'sum({c}) AS {c}' for c in COUNTERS)
    sets = ', '.join(f'{c} = c.{c} + d.{c}' for c in COUNTERS)
    changed = ' OR '.join(f'd.{c} <> 0' for c in COUNTERS)
    return (
        f"UPDATE submission_count AS c SET {sets}"
        f" FROM (SELECT clinic_id, {sums} FROM ({rows}) AS r GROUP BY clinic_id) AS d"
        f" WHERE c.clinic_id = d.clinic_id AND ({changed});"  # nosec B608
    )


PG_FUNCTIONS = (
    """CREATE FUNCTION clinic_submission_count() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO submission_count (clinic_id) VALUES (NEW.id);
        RETURN NULL;
    END $$""",
    f"""CREATE FUNCTION submission_count_insert() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        {_pg_apply(_pg_rows('new_rows', '+'))}
        RETURN NULL;
    END $$""",
    f"""CREATE FUNCTION submission_count_delete() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        {_pg_apply(_pg_rows('old_rows', '-'))}
        RETURN NULL;
    END $$""",
    f"""CREATE FUNCTION submission_count_update() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        {_pg_apply(_pg_rows('new_rows', '+') + ' UNION ALL ' + _pg_rows('old_rows', '-'))}
        RETURN NULL;
    END $$""",
)

PG_TRIGGERS = (
    """CREATE TRIGGER clinic_submission_count AFTER INSERT ON clinic
    FOR EACH ROW EXECUTE FUNCTION clinic_submission_count()""",
    """CREATE TRIGGER submission_count_insert AFTER INSERT ON submission
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION submission_count_insert()""",
    """CREATE TRIGGER submission_count_delete AFTER DELETE ON submission
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION submission_count_delete()""",
    """CREATE TRIGGER submission_count_update AFTER UPDATE ON submission
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION submission_count_update()""",
)

# "Mei" -> "MMMeeeiii" in SQL (no regular expressions in SQLite: a recursive CTE, which SQLite
# allows inside a trigger's expressions).
def _sqlite_tripled(value: str) -> str:
    third = f"substr({value}, i, 1)"
    return (
        "(WITH RECURSIVE k(i, out) AS (SELECT 1, ''"
        f" UNION ALL SELECT i + 1, out || {third} || {third} || {third} FROM k"
        f" WHERE i <= length({value})) SELECT out FROM k ORDER BY i DESC LIMIT 1)"  # nosec B608
    )


def _fts_insert(row: str) -> str:
    return (
        "INSERT INTO submission_name (rowid, name, short)"
        f" VALUES ({row}.id, {row}.full_name, {_sqlite_tripled(f'{row}.full_name')});"  # nosec B608
    )


def _fts_delete(row: str) -> str:
    # A contentless FTS5 table forgets a row when told the values it indexed.
    return (
        "INSERT INTO submission_name (submission_name, rowid, name, short)"
        f" VALUES ('delete', {row}.id, {row}.full_name, {_sqlite_tripled(f'{row}.full_name')});"  # nosec B608
    )


SQLITE_SEARCH = (
    """CREATE VIRTUAL TABLE submission_name USING fts5(
        name, short, tokenize = 'trigram', content = ''
    )""",
    f"""CREATE TRIGGER submission_name_insert AFTER INSERT ON submission BEGIN
        {_fts_insert('NEW')}
    END""",
    f"""CREATE TRIGGER submission_name_delete AFTER DELETE ON submission BEGIN
        {_fts_delete('OLD')}
    END""",
    f"""CREATE TRIGGER submission_name_update AFTER UPDATE OF id, full_name ON submission BEGIN
        {_fts_delete('OLD')}
        {_fts_insert('NEW')}
    END""",
    "INSERT INTO submission_name (rowid, name, short)"
    f" SELECT id, full_name, {_sqlite_tripled('full_name')} FROM submission",  # nosec B608
)

# The same expressions as screener/dashboard/queries.py's, or the planner uses no index.
PG_SEARCH = (
    'CREATE EXTENSION IF NOT EXISTS pg_trgm',
    'CREATE INDEX ix_submission_name_trgm ON submission'
    ' USING gin (lower(full_name) gin_trgm_ops)',
    'CREATE INDEX ix_submission_name_short_trgm ON submission USING gin'
    " (regexp_replace(lower(full_name), '(.)', '\\1\\1\\1', 'g') gin_trgm_ops)",
)

BACKFILL = f"""
INSERT INTO submission_count (clinic_id, {', '.join(COUNTERS)})
SELECT clinic.id,
       count(submission.id),
       count(CASE WHEN submission.{UNREVIEWED} THEN 1 END),
       count(CASE WHEN submission.{RED} THEN 1 END),
       count(CASE WHEN submission.{RED} AND submission.{UNREVIEWED} THEN 1 END)
FROM clinic LEFT JOIN submission ON submission.clinic_id = clinic.id
GROUP BY clinic.id
"""  # nosec B608


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == 'sqlite'
    op.create_table(
        'submission_count',
        sa.Column('clinic_id', sa.Integer(), nullable=False),
        *(sa.Column(c, sa.Integer(), server_default='0', nullable=False) for c in COUNTERS),
        sa.ForeignKeyConstraint(
            ['clinic_id'], ['clinic.id'],
            name=op.f('fk_submission_count_clinic_id_clinic'), ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('clinic_id', name=op.f('pk_submission_count')),
    )
    if not sqlite:
        # No submission is written between the count below and the triggers taking over.
        op.execute('LOCK TABLE clinic, submission IN SHARE MODE')
        for function in PG_FUNCTIONS:
            op.execute(function)
    for trigger in SQLITE_TRIGGERS if sqlite else PG_TRIGGERS:
        op.execute(trigger)
    op.execute(BACKFILL)
    if sqlite:
        version = tuple(int(n) for n in sqlite3.sqlite_version.split('.'))
        if version < (3, 34):
            raise RuntimeError(
                f'SQLite {sqlite3.sqlite_version} has no FTS5 trigram tokenizer: 3.34 or newer'
            )
    for statement in SQLITE_SEARCH if sqlite else PG_SEARCH:
        op.execute(statement)
    op.create_table(
        'export_job',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('clinic_id', sa.Integer(), nullable=False),
        sa.Column('practitioner_id', sa.Integer(), nullable=False),
        sa.Column('filters', sa.JSON(), nullable=False),
        sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('rows', sa.Integer(), nullable=True),
        sa.Column('file_name', sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ['clinic_id'], ['clinic.id'],
            name=op.f('fk_export_job_clinic_id_clinic'), ondelete='CASCADE',
        ),
        sa.ForeignKeyConstraint(
            ['practitioner_id'], ['practitioner.id'],
            name=op.f('fk_export_job_practitioner_id_practitioner'), ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_export_job')),
    )
    op.create_index('ix_export_job_practitioner', 'export_job', ['practitioner_id', 'requested_at'])
    op.create_index('ix_export_job_status', 'export_job', ['status', 'requested_at'])
    op.create_index(op.f('ix_export_job_expires_at'), 'export_job', ['expires_at'])


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == 'sqlite'
    op.drop_table('export_job')
    if sqlite:
        for name in ('insert', 'delete', 'update'):
            op.execute(f'DROP TRIGGER submission_name_{name}')
        op.execute('DROP TABLE submission_name')
    else:
        op.execute('DROP INDEX ix_submission_name_trgm')
        op.execute('DROP INDEX ix_submission_name_short_trgm')
    for name, table in (
        ('clinic_submission_count', 'clinic'),
        ('submission_count_insert', 'submission'),
        ('submission_count_delete', 'submission'),
        ('submission_count_update', 'submission'),
    ):
        op.execute(f'DROP TRIGGER {name}' if sqlite else f'DROP TRIGGER {name} ON {table}')
        if not sqlite:
            op.execute(f'DROP FUNCTION {name}()')
    op.drop_table('submission_count')
