"""A clinic's languages and its own texts: which languages its client pages offer and default
to, its introduction, what happens next, its consent text and contact details on the client
pages and the PDF copy; edited by a clinic admin with a preview; plain text only, whatever is
typed (the pages are parsed: no element or attribute comes from the admin's text)."""
# ruff: noqa: F811  (shared fixtures from dashboard_support are imported by name)
from __future__ import annotations

import re
import subprocess
from collections.abc import Callable
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from screener.clinic_texts import LIMITS
from screener.extensions import db
from screener.plaintext import clean, render
from screener.questionnaire.model import LANGUAGES
from screener.screening.pdf import pdf_head
from screener.screening.render import render_client_summary
from screener.storage.models import AuditEvent, Clinic, ConsentText, Draft, Submission, utcnow

from .conftest import STEP_ANSWERS, Walker, consent_fields, csrf_of
from .dashboard_support import (  # noqa: F401
    accounts,
    clinics,
    fast_hashing,
    fetch,
    logged_in,
)

pytestmark = pytest.mark.usefixtures("fast_hashing")

OTHER = {"en": "zh-Hant", "zh-Hant": "en", "zh-Hans": "en"}
INTRO = {"en": "Welcome to Demo.\nWe look forward to meeting you.", "zh-Hant": "歡迎光臨示範診所。",
         "zh-Hans": "欢迎光临示范诊所。"}
NEXT = {
    "en": "We call you within 2 days.\n\nQuestions? Write to hello@demo.example or see"
          " https://demo.example/faq.",
    "zh-Hant": "我們會在兩天內致電給您。",
    "zh-Hans": "我们会在两天内给您打电话。",
}
ADDRESS = {"en": "1 Queen's Road\nCentral, Hong Kong", "zh-Hant": "香港中環皇后大道1號",
           "zh-Hans": "新加坡乌节路1号"}
OWN_CONSENT = {
    "en": "I agree to the treatment by Demo Clinic.\n\nThe clinic's own terms.",
    "zh-Hant": "本人同意接受示範診所的療程。",
    "zh-Hans": "本人同意接受示范诊所的疗程。",
}
PHONE, EMAIL = "+852 2345 6789", "front@demo.example"


def set_clinic(
    app: Flask,
    *,
    languages: list[str] | None = None,
    default: str | None = None,
    texts: dict[str, dict[str, str]] | None = None,
) -> None:
    with app.app_context(), db.transaction() as s:
        clinic = s.scalars(select(Clinic).where(Clinic.slug == "demo")).one()
        clinic.languages, clinic.default_lang, clinic.texts = languages, default, texts
        clinic.contact_phone, clinic.contact_email = PHONE, EMAIL


def all_texts(**fields: dict[str, str]) -> dict[str, dict[str, str]]:
    return {lang: {f: v[lang] for f, v in fields.items() if lang in v} for lang in LANGUAGES}


def html_lang(html: str) -> str:
    m = re.search(r'<html lang="([^"]+)"', html)
    assert m
    return m.group(1)


def switch_langs(html: str) -> list[str]:
    """The languages the language switch offers (links and the current one)."""
    nav = re.search(r'<nav class="lang-switch".*?</nav>', html, re.S)
    assert nav
    return re.findall(r'(?<![\w-])lang="([^"]+)"', nav.group(0))


def walk_to_review(client: FlaskClient, lang: str, prefix: str = "/c/demo") -> Walker:
    w = Walker(client, prefix=prefix)
    w.start(lang)
    for answers in STEP_ANSWERS.values():
        r = w.post_step(answers)
        assert r.status_code == 303, r.get_data(as_text=True)[-1500:]
    assert w.url.endswith("/review"), w.url
    return w


def send(client: FlaskClient, lang: str, prefix: str = "/c/demo") -> Walker:
    w = walk_to_review(client, lang, prefix)
    r = w.submit()
    assert r.status_code == 303 and "/summary" in r.headers["Location"], r.status_code
    return w


# Plain text to HTML -----------------------------------------------------------------------------


def test_plain_text_becomes_paragraphs_line_breaks_and_links(app: Flask) -> None:
    with app.test_request_context():
        html = str(render(
            "Call +852 2345 6789 or mail hi@x.example.\r\nSee https://x.example/a?b=1&c=2.\n"
            "\n \nOn 2026-03-29 at 10.\tmailto:m@x.example (http://x.example/p(1))"
        ))
    assert html == (
        '<p>Call <a href="tel:+85223456789">+852 2345 6789</a> or mail'
        ' <a href="mailto:hi@x.example">hi@x.example</a>.<br>\n'
        'See <a href="https://x.example/a?b=1&amp;c=2" class="external-link"'
        ' rel="noopener noreferrer" target="_blank">https://x.example/a?b=1&amp;c=2'
        '<span class="visually-hidden"> (opens in a new tab)</span></a>.</p>'
        '<p>On 2026-03-29 at 10. <a href="mailto:m@x.example">m@x.example</a>'
        ' (<a href="http://x.example/p(1)" class="external-link" rel="noopener noreferrer"'
        ' target="_blank">http://x.example/p(1)<span class="visually-hidden">'
        ' (opens in a new tab)</span></a>)</p>'
    )


PIECES = st.sampled_from(
    ["<", ">", "&", '"', "'", "\n", "\n\n", "http://", "https://x.example/", "javascript:",
     "data:", "mailto:", "@x.example", "+852 ", "2345 6789", "<a href=", "<script>", " on", ".",
     ")", "("]
)
TEXTS = st.lists(
    st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=8) | PIECES,
    max_size=12,
).map("".join)


class _Rendered(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self.hidden += tag == "span"

    def handle_endtag(self, tag: str) -> None:
        self.hidden -= tag == "span"

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.text.append(data)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=TEXTS)
def test_any_text_renders_to_its_own_words_in_paragraphs_and_links(text: str) -> None:
    """Whatever is typed: only p, br and links (with their hidden note), every character
    typed shown as text (but the mailto: of an address), nothing else."""
    from flask import Flask as _Flask
    from flask_babel import Babel

    app = _Flask(__name__)
    Babel(app)
    with app.test_request_context():
        html = str(render(text))
    parsed = _Rendered()
    parsed.feed(html)
    parsed.close()
    for tag, attrs in parsed.tags:
        assert tag in {"p", "br", "a", "span"}, (text, html)
        assert set(attrs) <= ALLOWED_IN_TEXT[tag], (text, html)
        if tag == "a":
            assert urlsplit(attrs["href"] or "").scheme in {"http", "https", "mailto", "tel"}
    shown = "".join(parsed.text)

    def words(value: str) -> str:
        return re.sub(r"(?i)mailto:|\s", "", value)

    assert words(shown) == words(clean(text)), (text, html)


# What no text may add to a page -------------------------------------------------------------

XSS = (
    '<script>alert(1)</script> <img src=x onerror=alert(2)> <a href="javascript:alert(3)">x</a>'
    " javascript:alert(4) data:text/html;base64,PHNjcmlwdD5hbGVydCg1KTwvc2NyaXB0Pg=="
    ' https://ok.example/"onmouseover="alert(6) <b onclick=alert(7)>b</b> &lt;i&gt;'
    '\n"><svg onload=alert(8)>\'><iframe src="data:text/html,x"></iframe>'
    "\n\nhttps://ok.example/<script>alert(9)</script> JAVASCRIPT://x.example/%0aalert(10)"
)
# (A consent text's title and declaration are the questionnaire's: a heading, a classed p.)
ALLOWED_IN_TEXT = {"div": {"class", "lang"}, "p": {"class"}, "br": set(), "span": {"class"},
                   "a": {"href", "class", "rel", "target"}, "h3": set(), "h4": set()}
TEXT_CLASSES = ("clinic-text", "consent-text")
VOID = {"br", "img", "input", "meta", "link", "hr", "source", "wbr", "area", "col", "embed"}


class PageElements(HTMLParser):
    """Every element of a page, and which are inside a clinic's text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[bool] = []  # for each open element: inside a clinic's text
        self.all: list[tuple[str, dict[str, str | None]]] = []
        self.in_text: list[tuple[str, dict[str, str | None]]] = []
        self.texts = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        classes = (attributes.get("class") or "").split()
        starts = any(c in TEXT_CLASSES for c in classes)
        inside = bool(self.stack and self.stack[-1]) or starts
        self.texts += starts
        self.all.append((tag, attributes))
        if inside:
            self.in_text.append((tag, attributes))
        if tag not in VOID:
            self.stack.append(inside)

    def handle_endtag(self, tag: str) -> None:
        if tag not in VOID and self.stack:
            self.stack.pop()


def assert_inert(html: str, where: str, texts: int = 1) -> None:
    """No script, event handler or script/data address from the clinic's texts; inside them
    only paragraphs, line breaks and links to web, mail and phone addresses."""
    parser = PageElements()
    parser.feed(html)
    assert parser.texts >= texts, (where, parser.texts)
    for tag, attrs in parser.all:
        assert not [a for a in attrs if a.startswith("on")], (where, tag, attrs)
        assert tag not in {"img", "iframe", "object", "b"}, (where, tag)
        if tag == "script":
            assert (attrs.get("src") or "").startswith("/static/"), (where, attrs)
        for name in ("href", "src", "action", "formaction"):
            value = (attrs.get(name) or "").strip().lower()
            if (tag, name, value) == ("link", "href", "data:,"):  # the page's own empty icon
                continue
            assert not value.startswith(("javascript:", "data:")), (where, tag, attrs)
    for tag, attrs in parser.in_text:
        assert tag in ALLOWED_IN_TEXT, (where, tag, attrs)
        assert set(attrs) <= ALLOWED_IN_TEXT[tag], (where, tag, attrs)
        if tag == "a":
            href = attrs["href"] or ""
            assert urlsplit(href).scheme in {"http", "https", "mailto", "tel"}, (where, href)
            assert "<" not in href and '"' not in href, (where, href)
            if href.startswith("http"):
                assert attrs["rel"] == "noopener noreferrer", (where, attrs)
    assert "alert(1)" in html, f"{where}: the text should be shown, as text"


@pytest.mark.parametrize("prefix", ["/c/demo", "/embed/demo"])
def test_no_text_adds_markup_or_script_to_a_page(
    app: Flask, client: FlaskClient, prefix: str
) -> None:
    set_clinic(app, texts={
        lang: {"intro": XSS, "next_steps": XSS, "consent": XSS, "address": XSS}
        for lang in LANGUAGES
    })
    for lang in LANGUAGES:
        start = client.get(f"{prefix}/?lang={lang}")
        assert start.status_code == 200
        assert_inert(start.get_data(as_text=True), f"{prefix} start {lang}")
        w = walk_to_review(client, lang, prefix)
        assert_inert(w.get().get_data(as_text=True), f"{prefix} review {lang}")
        intro = client.get(f"{w.base}/intro")
        assert_inert(intro.get_data(as_text=True), f"{prefix} intro {lang}")
        assert w.submit().status_code == 303
        summary = client.get(f"{w.base}/summary").get_data(as_text=True)
        # What happens next, the address and the consent signed: three texts.
        assert_inert(summary, f"{prefix} summary {lang}", texts=3)
    with app.test_request_context():
        for sub in db.session.scalars(select(Submission)):
            html = render_client_summary(sub, sub.lang, **pdf_head(sub, "Copy", utcnow()))
            assert_inert(html, f"PDF HTML {sub.lang}", texts=3)


def test_no_text_adds_markup_or_script_to_the_dashboard_preview(
    app: Flask, logged_in: Callable[[str], FlaskClient]
) -> None:
    admin = logged_in("admin@example.com")
    page = admin.get("/dashboard/admin/clinic/texts")
    form = form_data(page.get_data(as_text=True))
    for lang in LANGUAGES:
        for field in ("intro", "next_steps", "consent", "address"):
            form[f"{lang.replace('-', '_')}-{field}"] = XSS[:LIMITS[field]]
    r = admin.post("/dashboard/admin/clinic/texts", data={**form, "action": "preview"})
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert html.count('class="client-preview"') == len(LANGUAGES)
    assert_inert(html, "preview", texts=3 * len(LANGUAGES))


# Languages ------------------------------------------------------------------------------------


@pytest.mark.parametrize("lang", LANGUAGES)
def test_a_clinic_with_one_language_offers_only_it(
    app: Flask, client: FlaskClient, lang: str
) -> None:
    set_clinic(app, languages=[lang], default=lang)
    other = OTHER[lang]
    page = client.get("/c/demo/", headers={"Accept-Language": other}).get_data(as_text=True)
    assert html_lang(page) == lang and switch_langs(page) == [lang]
    # A link or a form asking for the other language gets the clinic's.
    page = client.get(f"/c/demo/?lang={other}").get_data(as_text=True)
    assert html_lang(page) == lang and f'value="{lang}"' in page
    w = Walker(client)
    w.start(other)  # the start form asking for the other language
    step = w.get()
    assert html_lang(step.get_data(as_text=True)) == lang
    assert w.post_step({**STEP_ANSWERS["about_you"], "switch_lang": other}).status_code == 303
    with app.app_context():
        assert [d.lang for d in db.session.scalars(select(Draft))] == [lang]
    page = client.get(f"{w.base}/s/goals?lang={other}").get_data(as_text=True)
    assert html_lang(page) == lang and switch_langs(page) == [lang]


@pytest.mark.parametrize("default", LANGUAGES)
def test_the_clinic_default_answers_a_browser_in_another_language(
    app: Flask, client: FlaskClient, default: str
) -> None:
    set_clinic(app, languages=list(LANGUAGES), default=default)
    page = client.get("/c/demo/", headers={"Accept-Language": "fr-FR, de"}).get_data(as_text=True)
    assert html_lang(page) == default and switch_langs(page) == list(LANGUAGES)
    # A browser asking for an offered language gets it.
    other = OTHER[default]
    page = client.get("/c/demo/", headers={"Accept-Language": other}).get_data(as_text=True)
    assert html_lang(page) == other


@pytest.mark.parametrize("lang", LANGUAGES)
def test_a_draft_in_a_language_no_longer_offered_goes_on_in_the_default(
    app: Flask, client: FlaskClient, lang: str
) -> None:
    w = Walker(client)
    w.start(lang)
    assert w.post_step(STEP_ANSWERS["about_you"]).status_code == 303
    other = OTHER[lang]
    set_clinic(app, languages=[other], default=other)
    page = w.get()
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert html_lang(html) == other and switch_langs(html) == [other]
    with app.app_context():
        assert [d.lang for d in db.session.scalars(select(Draft))] == [other]
    # The answers given so far are kept.
    assert w.post_step(STEP_ANSWERS["goals"]).status_code == 303


# The texts on the client pages ----------------------------------------------------------------


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_clinic_texts_show_on_the_start_page_summary_and_pdf(
    app: Flask, client: FlaskClient, lang: str
) -> None:
    set_clinic(app, texts=all_texts(intro=INTRO, next_steps=NEXT, address=ADDRESS))
    start = client.get(f"/c/demo/?lang={lang}").get_data(as_text=True)
    intro_html = INTRO[lang].replace("\n", "<br>\n").replace("'", "&#39;")
    assert f'<div class="clinic-text clinic-intro" lang="{lang}"><p>{intro_html}</p></div>' in start
    w = walk_to_review(client, lang)
    # The intro page of a draft shows it too.
    assert INTRO[lang].split("\n")[0] in client.get(f"{w.base}/intro").get_data(as_text=True)
    assert w.submit().status_code == 303
    summary = client.get(f"{w.base}/summary").get_data(as_text=True)
    heading = {"en": "What happens next", "zh-Hant": "接下來", "zh-Hans": "接下来"}[lang]
    assert f'<h2 id="next-steps-title">{heading}' in summary
    assert NEXT[lang].split("\n")[0] in summary
    if lang == "en":
        assert '<a href="mailto:hello@demo.example">hello@demo.example</a>' in summary
        assert 'href="https://demo.example/faq" class="external-link"' in summary
    assert '<a href="tel:+85223456789">+852 2345 6789</a>' in summary
    assert f'<a href="mailto:{EMAIL}">{EMAIL}</a>' in summary
    assert ADDRESS[lang].split("\n")[0].replace("'", "&#39;") in summary
    # The PDF copy: the same texts.
    r = client.get(f"{w.base}/summary.pdf")
    assert r.status_code == 200
    text = pdf_text(r.get_data())
    assert NEXT[lang].split("\n")[0] in text and PHONE in text and EMAIL in text
    assert ADDRESS[lang].split("\n")[0] in text


@pytest.mark.parametrize("lang", LANGUAGES)
def test_a_missing_text_is_the_default_languages_then_the_products(
    app: Flask, client: FlaskClient, lang: str
) -> None:
    other = OTHER[lang]
    # Texts in the clinic's default language only: a reader of `lang` gets them, marked.
    set_clinic(app, languages=list(LANGUAGES), default=other,
               texts={other: {"intro": INTRO[other], "next_steps": NEXT[other]}})
    start = client.get(f"/c/demo/?lang={lang}").get_data(as_text=True)
    assert html_lang(start) == lang
    assert f'<div class="clinic-text clinic-intro" lang="{other}">' in start
    w = send(client, lang)
    summary = client.get(f"{w.base}/summary").get_data(as_text=True)
    assert f'<div class="clinic-text" lang="{other}"><p>' in summary
    # No texts at all: the product's own words, no intro.
    set_clinic(app)
    start = client.get(f"/c/demo/?lang={lang}").get_data(as_text=True)
    assert "clinic-intro" not in start
    summary = client.get(f"{w.base}/summary").get_data(as_text=True)
    product = {"en": "will read your answers before your consultation",
               "zh-Hant": "會在您的諮詢前細閱您的回答",
               "zh-Hans": "会在您的咨询前仔细阅读您的回答"}[lang]
    assert product in summary and 'class="clinic-text"' not in summary


def pdf_text(body: bytes) -> str:
    out = subprocess.run(["pdftotext", "-", "-"], input=body, capture_output=True, check=True)
    return re.sub(r"\s+", " ", out.stdout.decode())


# The clinic's own consent text ----------------------------------------------------------------


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_clinic_consent_signed_is_kept_as_signed(
    app: Flask, client: FlaskClient, lang: str, logged_in: Callable[[str], FlaskClient]
) -> None:
    set_clinic(app, texts=all_texts(consent=OWN_CONSENT))
    w = walk_to_review(client, lang)
    review = w.get()
    html = review.get_data(as_text=True)
    first = OWN_CONSENT[lang].split("\n")[0]
    assert f"<p>{first}" in html.replace("&#39;", "'")
    signed = {"csrf_token": csrf_of(review), **consent_fields(review)}
    version = signed["consent_version"]
    # Edited while the page was open: signing the words no longer shown is refused.
    set_clinic(app, texts=all_texts(consent={k: v + " Edited." for k, v in OWN_CONSENT.items()}))
    r = client.post(f"{w.base}/submit", data=signed)
    changed = {"en": "The consent text has changed since this page was opened.",
               "zh-Hant": "您開啟此頁後，同意書內容已有更改。",
               "zh-Hans": "您打开此页后，同意书内容已有更改。"}[lang]
    assert r.status_code == 200 and changed in r.get_data(as_text=True)
    set_clinic(app, texts=all_texts(consent=OWN_CONSENT))
    r = client.post(f"{w.base}/submit", data=signed)
    assert r.status_code == 303, r.get_data(as_text=True)[-800:]
    with app.app_context():
        sub = db.session.scalars(select(Submission)).one()
        stored = db.session.get(ConsentText, version)
        assert sub.consent_version == version and stored is not None
        assert (stored.lang, stored.body) == (lang, OWN_CONSENT[lang])
    # The clinic changes or drops its text afterwards: the summaries show the words signed.
    set_clinic(app)
    summary = client.get(f"{w.base}/summary").get_data(as_text=True)
    assert f"<p>{first}" in summary.replace("&#39;", "'")
    practitioner = logged_in("pa@example.com")
    page = practitioner.get(f"/dashboard/submissions/{sub.id}").get_data(as_text=True)
    assert f"<p>{first}" in page.replace("&#39;", "'")
    exported = practitioner.get(f"/dashboard/submissions/{sub.id}.json").get_json()
    assert exported["consent"]["version"] == version and exported["consent"]["lang"] == lang


# The dashboard's page -------------------------------------------------------------------------


class _Form(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.data: dict[str, Any] = {}
        self._textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        name = a.get("name")
        if tag == "textarea" and name:
            self._textarea = name
            self.data[name] = ""
        elif tag == "input" and name and a.get("type") == "checkbox":
            if "checked" in a:
                self.data.setdefault(name, []).append(a.get("value"))
        elif tag == "input" and name:
            self.data[name] = a.get("value") or ""
        elif tag == "select" and name:
            self._select = name
        elif tag == "option" and "selected" in a:
            self.data[self._select] = a.get("value")

    def handle_endtag(self, tag: str) -> None:
        if tag == "textarea":
            self._textarea = None

    def handle_data(self, data: str) -> None:
        if self._textarea:
            self.data[self._textarea] += data


def form_data(html: str) -> dict[str, Any]:
    parser = _Form()
    parser.feed(html[html.index('<form method="post" action="/dashboard/admin/clinic/texts"'):])
    parser.data.pop("action", None)
    return {k: (v.lstrip("\n") if isinstance(v, str) else v) for k, v in parser.data.items()}


def clinic_row(app: Flask) -> Clinic:
    [row] = fetch(app, Clinic, Clinic.slug == "demo")
    return row


def test_only_a_clinic_admin_edits_the_texts(
    app: Flask, logged_in: Callable[[str], FlaskClient]
) -> None:
    practitioner = logged_in("pa@example.com")
    assert practitioner.get("/dashboard/admin/clinic/texts").status_code == 403
    page = practitioner.get("/dashboard/")
    r = practitioner.post("/dashboard/admin/clinic/texts", data={
        "csrf_token": csrf_of(page), "offered": ["en"], "default_lang": "en",
        "en-intro": "Hacked", "action": "save",
    })
    assert r.status_code == 403
    assert "admin/clinic/texts" not in page.get_data(as_text=True)
    admin = logged_in("admin@example.com")
    # Without the CSRF token: refused.
    r = admin.post("/dashboard/admin/clinic/texts", data={
        "offered": ["en"], "default_lang": "en", "en-intro": "Hacked", "action": "save",
    })
    assert r.status_code == 400
    assert clinic_row(app).texts is None


@pytest.mark.parametrize("lang", LANGUAGES)
def test_an_admin_previews_then_saves_the_languages_and_texts(
    app: Flask, logged_in: Callable[[str], FlaskClient], lang: str
) -> None:
    admin = logged_in("admin@example.com")
    page = admin.get(f"/dashboard/admin/clinic/texts?lang={lang}")
    assert page.status_code == 200
    form = form_data(page.get_data(as_text=True))
    assert sorted(form["offered"]) == sorted(LANGUAGES) and form["default_lang"] == "en"
    key = lang.replace("-", "_")
    form.update({
        "offered": [lang], "default_lang": lang,
        f"{key}-intro": INTRO[lang], f"{key}-next_steps": NEXT[lang],
        f"{key}-address": ADDRESS[lang], f"{key}-consent": OWN_CONSENT[lang],
    })
    r = admin.post("/dashboard/admin/clinic/texts", data={**form, "action": "preview"})
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    # Only the language offered, rendered as on the client pages and in that language.
    assert html.count('class="client-preview"') == 1
    preview = html[html.index('class="client-preview"'):]
    assert f'<div class="clinic-text clinic-intro" lang="{lang}"><p>' in preview
    assert {"en": "What happens next", "zh-Hant": "接下來", "zh-Hans": "接下来"}[lang] in preview
    assert '<a href="tel:+852' not in preview or PHONE in preview
    assert OWN_CONSENT[lang].split("\n")[0].replace("'", "&#39;") in preview
    # What was typed stays in the form; nothing is saved by a preview.
    assert form_data(html)[f"{key}-intro"] == INTRO[lang]
    assert clinic_row(app).texts is None
    r = admin.post("/dashboard/admin/clinic/texts", data={**form, "action": "save"})
    assert r.status_code == 303
    row = clinic_row(app)
    assert (row.languages, row.default_lang) == ([lang], lang)
    assert row.texts == {lang: {
        "intro": INTRO[lang], "next_steps": NEXT[lang], "address": ADDRESS[lang],
        "consent": OWN_CONSENT[lang],
    }}
    [event] = fetch(app, AuditEvent, AuditEvent.action == "clinic_texts_changed")
    assert event.detail["languages"] == [lang]
    assert event.detail["texts_changed"] == sorted(
        f"{lang}:{f}" for f in ("intro", "next_steps", "address", "consent")
    )
    # The saved form shows the saved texts.
    again = form_data(admin.get("/dashboard/admin/clinic/texts").get_data(as_text=True))
    assert again[f"{key}-address"] == ADDRESS[lang] and again["offered"] == [lang]


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_form_says_what_is_wrong_and_keeps_what_was_typed(
    app: Flask, logged_in: Callable[[str], FlaskClient], lang: str
) -> None:
    admin = logged_in("admin@example.com")
    form = form_data(admin.get(f"/dashboard/admin/clinic/texts?lang={lang}").get_data(as_text=True))
    long_intro = "x" * 2001
    form.update({"offered": [], "en-intro": long_intro, "en-address": "Somewhere"})
    for action in ("save", "preview"):
        r = admin.post("/dashboard/admin/clinic/texts", data={**form, "action": action})
        assert r.status_code == 422
        html = r.get_data(as_text=True)
        if lang == "en":
            assert "Choose at least one language." in html
            assert "Shorten this text to 2000 characters or fewer: it has 2001." in html
        elif lang == "zh-Hant":
            assert "請至少選擇一種語言。" in html
            assert "請把這段文字縮短至 2000 個字元或以下：現時有 2001 個。" in html
        else:
            assert "请至少选择一种语言。" in html
            assert "请把这段文字缩短至 2000 个字符以内：目前有 2001 个。" in html
        assert 'aria-invalid="true"' in html and "client-preview" not in html
        kept = form_data(html)
        assert kept["en-intro"] == long_intro and kept["en-address"] == "Somewhere"
    # A default language that is not offered.
    other = OTHER[lang]
    form.update({"offered": [lang], "default_lang": other, "en-intro": ""})
    r = admin.post("/dashboard/admin/clinic/texts", data={**form, "action": "save"})
    assert r.status_code == 422
    message = {"en": "Choose one of the languages clients can choose.",
               "zh-Hant": "請從求診者可選的語言中選擇一種。",
               "zh-Hans": "请从求诊者可选的语言中选择一种。"}[lang]
    assert message in r.get_data(as_text=True)
    assert clinic_row(app).texts is None


def test_an_own_consent_texts_version_names_its_clinic() -> None:
    """The same own text at two clinics has two versions (32 hex digits of a hash that covers
    the clinic): no clinic's text can take the place of what another clinic's clients signed.
    The questionnaire's own text keeps its 12-digit version."""
    from screener.questionnaire.consent import ConsentWords

    words = {"lang": "en", "title": "Consent", "declaration": "I agree.", "body": "Our terms."}
    first, second = ConsentWords(**words, clinic_id=1), ConsentWords(**words, clinic_id=2)
    assert first.version != second.version
    assert len(first.version) == 32 and int(first.version, 16) >= 0
    standard = ConsentWords(lang="en", title="Consent", declaration="I agree.",
                            paragraphs=("Our terms.",))
    assert len(standard.version) == 12


def test_every_text_at_its_limit_in_every_language_is_accepted(
    app: Flask, accounts: dict[str, int], logged_in: Callable[[str], FlaskClient]
) -> None:
    """The largest form the product takes: Chinese characters are 9 bytes each once
    URL-encoded, and the request limit leaves room for all of them."""
    from screener.clinic_texts import FIELDS, LIMITS

    admin = logged_in("admin@example.com")
    page = admin.get("/dashboard/admin/clinic/texts")
    form: dict[str, Any] = {"csrf_token": csrf_of(page), "offered": list(LANGUAGES),
                            "default_lang": "en", "action": "save"}
    for lang in LANGUAGES:
        for field in FIELDS:
            form[f"{lang.replace('-', '_')}-{field}"] = "診" * LIMITS[field]
    r = admin.post("/dashboard/admin/clinic/texts", data=form)
    assert r.status_code == 303, r.status_code
    assert clinic_row(app).texts["zh-Hans"]["consent"] == "診" * LIMITS["consent"]
