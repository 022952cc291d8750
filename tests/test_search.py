"""Name search ("Name contains") on the submission list: exactly the names that contain the
text, ignoring case, for Latin and Chinese names and searches of any length (a 1-character
surname, a 2-character given name), read from a trigram index on both databases."""

# ruff: noqa: F811  (shared fixtures from dashboard_support are imported by name)
from __future__ import annotations

import random
import re
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import event, insert, select, text, update

from screener.dashboard import queries
from screener.extensions import db
from screener.storage.models import Submission, utcnow

from .dashboard_support import accounts, add_submission, clinics, logged_in  # noqa: F401

# Few letters, so that names share pieces; Latin in both cases, Chinese, LIKE's wildcards, a
# quote (FTS5's phrase delimiter), a backslash and a space.
ALPHABET = "aAbBüÜ陳美玲李明大文%_\"\\' "
NAMES = [
    "Mei Chen", "陳美玲", "Wong Siu-ming", "黃小明", "Anna Müller", "ANNA MÜLLER", "李明",
    "陳大文", "O'Brien", "Ann 100%_sure", "李", "", "林志玲", 'Chen "Bo"', "back\\slash",
]


def page_ids(html: str) -> list[int]:
    return [int(m) for m in re.findall(r'href="/dashboard/submissions/(\d+)"', html)]


def contains(name: str, search: str) -> bool:
    return search.strip().lower() in name.lower()


def seed(app: Flask, clinics: dict[str, int], names: list[str]) -> dict[int, str]:
    """Clinic A's submissions with these names; id -> name, newest first. Clinic B has the same
    names: never found from clinic A."""
    qn = app.extensions["questionnaire"]
    now = utcnow()
    with app.app_context(), db.transaction() as s:
        for clinic_id in (clinics["other"], clinics["demo"]):
            s.execute(insert(Submission), [
                {"clinic_id": clinic_id, "answers": {}, "flags": [],
                 "questionnaire_version": qn.version, "lang": "en", "full_name": name,
                 "submitted_at": now}
                for name in names
            ])
        rows = s.execute(
            select(Submission.id, Submission.full_name)
            .where(Submission.clinic_id == clinics["demo"]).order_by(Submission.id.desc())
        ).all()
    return dict(rows)  # type: ignore[arg-type]


@pytest.fixture
def named(app: Flask, clinics: dict[str, int]) -> dict[int, str]:
    return seed(app, clinics, NAMES)


@pytest.fixture
def many_named(app: Flask, clinics: dict[str, int]) -> dict[int, str]:
    """The NAMES and 120 random names of ALPHABET."""
    rng = random.Random(7)
    return seed(app, clinics, NAMES + [
        "".join(rng.choice(ALPHABET) for _ in range(rng.randrange(1, 8))) for _ in range(120)
    ])


def found(app: Flask, clinic_id: int, search: str) -> list[int]:
    """Every id the list finds for a search, page after page."""
    ids: list[int] = []
    before = None
    with app.app_context():
        while True:
            page = queries.submission_page(
                db.session, clinic_id, queries.Filters(name=search), before=before
            )
            ids += [row.id for row in page.rows]
            if page.older is None:
                return ids
            before = page.older


@pytest.mark.parametrize("few_matches", [queries.FEW_MATCHES, 0])
@settings(
    max_examples=60, deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(search=st.text(alphabet=ALPHABET, min_size=1, max_size=5))
def test_search_finds_exactly_the_names_that_contain_it(
    app: Flask, clinics: dict[str, int], many_named: dict[int, str], few_matches: int,
    search: str, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Any search of the alphabet, 1 to 5 characters; on SQLite both ways of reading a page
    (from few matches, or from the clinic's rows against many)."""
    monkeypatch.setattr(queries, "FEW_MATCHES", few_matches)
    expected = [sid for sid, name in many_named.items() if contains(name, search)]
    if not search.strip():
        expected = list(many_named)
    assert found(app, clinics["demo"], search) == expected


@pytest.mark.parametrize(
    ("search", "names"),
    [
        ("陳", {"陳美玲", "陳大文"}),  # a surname
        ("美玲", {"陳美玲"}),  # a 2-character given name
        ("李明", {"李明"}),  # a whole 2-character name
        ("明", {"黃小明", "李明"}),
        ("大文", {"陳大文"}),
        ("chen", {"Mei Chen", 'Chen "Bo"'}),
        ("MÜLL", {"Anna Müller", "ANNA MÜLLER"}),
        ("mü", {"Anna Müller", "ANNA MÜLLER"}),
        ("n", {"Mei Chen", "Wong Siu-ming", "Anna Müller", "ANNA MÜLLER", "O'Brien",
               "Ann 100%_sure", 'Chen "Bo"'}),
        ("%_", {"Ann 100%_sure"}),  # LIKE's wildcards are matched literally
        ("%", {"Ann 100%_sure"}),
        ('"', {'Chen "Bo"'}),
        ('"Bo"', {'Chen "Bo"'}),
        ("\\", {"back\\slash"}),
        ("'", {"O'Brien"}),
        ("  李明  ", {"李明"}),  # spaces around are ignored
        ("nobody", set()),
        ("陳小", set()),
    ],
)
def test_latin_and_chinese_searches(
    app: Flask, clinics: dict[str, int], named: dict[int, str], search: str, names: set[str]
) -> None:
    ids = found(app, clinics["demo"], search)
    assert {named[i] for i in ids} == names
    assert ids == sorted(ids, reverse=True)  # newest first


def test_search_follows_renames_and_deletions(
    app: Flask, clinics: dict[str, int], named: dict[int, str]
) -> None:
    sid = next(i for i, name in named.items() if name == "陳美玲")
    with app.app_context(), db.transaction() as s:
        s.execute(update(Submission).where(Submission.id == sid).values(full_name="Lee Mei"))
    assert found(app, clinics["demo"], "美玲") == []
    assert found(app, clinics["demo"], "lee") == [sid]
    with app.app_context(), db.transaction() as s:
        s.execute(Submission.__table__.delete().where(Submission.id == sid))
    assert found(app, clinics["demo"], "lee") == []
    assert {named[i] for i in found(app, clinics["demo"], "陳")} == {"陳大文"}


def test_search_over_http_and_in_the_csv(
    app: Flask, clinics: dict[str, int], logged_in: Callable[[str], FlaskClient]
) -> None:
    for name in ("陳美玲", "陳大文", "Mei Chen"):
        add_submission(app, clinics["demo"], {"full_name": name})
    client = logged_in("pa@example.com")
    page = client.get("/dashboard/", query_string={"name": "美玲"}).get_data(as_text=True)
    assert len(page_ids(page)) == 1 and "陳美玲" in page
    csv = client.get("/dashboard/submissions.csv", query_string={"name": "陳"})
    assert csv.status_code == 200
    assert len(csv.get_data(as_text=True).strip().splitlines()) == 3  # header and 2 rows


def _statement_of(app: Flask, run: Callable[[], Any]) -> tuple[str, Any]:
    """The last SELECT with a LIMIT that `run` sends to the database, with its parameters."""
    sent: list[tuple[str, Any]] = []

    def keep(conn: Any, cursor: Any, statement: str, parameters: Any, *args: Any) -> None:
        sent.append((statement, parameters))

    engine = db.of(app).engine
    event.listen(engine, "before_cursor_execute", keep)
    try:
        run()
    finally:
        event.remove(engine, "before_cursor_execute", keep)
    return next(s for s in reversed(sent) if "LIMIT" in s[0])


@pytest.mark.parametrize("search", ["nobody", "陳", "美玲"])
def test_a_name_search_reads_the_trigram_index(
    app: Flask, clinics: dict[str, int], named: dict[int, str], search: str
) -> None:
    """SQLite: the list's page comes from the FTS5 index, submissions looked up by id.
    PostgreSQL: the search's condition is answered by its pg_trgm index (whether the planner
    takes it for a page depends on the table's statistics: the benchmark shows it does)."""
    with app.app_context():
        session = db.session
        cursor = session.connection().connection.driver_connection.cursor()
        if db.of(app).engine.dialect.name == "sqlite":
            statement, parameters = _statement_of(app, lambda: queries.submission_page(
                session, clinics["demo"], queries.Filters(name=search)
            ))
            cursor.execute("EXPLAIN QUERY PLAN " + statement, parameters)
            plan = "\n".join(str(row[-1]) for row in cursor.fetchall())
            assert "VIRTUAL TABLE" in plan, plan
            assert "SEARCH submission USING INTEGER PRIMARY KEY" in plan, plan
        else:
            condition = queries.submission_filters(
                session, clinics["demo"], queries.Filters(name=search)
            )[-1]
            statement, parameters = _statement_of(app, lambda: session.execute(
                select(Submission.id).where(condition).limit(1)
            ))
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute("EXPLAIN " + statement, parameters)
            plan = "\n".join(str(row[0]) for row in cursor.fetchall())
            index = "ix_submission_name_short_trgm" if len(search) <= 2 else "ix_submission_name_trgm"
            assert index in plan, plan
        session.rollback()


def test_the_fts_table_stores_no_names(app: Flask, named: dict[int, str]) -> None:
    """On SQLite the index holds no copy of the names (content=''): the rows' only copy is
    the submission, which a deletion removes."""
    if db.of(app).engine.dialect.name != "sqlite":
        pytest.skip("SQLite's FTS5 table")
    with app.app_context():
        values = db.session.execute(text("SELECT name, short FROM submission_name")).all()
    assert values and all(v == (None, None) for v in values)
