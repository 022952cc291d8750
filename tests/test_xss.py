"""An XSS payload in every free-text answer comes out inert everywhere the answers go."""
from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from screener.questionnaire.model import TEXT_TYPES

from .conftest import STEP_ANSWERS, Walker, step_of, submissions
from .dashboard_support import *  # noqa: F403  (fixtures: accounts, clinics, logged_in, ...)

PAYLOAD = '"><script>alert(1)</script><img src=x onerror=alert(2)>'
FORMULA = "=HYPERLINK(\"http://evil.example\",\"x\")"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"


def walk_with_payloads(client: FlaskClient) -> Walker:
    w = Walker(client)
    w.start()
    free_text = {
        "goals": {"skin_goals": ["other"], "skin_goals_other": PAYLOAD},
        step_of("other_health"): {"other_health": f"{FORMULA}\n{PAYLOAD}"},
        "medicines": {
            "blood_thinners": "yes", "blood_thinners_which": PAYLOAD,
            "bleeding_supplements": ["other"], "bleeding_supplements_which": PAYLOAD,
        },
        "details": {"full_name": f"Mei {PAYLOAD}"},
    }
    for step_id, answers in STEP_ANSWERS.items():
        r = w.post_step({**answers, **free_text.get(step_id, {})})
        assert r.status_code == 303, (step_id, r.get_data(as_text=True)[-1500:])
    return w


def assert_inert_html(html: str, where: str) -> None:
    assert "<script>alert(1)" not in html, where
    assert "<img src=x" not in html and "onerror=alert" not in html.replace("onerror=alert(2)&gt;", ""), where
    assert ESCAPED in html, f"{where}: the payload should be shown, escaped"


def test_payloads_are_inert_in_every_output(
    app: Flask, client: FlaskClient, session: Any, logged_in: Callable[[str], FlaskClient],
    accounts: dict[str, int],
) -> None:
    qn = app.extensions["questionnaire"]
    w = walk_with_payloads(client)
    # Every free-text question of the questionnaire got a payload (a new one must be added here).
    texted = {
        "skin_goals_other", "other_health", "full_name", "blood_thinners_which",
        "bleeding_supplements_which",
    }
    assert {q.id for q in qn.questions.values() if q.type in {"text", "textarea"}} == texted
    assert {q.id for q in qn.questions.values() if q.type in TEXT_TYPES} - texted == {"email", "phone"}

    assert_inert_html(w.get(f"{w.base}/review").get_data(as_text=True), "review")
    assert w.submit().status_code == 303
    assert_inert_html(w.get(f"{w.base}/summary").get_data(as_text=True), "client summary")
    [sub] = submissions(session)
    assert sub.answers["skin_goals_other"] == PAYLOAD  # stored as typed, escaped on output

    staff = logged_in("pa@example.com")
    listing = staff.get("/dashboard/").get_data(as_text=True)
    assert "<script>alert(1)" not in listing and ESCAPED in listing
    assert_inert_html(staff.get(f"/dashboard/submissions/{sub.id}").get_data(as_text=True), "dashboard detail")

    for path, mimetype in ((f"/dashboard/submissions/{sub.id}.json", "application/json"),
                           (f"/dashboard/submissions/{sub.id}.fhir.json", "application/fhir+json")):
        r = staff.get(path)
        assert r.status_code == 200 and r.mimetype == mimetype
        assert r.headers["X-Content-Type-Options"] == "nosniff"
        assert r.headers["Content-Disposition"].startswith("attachment")
        text = r.get_data(as_text=True)
        # No markup in the file itself: < > & ' are JSON escapes...
        assert not set("<>&'") & set(text), path
        assert "\\u003cscript\\u003ealert(1)\\u003c/script\\u003e" in text, path
        # ...which any JSON reader turns back into exactly what the client typed.
        strings = re.findall(r'"(?:[^"\\]|\\.)*"', text)
        assert PAYLOAD in {json.loads(s) for s in strings}, path
        assert f"Mei {PAYLOAD}" in {json.loads(s) for s in strings}, path

    r = staff.get("/dashboard/submissions.csv")
    assert r.headers["Content-Type"].startswith("text/csv")
    assert r.headers["Content-Disposition"].startswith("attachment")
    body = r.get_data(as_text=True).lstrip("\ufeff")
    r.close()
    rows = list(csv.DictReader(io.StringIO(body)))
    assert len(rows) == 1
    assert rows[0]["skin_goals_other"] == PAYLOAD  # text, not markup: CSV is never rendered as HTML
    assert not rows[0]["other_health"].startswith("=")  # the formula is neutralised
    assert FORMULA in rows[0]["other_health"]
    assert not rows[0]["full_name"].startswith(("=", "+", "-", "@"))
