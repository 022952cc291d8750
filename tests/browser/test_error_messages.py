"""Error messages on a 360 px phone, in both languages, in a real browser: the error summary
lists each field's own message (questions.yaml), linked to the field, and the field shows the
same words after a hidden "Error:"; the page stays axe-clean and fits the screen. Screenshots
are saved under test-artifacts/errors/."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from ..conftest import real_questionnaire
from .conftest import ARTIFACTS, LiveServer, describe, run_axe
from .journey import LANGS, new_context, press, walk_to_details

PHONE = {"width": 360, "height": 740}
SHOTS = ARTIFACTS / "errors"
HIDDEN_PREFIX = {"en": "Error:", "zh-Hant": "錯誤：", "zh-Hans": "错误："}


@pytest.fixture(params=LANGS)
def lang(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def phone(browser: Browser, app: object, lang: str) -> Iterator[Page]:
    context = new_context(
        browser, lang, viewport=PHONE, device_scale_factor=1, is_mobile=True, has_touch=True
    )
    yield context.new_page()
    context.close()


def message(qid: str, kind: str, lang: str) -> str:
    """The question's own message in questions.yaml."""
    text = real_questionnaire().questions[qid].own_message(kind)
    assert text is not None, (qid, kind)
    return text.get(lang)


def check_errors(page: Page, lang: str, expected: list[tuple[str, str]], name: str) -> None:
    """The summary lists exactly `expected` (field id, message) in order, each beside its field;
    no axe violation; nothing wider than the phone; a screenshot."""
    summary = page.locator(".error-summary")
    expect(summary).to_be_focused()
    links = summary.locator("a")
    expect(links).to_have_text([words for _qid, words in expected])
    for qid, words in expected:
        error = page.locator(f"#{qid}-error")
        expect(error).to_have_text(f"{HIDDEN_PREFIX[lang]} {words}")
        expect(error.locator(".visually-hidden")).to_have_text(HIDDEN_PREFIX[lang])
    violations = run_axe(page)
    assert not violations, describe(violations)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], name
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{lang}-{name}.png"), full_page=True)


def test_the_summary_lists_each_questions_own_message_on_a_phone(
    phone: Page, live_server: LiveServer, lang: str
) -> None:
    page = phone
    page.goto(f"{live_server.url}/c/demo/")  # the start page holds the first step
    press(page, "form[action$='/start'] button[type=submit]")
    expected = [(q, message(q, "required", lang)) for q in ("age_band", "pregnancy")]
    check_errors(page, lang, expected, "first-step")
    # A link moves to its question's first choice.
    page.locator(".error-summary a").nth(1).click()
    expect(page.locator("#pregnancy-0")).to_be_focused()

    walk_to_details(page, live_server.url)
    page.fill("#email", "not-an-email")
    page.check("#consent_not_advice")
    press(page, '.actions button[value="continue"]')
    expected = [("full_name", message("full_name", "required", lang)),
                ("email", message("email", "invalid", lang)),
                ("consent_store", message("consent_store", "required", lang))]
    check_errors(page, lang, expected, "details")
    page.locator(".error-summary a").first.click()
    expect(page.locator("#full_name")).to_be_focused()
