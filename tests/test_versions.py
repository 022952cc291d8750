"""Questionnaire versions: a submission reads, prints and exports exactly as it was answered after
the questionnaire changed, in both languages, on both databases.

tests/fixtures/version_b.yaml is the next version of version_a.yaml: it rewords a question and
one of its choices, and drops a question. A submission is made through the wizard with A loaded;
the app is then started again with B on the same database (a new create_app), as after an edit
of questions.yaml and a restart.
"""
from __future__ import annotations

import csv
import io
import json
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jinja2
import pytest
from click.testing import CliRunner
from flask import Flask, g
from flask.cli import ScriptInfo
from sqlalchemy import func, select, text

from screener import create_app
from screener.cli import init_db
from screener.config import ROOT
from screener.exports.csv import BOM, FIXED_COLUMNS
from screener.extensions import db
from screener.questionnaire import parse_questionnaire
from screener.screening.render import render_practitioner_summary
from screener.storage import versions
from screener.storage.db import make_engine
from screener.storage.migrate import downgrade, upgrade
from screener.storage.models import Clinic, QuestionnaireVersion, Submission

from .conftest import RELAXED_LIMITS, TEST_SECRET, Walker, _clean
from .dashboard_support import PASSWORD, fast_hashing, login  # noqa: F401

VERSION_A = ROOT / "tests" / "fixtures" / "version_a.yaml"
VERSION_B = ROOT / "tests" / "fixtures" / "version_b.yaml"
LANGS = ("en", "zh-Hant")
EMAIL = "pa@example.com"

# What only B says: none of it may appear when a submission answered in A is read.
B_WORDING = ("trying to conceive", "Yes, or trying", "備孕")
# What A said of the question B dropped (its label and the chosen choice), per language.
DROPPED = {
    "en": ("Which tea do you drink most?", "Oolong tea"),
    "zh-Hant": ("您最常喝哪種茶？", "烏龍茶"),
}
# A's wording of the question B changed, per language.
CHANGED = {"en": "Are you pregnant?", "zh-Hant": "您是否懷孕？"}


def make_app(database_url: str, questions: Path) -> Flask:
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": TEST_SECRET,
            "DATABASE_URL": database_url,
            "QUESTIONS_FILE": str(questions),
            **RELAXED_LIMITS,
        }
    )
    app.jinja_env.undefined = jinja2.StrictUndefined
    return app


@pytest.fixture
def app_a(database_url: str) -> Iterator[Flask]:
    """The app with version A, on a clean database with clinic "demo" and one practitioner."""
    from screener.dashboard import auth

    app = make_app(database_url, VERSION_A)
    with app.app_context():
        _clean(app)
        with db.transaction() as s:
            clinic = Clinic(slug="demo", name="Demo Clinic", allowed_origins=[])
            s.add(clinic)
            s.flush()
            auth.create_practitioner(s, clinic, EMAIL, "Practitioner", PASSWORD, "practitioner")
    yield app
    db.of(app).engine.dispose()


@pytest.fixture
def app_b(app_a: Flask, database_url: str) -> Iterator[Flask]:
    """The app started again with version B, on the same database (made when first used)."""
    app = make_app(database_url, VERSION_B)
    yield app
    db.of(app).engine.dispose()


def answer(app: Flask, steps: list[dict[str, str]]) -> tuple[str, int]:
    """Fill in and send the wizard (one dict per step); the draft's token and submission id."""
    w = Walker(app.test_client())
    w.start("en", steps[0])
    for data in steps:
        r = w.post_step(data)
        assert r.status_code == 303, r.get_data(as_text=True)[-1500:]
    assert w.url.endswith("/review"), w.url
    assert w.submit().status_code == 303
    with app.app_context():
        sid = db.session.scalar(select(func.max(Submission.id)))
    assert sid is not None
    return w.token, sid


A_ANSWERS = [{"pregnancy": "yes", "tea": "oolong"}, {"full_name": "Mei Chen", "consent_store": "y"}]
B_ANSWERS = [{"pregnancy": "no"}, {"full_name": "Lin Wu", "consent_store": "y"}]


def read_csv(body: bytes) -> tuple[list[str], list[dict[str, str]]]:
    assert body.startswith(BOM.encode())
    reader = csv.DictReader(io.StringIO(body.decode("utf-8-sig"), newline=""))
    rows = list(reader)
    return list(reader.fieldnames or ()), rows


CSRF = re.compile(r'csrf_token"[^>]*>')
NOTICE = re.compile(r'\s*<p class="notice">.*?</p>', re.S)


def readings(app: Flask, token: str, sid: int) -> dict[str, Any]:
    """Everything that shows or exports the submission: the client and practitioner summaries
    in both languages, the JSON and FHIR exports, its CSV row."""
    out: dict[str, Any] = {}
    client = app.test_client()
    for lang in LANGS:
        r = client.get(f"/c/demo/d/{token}/summary?lang={lang}")
        assert r.status_code == 200, r.status_code
        out[f"client {lang}"] = r.get_data(as_text=True)
    dashboard = app.test_client()
    assert login(dashboard, EMAIL).status_code == 302
    for lang in LANGS:
        r = dashboard.get(f"/dashboard/submissions/{sid}?lang={lang}")
        assert r.status_code == 200, r.status_code
        out[f"practitioner {lang}"] = CSRF.sub('csrf_token">', r.get_data(as_text=True))
    for kind in ("json", "fhir.json"):
        r = dashboard.get(f"/dashboard/submissions/{sid}.{kind}")
        assert r.status_code == 200, r.status_code
        out[kind] = r.get_data(as_text=True)
    _, rows = read_csv(dashboard.get("/dashboard/submissions.csv").get_data())
    out["csv row"] = next(row for row in rows if row["submission_id"] == str(sid))
    return out


def test_a_submission_reads_as_answered_after_the_questionnaire_changed(
    app_a: Flask, database_url: str
) -> None:
    token, sid = answer(app_a, A_ANSWERS)
    version_a = app_a.extensions["questionnaire"].version
    before = readings(app_a, token, sid)
    dashboard = app_a.test_client()
    login(dashboard, EMAIL)
    questionnaire_a = dashboard.get("/dashboard/questionnaire.fhir.json").get_data(as_text=True)
    db.of(app_a).engine.dispose()

    app_b = make_app(database_url, VERSION_B)
    try:
        assert app_b.extensions["questionnaire"].version != version_a
        after = readings(app_b, token, sid)
        # The practitioner is told the questionnaire has changed since ...
        for lang in LANGS:
            assert NOTICE.search(after[f"practitioner {lang}"])
            after[f"practitioner {lang}"] = NOTICE.sub("", after[f"practitioner {lang}"], 1)
        # ... and everything else reads exactly as before the change.
        for key, value in before.items():
            assert after[key] == value, key

        for lang in LANGS:
            for page in (after[f"client {lang}"], after[f"practitioner {lang}"]):
                assert CHANGED[lang] in page
                for words in DROPPED[lang]:
                    assert words in page, (lang, words)
                for words in B_WORDING:
                    assert words not in page
            assert "<code>tea</code>" not in after[f"practitioner {lang}"]  # no raw key
        assert ">Yes<" in after["practitioner en"] and ">是<" in after["practitioner zh-Hant"]
        assert list(json.loads(after["json"])["answers"]) == [
            "pregnancy", "tea", "full_name", "consent_store",
        ]
        response = json.loads(after["fhir.json"])
        assert response["questionnaire"].endswith(f"/Questionnaire/screener|{version_a}")
        [about_you] = [i for i in response["item"] if i["linkId"] == "about_you"]
        assert [(i["linkId"], i["text"]) for i in about_you["item"]] == [
            ("pregnancy", "Are you pregnant?"),
            ("tea", "Which tea do you drink most?"),
        ]
        assert about_you["item"][0]["answer"][0]["valueCoding"]["display"] == "Yes"
        assert after["csv row"]["tea"] == "oolong"

        # The FHIR Questionnaire the response names (…|<version A>) is A, as served before.
        dashboard = app_b.test_client()
        login(dashboard, EMAIL)
        r = dashboard.get(f"/dashboard/questionnaire.fhir.json?version={version_a}")
        assert r.status_code == 200
        assert json.loads(r.get_data(as_text=True)) == json.loads(questionnaire_a)
        assert json.loads(questionnaire_a)["version"] == version_a
        current = json.loads(dashboard.get("/dashboard/questionnaire.fhir.json").get_data())
        assert current["version"] == app_b.extensions["questionnaire"].version
        for unknown in ("0123456789ab", "x\x00", "../", "A" * 40):
            r = dashboard.get(
                "/dashboard/questionnaire.fhir.json", query_string={"version": unknown}
            )
            assert r.status_code == 404, unknown
    finally:
        db.of(app_b).engine.dispose()


def test_a_csv_across_versions_has_the_union_of_their_columns(
    app_a: Flask, app_b: Flask
) -> None:
    _, old = answer(app_a, A_ANSWERS)
    _, new = answer(app_b, B_ANSWERS)
    dashboard = app_b.test_client()
    login(dashboard, EMAIL)
    header, rows = read_csv(dashboard.get("/dashboard/submissions.csv").get_data())
    # The current version's questions in its order, then those only older versions have.
    assert header == [*FIXED_COLUMNS, "pregnancy", "full_name", "consent_store", "tea"]
    by_id = {int(row["submission_id"]): row for row in rows}
    assert by_id[old]["tea"] == "oolong" and by_id[old]["pregnancy"] == "yes"
    assert by_id[new]["tea"] == "" and by_id[new]["full_name"] == "Lin Wu"
    # Only the versions of the exported rows count: without A's row, no tea column.
    header, _ = read_csv(dashboard.get("/dashboard/submissions.csv?severity=none").get_data())
    assert header == [*FIXED_COLUMNS, "pregnancy", "full_name", "consent_store"]


def test_two_servers_store_a_new_version_at_once(app_a: Flask, database_url: str) -> None:
    """Two app servers sending the first submissions of a version at the same moment: both
    store it, neither fails, it is stored once."""
    other = make_app(database_url, VERSION_A)
    qn = app_a.extensions["questionnaire"]
    inserted, go = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def first() -> None:
        try:
            with app_a.app_context(), db.transaction() as s:
                versions.record(s, qn)
                inserted.set()
                go.wait(10)  # still uncommitted while the other server records it
        except BaseException as exc:  # reported below
            errors.append(exc)
            inserted.set()

    def second() -> None:
        try:
            inserted.wait(10)
            with other.app_context(), db.transaction() as s:
                versions.record(s, qn)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    try:
        for t in threads:
            t.start()
        inserted.wait(10)
        time.sleep(0.5)  # the second server is now waiting on the first one's row (or lock)
        go.set()
        for t in threads:
            t.join(20)
        assert errors == []
        with app_a.app_context():
            stored = db.session.scalars(select(QuestionnaireVersion)).all()
        assert [(v.version, v.source) for v in stored] == [(qn.version, VERSION_A.read_text())]
    finally:
        go.set()
        db.of(other).engine.dispose()


def test_init_db_stores_the_version_so_earlier_submissions_keep_their_wording(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A database from before versions were stored: `flask init-db` migrates it and stores the
    version being deployed, so its submissions of that version read as answered after the next
    change; a submission of a version never stored is read with the current questionnaire."""
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = make_engine(url)
    upgrade(engine, "0006")
    version_a = parse_questionnaire(VERSION_A.read_bytes()).version
    with engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO clinic (id, slug, name, allowed_origins, retention_days, created_at)"
            " VALUES (1, 'demo', 'Demo', '[]', 365, '2025-01-01 00:00:00')"
        ))
        for sid, version in ((1, version_a), (2, "0123456789ab")):
            conn.execute(
                text(
                    "INSERT INTO submission (id, clinic_id, answers, flags, questionnaire_version,"
                    " lang, full_name, submitted_at) VALUES (:id, 1,"
                    " '{\"pregnancy\": \"no\", \"tea\": \"oolong\"}', '[]', :version, 'en', '',"
                    " '2025-01-01 00:00:00')"
                ),
                {"id": sid, "version": version},
            )
    engine.dispose()

    monkeypatch.setenv("SCREENER_INSTANCE", str(tmp_path / "instance"))
    started: list[Flask] = []

    def start() -> Flask:
        started.append(make_app(url, VERSION_A))
        return started[-1]

    result = CliRunner().invoke(init_db, obj=ScriptInfo(create_app=start))
    for app in started:
        db.of(app).engine.dispose()
    assert result.exit_code == 0, result.output

    app_b = make_app(url, VERSION_B)
    try:
        pages = {}
        for sid in (1, 2):
            with app_b.test_request_context():
                g.lang = "en"
                pages[sid] = render_practitioner_summary(db.session.get(Submission, sid), "en")
        assert "Which tea do you drink most?" in pages[1] and "Oolong tea" in pages[1]
        assert "<code>tea</code>" not in pages[1]
        # Never stored: the current wording, and the dropped question's answer under its id.
        assert "Are you pregnant or trying to conceive?" in pages[2]
        assert "<code>tea</code>" in pages[2]
    finally:
        db.of(app_b).engine.dispose()
    engine = make_engine(url)
    try:
        downgrade(engine, "0006")
        with engine.connect() as conn:
            tables = {r[0] for r in conn.execute(text("SELECT name FROM sqlite_master"))}
        assert "questionnaire_version" not in tables and "submission" in tables
    finally:
        engine.dispose()
