"""A floor for bench/load.py: the baseline's bare Flask page plus the wizard's database work.

It measures how fast the wizard could be on a database if the product did nothing but its
statements. Each request runs exactly what the wizard runs for the same kind of request, through
the product's own code (the driver connection and DriverStatement of screener.storage.db, the
queries of screener.wizard.drafts), and then renders the baseline's small template:

- POST /c/<slug>/start: the clinic query and a new draft's INSERT, then a 303 to its page;
- GET  /c/<slug>/d/<token>: the clinic-and-draft query of every client page;
- POST /c/<slug>/d/<token>: that query and a step's UPDATE, then a 303 back to the page.

The wizard's last request, the submit, is one statement more on PostgreSQL (a data-modifying
WITH) and a short transaction on SQLite; here it counts as one more step save.

No forms, no checks, no shells, no headers beyond Flask's. The database is the product's (same
DATABASE_URL, migrated, with the demo clinic).
"""
from __future__ import annotations

import gc
import os
from pathlib import Path

from flask import Flask, abort, redirect, render_template, request
from flask.typing import ResponseReturnValue

from screener.storage.db import Database
from screener.wizard.drafts import find_clinic_and_draft, save_draft, start_draft

app = Flask(__name__, template_folder=str(Path(__file__).parent / "templates"))
app.config["DATABASE_URL"] = os.environ["DATABASE_URL"]
db = Database()  # the product's: one driver connection per request, back at teardown
db.init_app(app)


@app.post("/c/<slug>/start")
def start(slug: str) -> ResponseReturnValue:
    clinic, _ = find_clinic_and_draft(db.driver(), slug, None)
    if clinic is None:
        abort(404)
    token = start_draft(db.driver(), clinic.id, "en", 30, "about_you")
    return redirect(f"/c/{slug}/d/{token}", 303)


@app.route("/c/<slug>/d/<token>", methods=["GET", "POST"])
def page(slug: str, token: str) -> ResponseReturnValue:
    clinic, draft = find_clinic_and_draft(db.driver(), slug, token)
    if clinic is None or draft is None:
        abort(404)
    if request.method == "POST":
        answers = {**draft.answers, "step": len(draft.answers)}
        save_draft(db.driver(), draft, answers, draft.current_step or "about_you")
        return redirect(f"/c/{slug}/d/{token}", 303)
    return render_template("baseline.html", title=clinic.name, items=list(draft.answers)[:3])


@app.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


# As wsgi.py does, so that every server of the benchmark starts alike.
gc.collect()
gc.freeze()
