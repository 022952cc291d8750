"""Dashboard benchmark (not a test): the submission list's median time at 1,000 and 100,000
submissions, and the peak memory of the CSV export.

    .venv/bin/python -m bench.dashboard_bench                          # SQLite, 1,000 and 100,000
    .venv/bin/python -m bench.dashboard_bench --sizes 1000 --repeat 50
    .venv/bin/python -m bench.dashboard_bench --database-url postgresql+psycopg://...

Each size gets a fresh database (a temporary SQLite file, or the given PostgreSQL database with
its schema dropped first), seeded in bulk by `seed_submissions`, which the tests use too. The
list is requested through the Flask test client as a logged-in practitioner, so the numbers are
the application's own time (routing, queries, template), without a network.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import os
import random
import statistics
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

from sqlalchemy import insert, text
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
) -> None:
    """Insert n submissions for a clinic in bulk (one INSERT per chunk), newest now.

    Answers and flags come from the screening personas; names mix Latin and Chinese; about two
    thirds are reviewed. With `ties`, rows come in threes sharing one submitted_at, to exercise
    the keyset's tie-break on id.
    """
    rng = random.Random(seed)
    qn_version = load_questionnaire(APP_ROOT / "questions.yaml").version
    variants = _variants()
    now = utcnow()
    rows: list[dict[str, Any]] = []
    for i in range(n):
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
        if len(rows) >= chunk:
            session.execute(insert(Submission), rows)
            session.commit()
            rows = []
    if rows:
        session.execute(insert(Submission), rows)
        session.commit()


# The benchmark --------------------------------------------------------------------------------


def _fresh_database(url: str | None, workdir: Path, size: int) -> str:
    from screener.storage.migrate import recreate

    if url is None:
        url = f"sqlite:///{workdir / f'bench-{size}.db'}"
    recreate(url)
    return url


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


def run(size: int, url: str | None, workdir: Path, repeat: int) -> dict[str, Any]:
    from screener import create_app
    from screener.dashboard import auth
    from screener.dashboard.queries import Cursor
    from screener.extensions import db
    from screener.storage.models import Clinic
    from tests.conftest import csrf_of

    database = _fresh_database(url, workdir, size)
    app = create_app(
        {
            "SECRET_KEY": "bench-secret-key-0123456789",
            "DATABASE_URL": database,
            "RATELIMIT_ENABLED": False,
        }
    )
    password = "benchmark password"  # noqa: S105  (a throw-away benchmark account)
    with app.app_context():
        with db.transaction() as s:
            clinic = Clinic(slug="bench", name="Bench Clinic", allowed_origins=[])
            s.add(clinic)
            s.flush()
            admin = auth.create_practitioner(
                s, clinic, "bench@example.com", "Bench", password, "admin"
            )
            s.flush()
            clinic_id, admin_id = clinic.id, admin.id
        start = time.perf_counter()
        seed_submissions(db.session, clinic_id, size, reviewer_id=admin_id)
        seeded = time.perf_counter() - start
        db.session.close()
        middle = db.session.execute(
            text(
                "SELECT submitted_at, id FROM submission ORDER BY submitted_at DESC, id DESC"
                " LIMIT 1 OFFSET :middle"
            ),
            {"middle": size // 2},
        ).one()
        at = (
            middle[0]
            if isinstance(middle[0], dt.datetime)
            else dt.datetime.fromisoformat(middle[0])
        )
        deep = Cursor(at if at.tzinfo else at.replace(tzinfo=dt.UTC), middle[1]).encode()
        db.session.close()

    client = app.test_client()
    page = client.get("/dashboard/login")
    r = client.post(
        "/dashboard/login",
        data={"csrf_token": csrf_of(page), "email": "bench@example.com", "password": password},
    )
    assert r.status_code == 302, r.status_code
    results: dict[str, Any] = {"size": size, "seed_seconds": seeded}
    for label, path in (
        ("list, first page", "/dashboard/"),
        ("list, red flags not reviewed", "/dashboard/?severity=red_flag&reviewed=no"),
        ("list, page in the middle", f"/dashboard/?before={deep}"),
        ("list, name search", "/dashboard/?name=%E9%99%B3"),  # 陳
    ):
        results[label] = _median_ms(client, path, repeat)

    gc.collect()
    tracemalloc.start()
    start = time.perf_counter()
    response = client.get("/dashboard/submissions.csv")
    total = rows = 0
    for piece in response.response:
        total += len(piece)
        rows += piece.count(b"\r\n") if isinstance(piece, bytes) else piece.count("\r\n")
    csv_seconds = time.perf_counter() - start
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    response.close()
    results.update(csv_rows=rows - 1, csv_bytes=total, csv_seconds=csv_seconds, csv_peak_bytes=peak)
    db.of(app).engine.dispose()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 100_000])
    parser.add_argument("--repeat", type=int, default=30, help="requests per median")
    parser.add_argument("--database-url", help="PostgreSQL URL (its schema is dropped!)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="screener-bench-") as tmp:
        for size in args.sizes:
            r = run(size, args.database_url, Path(tmp), args.repeat)
            engine = "PostgreSQL" if args.database_url else "SQLite"
            print(f"\n{size:,} submissions ({engine}; seeded in {r['seed_seconds']:.1f} s)")
            for key, value in r.items():
                if key.startswith("list"):
                    wall, cpu = value
                    print(
                        f"  {key:<30} median {wall:7.1f} ms wall-clock, {cpu:6.1f} ms CPU"
                        f" ({args.repeat} requests)"
                    )
            print(f"  load average during the run: {os.getloadavg()[0]:.1f}")
            print(
                f"  CSV export: {r['csv_rows']:,} rows, {r['csv_bytes'] / 1e6:.1f} MB in"
                f" {r['csv_seconds']:.1f} s; peak traced memory {r['csv_peak_bytes'] / 1e6:.2f} MB"
            )


if __name__ == "__main__":
    main()
