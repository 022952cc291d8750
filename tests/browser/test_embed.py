"""The wizard inside a clinic's website: a cross-site iframe, in a real Chromium, with no cookies.

The clinic's page is served on http://localhost:<A> by a second small server; the product is the
`live_server` on http://127.0.0.1:<B>, another site. Third-party cookies are set per profile
through Chromium's own preference, the user's "Block third-party cookies" choice
(`profile.cookie_controls_mode`: 0 allow, 1 block). Each setting is shown to bite by the
negative control at the end: an ordinary cookie-session form that breaks in the same frame.
"""
from __future__ import annotations

import json
import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlencode

import pytest
from flask import Flask, abort, request, session
from markupsafe import escape
from playwright.sync_api import BrowserContext, Frame, Page, Playwright, Request, Response
from playwright.sync_api import Error as PlaywrightError
from sqlalchemy import select

from screener.embed import embed_snippets
from screener.extensions import db
from screener.storage.models import Clinic

from ..conftest import FIRST_STEP, STEP_ANSWERS
from .conftest import CHROMIUM, CHROMIUM_ARGS, LiveServer, describe, run_axe
from .test_walk import fill_step

COOKIE_MODES = {"allowed": 0, "blocked": 1}
FRAME = "iframe[data-screener-frame]"


# A clinic's website --------------------------------------------------------------------------

HOST_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Clinic website</title></head>
<body><main><h1>Book a consultation</h1>
{body}
</main>
<script>
// What the tests read: every message the page gets, and every completion event.
window.seen = [];
window.completions = [];
window.addEventListener("message", function (e) {{
  window.seen.push({{origin: e.origin, type: e.data && e.data.type}});
}});
document.addEventListener("screener:completed", function (e) {{
  window.completions.push({{
    target: e.target.getAttribute("data-screener-clinic"), detail: e.detail
  }});
}});
</script>
</body></html>"""


class Product:
    slug = "demo"
    name = "Demo Clinic"


def host_app(product: str, extra: dict[str, str] | None = None) -> Flask:
    """The clinic's site: /script (the one-line snippet), /plain (the iframe snippet), /page/<x>."""
    app = Flask("clinic_site")
    snippets = embed_snippets(Product(), product, title="Consultation questionnaire")
    pages = {"script": snippets["script"], "plain": snippets["iframe"], **(extra or {})}

    @app.get("/<name>")
    def page(name: str) -> str:
        if name not in pages:
            abort(404)
        return HOST_PAGE.format(body=pages[name])

    return app


def cookie_form_app() -> Flask:
    """The negative control: a form whose CSRF token lives in a Flask session cookie.

    The cookie is `SameSite=None; Secure` (allowed on http://127.0.0.1), as a developer would
    set it for an iframe: only the browser's third-party cookie setting can break it.
    """
    app = Flask("cookie_form")
    app.secret_key = secrets.token_hex(16)
    app.config.update(SESSION_COOKIE_SAMESITE="None", SESSION_COOKIE_SECURE=True)

    @app.get("/")
    def form() -> str:
        session["csrf"] = secrets.token_hex(8)
        return (
            '<!doctype html><html lang="en"><title>Cookie form</title><form method="post">'
            f'<input type="hidden" name="csrf" value="{escape(session["csrf"])}">'
            '<button>Send</button></form></html>'
        )

    @app.post("/")
    def post() -> tuple[str, int]:
        if session.get("csrf") and session.get("csrf") == request.form.get("csrf"):
            return "<p id=result>Saved</p>", 200
        return "<p id=result>Session expired</p>", 400

    return app


@pytest.fixture(scope="module")
def site(live_server: LiveServer) -> Iterator[LiveServer]:
    extra = {
        # The snippet, plus another frame of the product that the snippet did not make.
        "stray": embed_snippets(Product(), live_server.url)["script"]
        + f'<iframe title="other" src="{live_server.url}/embed/demo/"></iframe>',
    }
    server = LiveServer(host_app(live_server.url, extra))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def other_site() -> Iterator[LiveServer]:
    """A third origin (the same page, elsewhere) for foreign messages and refused hosts."""
    server = LiveServer(host_app("http://127.0.0.1:1"))
    yield server
    server.stop()


def origin(server: LiveServer) -> str:
    """The site's origin as the browser sees it: `localhost`, another site than 127.0.0.1."""
    return f"http://localhost:{server.port}"


def allow(app: Flask, *origins: str) -> None:
    with app.app_context(), db.transaction() as s:
        clinic = s.scalars(select(Clinic).where(Clinic.slug == "demo")).one()
        clinic.allowed_origins = list(origins)


# Browser profiles and what crosses the wire --------------------------------------------------


@contextmanager
def profile(
    playwright: Playwright, folder: Path, cookies: str, **options: Any
) -> Iterator[BrowserContext]:
    """A fresh Chromium profile with third-party cookies allowed or blocked by its preference."""
    (folder / "Default").mkdir(parents=True)
    prefs = {
        "profile": {
            "cookie_controls_mode": COOKIE_MODES[cookies],
            "block_third_party_cookies": cookies == "blocked",
        }
    }
    (folder / "Default" / "Preferences").write_text(json.dumps(prefs))
    context = playwright.chromium.launch_persistent_context(
        str(folder), executable_path=CHROMIUM, args=CHROMIUM_ARGS, locale="en-GB", **options
    )
    try:
        yield context
    finally:
        context.close()


class Wire:
    """Every request and response of a browser context, to check their cookie headers."""

    def __init__(self, context: BrowserContext) -> None:
        self.requests: list[Request] = []
        self.responses: list[Response] = []
        context.on("request", lambda r: self.requests.append(r))
        context.on("response", lambda r: self.responses.append(r))

    def to(self, base: str) -> tuple[list[Request], list[Response]]:
        return (
            [r for r in self.requests if r.url.startswith(base + "/")],
            [r for r in self.responses if r.url.startswith(base + "/")],
        )

    def cookie_headers(self, base: str) -> list[tuple[str, str]]:
        """(url, header) of every Cookie sent to and Set-Cookie received from `base`."""
        requests, responses = self.to(base)
        found = [(r.url, "cookie") for r in requests if "cookie" in r.all_headers()]
        found += [(r.url, "set-cookie") for r in responses if "set-cookie" in r.all_headers()]
        return found


# Helpers inside the frame --------------------------------------------------------------------


def product_frame(page: Page) -> Frame:
    frame = page.locator(FRAME).element_handle().content_frame()
    assert frame is not None
    return frame


def product_frame_plain(page: Page) -> Frame:
    """The only iframe of a page (plain snippet, negative control)."""
    frame = page.locator("iframe").element_handle().content_frame()
    assert frame is not None
    return frame


def framed(page: Page, selector: str, url: str) -> Frame:
    """The frame of the iframe `selector`, once its document from `url` has loaded."""
    frame = page.locator(selector).element_handle().content_frame()
    assert frame is not None
    frame.wait_for_url(url)
    frame.wait_for_load_state("load")
    return frame


def frame_height(page: Page) -> float:
    return float(page.eval_on_selector(FRAME, "f => f.getBoundingClientRect().height"))


def content_height(frame: Frame) -> int:
    return int(frame.evaluate("Math.ceil(document.documentElement.getBoundingClientRect().height)"))


def settled_height(page: Page) -> int:
    """Wait until the iframe is exactly as tall as the page inside it; return that height."""
    want = -1
    for _ in range(200):
        try:
            frame = product_frame(page)
            frame.wait_for_load_state("load")
            want = content_height(frame)
        except PlaywrightError:  # a navigation replaced the page while we looked: look again
            page.wait_for_timeout(50)
            continue
        if abs(frame_height(page) - want) < 1:
            return want
        page.wait_for_timeout(50)
    raise AssertionError(f"iframe {frame_height(page)}px, its page {want}px")


def flush(page: Page, frame: Frame, host: str) -> None:
    """Wait until the host page has handled every message `frame` posted before this one."""
    n = page.evaluate("window.seen.length")
    frame.evaluate("h => parent.postMessage({type: 'test:flush'}, h)", host)
    page.wait_for_function(
        "n => window.seen.slice(n).some(m => m.type === 'test:flush')", arg=n
    )


def walk_in_frame(page: Page, heights: dict[str, int] | None = None) -> Frame:
    """Start, answer every step and send, inside the iframe; return the frame on the summary."""
    frame = product_frame(page)
    frame.wait_for_selector("form[action*='/start']")
    for step_id, answers in STEP_ANSWERS.items():
        if step_id != FIRST_STEP:  # the first step is on the start page
            frame.wait_for_url(re.compile(rf"/s/{step_id}(\?|$)"))
        if heights is not None:
            heights[step_id] = settled_height(page)
        # test_walk's helper only uses what a Frame has too (check, fill, locator).
        fill_step(cast(Page, frame), answers)
        frame.click('.actions button[value="continue"]')
    frame.wait_for_url(re.compile(r"/review(\?|$)"))
    frame.fill("#signed_name", str(STEP_ANSWERS["details"]["full_name"]))
    frame.click("form.submit-form button[type=submit]")
    frame.wait_for_url(re.compile(r"/summary(\?|$)"))
    frame.wait_for_load_state("load")
    return frame


# The tests -----------------------------------------------------------------------------------


@pytest.mark.parametrize("cookies", list(COOKIE_MODES))
def test_whole_questionnaire_in_a_cross_site_iframe(
    playwright: Playwright,
    live_server: LiveServer,
    site: LiveServer,
    app: Flask,
    tmp_path: Path,
    cookies: str,
) -> None:
    host = origin(site)
    allow(app, "https://clinic.example", host)
    with profile(playwright, tmp_path, cookies) as context:
        wire = Wire(context)
        page = context.new_page()
        page.goto(f"{host}/script")
        iframe = page.locator(FRAME)
        assert iframe.get_attribute("title") == "Consultation questionnaire"
        src = f"{live_server.url}/embed/demo/?{urlencode({'host': host})}"
        assert iframe.get_attribute("src") == src
        frame = product_frame(page)
        frame.wait_for_selector("form[action*='/start']")
        # The setting under test reached the product's frame itself.
        assert frame.evaluate("document.hasStorageAccess()") is (cookies == "allowed")
        assert frame.evaluate("document.documentElement.dataset.embedHost") == host
        start = settled_height(page)

        heights: dict[str, int] = {"start": start}
        frame = walk_in_frame(page, heights)
        heights["summary"] = settled_height(page)
        # The height follows each page: a long step makes the frame taller, a short one shorter.
        assert heights["conditions"] > heights["about_you"] + 300, heights
        assert heights["medicines"] < heights["conditions"] - 300, heights
        assert "Mei Chen" in frame.content()

        # Exactly one completion event, on the placeholder, carrying nothing private.
        page.wait_for_function("window.completions.length > 0")
        flush(page, frame, host)
        assert page.evaluate("window.completions") == [
            {"target": "demo", "detail": {"clinic": "demo"}}
        ]
        messages = page.evaluate("window.seen")
        assert {m["origin"] for m in messages} == {live_server.url}
        assert {m["type"] for m in messages} == {
            "screener:resize",
            "screener:completed",
            "test:flush",
        }
        # The submit's redirect marked the summary; frame.js took the mark out of its URL.
        assert any("/summary?" in r.url and "done=1" in r.url for r in wire.requests)
        assert "done=" not in frame.url, frame.url

        # Reloading the summary announces nothing again (but frame.js does run: it resizes).
        page.eval_on_selector(FRAME, "f => { f.style.height = '123px'; }")
        with page.expect_response(re.compile(r"/summary\?")) as reloaded:
            frame.evaluate("setTimeout(() => location.reload(), 0)")
        assert "done=" not in reloaded.value.url
        assert settled_height(page) == heights["summary"]
        flush(page, product_frame(page), host)
        assert len(page.evaluate("window.completions")) == 1

        # Not one cookie, either way, on the product's origin.
        requests, responses = wire.to(live_server.url)
        assert len(requests) > 20 and len(responses) > 20
        assert wire.cookie_headers(live_server.url) == []
        assert context.cookies(live_server.url) == []


def test_host_page_ignores_foreign_and_stray_messages(
    page: Page, live_server: LiveServer, site: LiveServer, other_site: LiveServer, app: Flask
) -> None:
    host = origin(site)
    allow(app, host)
    page.goto(f"{host}/stray")
    ours = product_frame(page)
    ours.wait_for_selector("form[action*='/start']")
    before = settled_height(page)

    # A foreign origin in its own frame; the product's origin in a frame the snippet did not
    # make; and the host page itself.
    page.evaluate(
        """src => { const f = document.createElement('iframe'); f.title = 'foreign';
                    f.src = src; document.body.append(f); }""",
        f"http://127.0.0.1:{other_site.port}/plain",
    )
    foreign = framed(page, "iframe[title=foreign]", f"http://127.0.0.1:{other_site.port}/plain")
    stray = framed(page, "iframe[title=other]", f"{live_server.url}/embed/demo/")
    fakes = """() => {
      parent.postMessage({type: 'screener:resize', v: 1, height: 4321}, '*');
      parent.postMessage({type: 'screener:completed', v: 1}, '*');
    }"""
    for sender in (foreign, stray, page.main_frame):
        sender.evaluate(fakes)
    # Malformed messages from the real frame: a wrong version, a height that is not a number.
    ours.evaluate(
        """h => {
      parent.postMessage({type: 'screener:completed', v: 2}, h);
      parent.postMessage({type: 'screener:resize', v: 1, height: '4321'}, h);
      parent.postMessage({type: 'screener:resize', v: 1, height: 1e9}, h);
      parent.postMessage('screener:completed', h);
    }""",
        host,
    )
    for sender in (foreign, stray, ours):
        flush(page, sender, host)
    assert page.evaluate("window.completions") == []
    assert frame_height(page) == before

    # The same messages from the frame the snippet made do work: the test can fail.
    ours.evaluate(
        "h => parent.postMessage({type: 'screener:resize', v: 1, height: 4321}, h)", host
    )
    page.wait_for_function(
        "() => document.querySelector('iframe[data-screener-frame]').style.height === '4321px'"
    )
    ours.evaluate("h => parent.postMessage({type: 'screener:completed', v: 1}, h)", host)
    page.wait_for_function("window.completions.length === 1")


@pytest.mark.parametrize("origins", [["http://localhost:1"], []], ids=["other-origin", "none"])
def test_a_host_that_is_not_allowed_cannot_show_the_form(
    page: Page, live_server: LiveServer, site: LiveServer, app: Flask, origins: list[str]
) -> None:
    host = origin(site)
    refusals: list[str] = []
    page.on(
        "console",
        lambda m: refusals.append(m.text) if "frame-ancestors" in m.text else None,
    )

    # Control: with the host allowed, the same page shows the form.
    allow(app, host)
    page.goto(f"{host}/script")
    product_frame(page).wait_for_selector("form[action*='/start'] button")

    allow(app, *origins)
    with page.expect_response(re.compile(r"/embed/demo/\?")) as served:
        page.reload()
    response = served.value
    assert response.status == 200  # the product answered; the browser refused to show it
    policy = response.headers["content-security-policy"]
    assert f"frame-ancestors {' '.join(origins) or chr(39) + 'none' + chr(39)}" in policy
    page.wait_for_function("document.querySelector('iframe[data-screener-frame]') !== null")
    frame = product_frame(page)
    frame.wait_for_load_state("load")
    assert not frame.url.startswith(live_server.url), frame.url
    assert frame.locator("form").count() == 0
    assert refusals, "Chromium reported no frame-ancestors refusal"
    assert page.evaluate("window.seen") == []


def test_plain_iframe_snippet_with_javascript_off(
    playwright: Playwright, live_server: LiveServer, site: LiveServer, app: Flask, tmp_path: Path
) -> None:
    """A host page without JavaScript (and a browser without it): the plain iframe snippet."""
    host = origin(site)
    allow(app, host)
    with profile(playwright, tmp_path, "blocked", java_script_enabled=False) as context:
        wire = Wire(context)
        page = context.new_page()
        page.goto(f"{host}/plain")
        iframe = page.locator("iframe")
        assert iframe.get_attribute("title") == "Consultation questionnaire"
        frame = product_frame_plain(page)
        frame.wait_for_selector("form[action*='/start']")
        for step_id, answers in STEP_ANSWERS.items():
            if step_id != FIRST_STEP:  # the first step is on the start page
                frame.wait_for_url(re.compile(rf"/s/{step_id}$"))
            fill_step(cast(Page, frame), answers)
            frame.click('.actions button[value="continue"]')
        frame.wait_for_url(re.compile(r"/review$"))
        frame.fill("#signed_name", str(STEP_ANSWERS["details"]["full_name"]))
        frame.click("form.submit-form button[type=submit]")
        frame.wait_for_url(re.compile(r"/summary$"))
        assert "Mei Chen" in frame.content()
        assert wire.cookie_headers(live_server.url) == []
        assert context.cookies(live_server.url) == []


def test_host_page_with_the_snippet_is_accessible(
    page: Page, site: LiveServer, app: Flask
) -> None:
    allow(app, origin(site))
    page.goto(f"{origin(site)}/script")
    frame = product_frame(page)
    frame.wait_for_selector("form[action*='/start']")
    violations = run_axe(page)
    assert violations == [], describe(violations)
    # The embedded layout itself, inside the frame.
    frame_violations = run_axe(cast(Page, frame))
    assert frame_violations == [], describe(frame_violations)


@pytest.mark.parametrize("cookies", list(COOKIE_MODES))
def test_negative_control_a_cookie_session_form_in_the_same_frame(
    playwright: Playwright, site: LiveServer, tmp_path: Path, cookies: str
) -> None:
    """The same profile settings break an ordinary cookie-and-session form (when blocked)."""
    form_server = LiveServer(cookie_form_app())
    form_url = f"{form_server.url}/"
    host_server = LiveServer(
        host_app(
            "http://127.0.0.1:1",
            {"form": f'<iframe title="Cookie form" src="{form_url}"></iframe>'},
        )
    )
    try:
        with profile(playwright, tmp_path, cookies) as context:
            wire = Wire(context)
            page = context.new_page()
            # Top level (first-party), the form works in this profile either way.
            page.goto(form_url)
            page.click("button")
            assert page.inner_text("#result") == "Saved"
            sent = [url for url, kind in wire.cookie_headers(form_server.url) if kind == "cookie"]
            assert form_url in sent  # the recorder does see cookies when there are some
            context.clear_cookies()

            page.goto(f"{origin(host_server)}/form")
            frame = product_frame_plain(page)
            frame.wait_for_selector("button")
            frame.click("button")
            frame.wait_for_selector("#result")
            result = frame.inner_text("#result")
            assert frame.evaluate("document.hasStorageAccess()") is (cookies == "allowed")
            if cookies == "blocked":
                assert result == "Session expired"
            else:  # the same form in the same frame works when only the setting differs
                assert result == "Saved"
    finally:
        host_server.stop()
        form_server.stop()
