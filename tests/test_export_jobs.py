"""CSV exports that always finish: a list of up to CSV_STREAM_ROWS rows streams in the request
(bounded so that it ends well within gunicorn's worker timeout); a larger one becomes a job,
prepared by `flask --app screener export` into a file that the practitioner who asked downloads
for a day, audited, and that the purge deletes after."""

# ruff: noqa: F811  (shared fixtures from dashboard_support are imported by name)
from __future__ import annotations

import csv
import datetime as dt
import gzip
import io
import os
import re
import stat
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import insert, update

from screener.config import ROOT
from screener.exports import jobs
from screener.extensions import db
from screener.storage.models import AuditEvent, ExportJob, Submission, utcnow

from .conftest import csrf_of
from .dashboard_support import accounts, clinics, fetch, logged_in  # noqa: F401
from .test_screening import BASE

NAMES = ("陳美玲", "Mei Chen", "=cmd|' /C calc'!A0", "李明", "Wong\r\nSiu-ming")


@pytest.fixture
def instance(app: Flask, tmp_path: Path) -> Iterator[Path]:
    """A fresh instance folder for the app's export files."""
    original = app.instance_path
    app.instance_path = str(tmp_path)
    yield tmp_path
    app.instance_path = original


def seed(app: Flask, clinic_id: int, n: int, now: dt.datetime | None = None) -> None:
    """n submissions, one a minute back from now, names and flags varied."""
    qn = app.extensions["questionnaire"]
    now = now or utcnow()
    rows = []
    for i in range(n):
        flags = [{"severity": "red_flag", "rule": "pregnancy"}] if i % 3 == 0 else []
        name = f"{NAMES[i % len(NAMES)]} {i}"
        rows.append({
            "clinic_id": clinic_id, "answers": {**BASE, "full_name": name}, "flags": flags,
            "max_severity": "red_flag" if flags else None, "questionnaire_version": qn.version,
            "lang": "en", "full_name": name, "submitted_at": now - dt.timedelta(minutes=i),
        })
    with app.app_context(), db.transaction() as s:
        s.execute(insert(Submission), rows)


def records(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline="")))


def streamed(client: FlaskClient, **args: str) -> list[list[str]]:
    r = client.get("/dashboard/submissions.csv", query_string=args)
    assert r.status_code == 200 and r.mimetype == "text/csv", r.status_code
    return records(r.get_data(as_text=True))


def ask_for_file(client: FlaskClient, **args: str) -> Any:
    """Follow the CSV link past the bound: the page offering to prepare the file, then its
    form."""
    page = client.get("/dashboard/submissions.csv", query_string=args)
    assert page.status_code == 200 and page.mimetype == "text/html"
    assert "too many to download at once" in page.get_data(as_text=True)
    action = re.search(r'<form method="post" action="(/dashboard/exports[^"]*)"', page.get_data(as_text=True))
    assert action
    return client.post(action.group(1).replace("&amp;", "&"), data={"csrf_token": csrf_of(page)})


def run_exports(app: Flask) -> str:
    result = app.test_cli_runner().invoke(args=["export"])
    assert result.exit_code == 0, result.output
    return str(result.output)


def download_link(client: FlaskClient) -> str:
    page = client.get("/dashboard/exports").get_data(as_text=True)
    link = re.search(r'href="(/dashboard/exports/\d+\.csv)"', page)
    assert link, page
    return link.group(1)


def test_a_list_over_the_bound_becomes_a_file_with_every_row(
    app: Flask, clinics: dict[str, int], logged_in: Callable[[str], FlaskClient],
    instance: Path,
) -> None:
    clinic_id = clinics["demo"]
    seed(app, clinic_id, 60)
    seed(app, clinics["other"], 5)  # another clinic's: never in the file
    client = logged_in("pa@example.com")
    expected = streamed(client)  # the whole list, while it fits the bound
    assert len(expected) == 61
    app.config["CSV_STREAM_ROWS"] = 25
    response = ask_for_file(client)
    assert response.status_code == 303 and response.location.endswith("/dashboard/exports"), response.location
    page = client.get("/dashboard/exports").get_data(as_text=True)
    assert "Being prepared" in page and "All submissions" in page
    # Submitted after the file was asked for: not in it.
    seed(app, clinic_id, 3, now=utcnow() + dt.timedelta(minutes=10))

    assert re.fullmatch(r"Export \d+: 60 row\(s\) in [\d.]+ s\.\n", run_exports(app))
    assert "Being prepared" not in client.get("/dashboard/exports").get_data(as_text=True)
    download = client.get(download_link(client), headers={"Accept-Encoding": "gzip"})
    assert download.status_code == 200
    assert download.headers["Content-Encoding"] == "gzip"
    assert download.headers["Content-Type"].startswith("text/csv")
    assert "attachment" in download.headers["Content-Disposition"]
    body = download.get_data()
    assert int(download.headers["Content-Length"]) == len(body)
    assert records(gzip.decompress(body).decode()) == expected  # every row, as streamed
    # The file is the practitioner's only, readable by the server's user only.
    files = list((instance / "exports").iterdir())
    assert len(files) == 1 and stat.S_IMODE(files[0].stat().st_mode) == 0o600
    assert stat.S_IMODE((instance / "exports").stat().st_mode) == 0o700
    other = logged_in("admin@example.com")
    assert other.get(download_link(client)).status_code == 404
    actions = [e.action for e in fetch(app, AuditEvent)]
    assert {"export_requested", "export_ready", "export_downloaded"} <= set(actions)
    assert "export_csv" in actions  # the streamed one
    # A second run has nothing to do.
    assert run_exports(app) == ""


def test_the_file_follows_the_filters(
    app: Flask, clinics: dict[str, int], logged_in: Callable[[str], FlaskClient],
    instance: Path,
) -> None:
    seed(app, clinics["demo"], 90)
    client = logged_in("pa@example.com")
    args = {"severity": "red_flag", "name": "陳"}
    expected = streamed(client, **args)
    assert 1 < len(expected) < 20
    app.config["CSV_STREAM_ROWS"] = len(expected) - 2
    ask_for_file(client, **args)
    page = client.get("/dashboard/exports").get_data(as_text=True)
    assert "Name contains: 陳" in page
    run_exports(app)
    body = client.get(download_link(client)).get_data()
    assert records(gzip.decompress(body).decode()) == expected


def test_a_stream_is_bounded_so_it_ends_within_the_worker_timeout(
    app: Flask, clinics: dict[str, int], logged_in: Callable[[str], FlaskClient]
) -> None:
    """The configured bound, at the time a row takes here (measured on 2,000 rows, the best
    of three), streams in half of gunicorn's worker timeout at most."""
    config = (ROOT / "gunicorn.conf.py").read_text()
    found = re.search(r"^timeout = (\d+)", config, re.M)
    assert found, "gunicorn.conf.py states the worker timeout"
    timeout = int(found.group(1))
    seed(app, clinics["demo"], 2000)
    client = logged_in("pa@example.com")
    per_row = 1.0
    for _ in range(3):
        start = time.perf_counter()
        assert len(streamed(client)) == 2001
        per_row = min(per_row, (time.perf_counter() - start) / 2000)
    assert app.config["CSV_STREAM_ROWS"] * per_row < timeout / 2, per_row


def test_an_unfinished_or_expired_file_cannot_be_downloaded_and_the_purge_deletes_it(
    app: Flask, clinics: dict[str, int], logged_in: Callable[[str], FlaskClient],
    instance: Path,
) -> None:
    seed(app, clinics["demo"], 12)
    client = logged_in("pa@example.com")
    app.config["CSV_STREAM_ROWS"] = 5
    ask_for_file(client)
    with app.app_context():
        job_id = db.session.query(ExportJob.id).scalar()
    assert client.get(f"/dashboard/exports/{job_id}.csv").status_code == 404  # not ready
    run_exports(app)
    link = download_link(client)
    assert client.get(link, headers={"Accept-Encoding": "identity"}).status_code == 406
    stray = instance / "exports" / "left-by-a-dead-run.part"
    stray.write_bytes(b"x")
    old = time.time() - 2 * 86400
    os.utime(stray, (old, old))
    # A day later the file is gone, with an audit entry; the link is a 404.
    with app.app_context(), db.transaction() as s:
        s.execute(update(ExportJob).values(expires_at=utcnow() - dt.timedelta(seconds=1)))
    result = app.test_cli_runner().invoke(args=["purge"])
    assert "Deleted 1 prepared CSV file(s)." in result.output
    assert list((instance / "exports").iterdir()) == []
    assert client.get(link).status_code == 404
    assert fetch(app, ExportJob) == []
    deleted = fetch(app, AuditEvent, AuditEvent.action == "export_deleted")
    assert [e.detail["rows"] for e in deleted] == [12]


def test_a_job_runs_once_even_when_two_runs_meet(
    app: Flask, clinics: dict[str, int], logged_in: Callable[[str], FlaskClient],
    instance: Path,
) -> None:
    seed(app, clinics["demo"], 8)
    client = logged_in("pa@example.com")
    app.config["CSV_STREAM_ROWS"] = 5
    ask_for_file(client)
    with app.app_context():
        pending = jobs.pending_ids()
        assert len(pending) == 1
        first = jobs.run_job(pending[0])
        second = jobs.run_job(pending[0])
    assert (first.outcome, first.rows, second.outcome) == ("ready", 8, "skipped")
    assert len(list((instance / "exports").iterdir())) == 1


def test_preparing_needs_the_csrf_token(
    app: Flask, clinics: dict[str, int], logged_in: Callable[[str], FlaskClient]
) -> None:
    client = logged_in("pa@example.com")
    assert client.post("/dashboard/exports").status_code == 400
    assert fetch(app, ExportJob) == []


def test_a_streamed_csv_gives_its_database_connection_back(
    app: Flask, clinics: dict[str, int], logged_in: Callable[[str], FlaskClient]
) -> None:
    """The stream reads after the view has returned: its connection goes back to the pool when
    it ends, read to the end or closed early."""
    seed(app, clinics["demo"], 30)
    client = logged_in("pa@example.com")
    pool = db.of(app).engine.pool
    for read in (True, False):
        response = client.get("/dashboard/submissions.csv")
        if read:
            assert len(records(response.get_data(as_text=True))) == 31
        else:
            next(iter(response.response))  # the first piece only
        response.close()
        assert pool.checkedout() == 0  # type: ignore[attr-defined]
