"""Real-browser fixtures: the product served on 127.0.0.1, Playwright driving Debian's Chromium.

Chromium comes from Debian (`apt-get install chromium`, done by scripts/test when missing);
Playwright's own browser download is not used. axe-core comes from npm (package.json).
"""
from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, sync_playwright
from werkzeug.serving import BaseWSGIServer, make_server

from screener import create_app
from screener.config import ROOT
from screener.extensions import db

from ..conftest import RELAXED_LIMITS, TEST_SECRET

CHROMIUM = os.environ.get("SCREENER_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = ROOT / "test-artifacts"
AXE_JS = ROOT / "node_modules" / "axe-core" / "axe.min.js"


class LiveServer:
    """A WSGI app served by werkzeug in a background thread on 127.0.0.1."""

    def __init__(self, app: Any, host: str = "127.0.0.1") -> None:
        self.server: BaseWSGIServer = make_server(host, 0, app, threaded=True)
        self.host = host
        self.port = self.server.server_port
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


@pytest.fixture(scope="session")
def live_app(database_url: str) -> Flask:
    return create_app(
        {"TESTING": False, "SECRET_KEY": TEST_SECRET, "DATABASE_URL": database_url, **RELAXED_LIMITS}
    )


@pytest.fixture(scope="session")
def live_server(live_app: Flask) -> Iterator[LiveServer]:
    server = LiveServer(live_app)
    yield server
    server.stop()
    db.of(live_app).engine.dispose()


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    assert Path(CHROMIUM).exists(), (
        f"{CHROMIUM} is missing: install Debian's chromium package (scripts/test does)"
    )
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@pytest.fixture
def context(browser: Browser, app: Flask) -> Iterator[BrowserContext]:
    """A fresh browser profile per test (the `app` fixture has reset the database)."""
    ctx = browser.new_context(locale="en-GB")
    yield ctx
    ctx.close()


@pytest.fixture
def page(context: BrowserContext) -> Page:
    return context.new_page()


def run_axe(page: Page) -> list[dict[str, Any]]:
    """axe-core's violations of the WCAG 2.0/2.1 A and AA rules on the current page."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        # evaluate() is not subject to the page's CSP, unlike an injected <script>.
        page.evaluate(AXE_JS.read_text())
    result = page.evaluate(
        """() => axe.run(document, {runOnly: {type: 'tag',
              values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})"""
    )
    return list(result["violations"])


def describe(violations: list[dict[str, Any]]) -> str:
    return json.dumps(
        [{"id": v["id"], "help": v["help"], "nodes": [n["target"] for n in v["nodes"]][:5]} for v in violations],
        indent=1,
    )
