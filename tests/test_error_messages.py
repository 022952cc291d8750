"""Error messages per question (questions.yaml `error:`, docs/questions-format.md): the error
summary lists exactly each field's message, linked to the field, and the field shows the same
words after a visually hidden "Error:"; a question without a message of its own gets one
generated from its type and `name`; an optional question says "optional" once."""
from __future__ import annotations

import html
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jinja2
import pytest
from flask import Flask

from screener import create_app
from screener.extensions import db
from screener.questionnaire.model import LANGUAGES
from screener.storage.models import Clinic

from .conftest import RELAXED_LIMITS, STEP_ANSWERS, TEST_SECRET, Walker, _clean, real_questionnaire
from .test_i18n import visible_text

FIXTURE = Path(__file__).parent / "fixtures" / "messages.yaml"
ERROR_PREFIX = {"en": "Error:", "zh-Hant": "錯誤：", "zh-Hans": "错误："}


def summary_of(page: str) -> list[tuple[str, str]]:
    """The error summary's links: (target, text)."""
    m = re.search(r'<div class="error-summary".*?<ul>(.*?)</ul>', page, re.S)
    assert m, page[-2000:]
    return [(href, html.unescape(words))
            for href, words in re.findall(r'<a href="#([^"]+)">([^<]*)</a>', m.group(1))]


def field_errors(page: str) -> dict[str, str]:
    """Each field's message, by question id, with its visually hidden prefix."""
    return {
        qid: f"{html.unescape(prefix)}|{html.unescape(words)}"
        for qid, prefix, words in re.findall(
            r'<p class="field-error" id="([a-z_]+)-error"><span class="visually-hidden">([^<]*)'
            r"</span> ([^<]*)</p>", page)
    }


def post(walker: Walker, data: dict[str, Any]) -> str:
    r = walker.post_step(data)
    assert r.status_code == 200
    return str(r.get_data(as_text=True))


# questions.yaml ---------------------------------------------------------------------------------

EXPECTED = {
    "en": {
        "age_band": "Select your age group",
        "pregnancy": "Select whether you could be pregnant",
        "full_name": "Enter your full name",
        "email": "Enter an email address in the correct format, like name@example.com",
        "consent_store": "Select the box to agree that your answers are stored and shared only"
                         " with this clinic's practitioners",
    },
    "zh-Hant": {
        "age_band": "請選擇您的年齡層",
        "pregnancy": "請選擇您是否已懷孕或可能已懷孕",
        "full_name": "請輸入您的姓名",
        "email": "請按正確格式輸入電子郵件地址，例如 name@example.com",
        "consent_store": "請勾選此方格，表示您同意儲存您的回答，並只提供給本診所的醫師",
    },
    "zh-Hans": {
        "age_band": "请选择您的年龄段",
        "pregnancy": "请选择您是否已怀孕或可能已怀孕",
        "full_name": "请输入您的姓名",
        "email": "请按正确格式输入电子邮件地址，例如 name@example.com",
        "consent_store": "请勾选此方格，表示您同意保存您的回答，并只提供给本诊所的医师",
    },
}


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_summary_lists_the_messages_of_questions_yaml_as_the_fields_show_them(
    walker: Walker, lang: str
) -> None:
    words = EXPECTED[lang]
    walker.start(lang)
    page = post(walker, {})
    assert summary_of(page) == [("age_band-0", words["age_band"]),
                                ("pregnancy-0", words["pregnancy"])]
    prefix = ERROR_PREFIX[lang]
    assert field_errors(page) == {"age_band": f"{prefix}|{words['age_band']}",
                                  "pregnancy": f"{prefix}|{words['pregnancy']}"}
    # The summary does not repeat the question.
    qn = real_questionnaire()
    summary = page.split('class="error-summary"', 1)[1].split("</ul>", 1)[0]
    assert qn.questions["pregnancy"].label.get(lang) not in html.unescape(summary)

    for step in list(STEP_ANSWERS)[:-1]:  # the first step again, answered this time
        assert walker.post_step(STEP_ANSWERS[step]).status_code == 303
    page = post(walker, {"email": "not-an-email", "consent_not_advice": "y"})
    assert summary_of(page) == [("full_name", words["full_name"]), ("email", words["email"]),
                                ("consent_store", words["consent_store"])]
    errors = field_errors(page)
    assert [errors[q] for q in ("full_name", "email", "consent_store")] == [
        f"{prefix}|{words[q]}" for q in ("full_name", "email", "consent_store")
    ]


def test_every_required_question_of_questions_yaml_has_its_own_message() -> None:
    qn = real_questionnaire()
    for q in qn.questions.values():
        if q.required:
            assert q.error is not None and q.error.required is not None, q.id
            for text in (q.error.required.get(lang) for lang in LANGUAGES):
                assert not text.endswith((".", "。")), (q.id, text)  # GOV.UK: no full stop


# Generated messages -----------------------------------------------------------------------------


@pytest.fixture
def fixture_app(database_url: str) -> Iterator[Flask]:
    """An app asking tests/fixtures/messages.yaml, on a clean database with the demo clinic."""
    app = create_app({
        "TESTING": True, "SECRET_KEY": TEST_SECRET, "DATABASE_URL": database_url,
        "QUESTIONS_FILE": str(FIXTURE), **RELAXED_LIMITS,
    })
    app.jinja_env.undefined = jinja2.StrictUndefined
    with app.app_context():
        _clean(app)
        with db.transaction() as s:
            s.add(Clinic(slug="demo", name="Demo Clinic", allowed_origins=[]))
    yield app
    db.of(app).engine.dispose()


GENERATED = {
    "en": {
        "colour": "Select an answer",
        "tea": "Select the tea you drink most",
        "pregnancy": "Select whether you are pregnant",  # its own message
        "pain": "Select a number from 1 to 5",
        "skin": "Select at least one option",
        "full_name": "Enter your full name",
        "nickname": "Enter your answer",
        "email": "Enter your email address",
        "event_date": "Enter the date",
        "agree": "Select the box to continue",
    },
    "zh-Hant": {
        "colour": "請選擇一項",
        "tea": "請選擇您最常喝的茶",
        "pregnancy": "請選擇您是否懷孕",
        "pain": "請選擇 1 至 5 之間的數字",
        "skin": "請至少選擇一項",
        "full_name": "請輸入您的姓名",
        "nickname": "請輸入您的回答",
        "email": "請輸入您的電子郵件地址",
        "event_date": "請輸入日期",
        "agree": "請勾選此方格以繼續",
    },
    "zh-Hans": {
        "colour": "请选择一项",
        "tea": "请选择您最常喝的茶",
        "pregnancy": "请选择您是否怀孕",
        "pain": "请选择 1 至 5 之间的数字",
        "skin": "请至少选择一项",
        "full_name": "请输入您的姓名",
        "nickname": "请输入您的回答",
        "email": "请输入您的电子邮件地址",
        "event_date": "请输入日期",
        "agree": "请勾选此方格以继续",
    },
}
TOO_LONG = {
    "en": {"full_name": "Your full name must be 10 characters or less",
           "nickname": "Your answer must be 10 characters or less",
           "email": "Enter an email address in the correct format, like name@example.com"},
    "zh-Hant": {"full_name": "您的姓名不可超過 10 個字元",
                "nickname": "您的回答不可超過 10 個字元",
                "email": "請按正確格式輸入電子郵件地址，例如 name@example.com"},
    "zh-Hans": {"full_name": "您的姓名不可超过 10 个字符",
                "nickname": "您的回答不可超过 10 个字符",
                "email": "请按正确格式输入电子邮件地址，例如 name@example.com"},
}


@pytest.mark.parametrize("lang", LANGUAGES)
def test_a_question_without_its_own_message_gets_one_from_its_type_and_name(
    fixture_app: Flask, lang: str
) -> None:
    client = fixture_app.test_client()

    def start(data: dict[str, Any]) -> str:
        """The start page's form (the first step's questions) sent: shown again with errors."""
        r = client.post("/c/demo/start", data={"lang": lang, **data})
        assert r.status_code == 200
        return str(r.get_data(as_text=True))

    page = start({})
    expected = GENERATED[lang]
    assert [words for _href, words in summary_of(page)] == list(expected.values())
    prefix = ERROR_PREFIX[lang]
    assert field_errors(page) == {q: f"{prefix}|{words}" for q, words in expected.items()}

    page = start({"full_name": "x" * 11, "nickname": "y" * 11, "email": "nobody"})
    errors = field_errors(page)
    for qid, words in TOO_LONG[lang].items():
        assert errors[qid] == f"{prefix}|{words}"
        assert (qid, words) in summary_of(page)


# "Optional", once -------------------------------------------------------------------------------

OPTIONAL = {"en": re.compile(r"optional", re.I), "zh-Hant": re.compile("選填"),
            "zh-Hans": re.compile("选填")}


@pytest.mark.parametrize("lang", LANGUAGES)
def test_an_optional_question_says_optional_once(walker: Walker, lang: str) -> None:
    qn = real_questionnaire()
    optional = [q for q in qn.questions.values() if not q.required and q.type != "consent"]
    assert {"email", "phone", "other_health", "blood_thinners_which"} <= {q.id for q in optional}
    for q in optional:  # the page marks it "(optional)": its own texts need not
        for text in (q.label, q.help):
            assert text is None or not OPTIONAL[lang].search(text.get(lang)), (q.id, text)
    # As shown: each optional question of the details step says it once.
    walker.start(lang)
    for step in list(STEP_ANSWERS)[:-1]:
        assert walker.post_step(STEP_ANSWERS[step]).status_code == 303
    page = str(walker.get().get_data(as_text=True))
    for qid in ("email", "phone"):
        block = visible_text(page.split(f'id="q-{qid}"', 1)[1].split('<div class="question', 1)[0])
        assert len(OPTIONAL[lang].findall(block)) == 1, (qid, block)
    full_name = page.split('id="q-full_name"', 1)[1].split('id="q-email"', 1)[0]
    assert not OPTIONAL[lang].search(visible_text(full_name))
