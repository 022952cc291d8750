"""Every page's HTML passes the W3C Nu Html Checker (vnu-jar from npm, run with Java)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from screener.config import ROOT

from ..client_pages import client_pages, dashboard_pages
from ..conftest import STEP_ANSWERS
from .journey import LANGS

VNU_JAR = ROOT / "node_modules" / "vnu-jar" / "build" / "dist" / "vnu.jar"
# Deliberately broken, so the run shows the checker does report errors.
BROKEN = (
    '<!doctype html><html lang="en"><head><title>x</title></head><body><p><div></p></body></html>'
)


def vnu(files: list[Path]) -> dict[str, list[dict[str, Any]]]:
    """Errors per file name, from one run of the checker over all the files."""
    java = shutil.which("java")
    assert java, "Java is missing: install default-jre-headless (scripts/test-deps.sh does)"
    assert VNU_JAR.is_file(), "vnu-jar is missing: run `npm ci` (scripts/test-deps.sh does)"
    run = subprocess.run(
        [java, "-jar", str(VNU_JAR), "--errors-only", "--format", "json", *map(str, files)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    report = json.loads(run.stderr or run.stdout or '{"messages": []}')
    errors: dict[str, list[dict[str, Any]]] = {}
    for message in report["messages"]:
        if message.get("type") in ("error", "non-document-error"):
            errors.setdefault(Path(message.get("url", "?")).name, []).append(message)
    return errors


def practitioner_pages(app: Flask) -> dict[str, str]:
    """The practitioner summary of a Chinese client's submission, read in each language."""
    from sqlalchemy import select

    from screener.extensions import db
    from screener.screening.render import render_practitioner_summary
    from screener.storage.models import Submission

    pages = {}
    with app.test_request_context("/"):
        sub = db.session.scalars(select(Submission).where(Submission.lang == "zh-Hant")).first()
        assert sub is not None
        for lang in LANGS:
            pages[f"practitioner-{lang}"] = render_practitioner_summary(sub, lang)
    return pages


def test_every_page_is_valid_html(
    app: Flask, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files: list[Path] = []

    def write(name: str, html: str) -> None:
        path = tmp_path / f"{name}.html"
        path.write_text(html, encoding="utf-8")
        files.append(path)

    for lang in LANGS:
        for name, response in client_pages(app.test_client(), lang).items():
            write(f"{lang}-{name}", response.get_data(as_text=True))
    for name, html in practitioner_pages(app).items():
        write(name, html)
    for lang in LANGS:
        for name, response in dashboard_pages(app, app.test_client(), lang, monkeypatch).items():
            assert response.headers.get("Content-Type", "").startswith("text/html"), name
            write(f"{lang}-dashboard-{name}", response.get_data(as_text=True))
    write("broken", BROKEN)
    assert len(files) > 2 * (len(STEP_ANSWERS) + 8)

    errors = vnu(files)
    assert "broken.html" in errors, "the checker ran but reported nothing on a broken page"
    errors.pop("broken.html")
    assert not errors, json.dumps(
        {
            name: [f"{m['message']} [{m.get('extract', '')}]" for m in msgs]
            for name, msgs in errors.items()
        },
        indent=1,
        ensure_ascii=False,
    )
