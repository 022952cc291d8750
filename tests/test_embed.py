"""Embedding over HTTP: frame policy per clinic, the checked host origin, /embed.js, snippets."""
from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from markupsafe import escape
from sqlalchemy import select
from werkzeug.test import TestResponse

from screener.config import ROOT
from screener.embed import create_demo_host, embed_snippets
from screener.extensions import db
from screener.security import frame_origins, normalise_origin
from screener.storage.models import Clinic

from .conftest import FIRST_STEP, STEP_ANSWERS, Walker, consent_fields, csrf_of, start_form

HOST = "http://localhost:5001"  # the demo clinic's allowed origin (tests/conftest.py)


def set_origins(app: Flask, origins: list[Any], slug: str = "demo") -> None:
    with app.app_context(), db.transaction() as s:
        clinic = s.scalars(select(Clinic).where(Clinic.slug == slug)).one()
        clinic.allowed_origins = origins


def ancestors(response: TestResponse) -> str:
    m = re.search(r"frame-ancestors ([^;]*)", response.headers["Content-Security-Policy"])
    assert m
    return m.group(1)


def query(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query)


@pytest.fixture
def embed_walk(client: FlaskClient) -> Callable[..., Walker]:
    """Walk the embedded wizard to the review page, the way embed.js starts it."""

    def run(host: str | None = HOST) -> Walker:
        walker = Walker(client, prefix="/embed/demo")
        suffix = f"?host={host}" if host else ""
        r = client.post(f"/embed/demo/start{suffix}", data=start_form())
        assert r.status_code == 303
        walker.url = r.headers["Location"]
        for step_id, answers in STEP_ANSWERS.items():
            if step_id == FIRST_STEP:  # answered on the start page
                continue
            r = walker.post_step(answers)
            assert r.status_code == 303, r.get_data(as_text=True)[-1500:]
        assert urlsplit(walker.url).path.endswith("/review"), walker.url
        return walker

    return run


# Origins --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("http://localhost:5001", "http://localhost:5001"),
        ("https://clinic.example", "https://clinic.example"),
        ("HTTPS://Clinic.Example/", "https://clinic.example"),
        ("https://clinic.example:443", "https://clinic.example"),
        ("http://clinic.example:80", "http://clinic.example"),
        ("https://clinic.example:8443", "https://clinic.example:8443"),
        ("  https://clinic.example  ", "https://clinic.example"),
        ("http://127.0.0.1:8000", "http://127.0.0.1:8000"),
        ("https://bücher.example", "https://xn--bcher-kva.example"),
        ("https://clinic.example/book", None),
        ("https://clinic.example/?x=1", None),
        ("https://clinic.example; script-src *", None),
        ("https://a.example https://b.example", None),
        ("https://*.clinic.example", None),
        ("https://user@clinic.example", None),
        ("https://clinic.example:0", None),
        ("https://clinic.example:70000", None),
        ("https://[::1]:8000", None),
        ("ftp://clinic.example", None),
        ("javascript:alert(1)", None),
        ("'self'", None),
        ("*", None),
        ("null", None),
        ("clinic.example", None),
        ("", None),
        (None, None),
        (42, None),
        ("https://" + "a" * 300 + ".example", None),
        ("https://-bad.example", None),
    ],
)
def test_normalise_origin(value: object, expected: str | None) -> None:
    assert normalise_origin(value) == expected


def test_frame_origins_keep_order_drop_invalid_and_repeats() -> None:
    values = ["https://b.example", "bad", "HTTPS://B.example/", "http://localhost:5001", None]
    assert frame_origins(values) == ["https://b.example", "http://localhost:5001"]
    assert frame_origins(None) == []


# Frame policy ---------------------------------------------------------------------------------


def test_embed_pages_may_be_framed_by_exactly_the_clinics_origins(
    app: Flask, client: FlaskClient
) -> None:
    set_origins(app, ["https://clinic.example", HOST, "https://clinic.example/"])
    r = client.get("/embed/demo/")
    assert r.status_code == 200
    assert ancestors(r) == f"https://clinic.example {HOST}"
    assert "X-Frame-Options" not in r.headers
    assert r.headers["Referrer-Policy"] == "no-referrer"


@pytest.mark.parametrize(
    "origins",
    [[], ["https://clinic.example/path", "https://x.example; script-src *", "*", 7]],
    ids=["none", "all-invalid"],
)
def test_a_clinic_without_valid_origins_cannot_be_embedded(
    app: Flask, client: FlaskClient, origins: list[Any]
) -> None:
    set_origins(app, origins)
    r = client.get("/embed/demo/")
    assert r.status_code == 200
    assert ancestors(r) == "'none'"
    assert r.headers["X-Frame-Options"] == "DENY"
    assert "script-src *" not in r.headers["Content-Security-Policy"]


def test_an_injected_origin_adds_no_directive(app: Flask, client: FlaskClient) -> None:
    set_origins(app, ["https://x.example; script-src *", HOST])
    policy = client.get("/embed/demo/").headers["Content-Security-Policy"]
    assert policy.count("script-src") == 1
    assert policy.endswith(f"frame-ancestors {HOST}")


@pytest.mark.parametrize("path", ["/c/demo/", "/healthz", "/embed.js", "/embed/nowhere/"])
def test_other_pages_cannot_be_framed(client: FlaskClient, path: str) -> None:
    r = client.get(path)
    assert ancestors(r) == "'none'"
    assert r.headers["X-Frame-Options"] == "DENY"


def test_draft_pages_in_a_frame_are_not_stored(embed_walk: Callable[..., Walker]) -> None:
    walker = embed_walk()
    r = walker.get()
    assert r.status_code == 200
    assert r.headers["Cache-Control"] == "no-store"
    assert r.headers["Referrer-Policy"] == "no-referrer"


# The host origin ------------------------------------------------------------------------------


def test_an_allowed_host_is_named_in_the_page_and_kept_on_every_link(
    client: FlaskClient, embed_walk: Callable[..., Walker]
) -> None:
    start = client.get(f"/embed/demo/?host={HOST}").get_data(as_text=True)
    assert f'<html lang="en" data-embed-host="{HOST}">' in start
    assert re.search(r'<script src="/static/frame\.js\?v=[0-9a-f]+" defer>', start)
    assert f'action="/embed/demo/start?host={HOST}"' in start

    walker = embed_walk()
    # Every redirect of the walk kept it.
    assert query(walker.url)["host"] == [HOST]
    review = walker.get().get_data(as_text=True)
    assert f"submit?host={HOST}" in review
    for href in re.findall(r'href="(/embed/demo/d/[^"]+)"', review):
        assert query(href.replace("&amp;", "&"))["host"] == [HOST], href


@pytest.mark.parametrize(
    "host",
    [
        "https://evil.example",
        "http://localhost:5002",
        'http://localhost:5001"><script>alert(1)</script>',
        "null",
        "*",
        "",
        "x" * 5000,
        "http://localhost:5001/%0d%0aSet-Cookie:x=1",
    ],
)
def test_a_host_that_is_not_allowed_is_ignored(client: FlaskClient, host: str) -> None:
    r = client.get("/embed/demo/", query_string={"host": host})
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert "data-embed-host" not in html
    assert "frame.js" not in html
    assert 'action="/embed/demo/start"' in html
    r = client.post("/embed/demo/start", query_string={"host": host}, data=start_form())
    assert r.status_code == 303
    assert "host" not in query(r.headers["Location"])
    assert "Set-Cookie" not in r.headers


def test_the_standalone_wizard_ignores_host(client: FlaskClient) -> None:
    html = client.get(f"/c/demo/?host={HOST}").get_data(as_text=True)
    assert "data-embed-host" not in html
    assert "frame.js" not in html
    assert 'action="/c/demo/start"' in html


def test_host_matching_is_by_normalised_origin(app: Flask, client: FlaskClient) -> None:
    set_origins(app, ["HTTPS://Clinic.Example:443/"])
    html = client.get("/embed/demo/?host=https://clinic.example").get_data(as_text=True)
    assert 'data-embed-host="https://clinic.example"' in html


# The private link -----------------------------------------------------------------------------

LINK = re.compile(r'<p class="resume-link"><a href="([^"]+)"([^>]*)>([^<]*)</a></p>')


def private_links(html: str) -> list[tuple[str, str, str]]:
    return LINK.findall(html)


def test_the_private_link_in_a_frame_opens_the_standalone_page_in_a_new_tab(
    client: FlaskClient, embed_walk: Callable[..., Walker]
) -> None:
    walker = embed_walk()
    standalone = f"http://localhost/c/demo/d/{walker.token}/"
    for url in (f"{walker.base}/s/about_you?host={HOST}", f"{walker.base}/intro?host={HOST}",
                walker.url):
        [(href, attributes, words)] = private_links(client.get(url).get_data(as_text=True))
        assert href == standalone, url  # no host: the standalone page is not framed
        assert attributes == ' target="_blank" rel="noopener"', url
        assert words == f"{standalone} (opens in a new tab)", url
    # It opens the same draft, in the standalone wizard with the clinic's name.
    resumed = client.get(standalone)
    assert resumed.status_code == 303 and resumed.headers["Location"].startswith("/c/demo/d/")
    page = client.get(resumed.headers["Location"]).get_data(as_text=True)
    assert '<p class="brand">Demo Clinic</p>' in page and "Check your answers" in page
    # There, the same link opens in place.
    [(href, attributes, words)] = private_links(page)
    assert href == words == standalone and attributes == ""


@pytest.mark.parametrize("prefix", ["/c/demo", "/embed/demo"])
def test_the_summary_shows_the_link_it_tells_the_client_to_keep(
    client: FlaskClient, walk: Callable[..., Walker], embed_walk: Callable[..., Walker],
    prefix: str,
) -> None:
    walker = walk() if prefix == "/c/demo" else embed_walk()
    summary = client.get(walker.submit().headers["Location"]).get_data(as_text=True)
    kept = summary.split('class="print-hint"', 1)[1]
    [(href, _attributes, _words)] = private_links(kept)
    assert href == f"http://localhost/c/demo/d/{walker.token}/"
    # A copy button, for wizard.js to show; the page says nothing of it without the script.
    assert re.search(rf'<p class="copy-link" hidden><button type="button" class="button secondary" data-copy="{re.escape(href)}"', kept)
    assert client.get(href).headers["Location"].endswith("/summary")


# Completion: marked once ----------------------------------------------------------------------


def test_only_the_submitting_request_marks_the_summary(
    client: FlaskClient, embed_walk: Callable[..., Walker]
) -> None:
    walker = embed_walk()
    review = client.get(f"{walker.base}/review?host={HOST}")
    first = client.post(f"{walker.base}/submit?host={HOST}", data={"csrf_token": csrf_of(review), **consent_fields(review)})
    assert first.status_code == 303
    assert query(first.headers["Location"]) == {"done": ["1"], "host": [HOST]}
    page = client.get(first.headers["Location"]).get_data(as_text=True)
    assert f'data-embed-host="{HOST}" data-embed-completed>' in page

    # The same form sent again, and the summary opened again: no mark.
    again = client.post(f"{walker.base}/submit?host={HOST}", data={"csrf_token": "x"})
    assert again.status_code == 303
    assert "done" not in query(again.headers["Location"])
    reloaded = client.get(f"{walker.base}/summary?host={HOST}").get_data(as_text=True)
    assert "data-embed-completed" not in reloaded
    assert f'data-embed-host="{HOST}"' in reloaded
    review = client.get(f"{walker.base}/review?host={HOST}")
    assert "done" not in query(review.headers["Location"])


def test_no_mark_without_a_checked_host(
    client: FlaskClient, embed_walk: Callable[..., Walker], walk: Callable[..., Walker]
) -> None:
    framed = embed_walk(host=None).submit()  # the plain iframe snippet: nobody to tell
    assert urlsplit(framed.headers["Location"]).query == ""
    standalone = walk().submit()
    assert urlsplit(standalone.headers["Location"]).query == ""
    forged = client.get(f"{urlsplit(framed.headers['Location']).path}?done=1")
    assert "data-embed-completed" not in forged.get_data(as_text=True)


def test_the_embedded_walk_sets_and_needs_no_cookie(
    client: FlaskClient, embed_walk: Callable[..., Walker]
) -> None:
    walker = embed_walk()
    review = client.get(walker.url)
    r = client.post(f"{walker.base}/submit?host={HOST}", data={"csrf_token": csrf_of(review), **consent_fields(review)})
    assert "Set-Cookie" not in review.headers and "Set-Cookie" not in r.headers
    r = client.get(r.headers["Location"])
    assert r.status_code == 200
    assert "Mei Chen" in r.get_data(as_text=True)
    assert client.get_cookie("session") is None
    assert list(client._cookies) == []


# /embed.js -------------------------------------------------------------------------------------


def test_embed_js(client: FlaskClient) -> None:
    r = client.get("/embed.js", headers={"Origin": "https://clinic.example"})
    assert r.status_code == 200
    assert r.mimetype == "text/javascript"
    assert r.cache_control.public
    assert r.cache_control.max_age == 300
    assert r.headers["Cross-Origin-Resource-Policy"] == "cross-origin"
    assert "Access-Control-Allow-Origin" not in r.headers
    assert "Set-Cookie" not in r.headers
    body = r.get_data(as_text=True)
    assert '"screener:completed"' in body and "event.source" in body and "event.origin" in body
    assert "postMessage(" not in body  # the host side only listens
    etag = r.headers["ETag"]
    again = client.get("/embed.js", headers={"If-None-Match": etag})
    assert again.status_code == 304


def test_frame_js_posts_only_to_the_checked_host(client: FlaskClient) -> None:
    with client.get("/static/frame.js") as r:
        body = r.get_data(as_text=True)
    # Served minified: compared without spaces.
    calls = [call.replace(" ", "") for call in re.findall(r"postMessage\([^)]*\)", body)]
    assert calls == ["postMessage(message,host)"]


# Snippets --------------------------------------------------------------------------------------


class FakeClinic:
    def __init__(self, slug: str, name: str) -> None:
        self.slug = slug
        self.name = name


@pytest.mark.parametrize(
    "base", ["https://screener.example", "https://screener.example/"]
)
def test_embed_snippets(app: Flask, base: str) -> None:
    with app.test_request_context():
        snippets = embed_snippets(FakeClinic("demo", 'Mei\'s "Clinic" <b>'), base)
    assert set(snippets) == {"script", "iframe"}
    script, iframe = snippets["script"], snippets["iframe"]
    assert '<script src="https://screener.example/embed.js" async></script>' in script
    assert 'data-screener-clinic="demo"' in script
    assert 'href="https://screener.example/c/demo/"' in script
    assert "\n" not in script  # one line to paste
    assert iframe.startswith('<iframe src="https://screener.example/embed/demo/" title="')
    for snippet in (script, iframe):
        assert "Mei&#39;s &#34;Clinic&#34; &lt;b&gt;" in snippet
        assert "<b>" not in snippet


def test_embed_snippets_under_a_path_and_in_chinese(app: Flask) -> None:
    with app.test_request_context(headers={"Accept-Language": "zh-TW"}):
        snippets = embed_snippets(FakeClinic("a b", "診所"), "https://example.org/screener")
    assert '<script src="https://example.org/screener/embed.js"' in snippets["script"]
    assert 'src="https://example.org/screener/embed/a%20b/"' in snippets["iframe"]
    assert 'title="諮詢問卷：診所"' in snippets["iframe"]


def test_snippets_lead_to_working_pages(app: Flask, client: FlaskClient) -> None:
    with app.test_request_context():
        snippets = embed_snippets(FakeClinic("demo", "Demo"), "http://localhost/")
    src = re.search(r'src="http://localhost(/embed/demo/)"', snippets["iframe"])
    href = re.search(r'href="http://localhost(/c/demo/)"', snippets["script"])
    assert src and href
    assert client.get(src.group(1)).status_code == 200
    assert client.get(href.group(1)).status_code == 200


@pytest.mark.parametrize("doc", ["README.md", "docs/embedding.md"])
def test_documented_snippets_are_the_ones_the_product_makes(app: Flask, doc: str) -> None:
    with app.test_request_context():
        snippets = embed_snippets(FakeClinic("demo", "Demo Clinic"), "https://screener.example")
    text = (ROOT / doc).read_text()
    assert snippets["script"] in text
    assert snippets["iframe"] in text


# The demo host ---------------------------------------------------------------------------------


def test_demo_host_embeds_the_demo_clinic_from_the_product() -> None:
    demo = create_demo_host("http://127.0.0.1:5000").test_client()
    snippets = embed_snippets(
        FakeClinic("demo", "Demo Facial Acupuncture Clinic"),
        "http://127.0.0.1:5000",
        title="Consultation questionnaire: Demo Facial Acupuncture Clinic",
    )
    page = demo.get("/").get_data(as_text=True)
    assert f'<div class="form">{snippets["script"]}</div>' in page  # live
    assert str(escape(snippets["script"])) in page  # and shown
    assert "screener:completed" in page
    plain = demo.get("/plain").get_data(as_text=True)
    assert f'<div class="form">{snippets["iframe"]}</div>' in plain
    assert str(escape(snippets["iframe"])) in plain
    assert demo.get("/nothing").status_code == 404
