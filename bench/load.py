"""Load benchmark: simulated clients walk the whole questionnaire over real HTTP through gunicorn.

Two modes, on one server and database (either or both; both run open loop first):

- open loop, ``--rate R --duration D``: clients arrive at random (Poisson arrivals, R a second
  on average) for D seconds, each arrival one client walking the whole questionnaire; there are
  always threads enough that an arrival never waits for a free one, and arrivals that started
  late (the load generator fell behind) are counted;
- closed loop, ``--clients N --duration D``: N clients walk back to back for D seconds
  (capacity).

A client's answers are varied and realistic, drawn from the questionnaire as loaded
(questions.yaml: its steps, questions, choices and conditions), so the client follows the
questionnaire as it changes. It walks like a browser without cookies (one connection a request):
the landing page and start, each step's page and its answers, the review and submit, the
summary. A step's latency is the GET of its page and the POST of its answers together (the
landing page and start, each questionnaire step, the review and submit; the summary, a GET
alone, is listed apart). The report gives questionnaires per second, p50/p95/p99 over all steps,
the worst step's p95 and the errors, then checks in the database that each client's submission
exists exactly once and is exactly what it sent (its answers to hidden questions left out).

    .venv/bin/python -m bench.load --rate 20 --duration 60                 # SQLite, open loop
    .venv/bin/python -m bench.load --clients 16 --duration 60              # SQLite, closed loop
    .venv/bin/python -m bench.load --database-url postgresql+psycopg://... --rate 20 --clients 16
    bench/run                                              # both modes, SQLite and PostgreSQL
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy import select, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from screener.questionnaire import Question, Questionnaire, Step, load_questionnaire  # noqa: E402
from screener.questionnaire.conditions import evaluate  # noqa: E402
from screener.questionnaire.model import Compare, Not  # noqa: E402
from screener.storage.db import make_engine  # noqa: E402
from screener.storage.migrate import recreate  # noqa: E402
from screener.storage.models import Draft, Submission  # noqa: E402
from screener.wizard.drafts import hash_token  # noqa: E402
from tests.realhttp import CSRF_RE, HttpWalker, Response, wait_until_up  # noqa: E402

HOST = "127.0.0.1"  # loopback only
CLINIC = "demo"  # made by `flask seed-demo`
REQUEST_TIMEOUT = 10.0  # seconds; a request that takes longer is an error
LATE = 0.010  # an arrival whose walk started this many seconds after its time started late
MAX_IN_FLIGHT = 256  # open loop: threads at most (far more than 2 workers can keep busy)
GRACE = 30.0  # seconds a phase may run over its duration; requests after that are errors

FLAGGED = 0.05  # how often a client gives an answer that raises a screening flag, per question
HIDDEN = 0.05  # how often it sends an answer its other answers hide, per such question
NAMES = ("Mei Chen", "陳美玲", "Aisha Khan", "林志明", "Olivia Brown", "王小華", "José García",
         "O'Brien", "Wong Siu-ming")
TEXTS = ("Jawline / 下顎線", "Mild hay fever; 季節性過敏", "Puffiness around the eyes",
         "想改善法令紋", "Sensitive skin, reacts to some creams", "Wedding in the spring",
         "偶爾偏頭痛 (已看醫生)", "Nothing else to add, thanks!")


# Answers -------------------------------------------------------------------------------------


@dataclass
class Plan:
    """What one client sends, step by step, and what the product must store for it."""

    lang: str
    steps: list[tuple[str, list[tuple[str, str]], list[str]]]  # step id, form, questions shown
    expected: dict[str, Any]


@cache
def flagging_choices(qn: Questionnaire) -> dict[str, set[str]]:
    """Per question, the choices that a screening rule's condition looks for (under_18, "yes" to
    a bleeding disorder...): a client gives one now and then; most of its answers are others."""
    found: dict[str, set[str]] = defaultdict(set)

    def visit(cond: Any, negated: bool) -> None:
        if isinstance(cond, Compare):
            if not negated and cond.operator in ("equals", "in", "any_of"):
                operand = cond.operand
                found[cond.q].update(operand if isinstance(operand, tuple) else [str(operand)])
        elif isinstance(cond, Not):
            visit(cond.not_, not negated)
        else:  # all / any
            for sub in getattr(cond, "all", None) or getattr(cond, "any", None) or ():
                visit(sub, negated)

    for rule in qn.rules:
        visit(rule.when, False)
    return found


def answer(qn: Questionnaire, q: Question, rng: random.Random, today: dt.date
           ) -> tuple[list[str], Any]:
    """One realistic answer: the form values a browser posts, and the answer as stored."""
    if q.type in ("single", "multi"):
        flagging = flagging_choices(qn).get(q.id, set())
        usual = [v for v in q.choice_values if v not in flagging]
        rare = [v for v in q.choice_values if v in flagging]
        pool = usual if usual and (not rare or rng.random() >= FLAGGED) else rare
        if q.type == "single":
            value = rng.choice(pool)
            return [value], value
        exclusive = [v for v in pool if v in (q.exclusive or ())]
        others = [v for v in pool if v not in exclusive]
        if exclusive and (not others or rng.random() < 0.5):
            chosen = [rng.choice(exclusive)]
        else:
            least = min(len(others), max(1, q.effective_min_choices))
            chosen = rng.sample(others, rng.randint(least, max(least, min(3, len(others)))))
        return chosen, [v for v in q.choice_values if v in chosen]  # stored in questionnaire order
    if q.type == "scale":
        assert q.min is not None and q.max is not None
        n = rng.randint(q.min, q.max)
        return [str(n)], n
    if q.type == "consent":
        return ["y"], True
    if q.type == "date":
        # Up to a year or so ago, or a few weeks ahead; never today, as the day may turn meanwhile.
        ago, ahead = -rng.randint(1, 400), rng.randint(1, 80)
        span = {"past": ago, "future": ahead}.get(q.date_range or "any", rng.choice([ago, ahead]))
        day = (today + dt.timedelta(days=span)).isoformat()
        return [day], day
    if q.type == "email":
        value = f"client{rng.randint(1, 99999)}@example.com"
    elif q.type == "tel":
        value = f"+852 9{rng.randint(0, 9999999):07d}"
    else:  # text, textarea
        value = rng.choice(NAMES if q.id.endswith("name") else TEXTS)[: q.text_max_length]
    # Now and then a stray space, as typed; the product stores the answer trimmed.
    return [rng.choice(["", "", "", " "]) + value + rng.choice(["", "", "", " "])], value


def plan_answers(qn: Questionnaire, rng: random.Random, today: dt.date) -> Plan:
    """One client's walk: a realistic answer to each question it sees, in order. Now and then it
    also sends an answer to a question of the same page that its other answers hide (typed, then
    hidden again by a choice), which the product must not keep."""
    stored: dict[str, Any] = {}

    def shown(condition: Any) -> bool:
        return condition is None or evaluate(condition, stored, qn.questions, today)

    steps: list[tuple[str, list[tuple[str, str]], list[str]]] = []
    for step in qn.steps:
        if not shown(step.show_if):
            continue
        form: list[tuple[str, str]] = []
        seen: list[str] = []
        for q in step.questions:
            if shown(q.show_if):
                seen.append(q.id)
                if not q.required and rng.random() < 0.4:
                    continue  # optional, left empty
                posted, value = answer(qn, q, rng, today)
                stored[q.id] = value
            elif on_same_page(qn, step, q) and rng.random() < HIDDEN:
                posted, _ = answer(qn, q, rng, today)
            else:
                continue
            if q.type == "date":  # three boxes, as a browser posts them (GOV.UK date input)
                day = dt.date.fromisoformat(posted[0])
                form += [(f"{q.id}-day", str(day.day)), (f"{q.id}-month", str(day.month)),
                         (f"{q.id}-year", str(day.year))]
            else:
                form.extend((q.id, v) for v in posted)
        steps.append((step.id, form, seen))
    return Plan(rng.choice(["en", "en", "zh-Hant"]), steps, stored)


def on_same_page(qn: Questionnaire, step: Step, q: Question) -> bool:
    """A conditional question on its step's page (hidden there by a choice on the same page)."""
    return q.show_if is not None and any(
        qn.step_of[qid] is step for qid in q.show_if.question_ids())


# Clients --------------------------------------------------------------------------------------


@dataclass
class Walk:
    """One client's walk: its draft token, step latencies, lag behind its arrival, outcome."""

    plan: Plan
    token: str | None = None
    timings: list[tuple[str, float]] = field(default_factory=list)
    lag: float = 0.0
    error: str | None = None
    finished: float = 0.0


NONCE_RE = re.compile(r'name="nonce" value="([^"]+)"')
CONSENT_RE = re.compile(r'name="consent_version" value="([0-9a-f]+)"')


def location(resp: Response) -> str:
    return urllib.parse.urlsplit(resp.headers["location"]).path


def csrf(resp: Response, what: str) -> str:
    m = CSRF_RE.search(resp.body)
    if m is None:
        raise AssertionError(f"no csrf token on {what}")
    return m.group(1) or m.group(2)


class Overtime(Exception):
    """A request after the phase's time was up (the server or the generator fell far behind)."""


@dataclass
class Client(HttpWalker):
    """The tests' cookie-less client (one connection a request), with a time limit."""

    stop_by: float = 0.0  # time.perf_counter() after which no request is sent

    def request(self, method: str, path: str, form: Iterable[tuple[str, str]] | None = None
                ) -> Response:
        if time.perf_counter() > self.stop_by:
            raise Overtime("the phase ran out of time before this client was done")
        return super().request(method, path, form)


def walk(port: int, plan: Plan, walk_: Walk, stop_by: float) -> None:
    """The whole questionnaire, as a browser without cookies walks it."""
    w = Client(HOST, port, clinic=CLINIC, timeout=REQUEST_TIMEOUT, stop_by=stop_by)
    # The start page holds the first step's questions; sending them makes the draft.
    landing = w.expect(w.request("GET", f"/c/{CLINIC}/?lang={plan.lang}"), 200, "landing page")
    nonce = NONCE_RE.search(landing.body)
    if nonce is None:
        raise AssertionError("landing page: no start nonce")
    _first, first_form, _seen = plan.steps[0]
    started = w.expect(w.request("POST", f"/c/{CLINIC}/start",
                                 [("lang", plan.lang), ("nonce", nonce.group(1)), *first_form]),
                       303, "start")
    walk_.timings.append(("start", landing.seconds + started.seconds))
    url = location(started)
    m = re.search(r"/d/([^/]+)/", url)
    if m is None:
        raise AssertionError(f"start: no draft in {url}")
    walk_.token = m.group(1)
    for step_id, form, seen in plan.steps[1:]:
        if not url.endswith(f"/s/{step_id}"):
            raise AssertionError(f"expected step {step_id}, was sent to {url.rsplit('/', 1)[-1]}")
        page = w.expect(w.request("GET", url), 200, f"GET {step_id}")
        missing = [qid for qid in seen
                   if f'name="{qid}"' not in page.body and f'name="{qid}-day"' not in page.body]
        if missing:
            raise AssertionError(f"{step_id}: no field for {', '.join(missing)}")
        sent = [("csrf_token", csrf(page, step_id)), ("action", "continue"), *form]
        posted = w.expect(w.request("POST", url, sent), 303, f"POST {step_id}")
        walk_.timings.append((step_id, page.seconds + posted.seconds))
        url = location(posted)
    if not url.endswith("/review"):
        raise AssertionError(f"expected the review after the last step, was sent to {url}")
    review = w.expect(w.request("GET", url), 200, "review")
    base = url.removesuffix("/review")
    token = csrf(review, "review")
    # The consent is signed by typing the full name given in the details.
    consent = CONSENT_RE.search(review.body)
    name = next((v for _, form, _ in plan.steps for k, v in form if k == "full_name"), "")
    signature = [("consent_version", consent.group(1)), ("signed_name", name)] if consent else []
    submitted = w.expect(
        w.request("POST", f"{base}/submit", [("csrf_token", token), *signature]), 303, "submit"
    )
    walk_.timings.append(("submit", review.seconds + submitted.seconds))
    summary = w.expect(w.request("GET", location(submitted)), 200, "summary")
    walk_.timings.append(("summary", summary.seconds))


def one_client(port: int, qn: Questionnaire, seed: str, arrival: float | None, stop_by: float
               ) -> Walk:
    """Plan a client's answers and walk; never raises (an error is kept on the walk)."""
    lag = 0.0 if arrival is None else time.perf_counter() - arrival
    rng = random.Random(seed)
    result = Walk(plan_answers(qn, rng, dt.date.today()), lag=lag)
    try:
        walk(port, result.plan, result, stop_by)
    except Exception as exc:
        result.error = f"{type(exc).__name__}: {exc}"
    result.finished = time.perf_counter()
    return result


@dataclass
class Phase:
    mode: str
    walks: list[Walk]
    elapsed: float  # from the start to the last walk's end (open loop: at least the duration)
    # The share of the machine's CPU time that processes other than the benchmark's (the load
    # generator, gunicorn, the PostgreSQL server) took meanwhile: they slow the server down.
    others: float | None = None


def open_loop(port: int, qn: Questionnaire, rate: float, duration: float, seed: int) -> Phase:
    """Arrivals at random (Poisson, `rate` a second) for `duration` seconds."""
    rng = random.Random(seed)
    offsets = []
    t = rng.expovariate(rate)
    while t < duration:
        offsets.append(t)
        t += rng.expovariate(rate)
    begin = time.perf_counter() + 0.05
    stop_by = begin + duration + GRACE
    with ThreadPoolExecutor(MAX_IN_FLIGHT, thread_name_prefix="client") as pool:
        futures = []
        for i, offset in enumerate(offsets):
            wait = begin + offset - time.perf_counter()
            if wait > 0:
                time.sleep(wait)
            futures.append(pool.submit(one_client, port, qn, f"{seed}-{i}", begin + offset,
                                       stop_by))
        walks = [f.result() for f in futures]
    # Over the whole arrival window (arrivals are random: the last may come well before its end).
    end = max((w.finished for w in walks), default=begin)
    return Phase(f"open {rate:g}/s", walks, max(duration, end - begin))


def closed_loop(port: int, qn: Questionnaire, clients: int, duration: float, seed: int) -> Phase:
    """`clients` clients walking back to back; none starts a walk after `duration` seconds."""
    begin = time.perf_counter()
    stop = begin + duration
    stop_by = stop + GRACE

    def client(c: int) -> list[Walk]:
        walks: list[Walk] = []
        while time.perf_counter() < stop:
            walks.append(one_client(port, qn, f"{seed}-{c}-{len(walks)}", None, stop_by))
        return walks

    with ThreadPoolExecutor(clients, thread_name_prefix="client") as pool:
        walks = [w for ws in pool.map(client, range(clients)) for w in ws]
    end = max((w.finished for w in walks), default=begin)
    return Phase(f"closed {clients}", walks, end - begin)


# Server and database ----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


class Server:
    """gunicorn serving the product (wsgi:app) with its own settings, on a loopback port."""

    def __init__(self, workers: int, env: dict[str, str], log: Path) -> None:
        self.port = free_port()
        self.log = log
        with log.open("wb") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "--workers", str(workers),
                 "--bind", f"{HOST}:{self.port}", "--no-control-socket", "wsgi:app"],
                cwd=ROOT, env={**os.environ, **env}, stdout=out, stderr=subprocess.STDOUT,
            )
        try:
            wait_until_up(HOST, self.port)
        except TimeoutError:
            self.stop()
            sys.exit(f"gunicorn did not start; its log:\n{log.read_text()[-3000:]}")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def cpu_ticks(pid: int, ended_children: bool = False) -> int:
    """A process's CPU time so far (user + system, clock ticks; its threads included, and its
    children that ended if asked); 0 when it is gone. Linux /proc."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0
    ticks = int(fields[11]) + int(fields[12])
    return ticks + (int(fields[13]) + int(fields[14]) if ended_children else 0)


def tree_ticks(pid: int) -> int:
    """CPU time of a process, its children that ended, and those running."""
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        children = []
    return cpu_ticks(pid, ended_children=True) + sum(cpu_ticks(int(c)) for c in children)


class Machine:
    """How much of the machine's CPU time other processes took: all the cores' busy time
    (/proc/stat) less the benchmark's own (this process, the gunicorn master and workers, the
    PostgreSQL server when it runs here)."""

    def __init__(self, server: Server, url: str) -> None:
        self.pids = [server.proc.pid]
        if not url.startswith("sqlite"):
            engine = make_engine(url)
            with engine.connect() as conn:
                backend = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
            engine.dispose()
            try:  # the server's process (a backend's parent), if it runs on this machine
                if Path(f"/proc/{backend}/comm").read_text().strip() == "postgres":
                    self.pids.append(int(Path(f"/proc/{backend}/stat").read_text()
                                         .rsplit(")", 1)[1].split()[1]))
            except OSError:
                pass

    def reading(self) -> tuple[float, int, int]:
        """Now: the wall clock, all cores' busy ticks, the benchmark's ticks."""
        try:
            cpu = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
            busy = sum(cpu) - cpu[3] - cpu[4]  # all but idle and iowait
        except (OSError, IndexError, ValueError):
            busy = 0
        ours = cpu_ticks(os.getpid()) + sum(tree_ticks(pid) for pid in self.pids)
        return time.perf_counter(), busy, ours

    def others_since(self, before: tuple[float, int, int]) -> float | None:
        """Other processes' share of the machine since `before` (None where unknown)."""
        now = self.reading()
        if not now[1]:
            return None
        ticks = (now[1] - before[1]) - (now[2] - before[2])
        capacity = (now[0] - before[0]) * (os.cpu_count() or 1) * os.sysconf("SC_CLK_TCK")
        return max(0.0, ticks / capacity)


def prepare(url: str, env: dict[str, str]) -> str:
    """An empty database with the demo clinic; its name as reported (server version, fsync)."""
    recreate(url)  # then init-db finds the schema current and seed-demo adds the clinic
    for command in ("init-db", "seed-demo"):
        subprocess.run(
            [sys.executable, "-m", "flask", "--app", "screener", command], cwd=ROOT,
            env={**os.environ, **env}, check=True, stdout=subprocess.DEVNULL)
    if url.startswith("sqlite"):
        return "SQLite"
    engine = make_engine(url)
    with engine.connect() as conn:
        version = conn.execute(text("SHOW server_version")).scalar_one().split()[0]
        fsync = conn.execute(text("SHOW fsync")).scalar_one()
    engine.dispose()
    return f"PostgreSQL {version} (fsync {fsync})"


def stored_submissions(url: str) -> tuple[dict[str, list[Any]], int]:
    """Each draft's stored submissions (answers) by token hash, and how many have no draft."""
    engine = make_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(select(Draft.token_hash, Submission.answers)
                            .outerjoin(Draft, Draft.id == Submission.draft_id)).all()
    engine.dispose()
    by_hash: dict[str, list[Any]] = defaultdict(list)
    orphans = 0
    for token_hash, answers in rows:
        if token_hash is None:
            orphans += 1
        else:
            by_hash[token_hash].append(answers)
    return by_hash, orphans


def check(walks: list[Walk], stored: dict[str, list[Any]]) -> tuple[str, list[str]]:
    """Every client that finished has exactly one submission, exactly what it sent; a client
    that failed has at most one, and then what it sent too."""
    problems: list[str] = []
    good = 0
    finished = [w for w in walks if w.error is None]
    for i, w in enumerate(walks):
        subs = stored.get(hash_token(w.token), []) if w.token else []
        if len(subs) > 1:
            problems.append(f"client {i}: {len(subs)} submissions")
        elif not subs and w.error is None:
            problems.append(f"client {i}: no submission")
        elif subs and subs[0] != w.plan.expected:
            diff = sorted(k for k in {*subs[0], *w.plan.expected}
                          if subs[0].get(k) != w.plan.expected.get(k))
            problems.append(f"client {i}: stored answers differ ({', '.join(diff)})")
        elif w.error is None:
            good += 1
    summary = (f"OK {good}/{len(finished)}" if not problems
               else f"FAILED ({len(problems)} of {len(walks)} clients)")
    return summary, problems


# Report ---------------------------------------------------------------------------------------


def percentile(values: list[float], p: float) -> float:
    """Nearest rank."""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, int(-(-p * len(ordered) // 100)) - 1))]


@dataclass
class Row:
    database: str
    mode: str
    rate: float
    p50: float
    p95: float
    p99: float
    worst: tuple[str, float]
    late: int
    errors: int
    check: str
    others: float | None


def report(database: str, phase: Phase, check_summary: str, problems: list[str]) -> Row:
    """Print a phase's details; its row of the summary table."""
    done = [w for w in phase.walks if w.error is None]
    per_step: dict[str, list[float]] = defaultdict(list)
    for w in done:
        for label, seconds in w.timings:
            per_step[label].append(seconds)
    steps = [s for label, values in per_step.items() if label != "summary" for s in values] or [0.0]
    errors = [w.error for w in phase.walks if w.error is not None]
    late = [w.lag for w in phase.walks if w.lag > LATE]
    rate = len(done) / phase.elapsed if phase.elapsed > 0 else 0.0
    print(f"\n{database}, {phase.mode}: {len(phase.walks)} clients, {len(done)} questionnaires in "
          f"{phase.elapsed:.1f} s = {rate:.1f}/s; errors {len(errors)}; "
          f"other processes' CPU: {percent(phase.others)} of the machine"
          + (f"; started late (>{LATE * 1000:.0f} ms): {len(late)}, at most "
             f"{max(w.lag for w in phase.walks) * 1000:.0f} ms" if phase.mode.startswith("open")
             else ""))
    for message, count in Counter(errors).most_common(5):
        print(f"  error x{count}: {message}")
    print(f"  {'step (GET + POST), ms':<24}{'p50':>8}{'p95':>8}{'p99':>8}{'n':>8}")
    for label, values in [*per_step.items(), ("all steps", steps)]:
        cells = "".join(f"{percentile(values, p) * 1000:8.1f}" for p in (50, 95, 99))
        print(f"  {label:<24}{cells}{len(values):8d}")
    print(f"  database check: {check_summary}" + "".join(f"\n    {p}" for p in problems[:5]))
    worst = max(((label, percentile(values, 95)) for label, values in per_step.items()
                 if label != "summary"), key=lambda lv: lv[1], default=("-", 0.0))
    return Row(database, phase.mode, rate, percentile(steps, 50), percentile(steps, 95),
               percentile(steps, 99), worst, len(late), len(errors), check_summary, phase.others)


def percent(share: float | None) -> str:
    return "-" if share is None else f"{share:.0%}"


def table(rows: list[Row]) -> None:
    ms: Callable[[float], str] = lambda s: f"{s * 1000:.1f}"  # noqa: E731
    head = ("database", "mode", "q/s", "p50 ms", "p95 ms", "p99 ms", "worst step p95", "late",
            "errors", "database check", "others' CPU")
    body = [(r.database, r.mode, f"{r.rate:.1f}", ms(r.p50), ms(r.p95), ms(r.p99),
             f"{ms(r.worst[1])} ({r.worst[0]})", str(r.late) if r.mode.startswith("open") else "-",
             str(r.errors), r.check, percent(r.others)) for r in rows]
    widths = [max(len(line[i]) for line in (head, *body)) for i in range(len(head))]
    print()
    for line in (head, *body):
        cells = (cell.ljust(width) for cell, width in zip(line, widths, strict=True))
        print("  ".join(cells).rstrip())


# Main -----------------------------------------------------------------------------------------


def run_database(url: str, args: argparse.Namespace, qn: Questionnaire) -> list[Row]:
    tmp = Path(tempfile.mkdtemp(prefix="screener-bench-"))
    if url == "sqlite":
        url = f"sqlite:///{tmp / 'bench.db'}"
    env = {"DATABASE_URL": url, "SECRET_KEY": "bench-secret-key-0123456789abcdef",
           "SCREENER_INSTANCE": str(tmp), "SCREENER_RATE_LIMITS": "off", "SCREENER_SMTP_HOST": ""}
    database = prepare(url, env)
    server = Server(args.workers, env, tmp / "gunicorn.log")
    machine = Machine(server, url)
    phases: list[Phase] = []

    def measured(run: Callable[[], Phase]) -> Phase:
        before = machine.reading()
        phase = run()
        phase.others = machine.others_since(before)
        return phase

    try:
        # Not measured: the workers import what requests use and the database warms up, as on a
        # server that has been up a while. Its questionnaires are checked like the others.
        warmup = closed_loop(server.port, qn, 2, args.warmup, args.seed - 1)
        if args.rate > 0:
            phases.append(measured(lambda: open_loop(server.port, qn, args.rate, args.duration,
                                                     args.seed)))
        if args.clients > 0:
            phases.append(measured(lambda: closed_loop(server.port, qn, args.clients,
                                                       args.duration, args.seed + 1)))
    finally:
        server.stop()
    stored, orphans = stored_submissions(url)
    all_walks = [w for phase in (warmup, *phases) for w in phase.walks]
    tokens = {hash_token(w.token) for w in all_walks if w.token}
    strangers = orphans + sum(len(subs) for h, subs in stored.items() if h not in tokens)
    rows = []
    for phase in phases:
        summary, problems = check(phase.walks, stored)
        if strangers:  # in every row: which phase they came from is unknown
            summary = f"FAILED ({strangers} submissions from no client)"
            problems.append(summary)
        rows.append(report(database, phase, summary, problems))
    warm_summary, warm_problems = check(warmup.walks, stored)
    if warm_problems or any(w.error for w in warmup.walks):
        rows.append(report(database, Phase("warm-up", warmup.walks, warmup.elapsed, warmup.others),
                           warm_summary, warm_problems))
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=0.0,
                        help="open loop: questionnaires a second arriving at random (0: none)")
    parser.add_argument("--clients", type=int, default=0,
                        help="closed loop: clients walking back to back (0: none)")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of each mode")
    parser.add_argument("--warmup", type=float, default=5.0, help="seconds of warm-up, 2 clients")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--database-url", action="append", default=None,
                        help="a database to use (dropped and made anew), or 'sqlite' for a new "
                             "SQLite file (the default); may be given more than once")
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    if args.rate <= 0 and args.clients <= 0:
        parser.error("give --rate (open loop), --clients (closed loop) or both")
    if not (0 <= args.rate <= 200 and 0 <= args.clients <= MAX_IN_FLIGHT
            and 0 < args.duration <= 3600 and 0 <= args.warmup <= 600):
        parser.error(f"bounds: --rate up to 200, --clients up to {MAX_IN_FLIGHT}, "
                     "--duration up to an hour, --warmup up to 10 minutes")
    qn = load_questionnaire(ROOT / "questions.yaml")
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"Screener load benchmark: gunicorn --workers {args.workers}, {os.cpu_count()} cores "
          f"(load average before: {load}), {args.duration:g} s per mode")
    rows = [row for url in args.database_url or ["sqlite"] for row in run_database(url, args, qn)]
    table(rows)
    return 0 if all(r.errors == 0 and r.check.startswith("OK") for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
