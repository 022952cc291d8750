"""Every language of screener/languages.toml, done properly: complete catalogs that match the
templates, every questionnaire text in every language, the language chosen by the switch, then
Accept-Language, then the default (English), remembered by the draft, `<html lang>` right, dates in
the reader's locale."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator
from html.parser import HTMLParser
from typing import Any

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po
from flask import Flask
from flask.testing import FlaskClient
from flask_babel import force_locale, format_date
from pydantic import BaseModel
from sqlalchemy import select

from screener.config import ROOT
from screener.i18n import normalise_lang
from screener.languages import LANGS
from screener.questionnaire.model import Text

from .client_pages import client_pages
from .conftest import STEP_ANSWERS, Walker, csrf_of, drafts

TRANSLATIONS = ROOT / "screener" / "translations"
POT = TRANSLATIONS / "messages.pot"
# Every catalog in the package and every declared language's (the default language, English, is
# the catalogs' own language and has none): a catalog that is missing, incomplete or stale fails.
_DECLARED = {lang.locale: lang.code for lang in LANGS.languages[1:]}
CATALOGS = {
    _DECLARED.get(locale, locale): TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po"
    for locale in sorted(
        {p.parent.parent.name for p in TRANSLATIONS.glob("*/LC_MESSAGES/messages.po")}
        | set(_DECLARED)
    )
}
OTHER_LANGUAGES = [lang.code for lang in LANGS.languages[1:]]
# The keywords scripts/i18n extracts with, besides Babel's defaults (_, gettext, ngettext...).
KEYWORDS = {**DEFAULT_KEYWORDS, "_l": None, "lazy_gettext": None}
HAN = re.compile(r"[\u3400-\u9fff]")
FORBIDDEN_ZH = ("適合", "合格", "安全", "停藥", "停止服用", "适合", "停药")


def _msgid(message_id: str | tuple[str, ...]) -> str:
    return message_id if isinstance(message_id, str) else message_id[0]


def read_catalog(path: Any) -> Any:
    with open(path, "rb") as f:
        return read_po(f)


def extracted_msgids() -> set[str]:
    """What `scripts/i18n update` would extract from the code and templates right now."""
    with open(ROOT / "babel.cfg") as f:
        method_map, options_map = parse_mapping_cfg(f)
    skip = {"node_modules", "test-artifacts", "instance", "migrations", "tests", "bench"}
    found = extract_from_dir(
        str(ROOT),
        method_map,
        options_map,
        keywords=KEYWORDS,
        directory_filter=lambda path: (
            not any(
                part in skip or part.startswith(".") for part in path.replace("\\", "/").split("/")
            )
        ),
    )
    return {_msgid(message) for _file, _line, message, _comments, _context in found}


# Catalogs ---------------------------------------------------------------------------------


@pytest.mark.parametrize("lang", CATALOGS)
def test_every_catalog_message_is_translated(lang: str) -> None:
    assert set(CATALOGS) >= set(OTHER_LANGUAGES) and "zh-Hans" in CATALOGS
    catalog = read_catalog(CATALOGS[lang])
    messages = [m for m in catalog if m.id]
    assert len(messages) > 100
    untranslated = [
        _msgid(m.id)
        for m in messages
        if not (all(m.string) if isinstance(m.string, tuple) else m.string)
    ]
    fuzzy = [_msgid(m.id) for m in messages if m.fuzzy]
    assert not untranslated, f"{len(untranslated)} untranslated in {lang}: {untranslated[:20]}"
    assert not fuzzy, f"fuzzy (unchecked) translations in {lang}: {fuzzy}"
    # Placeholders such as %(clinic)s match between the English and the translation.
    problems = [(_msgid(m.id), [str(e) for e in errors]) for m, errors in catalog.check()]
    assert not problems, problems


@pytest.mark.parametrize("lang", [code for code in CATALOGS if code.startswith("zh")])
def test_translations_are_in_chinese_and_keep_the_wording_rules(lang: str) -> None:
    catalog = read_catalog(CATALOGS[lang])
    for m in catalog:
        if not m.id:
            continue
        strings = m.string if isinstance(m.string, tuple) else (m.string,)
        for text in strings:
            words = re.sub(r"%\([a-z_]+\)[sd]", "", text)
            # Every translation has Chinese in it, except a few made of names and numbers only.
            if re.search(r"[A-Za-z]{4,}", _msgid(m.id)) and not re.fullmatch(
                r"[\W\dA-Za-z:（）()]*", words
            ):
                assert HAN.search(words), (m.id, text)
            # Content brief: never call a person suitable, eligible or cleared, or a treatment
            # safe; never tell anyone to stop a medicine ("qualified" is 具專業資格, not 合格).
            for word in FORBIDDEN_ZH:
                assert word not in text, (word, m.id, text)


def test_template_catalog_is_up_to_date() -> None:
    """Running `scripts/i18n update` would add nothing: every interface string is in the catalog."""
    in_pot = {_msgid(m.id) for m in read_catalog(POT) if m.id}
    extracted = extracted_msgids()
    assert len(extracted) > 100
    new = sorted(extracted - in_pot)
    stale = sorted(in_pot - extracted)
    assert not new, f"run scripts/i18n update: not in messages.pot: {new[:20]}"
    assert not stale, f"run scripts/i18n update: no longer used: {stale[:20]}"
    for lang, path in CATALOGS.items():
        in_po = {_msgid(m.id) for m in read_catalog(path) if m.id}
        assert in_po == in_pot, (lang, sorted(in_pot ^ in_po)[:20])


def test_questionnaire_texts_exist_in_every_language(app: Flask) -> None:
    """Every text of questions.yaml is given in every declared language (the loader refuses a
    missing or empty one; this also catches English pasted into a Chinese slot)."""
    texts = list(_texts(app.extensions["questionnaire"].doc))
    assert len(texts) > 200
    assert "zh-Hans" in LANGS.codes
    for path, text in texts:
        for lang in LANGS.codes:
            assert text.has(lang) and text.get(lang).strip(), (path, lang)
        for lang in OTHER_LANGUAGES:
            assert text.get(lang) != text.get("en"), (path, lang)
            if lang.startswith("zh"):
                assert HAN.search(text.get(lang)), (path, lang, text.get(lang))
    # Simplified is not Traditional copied: most texts differ between the two.
    assert sum(t.get("zh-Hans") != t.get("zh-Hant") for _p, t in texts) > len(texts) * 0.8


def _texts(node: Any, path: str = "") -> Iterator[tuple[str, Text]]:
    if isinstance(node, Text):
        yield path, node
    elif isinstance(node, BaseModel):
        for name in type(node).model_fields:
            yield from _texts(getattr(node, name), f"{path}.{name}")
    elif isinstance(node, list | tuple):
        for i, item in enumerate(node):
            yield from _texts(item, f"{path}[{i}]")
    elif isinstance(node, dict):
        for key, item in node.items():
            yield from _texts(item, f"{path}.{key}")


# Rendered pages ---------------------------------------------------------------------------


class _TextOf(HTMLParser):
    """The text a person reads on a page (no script, no style, no attribute values)."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._skip += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def visible_text(html: str) -> str:
    parser = _TextOf()
    parser.feed(html)
    return re.sub(r"\s+", " ", " ".join(parser.parts))


def english_fragments(app: Flask) -> set[str]:
    """Pieces of English a Chinese page must not show: catalog messages (split at their
    placeholders) and every English questionnaire text, all of at least three words."""
    pieces = set()
    for m in read_catalog(POT):
        if m.id:
            for ident in (m.id,) if isinstance(m.id, str) else m.id:
                pieces.update(re.split(r"%\([a-z_]+\)[sd]", ident))
    for _path, text in _texts(app.extensions["questionnaire"].doc):
        pieces.add(text.get("en"))
    return {p.strip(" .:") for p in pieces if len(p.split()) >= 3}


@pytest.mark.parametrize("lang", OTHER_LANGUAGES)
def test_chinese_pages_show_no_english_interface_text(app: Flask, lang: str) -> None:
    english = english_fragments(app)
    assert len(english) > 150
    pages = client_pages(app.test_client(), lang)
    assert len(pages) > 15
    for name, response in pages.items():
        html = response.get_data(as_text=True)
        assert f'<html lang="{lang}"' in html, name
        text = visible_text(html)
        assert HAN.search(text), name
        leaks = sorted(e for e in english if e in text)
        assert not leaks, (name, leaks[:5])


def test_the_english_check_finds_english(app: Flask, client: FlaskClient) -> None:
    """The check above can fail: an English page is full of such text."""
    text = visible_text(
        client.get("/c/demo/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    )
    assert sum(e in text for e in english_fragments(app)) >= 3


# Choosing the language --------------------------------------------------------------------


CONTINUE = {"zh-Hant": "繼續", "zh-Hans": "继续"}  # the start page's button


@pytest.mark.parametrize(
    ("accept", "lang"),
    [
        ("zh-TW,zh;q=0.9,en;q=0.8", "zh-Hant"),
        ("zh-HK", "zh-Hant"),
        ("zh-MO", "zh-Hant"),
        ("zh-Hant", "zh-Hant"),
        ("zh-hant-hk", "zh-Hant"),
        ("zh-CN,zh;q=0.9,en;q=0.8", "zh-Hans"),
        ("zh-SG", "zh-Hans"),
        ("zh-Hans", "zh-Hans"),
        ("ZH-HANS-CN", "zh-Hans"),
        ("zh_Hans_MY", "zh-Hans"),
        ("zh", "zh-Hans"),  # bare Chinese: Simplified (languages.toml)
        ("en-GB,en;q=0.9", "en"),
        ("fr-FR,fr;q=0.9", "en"),
        ("", "en"),
        ("fr, zh-TW;q=0.5", "zh-Hant"),
        ("fr, zh-CN;q=0.5", "zh-Hans"),
        ("en;q=0.2, zh-TW;q=0.9", "zh-Hant"),
        ("zh-CN;q=0.5, zh-TW;q=0.8", "zh-Hant"),
        ("zh-TW;q=0.3, zh-SG;q=0.6, en;q=0.4", "zh-Hans"),
        ("zh-HK;q=0.7, en;q=0.9, zh-CN;q=0.8", "en"),
        ("zh-CN;q=0, en;q=0.1", "en"),  # q=0: not acceptable
        ("*", "en"),
        (";;;q=garbage,,", "en"),
    ],
)
def test_new_visitors_get_their_browser_language(
    client: FlaskClient, accept: str, lang: str
) -> None:
    r = client.get("/c/demo/", headers={"Accept-Language": accept})
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert f'<html lang="{lang}"' in html
    for code in ("zh-Hant", "zh-Hans"):
        assert (CONTINUE[code] in html) == (code == lang), code
    assert f'name="lang" value="{lang}"' in html


@pytest.mark.parametrize(
    ("value", "lang"),
    [
        ("zh-Hant", "zh-Hant"),
        ("zh_Hant", "zh-Hant"),
        ("zh-TW", "zh-Hant"),
        ("ZH-HK", "zh-Hant"),
        ("zh-mo", "zh-Hant"),
        ("zh-Hant-TW", "zh-Hant"),
        ("zh-Hans-HK", "zh-Hans"),  # the script subtag decides
        ("zh-CN", "zh-Hans"),
        ("zh-sg", "zh-Hans"),
        ("zh-Hans", "zh-Hans"),
        ("zh_hans_cn", "zh-Hans"),
        ("zh", "zh-Hans"),
        ("en-GB", "en"),
        ("en", "en"),
        ("eng", None),
        ("zhx", None),
        ("fr", None),
        ("", None),
        (None, None),
    ],
)
def test_normalise_lang(value: str | None, lang: str | None) -> None:
    assert normalise_lang(value) == lang


def test_start_page_switch_beats_the_browser_language(client: FlaskClient) -> None:
    r = client.get("/c/demo/?lang=zh-Hant", headers={"Accept-Language": "en"})
    assert '<html lang="zh-Hant"' in r.get_data(as_text=True)
    r = client.get("/c/demo/?lang=en", headers={"Accept-Language": "zh-TW"})
    assert '<html lang="en"' in r.get_data(as_text=True)


def test_the_draft_remembers_its_language(client: FlaskClient, session: Any) -> None:
    walker = Walker(client)
    walker.start("zh-Hant")
    assert [d.lang for d in drafts(session)] == ["zh-Hant"]
    # Coming back from an English browser: still Chinese (its second step: the first was
    # answered on the start page), because the draft says so.
    page = client.get(f"{walker.base}/", headers={"Accept-Language": "en"}, follow_redirects=True)
    html = page.get_data(as_text=True)
    assert '<html lang="zh-Hant"' in html and "第 2 步" in html


def _step_post(client: FlaskClient, url: str, data: dict[str, Any]) -> Any:
    return client.post(url, data={"csrf_token": csrf_of(client.get(url)), **data})


def test_switch_keeps_the_step_and_what_was_typed(client: FlaskClient, session: Any) -> None:
    walker = Walker(client)
    walker.start("en")
    for step_id in list(STEP_ANSWERS)[:-1]:
        walker.post_step(STEP_ANSWERS[step_id])
    assert walker.url.endswith("/s/details")
    r = _step_post(
        client,
        walker.url,
        {
            "full_name": "Mei Chen",
            "email": "not an email",
            "consent_store": "y",
            "switch_lang": "zh-Hant",
        },
    )
    assert r.status_code == 303
    assert r.headers["Location"].endswith("/s/details")
    (draft,) = drafts(session)
    assert draft.lang == "zh-Hant"
    assert draft.current_step == "details"
    # What passed the checks is kept, as Back keeps it; the bad email is not stored.
    assert draft.answers["full_name"] == "Mei Chen"
    assert draft.answers["consent_store"] is True
    assert "email" not in draft.answers
    html = client.get(r.headers["Location"]).get_data(as_text=True)
    assert '<html lang="zh-Hant"' in html
    assert 'value="Mei Chen"' in html
    assert "error-summary" not in html  # switching is not submitting: no errors shown


def test_switch_from_the_review_path_goes_back_there(
    client: FlaskClient, walk: Callable[..., Walker]
) -> None:
    walker = walk()
    url = f"{walker.base}/s/comfort?from=review"
    r = _step_post(client, url, {**STEP_ANSWERS["comfort"], "switch_lang": "zh-Hant"})
    assert r.status_code == 303
    assert r.headers["Location"].endswith("/s/comfort?from=review")


def test_a_post_without_action_continues(client: FlaskClient, walker: Walker, session: Any) -> None:
    """Enter in a text box presses the hidden first button, which sends no `action`."""
    walker.start("en")
    r = _step_post(client, walker.url, dict(STEP_ANSWERS["about_you"]))
    assert r.status_code == 303 and r.headers["Location"].endswith("/s/goals")
    assert drafts(session)[0].lang == "en"


@pytest.mark.parametrize("value", ["fr", "", "de-DE", "x" * 500, "../en"])
def test_unknown_switch_values_change_nothing(
    client: FlaskClient, walker: Walker, session: Any, value: str
) -> None:
    walker.start("en")
    r = _step_post(client, walker.url, {"switch_lang": value})
    assert r.status_code == 200  # an ordinary Continue: the errors of the empty step are shown
    assert "error-summary" in r.get_data(as_text=True)
    assert drafts(session)[0].lang == "en"


def test_step_page_switch_is_a_button_of_the_step_form(client: FlaskClient, walker: Walker) -> None:
    walker.start("en")
    html = client.get(walker.url).get_data(as_text=True)
    assert re.search(r'<form method="post"[^>]*id="step-form"', html)
    button = re.search(
        r'<button type="submit" class="lang-button" form="step-form" name="switch_lang"'
        r' value="zh-Hant" lang="zh-Hant">繁體中文</button>',
        html,
    )
    assert button
    # The hidden default button (Enter) comes before the language buttons in the page.
    default = html.index('class="default-submit"')
    assert default < button.start()
    assert '<span class="lang-current" aria-current="true" lang="en">English</span>' in html


def test_other_pages_switch_with_links(
    client: FlaskClient, walk: Callable[..., Walker], session: Any
) -> None:
    walker = walk()
    html = client.get(f"{walker.base}/review").get_data(as_text=True)
    assert f'href="{walker.base}/review?lang=zh-Hant"' in html
    html = client.get(f"{walker.base}/review?lang=zh-Hant").get_data(as_text=True)
    assert '<html lang="zh-Hant"' in html and "核對您的回答" in html
    assert drafts(session)[0].lang == "zh-Hant"


# Dates and numbers ------------------------------------------------------------------------


def test_dates_follow_the_language(app: Flask, client: FlaskClient, session: Any) -> None:
    pages = {}
    for lang in ("en", "zh-Hant"):
        walker = Walker(client)
        walker.start(lang)
        pages[lang] = client.get(walker.url).get_data(as_text=True)
    expires = max(d.expires_at for d in drafts(session))
    with app.test_request_context("/"):
        with force_locale("en"):
            english = format_date(expires, "long")
        with force_locale("zh_Hant"):
            chinese = format_date(expires, "long")
    assert re.fullmatch(r"[A-Z][a-z]+ \d{1,2}, \d{4}", english), english
    assert re.fullmatch(r"\d{4}年\d{1,2}月\d{1,2}日", chinese), chinese
    assert f"kept until {english}" in pages["en"]
    assert f"保留至 {chinese}" in pages["zh-Hant"]
    steps = len(STEP_ANSWERS)
    assert f"第 1 步，共 {steps} 步" in pages["zh-Hant"] and f"Step 1 of {steps}" in pages["en"]


def test_review_shows_answers_in_the_draft_language(
    client: FlaskClient, walk: Callable[..., Walker]
) -> None:
    walker = walk(lang="zh-Hant")
    html = client.get(f"{walker.base}/review").get_data(as_text=True)
    assert "4（滿分 10）" in html  # pain sensitivity, a number in a translated phrase
    assert "30 至 44 歲" in html  # a choice label from questions.yaml
    assert "是，我同意" in html  # a consent, from the catalog


# The practitioner reads in their own language ---------------------------------------------


def test_practitioner_summary_renders_in_the_readers_language(
    app: Flask, walk: Callable[..., Walker]
) -> None:
    from screener.extensions import db
    from screener.screening.render import render_practitioner_summary
    from screener.storage.models import Submission

    walker = walk(lang="zh-Hant")
    assert walker.submit().status_code == 303
    with app.test_request_context("/"):
        sub = db.session.scalars(select(Submission)).one()
        assert sub.lang == "zh-Hant"
        english = render_practitioner_summary(sub, "en")
        chinese = render_practitioner_summary(sub, "zh-Hant")
    assert '<html lang="en"' in english and "Practitioner summary" in english
    assert "Which age group are you in?" in english and "30 to 44" in english
    assert '<html lang="zh-Hant"' in chinese and "醫師摘要" in chinese
    assert "30 至 44 歲" in chinese
    assert "Practitioner summary" not in chinese


def test_chinese_dates_from_dates_and_datetimes() -> None:
    """format_date gives the Chinese long form for dates and datetimes (the pages pass both)."""
    from flask import Flask as _Flask
    from flask_babel import Babel

    tiny = _Flask(__name__)
    Babel(tiny)
    with tiny.test_request_context("/"), force_locale("zh_Hant"):
        assert format_date(dt.date(2026, 3, 27), "long") == "2026年3月27日"
        assert format_date(dt.datetime(2026, 3, 27, 12, 0), "long") == "2026年3月27日"


def test_memoised_format_date_agrees_with_flask_babel(app: Flask) -> None:
    import flask_babel
    from flask import g

    from screener.i18n import format_date

    values = [dt.date(2024, 2, 29), dt.date(2026, 1, 1),
              dt.datetime(2026, 12, 31, 23, 59, tzinfo=dt.UTC), dt.datetime(2025, 6, 1, 0, 0, tzinfo=dt.UTC)]
    for lang, babel_locale in (("en", "en"), ("zh-Hant", "zh_Hant")):
        with app.test_request_context("/"):
            g.lang = lang
            for value in values:
                for fmt in ("long", "medium", "short"):
                    assert format_date(value, fmt) == flask_babel.format_date(value, fmt)
            with flask_babel.force_locale("en" if babel_locale != "en" else "zh_Hant"):
                assert format_date(values[0], "long") == flask_babel.format_date(values[0], "long")


def test_template_text_follows_force_locale_like_python_text(app: Flask) -> None:
    """Templates translate in Flask-Babel's locale of the moment, as gettext in Python does."""
    import flask_babel
    from flask import g, render_template_string

    with app.test_request_context("/"):
        g.lang = "en"
        assert render_template_string("{{ _('Continue') }}") == "Continue"
        with flask_babel.force_locale("zh_Hant"):
            chinese = render_template_string("{{ _('Continue') }}")
            assert chinese == flask_babel.gettext("Continue") and chinese != "Continue"
        assert render_template_string("{{ _('Continue') }}") == "Continue"
