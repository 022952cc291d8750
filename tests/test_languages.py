"""Languages as data (screener/languages.toml): Simplified Chinese written for mainland,
Singapore and Malaysian readers (no Traditional-only character on its pages), its emails,
exports and PDFs; questionnaire versions stored before it; a fourth language added with files
only (tests/fixtures/language-eo)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import opencc
import pytest
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from screener.config import ROOT
from screener.languages import LANGS, LanguageFileError, load
from screener.notify import invitation, notice
from screener.questionnaire import QuestionnaireError
from screener.questionnaire.loader import parse_questionnaire
from screener.questionnaire.model import LANGUAGES, Text

from .client_pages import client_pages
from .conftest import Walker
from .test_pdf import pdf_fonts, pdf_text
from .test_screening import BASE
from .test_summaries import store

FIXTURE_LANGUAGE = Path(__file__).parent / "fixtures" / "language-eo"
HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
T2S = opencc.OpenCC("t2s")


def traditional_only(text: str) -> set[str]:
    """The characters of `text` that only Traditional Chinese writes: those OpenCC's t2s
    conversion changes."""
    return {c for c in set(text) if HAN.match(c) and T2S.convert(c) != c}


class _TextIn(HTMLParser):
    """What a page shows (text, and the attributes read out: aria-label, title, alt,
    placeholder) in a language, leaving out what is marked as another language (`lang`), such
    as the language switch's 繁體中文."""

    VOID = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta",
                      "source", "track", "wbr"})

    def __init__(self, lang: str) -> None:
        super().__init__()
        self.lang = lang
        self.stack: list[tuple[str, str]] = []
        self.parts: list[str] = []

    def _current(self) -> str:
        return self.stack[-1][1] if self.stack else ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        lang = a.get("lang") or self._current()
        if lang == self.lang:
            self.parts += [v for k, v in attrs if k in ("aria-label", "title", "alt",
                                                        "placeholder") and v]
        if tag not in self.VOID:
            self.stack.append((tag, lang))

    def handle_endtag(self, tag: str) -> None:
        while self.stack:
            if self.stack.pop()[0] == tag:
                break

    def handle_data(self, data: str) -> None:
        if self._current() == self.lang and self.stack and self.stack[-1][0] not in (
            "script", "style"
        ):
            self.parts.append(data)


def text_in(html: str, lang: str) -> str:
    parser = _TextIn(lang)
    parser.feed(html)
    return " ".join(parser.parts)


# Simplified Chinese -------------------------------------------------------------------------


def test_the_traditional_character_check_can_fail() -> None:
    assert traditional_only("資訊與設定") == {"資", "訊", "與", "設"}
    assert traditional_only("信息与设置 abc 123") == set()
    html = '<html lang="zh-Hans"><p>简体</p><p lang="zh-Hant">繁體</p><p title="標題">x</p></html>'
    assert text_in(html, "zh-Hans").split() == ["简体", "標題", "x"]


def test_simplified_pages_hold_no_traditional_only_characters(
    app: Flask, walk: Callable[..., Walker]
) -> None:
    """Every client page kind (start, intro, each step with and without errors, review, summary,
    embedded, errors) and both summaries, as served in zh-Hans."""
    from screener.extensions import db
    from screener.screening.render import render_practitioner_summary
    from screener.storage.models import Submission

    pages = {
        name: r.get_data(as_text=True) for name, r in client_pages(app.test_client(), "zh-Hans").items()
    }
    assert len(pages) > 15 and "summary" in pages
    walker = walk(lang="zh-Hans", details={"full_name": "Chan Mei"})
    assert walker.submit().status_code == 303
    with app.test_request_context("/"):
        sub = db.session.scalars(select(Submission).order_by(Submission.id.desc())).first()
        assert sub is not None and sub.lang == "zh-Hans"
        pages["practitioner summary"] = render_practitioner_summary(sub, "zh-Hans")
    for name, html in pages.items():
        assert '<html lang="zh-Hans"' in html, name
        text = text_in(html, "zh-Hans")
        assert len(HAN.findall(text)) > 20, name
        assert not traditional_only(text), (name, sorted(traditional_only(text)))
    # The same check on the Traditional pages finds plenty.
    zh_hant = client_pages(app.test_client(), "zh-Hant")["start"].get_data(as_text=True)
    assert len(traditional_only(text_in(zh_hant, "zh-Hant"))) > 10


def test_simplified_catalog_and_questionnaire_use_mainland_wording(app: Flask) -> None:
    """The zh-Hans texts hold no Traditional-only character, and none of the Hong Kong and
    Taiwan words a mainland reader would stumble on (docs/languages.md)."""
    qn = app.extensions["questionnaire"]
    texts = [t.get("zh-Hans") for t in _all_texts(qn.doc)]
    with open(ROOT / "screener/translations/zh_Hans/LC_MESSAGES/messages.po", "rb") as f:
        for m in read_po(f):
            if m.id:
                texts += [m.string] if isinstance(m.string, str) else list(m.string)
    assert len(texts) > 900
    hk_tw = ("资讯", "电邮", "连结", "预设", "档案", "影片", "列印", "储存", "设定", "伺服器",
             "伺服", "登入", "登出", "帐户", "帐号", "私隐", "权杖", "透过", "萤幕", "网路", "滑鼠",
             "雷射", "瘀青", "荷尔蒙", "心律调节器", "拉提", "资料", "「", "」", "幼细", "作呕")
    for text in texts:
        assert not traditional_only(text), text
        for word in hk_tw:
            assert word not in text, (word, text)
    joined = "\n".join(texts)
    for word in ("信息", "电子邮件", "链接", "保存", "设置", "打印", "登录", "求诊者", "隐私"):
        assert word in joined, word


def _all_texts(node: Any) -> list[Text]:
    from pydantic import BaseModel

    if isinstance(node, Text):
        return [node]
    if isinstance(node, BaseModel):
        return [t for name in type(node).model_fields for t in _all_texts(getattr(node, name))]
    if isinstance(node, list | tuple):
        return [t for item in node for t in _all_texts(item)]
    return []


def test_emails_are_written_in_every_language(app: Flask) -> None:
    with app.app_context():
        msg = notice("Demo Clinic", "https://x.example/d/1", "a@x.example", "b@x.example")
        body = msg.get_content()
        assert "For the client's privacy this email does not contain any answers." in body
        assert "為保障求診者私隱，本電郵不包含任何回答。" in body
        assert "为保障求诊者隐私，本电子邮件不包含任何回答。" in body
        assert msg["Subject"] == "New questionnaire submission / 新的問卷提交 / 新的问卷提交"
        # An invitation queued before zh-Hans existed has no zh-Hans time: its fallback's.
        old = invitation("Demo Clinic", {"en": "1 May", "zh-Hant": "5月1日"}, "https://x.example/i",
                         "a@x.example", "b@x.example").get_content()
        assert "Demo Clinic 期待於 5月1日 與您見面。" in old
        assert "Demo Clinic 期待于 5月1日 与您见面。" in old
        assert "此链接只供您本人使用，请勿转发。" in old


def test_fhir_questionnaire_in_simplified_chinese(client: FlaskClient) -> None:
    r = client.get("/fhir/Questionnaire/screener?_language=zh-Hans")
    assert r.status_code == 200
    qn = r.get_json()
    assert qn["language"] == "zh-Hans" and qn["title"] == "面部针灸咨询问卷"
    first = qn["item"][0]
    assert first["text"] == "关于您"
    langs = {
        e["extension"][0]["valueCode"] for e in first["_text"]["extension"]
    }
    assert langs == {"en", "zh-Hant"}
    texts = [qn["title"], *(i["text"] for step in qn["item"] for i in [step, *step["item"]])]
    assert not traditional_only("".join(texts)), texts


def test_simplified_pdf_is_set_in_the_simplified_font(
    app: Flask, client: FlaskClient, tmp_path: Any
) -> None:
    token = store(app, {**BASE, "pregnancy": "yes", "full_name": "Chan Mei"}, lang="zh-Hans")
    r = client.get(f"/c/demo/d/{token}/summary.pdf")
    assert r.status_code == 200
    text = pdf_text(r.data)
    assert "谢谢！您的回答已提交。" in text and re.search(r"第 1 页，共 \d+ 页", text)
    fonts = pdf_fonts(r.data, tmp_path)
    assert "Noto-Sans-CJK-SC" in fonts and "CJK-TC" not in fonts, fonts


def test_bad_host_page_speaks_every_language(client: FlaskClient) -> None:
    r = client.get("/c/demo/", headers={"Host": "bad host name"})
    assert r.status_code == 400
    page = r.get_data(as_text=True)
    assert "此請求的主機名稱（Host 標頭）無效。" in page
    assert '<p lang="zh-Hans">此请求的主机名（Host 请求头）无效。</p>' in page


# Questionnaire versions from before a language ------------------------------------------------


def _without(lang: str, source: str) -> str:
    """questions.yaml as it was before `lang` was added."""
    source = re.sub(rf'\n\s*{lang}: "(?:[^"\\]|\\.)*"(?=\n)', "", source)
    return re.sub(rf', {lang}: "(?:[^"\\]|\\.)*"', "", source)


def test_a_stored_version_without_simplified_chinese_still_reads() -> None:
    source = _without("zh-Hans", (ROOT / "questions.yaml").read_text(encoding="utf-8"))
    assert "zh-Hans" not in source.split("\nsources:")[1]
    # As the current questionnaire it is refused: every declared language is needed ...
    with pytest.raises(QuestionnaireError) as err:
        parse_questionnaire(source)
    assert "steps[0].title: missing translation 'zh-Hans'" in err.value.errors
    # ... as a stored version it loads, and reads in Traditional Chinese (zh-Hans's fallback).
    old = parse_questionnaire(source, stored=True)
    title = old.steps[0].title
    assert not title.has("zh-Hans") and title.get("zh-Hans") == title.get("zh-Hant") == "關於您"
    assert LANGS.fallbacks("zh-Hans") == ("zh-Hans", "zh-Hant", "en")
    # Even a stored text needs the default language; languages no longer listed are dropped.
    stored = {"stored": True}
    assert Text.model_validate({"en": "a", "xx": "b"}, context=stored).root == {"en": "a"}
    with pytest.raises(ValueError, match="missing translation 'en'"):
        Text.model_validate({"zh-Hant": "甲"}, context=stored)
    assert LANGS.fallbacks("en") == ("en",)


def test_a_text_in_an_unknown_language_is_refused() -> None:
    doc = (FIXTURE_LANGUAGE / "questions.yaml").read_text(encoding="utf-8")
    with pytest.raises(QuestionnaireError) as err:
        parse_questionnaire(doc)
    assert any("unknown language 'eo'" in e for e in err.value.errors), err.value.errors
    assert any("missing translations 'zh-Hant', 'zh-Hans'" in e for e in err.value.errors)


def test_a_languages_file_with_mistakes_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "languages.toml"
    path.write_text('[[language]]\ncode = "en"\nlocale = "en"\nname = "English"\n'
                    'negotiate = ["en"]\npdf_font = "X"\nfallback = "xx"\n')
    with pytest.raises(LanguageFileError, match="fallback xx is not listed"):
        load(path)
    path.write_text('[[language]]\ncode = "en"\n')
    with pytest.raises(LanguageFileError, match="missing keys"):
        load(path)
    assert load(ROOT / "screener" / "languages.toml").codes == LANGUAGES


# A fourth language, with files only -------------------------------------------------------------

FOURTH = """
import json
from screener import create_app
from screener.extensions import db
from screener.storage.migrate import recreate
from screener.storage.models import Clinic

url = "sqlite:///" + {db!r}
recreate(url)
app = create_app({{"TESTING": True, "SECRET_KEY": "k" * 40, "DATABASE_URL": url,
                  "QUESTIONS_FILE": {questions!r}}})
with app.app_context(), db.transaction() as session:
    session.add(Clinic(slug="demo", name="Demo Clinic"))
client = app.test_client()
out = {{}}
r = client.get("/c/demo/", headers={{"Accept-Language": "eo, en;q=0.5"}})
out["start"] = r.get_data(as_text=True)
out["start_en"] = client.get("/c/demo/?lang=en").get_data(as_text=True)
r = client.post("/c/demo/start", data={{"lang": "eo"}})  # unanswered: shown again, with errors
out["step"] = r.get_data(as_text=True)
out["fhir"] = client.get("/fhir/Questionnaire/screener?_language=eo").get_json()
print(json.dumps(out))
"""


def test_a_fourth_language_needs_no_code(tmp_path: Path) -> None:
    """Esperanto, from tests/fixtures/language-eo (a languages file, a catalog, questionnaire
    texts), served by an app started with SCREENER_LANGUAGES pointing at it."""
    fixture = tmp_path / "language-eo"
    shutil.copytree(FIXTURE_LANGUAGE, fixture)
    po = fixture / "translations" / "eo" / "LC_MESSAGES" / "messages.po"
    with open(po, "rb") as f:
        catalog = read_po(f)
    with open(po.with_suffix(".mo"), "wb") as f:
        write_mo(f, catalog)
    script = FOURTH.format(db=str(tmp_path / "eo.db"), questions=str(fixture / "questions.yaml"))
    env = {**os.environ, "SCREENER_LANGUAGES": str(fixture / "languages.toml")}
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                          text=True, timeout=120, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    start = out["start"]
    assert '<html lang="eo"' in start
    assert "Daŭrigi" in start  # the fixture's catalog
    assert "Pri vi" in start  # the fixture's questionnaire text (the steps listed)
    assert 'lang="en" hreflang="en">English</a>' in start  # the switch: every language
    assert '<span class="lang-current" aria-current="true" lang="eo">Esperanto</span>' in start
    assert '<html lang="en"' in out["start_en"] and "About you" in out["start_en"]
    assert "Ĉu vi estas graveda?" in out["step"] and "Daŭrigi" in out["step"]
    assert out["fhir"]["language"] == "eo"
    assert out["fhir"]["item"][0]["text"] == "Pri vi"
