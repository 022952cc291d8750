"""Load benchmark: N simulated clients walk the whole wizard over real HTTP against gunicorn.

It reports completed questionnaires per second, p50/p99 latency per step and the error count,
then checks in the database that exactly N submissions exist, each identical to what was sent.
In the same run it serves a bare Flask app rendering one small template under the same gunicorn
settings and reports our request throughput as a ratio of that baseline, and a floor: that bare
page plus exactly the wizard's database statements (bench/floor_app.py), what the wizard could
reach on the database if it did nothing else.

    .venv/bin/python -m bench.load --clients 200 --concurrency 16            # SQLite
    .venv/bin/python -m bench.load --database-url postgresql+psycopg://...   # PostgreSQL
    bench/run                                                                # both
"""
from __future__ import annotations

import argparse
import datetime as dt
import operator
import os
import random
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import select, text

T = TypeVar("T")

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from screener.questionnaire import load_questionnaire  # noqa: E402
from screener.storage.db import make_engine  # noqa: E402
from screener.storage.migrate import recreate  # noqa: E402
from screener.storage.models import Draft, Submission  # noqa: E402
from screener.wizard.drafts import hash_token  # noqa: E402
from tests.realhttp import HttpWalker, wait_until_up  # noqa: E402

PROCEDURES = ("botox", "filler", "laser", "peel", "microneedling", "energy_device", "prp", "surgery", "threads")
# The kind of a laser or a peel, asked with its date.
PROCEDURE_KIND = {"laser": ("laser_type", ("non_ablative", "ablative", "not_sure")),
                  "peel": ("peel_depth", ("superficial", "medium_or_deep", "not_sure"))}
NAMES = ("Mei Chen", "陳美玲", "Aisha Khan", "林志明", "Olivia Brown", "王小華", "José García")


def realistic_answers(rng: random.Random) -> list[tuple[str, dict[str, Any]]]:
    """Answers one client might give, per step in order (what is posted)."""
    today = dt.date.today()
    goals = rng.sample(["fine_lines", "firmness", "muscle_tone", "texture", "dullness", "stress", "other"], rng.randint(1, 3))
    event = rng.random() < 0.3
    procedures = rng.sample(PROCEDURES, rng.choice([0, 0, 1, 2]))
    skin = rng.sample(["rosacea", "acne", "eczema_flare", "cold_sore"], rng.choice([0, 0, 0, 1]))
    supplements = rng.sample(["fish_oil", "ginkgo", "painkillers_regular"], rng.choice([0, 0, 0, 1]))
    steps: list[tuple[str, dict[str, Any]]] = [
        ("about_you", {"age_band": rng.choice(["18_29", "30_44", "45_59", "60_plus"]),
                       "pregnancy": rng.choice(["no", "not_applicable", "no", "not_sure"])}),
        ("goals", {"skin_goals": goals, "expected_timeframe": rng.choice(["within_a_month", "over_months"]),
                   "course_commitment": rng.choice(["a_course", "ongoing", "not_sure", "one_or_two"]),
                   "upcoming_event": "yes" if event else "no",
                   **({"skin_goals_other": "Jawline / 下顎線"} if "other" in goals else {}),
                   **({"upcoming_event_date": (today + dt.timedelta(days=rng.randint(0, 60))).isoformat()} if event else {})}),
        ("comfort", {"pain_sensitivity": str(rng.randint(0, 10)), "needle_fear": rng.choice(["none", "some", "strong"]),
                     "fainting_history": rng.choice(["no", "no", "yes"]),
                     "acupuncture_before": rng.choice(["never", "body", "facial"]),
                     "lie_still": rng.choice(["yes", "yes", "not_sure"])}),
        ("conditions", {**{q: rng.choice(["no"] * 9 + ["yes"]) for q in (
            "bleeding_disorder", "heart_valve", "recent_stroke_heart", "implanted_device", "immunosuppressed",
            "cancer_treatment")},
            "blood_pressure": rng.choice(["normal", "controlled", "uncontrolled_or_unsure"]),
            "diabetes": rng.choice(["no", "controlled", "uncontrolled_or_unsure"]),
            "seizures": rng.choice(["no"] * 8 + ["controlled", "uncontrolled_or_unexplained"]),
            "migraine": rng.choice(["no", "occasional", "frequent_or_severe"])}),
        ("medicines", {"blood_thinners": rng.choice(["no"] * 9 + ["yes"]),
                       "bleeding_supplements": supplements or ["none"],
                       "isotretinoin": rng.choice(["never", "longer_ago", "current", "last_12_months"]),
                       "metal_allergy": rng.choice(["no"] * 9 + ["yes"])}),
        ("skin_today", {**{q: rng.choice(["no"] * 9 + ["yes"]) for q in (
            "facial_lesion", "cold_sore_history", "bruise_easily", "keloid", "new_symptoms", "facial_nerve",
            "unwell_now")},
            "facial_skin": skin or ["none"],
            **({"other_health": "Mild hay fever; 季節性過敏"} if rng.random() < 0.3 else {})}),
        ("recent_treatments", {"recent_procedures": procedures or ["none"],
                               **{f"{p}_when": (today - dt.timedelta(days=rng.randint(0, 400))).isoformat() for p in procedures},
                               **{PROCEDURE_KIND[p][0]: rng.choice(PROCEDURE_KIND[p][1]) for p in procedures
                                  if p in PROCEDURE_KIND},
                               "permanent_implants": rng.choice(["no", "no", "yes"])}),
        ("details", {"full_name": rng.choice(NAMES), "email": "client@example.com",
                     "consent_store": "y", "consent_not_advice": "y"}),
    ]
    return steps


def stored_form(steps: list[tuple[str, dict[str, Any]]], qn: Any) -> dict[str, Any]:
    """What the product must store for these posted answers."""
    out: dict[str, Any] = {}
    for _, answers in steps:
        for k, v in answers.items():
            q = qn.questions[k]
            if q.type == "scale":
                v = int(v)
            elif q.type == "consent":
                v = True
            elif q.type == "multi":
                v = [c for c in q.choice_values if c in v]
            out[k] = v
    return out


class Server:
    def __init__(self, target: str, port: int, workers: int, env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--workers", str(workers), "--bind", f"127.0.0.1:{port}",
             "--log-level", "warning", "--no-control-socket",
             "--config", str(ROOT / "bench" / "gunicorn.conf.py"), target],
            cwd=ROOT, env={**os.environ, **env}, start_new_session=True,
        )
        self.port = port
        wait_until_up("127.0.0.1", port)

    def stop(self) -> None:
        os.killpg(self.proc.pid, signal.SIGTERM)
        self.proc.wait(20)

    def worker_cpu_seconds(self) -> float:
        """CPU time (user + system) used so far by the workers (Linux /proc; 0 elsewhere)."""
        return sum(map(process_cpu_seconds, children_of(self.proc.pid)))


def proc_stat(pid: int) -> list[str] | None:
    """The fields of /proc/<pid>/stat after the command name (state, ppid, ...), or None."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None


def process_cpu_seconds(pid: int, *, ended_children: bool = False) -> float:
    """CPU time (user + system) used so far by a process (Linux /proc; 0 when unknown), with
    that of its children which ended and were waited for if asked."""
    fields = proc_stat(pid)
    if fields is None:
        return 0.0
    ticks = int(fields[11]) + int(fields[12])  # utime, stime
    if ended_children:
        ticks += int(fields[13]) + int(fields[14])  # cutime, cstime
    return ticks / os.sysconf("SC_CLK_TCK")


def children_of(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


class DatabaseCpu:
    """CPU time used by a PostgreSQL server on this machine: its postmaster and every process
    it started (backends, WAL writer, checkpointer...). None for SQLite, whose work runs inside
    the workers, and for a server elsewhere."""

    def __init__(self, url: str) -> None:
        self.postmaster: int | None = None
        if url.startswith("sqlite"):
            return
        engine = make_engine(url)
        with engine.connect() as conn:
            backend = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
        engine.dispose()
        fields = proc_stat(backend)
        try:  # a process of that id, named postgres, here: this server's backend
            here = Path(f"/proc/{backend}/comm").read_text().strip() == "postgres"
        except OSError:
            here = False
        if fields is not None and here:
            self.postmaster = int(fields[1])  # the backend's parent

    def seconds(self) -> float | None:
        if self.postmaster is None:
            return None
        pm = self.postmaster  # its ended children too: backends and autovacuum workers come and go
        return (process_cpu_seconds(pm, ended_children=True)
                + sum(map(process_cpu_seconds, children_of(pm))))


def idle_cpu_seconds() -> float:
    """The machine's idle CPU time so far, all cores (Linux /proc/stat: idle + iowait)."""
    try:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()
    except OSError:
        return 0.0
    return (int(fields[4]) + int(fields[5])) / os.sysconf("SC_CLK_TCK")


def client_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


@dataclass
class CpuUse:
    """Seconds of the machine's time, by whom (a reading, or the difference of two)."""

    server: float  # CPU of the gunicorn workers
    client: float  # CPU of this process: the simulated clients
    database: float | None  # CPU of the PostgreSQL server (see DatabaseCpu)
    idle: float  # left idle, all cores
    machine: float  # all of it: cores x wall time

    @classmethod
    def now(cls, server: Server, database: DatabaseCpu) -> CpuUse:
        return cls(server.worker_cpu_seconds(), client_cpu_seconds(), database.seconds(),
                   idle_cpu_seconds(), (os.cpu_count() or 1) * time.perf_counter())

    def _combine(self, other: CpuUse, op: Callable[[float, float], float]) -> CpuUse:
        database = (None if self.database is None or other.database is None
                    else op(self.database, other.database))
        return CpuUse(op(self.server, other.server), op(self.client, other.client), database,
                      op(self.idle, other.idle), op(self.machine, other.machine))

    def __add__(self, other: CpuUse) -> CpuUse:
        return self._combine(other, operator.add)

    def __sub__(self, other: CpuUse) -> CpuUse:
        return self._combine(other, operator.sub)

    def per_request(self, requests: int) -> str:
        """Milliseconds per request: "app / client / database, idle, other: total", where other
        is the rest of the machine's time (other processes, the gunicorn masters, the kernel's
        own threads)."""
        def ms(seconds: float | None) -> str:
            return "-" if seconds is None else f"{seconds / requests * 1000:.2f}"

        other = self.machine - self.server - self.client - (self.database or 0.0) - self.idle
        return (f"{ms(self.server)} / {ms(self.client)} / {ms(self.database)}, "
                f"idle {ms(self.idle)}, other {ms(other)}: {ms(self.machine)}")


def with_cpu(server: Server, database: DatabaseCpu, run: Callable[[], T]) -> tuple[T, CpuUse]:
    """run()'s result, with the machine's time spent meanwhile."""
    before = CpuUse.now(server, database)
    value = run()
    return value, CpuUse.now(server, database) - before


def percentile(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(p / 100 * (len(values) - 1)))]


def run_clients(
    clients: int, concurrency: int, walk: Callable[[int], None]
) -> tuple[float, list[str]]:
    """walk(i) for each client, `concurrency` at a time: the seconds it took and the errors
    (counted and reported; the run goes on)."""
    errors: list[str] = []
    lock = threading.Lock()

    def one(i: int) -> None:
        try:
            walk(i)
        except Exception as exc:
            with lock:
                errors.append(f"{type(exc).__name__}: {exc}")

    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(one, range(clients)))
    return time.perf_counter() - started, errors


def run_wizard(port: int, clients: int, concurrency: int, seed: int) -> dict[str, Any]:
    rng = random.Random(seed)
    plans = [realistic_answers(random.Random(rng.random())) for _ in range(clients)]
    walkers: list[HttpWalker | None] = [None] * clients

    def walk(i: int) -> None:
        w = HttpWalker("127.0.0.1", port)
        w.start()
        for step_id, answers in plans[i]:
            w.step(answers, step_id)
        w.submit()
        walkers[i] = w

    elapsed, errors = run_clients(clients, concurrency, walk)
    per_step: dict[str, list[float]] = defaultdict(list)
    requests = 0
    for w in walkers:
        if w is None:
            continue
        for label, seconds in w.timings:
            per_step[label].append(seconds)
        requests += 1 + 2 * (len(w.timings) - 1)  # start is one request; each step/submit two
    return {"elapsed": elapsed, "per_step": per_step, "errors": errors, "walkers": walkers,
            "plans": plans, "requests": requests}


def run_floor(port: int, clients: int, concurrency: int) -> dict[str, Any]:
    """The floor app (bench/floor_app.py) driven like the wizard: per client one start and seven
    GET + POST pairs: 15 requests, with the wizard's statements for its 15 (the submit counted as
    a step save)."""

    def walk(_: int) -> None:
        w = HttpWalker("127.0.0.1", port)
        w.start()
        for _ in range(7):
            w.expect(w.request("GET", w.url), 200, "page")
            w.expect(w.request("POST", w.url, []), 303, "save")

    elapsed, errors = run_clients(clients, concurrency, walk)
    return {"elapsed": elapsed, "requests": 15 * clients, "errors": errors}


def run_baseline(port: int, requests: int, concurrency: int) -> float:
    """Requests per second of the bare Flask app (GET of one small template)."""
    w = HttpWalker("127.0.0.1", port)
    per_thread = max(1, requests // concurrency)

    def hammer(_: int) -> None:
        for _ in range(per_thread):
            r = w.request("GET", "/")
            assert r.status == 200

    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(hammer, range(concurrency)))
    return per_thread * concurrency / (time.perf_counter() - started)


def verify(database_url: str, result: dict[str, Any], qn: Any) -> list[str]:
    """Exactly one submission per client, identical to what it sent; nothing else."""
    problems = []
    engine = make_engine(database_url)
    with engine.connect() as conn:
        subs = conn.execute(select(Submission.draft_id, Submission.answers, Draft.token_hash)
                            .join(Draft, Draft.id == Submission.draft_id)).all()
    engine.dispose()
    by_hash = {row.token_hash: row.answers for row in subs}
    completed = [w for w in result["walkers"] if w is not None]
    if len(subs) != len(result["plans"]):
        problems.append(f"{len(subs)} submissions in the database for {len(result['plans'])} clients")
    if len({row.draft_id for row in subs}) != len(subs):
        problems.append("duplicate submissions for one draft")
    for i, w in enumerate(result["walkers"]):
        if w is None:
            continue
        stored = by_hash.get(hash_token(w.token))
        if stored != stored_form(result["plans"][i], qn):
            problems.append(f"client {i}: stored answers differ from what was sent")
    if len(completed) != len(result["plans"]):
        problems.append(f"only {len(completed)} of {len(result['plans'])} clients completed")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=200, help="questionnaires to complete (N)")
    parser.add_argument("--concurrency", type=int, default=16, help="simultaneous clients")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2,
                        help="gunicorn workers for both apps (default: one per core)")
    parser.add_argument("--database-url", default=None, help="default: a new SQLite file")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--rounds", type=int, default=3,
                        help="rounds of baseline, wizard, floor and baseline again")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="screener-bench-"))
    url = args.database_url or f"sqlite:///{tmp / 'bench.db'}"
    env = {"DATABASE_URL": url, "SECRET_KEY": "bench-secret-key-0123456789abcdef",
           "SCREENER_INSTANCE": str(tmp), "SCREENER_RATE_LIMITS": "off"}
    recreate(url)  # then init-db below finds the schema current and only seed-demo adds rows
    for command in ("init-db", "seed-demo"):
        subprocess.run([sys.executable, "-m", "flask", "--app", "screener", command], cwd=ROOT,
                       env={**os.environ, **env}, check=True, stdout=subprocess.DEVNULL)
    qn = load_questionnaire(ROOT / "questions.yaml")
    engine_name = url.split(":", 1)[0]

    # The three servers stay up; each round runs them in turn (the baseline before and after)
    # so that a machine whose speed drifts (other load, CPU throttling) affects both sides of
    # each ratio alike.
    product = Server("wsgi:app", 18431, args.workers, env)
    baseline_server = Server("bench.baseline_app:app", 18432, args.workers, {})
    floor_server = Server("bench.floor_app:app", 18433, args.workers, {"DATABASE_URL": url})
    database_cpu = DatabaseCpu(url)
    rounds: list[dict[str, Any]] = []
    try:
        # Warm-up, not timed, as long as a round: each side serves requests first, as a server
        # that has been up a while has (the wizard's caches fill, workers import what they use,
        # PostgreSQL prepares statements). The warm-up questionnaires are checked like the rest.
        warmup = run_wizard(product.port, args.clients, args.concurrency, args.seed - 1)
        run_baseline(baseline_server.port, 500, args.concurrency)
        floor_warmup = run_floor(floor_server.port, args.clients, args.concurrency)
        # About as many requests as a wizard round, in two halves each a multiple of concurrency.
        half = max(1000, args.clients * 15 // 2) // args.concurrency * args.concurrency
        for r in range(args.rounds):
            # The baseline runs just before and just after the wizard, half its requests each
            # time, so a drift in machine speed during the round weighs on both sides alike.
            before = with_cpu(baseline_server, database_cpu, lambda: run_baseline(
                baseline_server.port, half, args.concurrency))
            result, result["cpu"] = with_cpu(
                product, database_cpu,
                lambda r=r: run_wizard(product.port, args.clients, args.concurrency, args.seed + r))
            result["floor"], result["floor_cpu"] = with_cpu(
                floor_server, database_cpu,
                lambda: run_floor(floor_server.port, args.clients, args.concurrency))
            after = with_cpu(baseline_server, database_cpu, lambda: run_baseline(
                baseline_server.port, half, args.concurrency))
            result["base_requests"] = 2 * half
            # requests per second over both halves (equal request counts: the harmonic mean)
            result["baseline_rps"] = 2 / (1 / before[0] + 1 / after[0])
            result["base_cpu"] = before[1] + after[1]
            rounds.append(result)
    finally:
        product.stop()
        baseline_server.stop()
        floor_server.stop()

    print(f"Screener load benchmark: {engine_name}, {args.rounds} rounds of {args.clients} clients, "
          f"concurrency {args.concurrency}, gunicorn --workers {args.workers} (sync), "
          f"{os.cpu_count()} cores")
    print("  round  questionnaires/s  wizard req/s  baseline req/s  ratio")
    ratios = []
    for i, res in enumerate(rounds, 1):
        n = res["requests"]
        ours_rps = n / res["elapsed"]
        completed = sum(w is not None for w in res["walkers"])
        ratios.append(ours_rps / res["baseline_rps"])
        print(f"  {i:>5}  {completed / res['elapsed']:16.1f}  {ours_rps:12.0f}  "
              f"{res['baseline_rps']:14.0f}  {ratios[-1]:5.0%}")
    # Where the machine's time went, per request, in each round: CPU of the gunicorn workers,
    # the simulated clients and the PostgreSQL server, the time left idle, and the rest.
    print("  machine ms per request (CPU of app / client / database, idle, other: total):")
    for label, cpu_of, requests_of in (
        ("ours", lambda res: res["cpu"], lambda res: res["requests"]),
        ("floor", lambda res: res["floor_cpu"], lambda res: res["floor"]["requests"]),
        ("baseline", lambda res: res["base_cpu"], lambda res: res["base_requests"]),
    ):
        print(f"    {label:<9}" + "   ".join(cpu_of(res).per_request(requests_of(res))
                                         for res in rounds))
    print(f"  ratio ours / baseline (median of rounds): {statistics.median(ratios):.0%}"
          f" (range {min(ratios):.0%} to {max(ratios):.0%})")
    # The floor: the same statements per request with nothing else (bench/floor_app.py).
    floor_ratios = [res["floor"]["requests"] / res["floor"]["elapsed"] / res["baseline_rps"]
                    for res in rounds]
    shares = [o / f for o, f in zip(ratios, floor_ratios, strict=True)]
    floor_errors = floor_warmup["errors"] + [e for res in rounds for e in res["floor"]["errors"]]
    print(f"  floor (bare Flask + the wizard's database statements) / baseline: "
          f"{statistics.median(floor_ratios):.0%} (range {min(floor_ratios):.0%} to "
          f"{max(floor_ratios):.0%}), errors {len(floor_errors)}; ours / floor: {statistics.median(shares):.0%}")
    combined = {
        "walkers": [w for res in (warmup, *rounds) for w in res["walkers"]],
        "plans": [p for res in (warmup, *rounds) for p in res["plans"]],
        "errors": [e for res in (warmup, *rounds) for e in res["errors"]],
    }
    print(f"  errors: {len(combined['errors'])}"
          + (f" (first: {combined['errors'][0]})" if combined["errors"] else ""))
    print("  latency per step (GET + POST), ms:      p50     p99")
    per_step: dict[str, list[float]] = defaultdict(list)
    for res in rounds:
        for label, values in res["per_step"].items():
            per_step[label].extend(values)
    for label, values in per_step.items():
        print(f"    {label:<20} {percentile(values, 50) * 1000:8.1f} {percentile(values, 99) * 1000:8.1f}")
    problems = verify(url, combined, qn)
    print("  database check: " + (
        f"OK, exactly one complete submission for each of the {len(combined['plans'])} clients "
        "(warm-up included), identical to what was sent" if not problems else "; ".join(problems[:5])))
    return 1 if problems or combined["errors"] or floor_errors else 0


if __name__ == "__main__":
    sys.exit(main())
