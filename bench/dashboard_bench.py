"""Dashboard benchmark (not a test): one clinic holding 1,000, 100,000 and 1,000,000
submissions, on SQLite and on PostgreSQL.

- the submission list through the Flask test client (the application's own time: routing,
  queries, template): the first page, red flags not reviewed, a name with no match (Latin, and
  a 2-character Chinese name), 50 pages deep, and a common surname; median of --repeat requests;
- the counters at the top of the list (queries.counts), against the three COUNT(*) it replaced;
- the page of where clients stop (dashboard/dropoff.py) with as many drafts as submissions,
  started over DROPOFF_DAYS days: its default period, all of them, and one old week;
- the CSV through gunicorn as the README runs it (gunicorn.conf.py): the list streamed at the
  streaming bound (a date filter leaving at most CSV_STREAM_ROWS rows), and the whole list:
  streamed while it fits the bound, else asked for on the dashboard, prepared by
  `flask --app screener export` (rows per second, the peak RSS of that process) and downloaded
  through gunicorn, its rows counted and checked against the database;
- the purge, on a copy of the database, of the older half of the rows (rows per second, its
  longest batch), while a client saves a step every 20 ms (the longest such save).

    .venv/bin/python -m bench.dashboard_bench --workdir /tmp/dash-bench                # SQLite
    .venv/bin/python -m bench.dashboard_bench --workdir /tmp/dash-bench --sizes 1000000
    .venv/bin/python -m bench.dashboard_bench --workdir /tmp/dash-bench \\
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres            # PostgreSQL

Each database is seeded once and reused by later runs (--workdir keeps the SQLite files; on
PostgreSQL, databases bench_<size> on the server of --database-url); the purge works on a copy.
Results go to <workdir>/results-<engine>-<size>.json; --table prints the README's tables from
every result file there.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import gzip
import http.cookiejar
import io
import json
import os
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select, text, update
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from screener.config import ROOT as APP_ROOT  # noqa: E402
from screener.questionnaire import load_questionnaire  # noqa: E402
from screener.screening import screen  # noqa: E402
from screener.storage.models import Submission, max_severity, utcnow  # noqa: E402

NAMES = (
    "Mei Chen",
    "陳美玲",
    "Wong Siu-ming",
    "黃小明",
    "Anna Müller",
    "李嘉欣",
    "O'Brien",
    "林志玲",
)
SLUG = "bench"
EMAIL = "bench@example.com"
PASSWORD = "benchmark password"  # noqa: S105 - the benchmark's own throw-away account
SECRET = "bench-secret-key-0123456789"  # noqa: S105


def _variants() -> list[tuple[dict[str, Any], list[Any]]]:
    """Answers of the screening personas (tests/test_screening.py) with their flags."""
    from tests.test_screening import BASE, PERSONAS

    qn = load_questionnaire(APP_ROOT / "questions.yaml")
    today = dt.date.today()
    out = []
    for _name, diff, _expected in PERSONAS:
        answers = {**BASE, **diff}
        out.append((answers, [f.to_json() for f in screen(qn, answers, today)]))
    return out


def seed_submissions(
    session: Session,
    clinic_id: int,
    n: int,
    *,
    ties: bool = False,
    reviewer_id: int | None = None,
    chunk: int = 5000,
    seed: int = 4,
    progress: bool = False,
) -> None:
    """Insert n submissions for a clinic in bulk (one INSERT per chunk), oldest first (ids grow
    with time, as in use), the newest now, one every 7 minutes.

    Answers and flags come from the screening personas; names mix Latin and Chinese; about two
    thirds are reviewed. With `ties`, rows come in threes sharing one submitted_at, to exercise
    the keyset's tie-break on id.
    """
    rng = random.Random(seed)
    qn_version = load_questionnaire(APP_ROOT / "questions.yaml").version
    variants = _variants()
    now = utcnow()
    rows: list[dict[str, Any]] = []
    start = time.perf_counter()
    for i in reversed(range(n)):
        answers, flags = variants[rng.randrange(len(variants))]
        name = f"{NAMES[i % len(NAMES)]} {i}"
        when = now - dt.timedelta(minutes=(i // 3 if ties else i) * 7)
        reviewed = rng.random() < 0.66
        rows.append(
            {
                "clinic_id": clinic_id,
                "answers": {**answers, "full_name": name},
                "flags": flags,
                "max_severity": max_severity(flags),  # bulk inserts skip the model's validator
                "questionnaire_version": qn_version,
                "lang": "zh-Hant" if i % 3 == 0 else "en",
                "full_name": name,
                "submitted_at": when,
                "reviewed_at": when + dt.timedelta(hours=2) if reviewed else None,
                "reviewed_by_id": reviewer_id if reviewed else None,
            }
        )
        if len(rows) >= chunk or i == 0:
            session.execute(insert(Submission), rows)
            session.commit()
            rows = []
            done = n - i
            if progress and (done % 100_000 == 0 or i == 0):
                print(f"  seeded {done:,} in {time.perf_counter() - start:.0f} s", flush=True)


# Databases -------------------------------------------------------------------------------------


def database_url(base: str | None, workdir: Path, name: str) -> str:
    if base is None:
        return f"sqlite:///{workdir / f'{name}.db'}"
    return make_url(base).set(database=name).render_as_string(hide_password=False)


def _pg_admin(base: str, statement: str) -> None:
    from screener.storage.db import make_engine

    engine = make_engine(base)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(statement))
    engine.dispose()


def _seeded_size(url: str) -> int | None:
    """The bench clinic's submissions in a database at the latest schema, else None."""
    from alembic.script import ScriptDirectory

    from screener.storage.db import make_engine
    from screener.storage.migrate import alembic_config

    if url.startswith("sqlite") and not Path(make_url(url).database or "").exists():
        return None
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            if conn.execute(text("SELECT version_num FROM alembic_version")).scalar() != head:
                return None
            return int(conn.execute(text(
                "SELECT count(*) FROM submission JOIN clinic ON clinic.id = submission.clinic_id"
                " WHERE clinic.slug = :slug"
            ), {"slug": SLUG}).scalar_one())
    except Exception:  # no such database or tables
        return None
    finally:
        engine.dispose()


def prepare(base: str | None, workdir: Path, size: int) -> str:
    """The database of this size, seeded once (reused when already there)."""
    from screener.dashboard import auth
    from screener.extensions import db
    from screener.storage.migrate import recreate
    from screener.storage.models import Clinic

    name = f"bench_{size}"
    url = database_url(base, workdir, name)
    if _seeded_size(url) == size:
        return url
    if base is not None:
        _pg_admin(base, f"DROP DATABASE IF EXISTS {name}")
        _pg_admin(base, f"CREATE DATABASE {name}")
    else:
        Path(make_url(url).database or "").unlink(missing_ok=True)
    recreate(url)
    app = make_app(url, workdir)
    print(f"Seeding {size:,} submissions ({url.split(':')[0]}) ...", flush=True)
    with app.app_context():
        with db.transaction() as s:
            clinic = Clinic(slug=SLUG, name="Bench Clinic", allowed_origins=[])
            s.add(clinic)
            s.flush()
            admin = auth.create_practitioner(s, clinic, EMAIL, "Bench", PASSWORD, "admin")
            s.flush()
            clinic_id, admin_id = clinic.id, admin.id
        seed_submissions(db.session, clinic_id, size, reviewer_id=admin_id, progress=True)
        db.session.close()
    db.of(app).engine.dispose()
    if base is not None:  # statistics, as autovacuum's ANALYZE keeps them
        _pg_admin(url, "ANALYZE")
    return url


def make_app(url: str, workdir: Path) -> Any:
    from screener import create_app

    os.environ["SCREENER_INSTANCE"] = str(workdir / "instance")
    return create_app(
        {"SECRET_KEY": SECRET, "DATABASE_URL": url, "RATELIMIT_ENABLED": False}
    )


# The list and the counters, in process ---------------------------------------------------------


def _median_ms(client: Any, url: str, repeat: int) -> tuple[float, float]:
    """Median wall-clock and CPU milliseconds of a GET (CPU time hardly moves when other work
    shares the machine; wall-clock does)."""
    for _ in range(3):  # warm caches (templates, statement cache, pages of the database file)
        assert client.get(url).status_code == 200
    wall, cpu = [], []
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        r = client.get(url)
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
        assert r.status_code == 200, r.status_code
    return statistics.median(wall) * 1000, statistics.median(cpu) * 1000


def _timed_ms(run: Any, repeat: int) -> float:
    run()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


LIST_CASES = (
    ("first page", "/dashboard/"),
    ("red flags not reviewed", "/dashboard/?severity=red_flag&reviewed=no"),
    ("name, no match", "/dashboard/?name=Nobody+Here"),
    ("name, no match (張偉)", "/dashboard/?name=%E5%BC%B5%E5%81%89"),
    ("50 pages deep", None),
    ("name, common (陳)", "/dashboard/?name=%E9%99%B3"),
)


def measure_list(url: str, workdir: Path, repeat: int) -> dict[str, Any]:
    from screener.dashboard import queries
    from screener.extensions import db
    from screener.storage.models import Clinic
    from tests.conftest import csrf_of

    app = make_app(url, workdir)
    with app.app_context():
        clinic_id = db.session.scalars(select(Clinic.id).where(Clinic.slug == SLUG)).one()
        row = db.session.execute(
            select(Submission.submitted_at, Submission.id)
            .where(Submission.clinic_id == clinic_id)
            .order_by(Submission.submitted_at.desc(), Submission.id.desc())
            .offset(50 * queries.PAGE_SIZE - 1).limit(1)
        ).first()
        deep = queries.Cursor(row[0], row[1]).encode() if row else ""

        def full_count() -> None:  # the counters as they were counted before migration 0010
            red = Submission.max_severity == "red_flag"
            unreviewed = Submission.reviewed_at.is_(None)
            for where in ((unreviewed,), (red,), (red, unreviewed)):
                db.session.scalar(select(func.count()).select_from(Submission).where(
                    Submission.clinic_id == clinic_id, *where
                ))

        results: dict[str, Any] = {
            "counter_ms": _timed_ms(lambda: queries.counts(db.session, clinic_id), repeat),
            "full_count_ms": _timed_ms(full_count, min(repeat, 5)),
        }
        db.session.close()
    client = app.test_client()
    page = client.get("/dashboard/login")
    r = client.post(
        "/dashboard/login",
        data={"csrf_token": csrf_of(page), "email": EMAIL, "password": PASSWORD},
    )
    assert r.status_code == 302, r.status_code
    for label, path in LIST_CASES:
        results[label] = _median_ms(client, path or f"/dashboard/?before={deep}", repeat)
    from screener.extensions import db as database

    database.of(app).engine.dispose()
    return results


# Where clients stop ----------------------------------------------------------------------------

DROPOFF_DAYS = 60  # the seeded drafts' starts span this many days


def seed_drafts(
    session: Session, clinic_id: int, n: int, *, chunk: int = 5000, seed: int = 5
) -> None:
    """Insert n drafts for a clinic in bulk, started over the last DROPOFF_DAYS days, newest
    first: both languages, a quarter from an embedded page, stopped at every step, about a
    third sent (3 to 60 minutes after they were started). More days than the purge leaves (so
    that most rows lie outside the page's default period); their expiry is in the future, so
    the purge measured later leaves them alone."""
    from screener.storage.models import Draft

    rng = random.Random(seed)
    positions = len(load_questionnaire(APP_ROOT / "questions.yaml").steps) + 1
    now = utcnow()
    span = dt.timedelta(days=DROPOFF_DAYS)
    rows: list[dict[str, Any]] = []
    for i in range(n):
        created = now - span * (i / n)
        sent = rng.random() < 0.35
        rows.append({
            "clinic_id": clinic_id, "token_hash": f"bench-{i}", "answers": {},
            "current_step": None, "lang": "zh-Hant" if i % 3 == 0 else "en",
            "created_at": created, "updated_at": created,
            "expires_at": now + dt.timedelta(days=14),
            "submitted_at": created + dt.timedelta(minutes=rng.randrange(3, 60)) if sent else None,
            "embedded": i % 4 == 0,
            "furthest_step": positions - 1 if sent else rng.randrange(positions),
        })
        if len(rows) >= chunk or i == n - 1:
            session.execute(insert(Draft), rows)
            session.commit()
            rows = []


def dropoff_cases() -> list[tuple[str, str]]:
    today = dt.date.today()
    return [
        ("default period (14 days)", "/dashboard/admin/dropoff"),
        (f"all {DROPOFF_DAYS} days, zh-Hant, embedded",
         f"/dashboard/admin/dropoff?date_from={today - dt.timedelta(DROPOFF_DAYS)}"
         "&language=zh-Hant&source=embedded"),
        ("one old week", f"/dashboard/admin/dropoff?date_from={today - dt.timedelta(50)}"
         f"&date_to={today - dt.timedelta(44)}"),
    ]


def measure_dropoff(base: str | None, url: str, workdir: Path, size: int,
                    repeat: int) -> dict[str, Any]:
    """The page of where clients stop, with as many drafts as submissions (seeded once)."""
    from screener.extensions import db
    from screener.storage.models import Clinic, Draft
    from tests.conftest import csrf_of

    app = make_app(url, workdir)
    with app.app_context():
        clinic_id = db.session.scalars(select(Clinic.id).where(Clinic.slug == SLUG)).one()
        have = db.session.scalar(
            select(func.count()).select_from(Draft).where(Draft.clinic_id == clinic_id)
        )
        if not have:
            print(f"Seeding {size:,} drafts ...", flush=True)
            seed_drafts(db.session, clinic_id, size)
        db.session.close()
    if not have and base is not None:
        _pg_admin(url, "ANALYZE draft")
    client = app.test_client()
    page = client.get("/dashboard/login")
    r = client.post(
        "/dashboard/login",
        data={"csrf_token": csrf_of(page), "email": EMAIL, "password": PASSWORD},
    )
    assert r.status_code == 302, r.status_code
    results = {label: _median_ms(client, path, repeat) for label, path in dropoff_cases()}
    db.of(app).engine.dispose()
    return results


# The CSV through gunicorn ----------------------------------------------------------------------


class Gunicorn:
    """The product served as the README runs it: gunicorn wsgi:app, reading gunicorn.conf.py."""

    def __init__(self, url: str, workdir: Path) -> None:
        from tests.conftest import free_port
        from tests.realhttp import wait_until_up

        self.port = free_port()
        self.env = {
            **os.environ, "DATABASE_URL": url, "SECRET_KEY": SECRET,
            "SCREENER_INSTANCE": str(workdir / "instance"), "SCREENER_PORT": str(self.port),
            "SCREENER_RATE_LIMITS": "off",
        }
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "wsgi:app"], cwd=ROOT, env=self.env,
            stdout=subprocess.DEVNULL, start_new_session=True,
        )
        wait_until_up("127.0.0.1", self.port)
        self.base = f"http://127.0.0.1:{self.port}"
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        )
        page = self.get("/dashboard/login").read().decode()
        self.post("/dashboard/login", {
            "csrf_token": _csrf(page), "email": EMAIL, "password": PASSWORD,
        })

    def get(self, path: str, headers: dict[str, str] | None = None) -> Any:
        request = urllib.request.Request(  # noqa: S310 - our own loopback server
            self.base + path, headers=headers or {}
        )
        return self.opener.open(request, timeout=600)

    def post(self, path: str, data: dict[str, str]) -> Any:
        body = urllib.parse.urlencode(data).encode()
        return self.opener.open(self.base + path, body, timeout=60)

    def worker_peak_rss_mb(self) -> float:
        """The largest peak RSS (VmHWM) among the workers."""
        children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text()
        return max((_peak_rss_kb(int(pid)) for pid in children.split()), default=0) / 1024

    def stop(self) -> None:
        os.killpg(self.proc.pid, signal.SIGTERM)
        self.proc.wait(30)


def _peak_rss_kb(pid: int) -> int:
    """A process's peak resident memory so far (VmHWM), in KB; 0 once it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _csrf(page: str) -> str:
    found = re.search(r'name="csrf_token"[^>]*value="([^"]*)"', page)
    assert found, "no csrf_token"
    return found.group(1)


def _count_csv(stream: Any) -> tuple[int, int]:
    """(records after the header, bytes) of a CSV read from a binary stream, in constant memory."""

    class Counting(io.RawIOBase):
        read_bytes = 0

        def readable(self) -> bool:
            return True

        def readinto(self, b: Any) -> int:
            data = stream.read(len(b))
            b[: len(data)] = data
            self.read_bytes += len(data)
            return len(data)

    raw = Counting()
    text_stream = io.TextIOWrapper(io.BufferedReader(raw, 1 << 16), "utf-8-sig", newline="")
    records = sum(1 for _ in csv.reader(text_stream)) - 1
    return records, raw.read_bytes


def measure_csv(url: str, workdir: Path, size: int) -> dict[str, Any]:
    from screener.config import load_config

    bound = int(load_config(workdir / "instance")["CSV_STREAM_ROWS"])
    server = Gunicorn(url, workdir)
    results: dict[str, Any] = {"bound": bound}
    try:
        # At the bound: the newest days holding at most `bound` rows (one row every 7 minutes).
        days = max(1, bound * 7 // (24 * 60) - 1)
        since = (utcnow() - dt.timedelta(days=days)).date().isoformat()
        start = time.perf_counter()
        rows, size_bytes = _count_csv(server.get(f"/dashboard/submissions.csv?date_from={since}"))
        took = time.perf_counter() - start
        results["stream"] = {
            "rows": rows, "seconds": took, "rows_per_s": rows / took, "mb": size_bytes / 1e6,
            "worker_peak_rss_mb": server.worker_peak_rss_mb(),
        }
        print(f"  CSV streamed: {rows:,} rows in {took:.1f} s", flush=True)
        response = server.get("/dashboard/submissions.csv")
        if response.headers.get_content_type() == "text/csv":
            start = time.perf_counter()
            rows, size_bytes = _count_csv(response)
            took = time.perf_counter() - start
            results["whole"] = {
                "how": "streamed", "rows": rows, "seconds": took, "rows_per_s": rows / took,
                "peak_rss_mb": server.worker_peak_rss_mb(), "checked": rows == size,
            }
        else:
            page = response.read().decode()
            server.post("/dashboard/exports", {"csrf_token": _csrf(page)})
            start = time.perf_counter()
            proc = subprocess.Popen(
                [sys.executable, "-m", "flask", "--app", "screener", "export"],
                cwd=ROOT, env=server.env, stdout=subprocess.PIPE, text=True,
            )
            peak_kb = 0
            while proc.poll() is None:  # its peak RSS since exec (ru_maxrss would count the
                peak_kb = max(peak_kb, _peak_rss_kb(proc.pid))  # forked copy of this process)
                time.sleep(0.2)
            status = proc.returncode
            took = time.perf_counter() - start
            output = proc.stdout.read() if proc.stdout else ""
            assert status == 0, output
            written = int(re.search(r": (\d+) row", output).group(1))  # type: ignore[union-attr]
            link = re.search(r'href="(/dashboard/exports/\d+\.csv)"',
                             server.get("/dashboard/exports").read().decode())
            assert link, "no download link"
            start = time.perf_counter()
            download = server.get(link.group(1), {"Accept-Encoding": "gzip"})
            compressed = int(download.headers["Content-Length"])
            rows, size_bytes = _count_csv(gzip.GzipFile(fileobj=download))
            fetched = time.perf_counter() - start
            results["whole"] = {
                "how": "file", "rows": rows, "written": written, "seconds": took,
                "rows_per_s": written / took, "peak_rss_mb": peak_kb / 1024,
                "mb": size_bytes / 1e6, "gzip_mb": compressed / 1e6,
                "download_seconds": fetched, "checked": rows == written == size,
            }
        whole = results["whole"]
        print(f"  CSV whole list ({whole['how']}): {whole['rows']:,} rows in"
              f" {whole['seconds']:.1f} s, peak RSS {whole['peak_rss_mb']:.0f} MB,"
              f" rows checked: {whole['checked']}", flush=True)
    finally:
        server.stop()
    return results


# The purge -------------------------------------------------------------------------------------


def measure_purge(base: str | None, url: str, workdir: Path, size: int) -> dict[str, Any]:
    from screener.dashboard import operations
    from screener.extensions import db
    from screener.storage.models import Clinic, Draft
    from screener.wizard.drafts import new_draft

    copy_name = f"bench_purge_{size}"
    copy = database_url(base, workdir, copy_name)
    if base is None:
        shutil.copyfile(make_url(url).database or "", make_url(copy).database or "")
    else:
        _pg_admin(base, f"DROP DATABASE IF EXISTS {copy_name}")
        _pg_admin(base, f"CREATE DATABASE {copy_name} TEMPLATE bench_{size}")
    app = make_app(copy, workdir)
    try:
        with app.app_context():
            # The older half is past the retention period (one row every 7 minutes).
            days = max(1, size * 7 // (2 * 24 * 60))
            with db.transaction() as s:
                s.execute(update(Clinic).where(Clinic.slug == SLUG).values(retention_days=days))
                clinic = s.scalars(select(Clinic).where(Clinic.slug == SLUG)).one()
                draft, _token = new_draft(s, clinic, "en", 14)
                draft_id = draft.id
        waits: list[float] = []
        done = threading.Event()

        def client() -> None:  # a client saving a step every 20 ms
            n = 0
            while not done.is_set():
                n += 1
                start = time.perf_counter()
                with app.app_context(), db.transaction() as s:
                    s.execute(update(Draft).where(Draft.id == draft_id).values(answers={"n": n}))
                waits.append(time.perf_counter() - start)
                time.sleep(0.02)

        thread = threading.Thread(target=client)
        thread.start()
        try:
            start = time.perf_counter()
            with app.app_context():
                report = operations.purge_expired(utcnow())
            took = time.perf_counter() - start
        finally:
            done.set()
            thread.join()
        deleted = report.total_submissions
        return {
            "deleted": deleted, "seconds": took, "rows_per_s": deleted / took,
            "batches": report.batches, "longest_batch_s": report.longest_batch,
            "saves": len(waits), "longest_save_s": max(waits),
        }
    finally:
        db.of(app).engine.dispose()
        if base is None:
            for suffix in ("", "-wal", "-shm"):
                Path((make_url(copy).database or "") + suffix).unlink(missing_ok=True)
        else:
            _pg_admin(base, f"DROP DATABASE IF EXISTS {copy_name}")


# The report ------------------------------------------------------------------------------------


def tables(workdir: Path) -> str:
    """The README's tables, from every result file in workdir."""
    results = [json.loads(p.read_text()) for p in sorted(workdir.glob("results-*.json"))]
    results.sort(key=lambda r: (r["engine"] != "SQLite", r["size"]))
    lines = [
        "| database | submissions | first page | red flags, not reviewed | name, no match"
        " | 張偉, no match | 50 pages deep | 陳 (common) | counter (3 COUNT(*) before) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        cells = [f"{r[label][0]:.0f} ({r[label][1]:.0f})" for label, _ in LIST_CASES]
        lines.append(
            f"| {r['engine']} | {r['size']:,} | " + " | ".join(cells)
            + f" | {r['counter_ms']:.2f} ({r['full_count_ms']:.0f}) |"
        )
    lines += [
        "",
        "| database | submissions | CSV streamed at the bound | whole list | rows/s | peak RSS"
        " | rows checked | purge: rows/s | longest batch | longest client save |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        stream, whole, purge = r.get("stream"), r.get("whole"), r.get("purge")
        cells = [r["engine"], f"{r['size']:,}"]
        cells.append(f"{stream['rows']:,} rows, {stream['seconds']:.1f} s" if stream else "-")
        if whole:
            cells += [
                f"{whole['how']}: {whole['rows']:,} rows, {whole['seconds']:.0f} s",
                f"{whole['rows_per_s']:,.0f}",
                f"{whole['peak_rss_mb']:.0f} MB",
                "yes" if whole["checked"] else "NO",
            ]
        else:
            cells += ["-"] * 4
        if purge:
            cells += [
                f"{purge['rows_per_s']:,.0f} ({purge['deleted']:,} rows)",
                f"{purge['longest_batch_s']:.2f} s",
                f"{purge['longest_save_s']:.2f} s",
            ]
        else:
            cells += ["-"] * 3
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 100_000])
    parser.add_argument("--repeat", type=int, default=30, help="requests per median")
    parser.add_argument("--database-url", help="a PostgreSQL server (bench_<size> databases)")
    parser.add_argument("--workdir", type=Path, required=True,
                        help="keeps the SQLite databases, the results and the instance folder")
    parser.add_argument("--skip", nargs="*", default=[], choices=["list", "dropoff", "csv", "purge"])
    parser.add_argument("--table", action="store_true", help="print the tables and stop")
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    if args.table:
        print(tables(args.workdir))
        return
    engine = "PostgreSQL" if args.database_url else "SQLite"
    for size in args.sizes:
        url = prepare(args.database_url, args.workdir, size)
        out = args.workdir / f"results-{engine.lower()}-{size}.json"
        result: dict[str, Any] = json.loads(out.read_text()) if out.exists() else {}
        result.update(engine=engine, size=size, load_before=os.getloadavg()[0])
        if "list" not in args.skip:
            result.update(measure_list(url, args.workdir, args.repeat))
            print(f"\n{size:,} submissions ({engine})")
            for label, _ in LIST_CASES:
                wall, cpu = result[label]
                print(f"  {label:<26} median {wall:7.1f} ms wall-clock, {cpu:6.1f} ms CPU")
            print(f"  counter: {result['counter_ms']:.2f} ms"
                  f" (three COUNT(*) as before: {result['full_count_ms']:.1f} ms)", flush=True)
        if "dropoff" not in args.skip:
            result["dropoff"] = measure_dropoff(
                args.database_url, url, args.workdir, size, args.repeat
            )
            for label, (wall, cpu) in result["dropoff"].items():
                print(f"  where clients stop, {label:<32} median {wall:7.1f} ms wall-clock,"
                      f" {cpu:6.1f} ms CPU", flush=True)
        if "csv" not in args.skip:
            result.update(measure_csv(url, args.workdir, size))
        if "purge" not in args.skip:
            result["purge"] = measure_purge(args.database_url, url, args.workdir, size)
            p = result["purge"]
            print(f"  purge: {p['deleted']:,} rows in {p['seconds']:.1f} s, {p['batches']}"
                  f" batches, longest {p['longest_batch_s']:.2f} s; longest client save"
                  f" {p['longest_save_s']:.2f} s of {p['saves']}", flush=True)
        result["load_after"] = os.getloadavg()[0]
        out.write_text(json.dumps(result, indent=1, ensure_ascii=False))
    print()
    print(tables(args.workdir))


if __name__ == "__main__":
    main()
