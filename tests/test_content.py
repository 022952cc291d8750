"""The questionnaire's content as a client meets it: short steps, and wording that keeps the
content brief's rules in every client-facing text (the questionnaire, the
interface messages of the client pages, and the pages as served), in every language."""


from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po
from flask import Flask
from flask.testing import FlaskClient

from screener.config import ROOT
from screener.questionnaire.model import LANGUAGES, Question, Questionnaire, Text

from .client_pages import client_pages
from .conftest import STEP_ANSWERS, Walker, real_questionnaire
from .test_i18n import visible_text

MAX_QUESTIONS_PER_STEP = 10
CATALOG = ROOT / "screener" / "translations" / "zh_Hant" / "LC_MESSAGES" / "messages.po"

# Content brief: never call a person suitable, eligible or cleared, or a treatment safe for
# them; never tell anyone to stop a medicine; never say a needle is thinner than a hair.
FORBIDDEN_EN = re.compile(
    r"\b(suitable|eligible|cleared)\b|\bsafe\b|stop taking"
    r"|(thinner|finer|smaller) than (a |the |any )?(human )?hairs?",
    re.IGNORECASE,
)
FORBIDDEN_ZH = re.compile(  # Traditional and Simplified forms
    r"適合|适合|合格|安全|停藥|停药|停止服用|停服"
    r"|比[^。，；]{0,20}(頭髮|头发|髮絲|发丝|毛髮|毛发)[^。，；]{0,4}(細|细|幼|薄)"
)
# Traditional Chinese: one term per concept (practitioner 醫師, client 求診者, ...).
RETIRED_ZH = ("醫生", "執業者", "從業人員", "客人", "客戶", "熱瘡", "皰疹", "薄血", "量度血壓",
              "起計", "帶同", "坦白說", "謝謝您：", "接觸針具", "答案")
# Simplified Chinese: the same terms (医师, 求诊者...), none of the retired ones either.
RETIRED_ZH_HANS = ("医生", "执业者", "从业人员", "客人", "客户", "热疮", "薄血", "量度血压",
                   "起计", "带同", "坦白说", "谢谢您：", "接触针具", "答案")
CATALOG_HANS = ROOT / "screener" / "translations" / "zh_Hans" / "LC_MESSAGES" / "messages.po"


def test_the_forbidden_word_checks_can_fail() -> None:
    for text in ("You are suitable", "It is safe for you", "stop taking warfarin",
                 "finer than a human hair", "thinner than hair", "cleared for treatment"):
        assert FORBIDDEN_EN.search(text), text
    for text in ("您適合接受療程", "比頭髮還細", "比一根頭髮更幼", "請停止服用"):
        assert FORBIDDEN_ZH.search(text), text
    assert not FORBIDDEN_EN.search("even a facial needle is still thicker than a human hair")
    assert not FORBIDDEN_ZH.search("即使是臉部用針，仍比頭髮粗：頭髮的直徑約 0.06 至 0.10 毫米")


# Client-facing texts ---------------------------------------------------------------------------


def client_texts(qn: Questionnaire) -> Iterator[tuple[str, Text]]:
    """Every questionnaire text a client can read: steps, questions, choices, the client text
    of each rule (the practitioner's text and the sources are not for clients), the consent."""
    for step in qn.steps:
        yield f"{step.id}.title", step.title
        if step.intro:
            yield f"{step.id}.intro", step.intro
        for q in step.questions:
            yield from _question_texts(q)
    for rule in qn.rules:
        yield f"rules.{rule.id}.client", rule.client
    if qn.consent is not None:  # the consent text the client signs
        consent = qn.consent
        for i, text in enumerate((consent.title, *consent.paragraphs, consent.declaration)):
            yield f"consent[{i}]", text


def _question_texts(q: Question) -> Iterator[tuple[str, Text]]:
    for name in ("label", "help", "min_label", "max_label"):
        text = getattr(q, name)
        if text is not None:
            yield f"{q.id}.{name}", text
    for choice in q.choices or ():
        yield f"{q.id}.{choice.value}", choice.label
    if q.name is not None:
        yield f"{q.id}.name", q.name
    for kind in q.error.given() if q.error is not None else ():
        message = q.own_message(kind)
        assert message is not None
        yield f"{q.id}.error.{kind}", message


CLIENT_TEMPLATES = ("templates/wizard/", "templates/errors/", "templates/macros/",
                    "templates/base.html", "screener/wizard/")


def client_messages() -> set[str]:
    """The interface messages of the client pages (templates and wizard code)."""
    with open(ROOT / "babel.cfg") as f:
        method_map, options_map = parse_mapping_cfg(f)  # type: ignore[no-untyped-call]
    keywords = {**DEFAULT_KEYWORDS, "_l": None, "lazy_gettext": None}
    found = set()
    for filename, _line, message, _comments, _context in extract_from_dir(
        str(ROOT), method_map, options_map, keywords=keywords,
        directory_filter=lambda path: not any(
            part.startswith(".") or part in ("node_modules", "tests", "bench", "migrations")
            for part in Path(path).parts
        ),
    ):
        if filename.replace("\\", "/").startswith(CLIENT_TEMPLATES):
            for msgid in (message,) if isinstance(message, str) else message:
                found.add(msgid)
    return found


def test_client_texts_of_the_questionnaire_keep_the_wording_rules() -> None:
    texts = list(client_texts(real_questionnaire()))
    assert len(texts) > 250
    for path, text in texts:
        assert not FORBIDDEN_EN.search(text.en), (path, text.en)
        assert not FORBIDDEN_ZH.search(text.zh_hant), (path, text.zh_hant)
        assert not FORBIDDEN_ZH.search(text.zh_hans), (path, text.zh_hans)
        # Any change builds up gradually: the treatment never "works"; no "botulinum toxin".
        assert not re.search(r"\bworks\b|botulinum|usually wait", text.en, re.I), (path, text.en)


def test_client_messages_keep_the_wording_rules_in_both_languages() -> None:
    messages = client_messages()
    recommendation = (
        "Please discuss treatment with a qualified, experienced practitioner before any needling."
    )
    assert recommendation in messages
    with open(CATALOG, "rb") as f:
        catalog = read_po(f)
    with open(CATALOG_HANS, "rb") as f:
        catalog = [*catalog, *read_po(f)]
    checked = 0
    for m in catalog:
        ids = (m.id,) if isinstance(m.id, str) else tuple(m.id)
        if not m.id or not set(ids) & messages:
            continue
        strings = (m.string,) if isinstance(m.string, str) else tuple(m.string or ())
        for msgid in ids:
            assert not FORBIDDEN_EN.search(msgid), msgid
        for string in strings:
            assert not FORBIDDEN_ZH.search(string), (ids[0], string)
        checked += 1
    assert checked > 120  # both catalogs


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_client_page_keeps_the_wording_rules(app: Flask, lang: str) -> None:
    pages = client_pages(app.test_client(), lang)
    assert "summary" in pages and "skin_today-errors" in pages
    forbidden = FORBIDDEN_EN if lang == "en" else FORBIDDEN_ZH
    for name, response in pages.items():
        text = visible_text(response.get_data(as_text=True))
        assert not forbidden.search(text), (name, forbidden.search(text))
        assert not FORBIDDEN_EN.search(text), (name, FORBIDDEN_EN.search(text))


def test_traditional_chinese_uses_one_term_per_concept() -> None:
    qn = real_questionnaire()
    zh = [(path, t.zh_hant) for path, t in client_texts(qn)]
    zh += [(f"rules.{r.id}.practitioner", r.practitioner.zh_hant) for r in qn.rules]
    with open(CATALOG, "rb") as f:
        zh += [(str(m.id), str(m.string)) for m in read_po(f) if m.id]
    assert len(zh) > 400
    for path, text in zh:
        for word in RETIRED_ZH:
            assert word not in text, (word, path, text)
    client_zh = [text for _path, text in zh[: len(list(client_texts(qn)))]]
    pacemaker = [t for t in client_zh if "心律調節器" in t]
    assert pacemaker and all("心律調節器（心臟起搏器）" in t for t in pacemaker)
    assert any("為您施針的醫師" in t for t in client_zh)


def test_simplified_chinese_uses_one_term_per_concept() -> None:
    qn = real_questionnaire()
    zh = [(path, t.zh_hans) for path, t in client_texts(qn)]
    zh += [(f"rules.{r.id}.practitioner", r.practitioner.zh_hans) for r in qn.rules]
    with open(CATALOG_HANS, "rb") as f:
        zh += [(str(m.id), str(m.string)) for m in read_po(f) if m.id]
    assert len(zh) > 400
    for path, text in zh:
        for word in RETIRED_ZH_HANS:
            assert word not in text, (word, path, text)
    client_zh = [text for _path, text in zh[: len(list(client_texts(qn)))]]
    pacemaker = [t for t in client_zh if "起搏器" in t]
    assert pacemaker and all("心脏起搏器" in t and "（心脏起搏器）" not in t for t in pacemaker)
    assert any("为您施针的医师" in t for t in client_zh)
    assert any("求诊者" in text for _path, text in zh)


# Revision 2 wording ------------------------------------------------------------------------------


def test_revised_wording() -> None:
    qn = real_questionnaire()
    questions = qn.questions
    rules = {r.id: r for r in qn.rules}
    assert "This clinic asks that anyone under 18" in questions["age_band"].help.en  # type: ignore[union-attr]
    assert "haemophilia or von Willebrand disease" in questions["bleeding_disorder"].label.en
    assert "clotting" not in questions["bleeding_disorder"].label.en
    help_text = questions["blood_thinners"].help.en  # type: ignore[union-attr]
    assert help_text.startswith("For example warfarin, apixaban, rivaroxaban, clopidogrel")
    assert help_text.index("aspirin") < help_text.index("anticoagulants")
    assert "drier and more fragile" in questions["isotretinoin"].help.en  # type: ignore[union-attr]
    assert "did not study acupuncture" in rules["isotretinoin"].practitioner.en
    immune = questions["immunosuppressed"]
    assert len(immune.label.en.split()) <= 12
    assert "steroid tablets or injections" in immune.help.en  # type: ignore[union-attr]
    for rule in ("botox_recent", "filler_recent", "threads_recent"):
        assert "Some clinics wait up to 3 months" in rules[rule].client.en
        assert "your practitioner will confirm" in rules[rule].client.en
    assert "one to two weeks" in questions["upcoming_event"].help.en  # type: ignore[union-attr]
    for text in (questions["new_symptoms"].help, rules["new_symptoms"].client):
        assert text is not None
        assert "call emergency services now" in text.en and "119" in text.zh_hant
        # Simplified: the numbers of mainland China, Singapore and Malaysia.
        assert all(n in text.zh_hans for n in ("120", "995", "999")), text.zh_hans
    device = rules["implanted_device"].practitioner.en
    assert "No electrical stimulation of any kind" in device and "microcurrent" in device
    assert "anti-wrinkle injections (such as Botox)" in questions["recent_procedures"].choice_label(
        "botox", "en"
    ).replace("Anti", "anti")
    pain = questions["pain_sensitivity"]
    assert (pain.min, pain.max) == (0, 10)
    assert pain.min_label is not None and pain.min_label.en == "Not sensitive at all"
    assert pain.max_label is not None and pain.max_label.en == "Extremely sensitive"
    assert "pain_tolerance" not in questions


# Shorter steps -----------------------------------------------------------------------------------


def test_no_step_shows_more_than_ten_questions_to_every_client() -> None:
    qn = real_questionnaire()
    for step in qn.steps:
        always = [q.id for q in step.questions if q.show_if is None]
        assert len(always) <= MAX_QUESTIONS_PER_STEP, (step.id, len(always), always)
    health = [s.id for s in qn.steps if s.id in ("conditions", "medicines", "skin_today")]
    assert health == ["conditions", "medicines", "skin_today"]


def test_the_test_answers_follow_the_questionnaire() -> None:
    """STEP_ANSWERS (used by many tests' walks) has a step for every step, in order, and an
    answer for every required question a client always sees."""
    qn = real_questionnaire()
    assert list(STEP_ANSWERS) == [s.id for s in qn.steps]
    for step in qn.steps:
        required = {q.id for q in step.questions if q.show_if is None and q.required}
        missing = required - set(STEP_ANSWERS[step.id])
        assert not missing, (step.id, missing)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_start_page_lists_every_step_in_order(client: FlaskClient, lang: str) -> None:
    html = client.get(f"/c/demo/?lang={lang}").get_data(as_text=True)
    step_list = html.split('class="step-list"', 1)[1].split("</ol>", 1)[0]
    items = re.findall(r"<li>([^<]*)</li>", step_list)
    assert items == [s.title.get(lang) for s in real_questionnaire().steps]
    assert len(items) == 8


def test_progress_and_error_summary_of_every_step(walker: Walker) -> None:
    """Each step says where it is in the questionnaire; sent empty, its error summary lists at
    most ten questions."""
    steps = real_questionnaire().steps
    walker.start()
    for n, step in enumerate(steps, start=1):
        assert f"/s/{step.id}" in walker.url, walker.url
        empty = walker.post_step({})
        page = empty.get_data(as_text=True)
        assert f"Step {n} of {len(steps)}" in page
        summary = page.split('class="error-summary"', 1)[1].split("</ul>", 1)[0]
        assert 1 <= summary.count("<li") <= MAX_QUESTIONS_PER_STEP, step.id
        assert walker.post_step(STEP_ANSWERS[step.id]).status_code == 303
    assert walker.url.endswith("/review")


def test_the_email_notice_uses_the_same_chinese_terms(app: Flask) -> None:
    from screener.notify import notice

    with app.app_context():
        body = notice(
            "Demo Clinic", "https://x.example/d/1", "a@x.example", "b@x.example"
        ).get_content()
    traditional, simplified = body.split("一位")[1:]
    assert "醫師" in traditional and "求診者" in traditional
    assert "医师" in simplified and "求诊者" in simplified
    for word in RETIRED_ZH:
        assert word not in traditional, word
    for word in RETIRED_ZH_HANS:
        assert word not in simplified, word
