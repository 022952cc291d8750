"""The baseline for bench/load.py: a bare Flask app rendering one small template."""
from __future__ import annotations

import gc
from pathlib import Path

from flask import Flask, render_template

app = Flask(__name__, template_folder=str(Path(__file__).parent / "templates"))


@app.get("/")
def index() -> str:
    return render_template("baseline.html", title="Baseline", items=["one", "two", "three"])


@app.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


# As wsgi.py does, so that every server of the benchmark starts alike.
gc.collect()
gc.freeze()
