"""What a client meets on a 360 px phone, in both languages, in a real browser: leaving the first
step keeps the draft; the scale's end words sit beside their numbers; inside a clinic's site the
private link opens the standalone page and can be copied; the summary prints cleanly and, after
the browser's Back, says when the answers were sent; a date is three labelled boxes in the
language's order, with messages that say what is missing. Screenshots of each state (and the printed
summary as a PDF) are saved under test-artifacts/phone/."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator

import pytest
from flask import Flask
from playwright.sync_api import Browser, Locator, Page, expect

from screener.embed import embed_snippets

from ..conftest import STEP_ANSWERS
from .conftest import ARTIFACTS, LiveServer
from .journey import LANGS, new_context, press, start_draft
from .test_embed import HOST_PAGE, Product, allow, origin, walk_in_frame
from .test_walk import fill_step, walk_to_summary

PHONE = {"width": 360, "height": 740}
SHOTS = ARTIFACTS / "phone"


@pytest.fixture(scope="module")
def clinic_site(live_server: LiveServer) -> Iterator[LiveServer]:
    """A clinic's website on another origin, made for phones, with the one-line snippet."""
    site = Flask("phone_clinic_site")
    viewport = '<meta name="viewport" content="width=device-width, initial-scale=1">'
    html = HOST_PAGE.replace('<meta charset="utf-8">', f'<meta charset="utf-8">{viewport}')
    html = html.format(body=embed_snippets(Product(), live_server.url)["script"])
    site.add_url_rule("/script", "script", lambda: html)
    server = LiveServer(site)
    yield server
    server.stop()


@pytest.fixture(params=LANGS)
def lang(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def phone(browser: Browser, app: object, lang: str) -> Iterator[Page]:
    """A page in a fresh phone-sized profile whose browser asks for `lang`."""
    context = new_context(
        browser, lang, viewport=PHONE, device_scale_factor=1, is_mobile=True, has_touch=True
    )
    yield context.new_page()
    context.close()


def shot(page: Page, lang: str, name: str, *, full_page: bool = True) -> None:
    """Keep a screenshot (of the whole page, or what the screen shows); the page must not
    scroll sideways."""
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], name
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{lang}-{name}.png"), full_page=full_page)


def test_back_from_the_first_step_stays_in_the_draft(
    phone: Page, live_server: LiveServer, lang: str
) -> None:
    page = phone
    start_draft(page, live_server.url)
    draft = page.url.split("/s/")[0]
    page.check('input[name="age_band"][value="45_59"]')
    press(page, '.actions button[value="back"]')
    assert page.url == f"{draft}/intro"
    expect(page.locator("html")).to_have_attribute("lang", lang)
    shot(page, lang, "back-from-step-1")
    # The intro page's Continue goes on with the same draft, the answer kept.
    press(page, ".actions a.button")
    assert page.url.startswith(f"{draft}/s/about_you")
    expect(page.locator('input[name="age_band"][value="45_59"]')).to_be_checked()


def test_a_step_change_with_script_is_one_request_with_address_focus_and_title(
    phone: Page, live_server: LiveServer, lang: str
) -> None:
    """The start page's Continue and each step's go by wizard.js in one request; the next page
    gets its own address in the history, its title, the focus on its heading, an announcement;
    the browser's Back goes to the previous step of the same draft, never the start page."""
    page = phone
    page.goto(f"{live_server.url}/c/demo/")
    fill_step(page, STEP_ANSWERS["about_you"])
    requests: list[str] = []
    page.on("request", lambda r: requests.append(f"{r.method} {r.url}"))
    press(page, '.actions button[value="continue"]')
    assert requests == [f"POST {live_server.url}/c/demo/start"], requests
    draft = page.url.split("/s/")[0]
    assert page.url == f"{draft}/s/goals" and "/d/" in draft
    heading = page.locator("main h1")
    expect(page).to_have_title(re.compile(re.escape(heading.inner_text().split("\n")[-1].strip())))
    assert page.evaluate("document.activeElement === document.querySelector('main h1')")
    expect(page.locator("[role=status]").last).to_have_text(page.title())
    expect(page.locator("html")).to_have_attribute("lang", lang)
    shot(page, lang, "js-step-change")
    # A step with errors: the same address, the summary focused, the title says so.
    requests.clear()
    press(page, '.actions button[value="continue"]')
    assert requests == [f"POST {draft}/s/goals"], requests
    assert page.url == f"{draft}/s/goals"
    assert page.evaluate("document.activeElement.classList.contains('error-summary')")
    assert page.title().startswith(("Error:", "錯誤：", "错误："))
    shot(page, lang, "js-step-errors")
    fill_step(page, STEP_ANSWERS["goals"])
    press(page, '.actions button[value="continue"]')
    assert page.url == f"{draft}/s/comfort"
    # The browser's Back: the previous step of the same draft, as it was answered.
    page.go_back()
    page.wait_for_url(f"{draft}/s/goals")
    expect(page.locator('input[name="course_commitment"][value="a_course"]')).to_be_checked()
    page.go_back()
    page.wait_for_url(f"{draft}/s/about_you")
    expect(page.locator('input[name="age_band"][value="30_44"]')).to_be_checked()
    assert page.locator("form[action$='/start']").count() == 0  # not the public start page
    shot(page, lang, "browser-back-to-step-1")
    press(page, '.actions button[value="continue"]')
    assert page.url == f"{draft}/s/goals"


def test_without_script_the_start_form_sent_again_goes_on_with_the_same_draft(
    browser: Browser, app: object, live_server: LiveServer, lang: str
) -> None:
    """Without script the browser's Back from the second step shows the start page again: its
    form, sent again, goes on with the draft it made (its nonce), not a second one."""
    context = new_context(browser, lang, javascript=False, viewport=PHONE, is_mobile=True)
    page = context.new_page()
    try:
        page.goto(f"{live_server.url}/c/demo/")
        press(page, '.actions button[value="continue"]')  # nothing answered: errors, kept here
        assert page.url == f"{live_server.url}/c/demo/start"
        assert page.locator(".error-summary").count()
        shot(page, lang, "no-js-start-errors")
        page.goto(f"{live_server.url}/c/demo/")
        fill_step(page, STEP_ANSWERS["about_you"])
        press(page, '.actions button[value="continue"]')
        draft = page.url.split("/s/")[0]
        assert page.url == f"{draft}/s/goals"
        page.go_back()
        page.wait_for_url(f"{live_server.url}/c/demo/")
        assert page.locator("form[action$='/start']").count() == 1
        page.check('input[name="pregnancy"][value="not_sure"]')
        press(page, '.actions button[value="continue"]')
        assert page.url == f"{draft}/s/goals", (page.url, draft)
        press(page, '.actions button[value="back"]')
        assert page.url == f"{draft}/s/about_you"
        expect(page.locator('input[name="pregnancy"][value="not_sure"]')).to_be_checked()
    finally:
        context.close()


def box(locator: Locator) -> dict[str, float]:
    found = locator.bounding_box()
    assert found is not None, locator
    return dict(found)


def assert_beside(words: dict[str, float], number: dict[str, float], line: float) -> None:
    """The words share the number's column (they overlap it across) and touch its row (less
    than a line away above or below), on one line."""
    assert words["x"] < number["x"] + number["width"] and number["x"] < words["x"] + words["width"]
    gap = max(number["y"] - (words["y"] + words["height"]), words["y"] - (number["y"] + number["height"]))
    assert gap < line, (words, number)
    assert words["height"] < 1.5 * line, words


@pytest.mark.parametrize("width", [PHONE["width"], 320, 640])
def test_the_scale_keeps_each_ends_words_beside_its_number(
    phone: Page, live_server: LiveServer, lang: str, width: int
) -> None:
    page = phone
    start_draft(page, live_server.url)
    for step_id in ("about_you", "goals"):
        fill_step(page, STEP_ANSWERS[step_id])
        press(page, '.actions button[value="continue"]')
    page.set_viewport_size({**PHONE, "width": width})
    scale = "#q-pain_sensitivity"
    # The words of each end, found by what they say: "0 = ..." and "10 = ...".
    low, high = (page.locator(scale).get_by_text(re.compile(rf"^{n} = ")) for n in (0, 10))
    line = float(high.evaluate("e => parseFloat(getComputedStyle(e).lineHeight)"))
    assert_beside(box(low), box(page.locator('label[for="pain_sensitivity-0"]')), line)
    assert_beside(box(high), box(page.locator('label[for="pain_sensitivity-10"]')), line)
    if width == PHONE["width"]:
        shot(page, lang, "comfort")
        page.locator(scale).screenshot(path=str(SHOTS / f"{lang}-scale.png"))


def test_the_embedded_private_link_opens_the_standalone_page_and_can_be_copied(
    phone: Page, live_server: LiveServer, clinic_site: LiveServer, app: Flask, lang: str
) -> None:
    page = phone
    host = origin(clinic_site)
    allow(app, host)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.goto(f"{host}/script")
    frame = walk_in_frame(page)
    draft = frame.url.split("/d/")[1].split("/")[0]
    standalone = f"{live_server.url}/c/demo/d/{draft}/"
    link = frame.locator(".keep .resume-link a")
    expect(link).to_have_attribute("href", standalone)
    expect(link).to_contain_text(standalone)
    copy = frame.locator(".keep button[data-copy]")
    expect(copy).to_be_visible()
    copy.click()
    expect(frame.locator(".keep .copy-status")).to_have_text(
        {"en": "Link copied.", "zh-Hant": "已複製連結。", "zh-Hans": "已复制链接。"}[lang]
    )
    assert page.evaluate("navigator.clipboard.readText()") == standalone
    frame.locator(".keep").scroll_into_view_if_needed()
    shot(page, lang, "embedded-summary-link", full_page=False)
    # The link opens the same draft's standalone page, in a tab of its own, with the clinic's
    # name: its summary, now that the answers are sent.
    with page.expect_popup() as opened:
        link.click()
    tab = opened.value
    tab.wait_for_load_state()
    assert tab.url == f"{standalone}summary"
    expect(tab.locator(".site-header .brand")).to_have_text("Demo Clinic")
    shot(tab, lang, "embedded-link-opened")


SENT_ON = {"en": "Your answers were sent on ", "zh-Hant": "您的回答已於", "zh-Hans": "您的回答已于"}
PRINT = {"en": "Print or save as PDF", "zh-Hant": "列印或儲存為 PDF", "zh-Hans": "打印或保存为 PDF"}


def test_the_summary_prints_and_says_it_was_sent_after_back(
    phone: Page, live_server: LiveServer, lang: str
) -> None:
    page = phone
    walk_to_summary(page, live_server.url)
    page.wait_for_load_state()
    expect(page.locator(".notice")).to_have_count(0)
    # The print button opens the browser's print dialogue (counted here instead).
    page.evaluate("() => { window.print = () => { window.printed = (window.printed || 0) + 1; }; }")
    button = page.get_by_role("button", name=PRINT[lang])
    expect(button).to_be_visible()
    button.click()
    assert page.evaluate("window.printed") == 1
    # Printed: the answers and what they mean, without the page's controls and chrome.
    page.emulate_media(media="print")
    for hidden in (".site-header", ".site-footer", ".print-action", ".keep", ".copy-link"):
        expect(page.locator(hidden).first).to_be_hidden()
    for shown in ("h1", ".outcome", ".answers", ".recommendation"):
        expect(page.locator(shown).first).to_be_visible()
    shot(page, lang, "summary-print")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.pdf(path=str(SHOTS / f"{lang}-summary.pdf"), format="A4")
    assert (SHOTS / f"{lang}-summary.pdf").stat().st_size > 10_000
    page.emulate_media(media="screen")
    # The browser's Back (to the review page, now sent): the summary again, saying when.
    page.go_back()
    page.wait_for_url("**/summary?sent=1")
    notice = page.locator("p.notice[role=status]")
    expect(notice).to_contain_text(SENT_ON[lang])
    shot(page, lang, "back-after-sending", full_page=False)


DATE_TEXT = {
    "en": {"labels": ["Day", "Month", "Year"], "empty": "Enter the date of the event",
           "half": "The date must include a month and year", "first": "month",
           "example": "For example, {d.day} {d.month} {d.year}"},
    "zh-Hant": {"labels": ["年", "月", "日"], "empty": "請輸入活動日期",
                "half": "日期必須包含年和月", "first": "year",
                "example": "例如：{d.year} {d.month} {d.day}"},
    "zh-Hans": {"labels": ["年", "月", "日"], "empty": "请输入活动日期",
                "half": "日期必须包含年和月", "first": "year",
                "example": "例如：{d.year} {d.month} {d.day}"},
}


def test_a_date_is_three_labelled_boxes_in_the_languages_order(
    phone: Page, live_server: LiveServer, lang: str
) -> None:
    page = phone
    words = DATE_TEXT[lang]
    start_draft(page, live_server.url)
    fill_step(page, STEP_ANSWERS["about_you"])
    press(page, '.actions button[value="continue"]')
    fill_step(page, {**STEP_ANSWERS["goals"], "upcoming_event": "yes"})
    question = page.locator("#q-upcoming_event_date")
    expect(question).to_be_visible()
    assert page.locator('input[type="date"]').count() == 0
    labels = question.locator(".date-part label")
    assert labels.all_inner_texts() == words["labels"]
    # The boxes sit left to right in that order, on one line, each big enough for a finger.
    boxes = [box(question.locator(f".date-part:nth-child({i}) input")) for i in (1, 2, 3)]
    assert boxes[0]["x"] < boxes[1]["x"] < boxes[2]["x"]
    assert len({round(b["y"]) for b in boxes}) == 1
    assert all(b["width"] >= 44 and b["height"] >= 44 for b in boxes)
    future = dt.date.today() + dt.timedelta(days=30)
    # The hint's example is a future date, like the event, written in the boxes' order.
    expect(question.locator("#upcoming_event_date-example")).to_have_text(
        words["example"].format(d=future)
    )
    question.scroll_into_view_if_needed()
    shot(page, lang, "date", full_page=False)

    press(page, '.actions button[value="continue"]')
    expect(page.locator("#upcoming_event_date-error")).to_contain_text(words["empty"])
    page.fill("#upcoming_event_date-day", "7")
    press(page, '.actions button[value="continue"]')
    error = page.locator("#upcoming_event_date-error")
    expect(error).to_contain_text(words["half"])
    expect(page.locator("#upcoming_event_date-day")).to_have_value("7")
    # The error summary's link goes to the first empty box, in the language's order.
    page.locator(".error-summary a").first.click()
    expect(page.locator(f"#upcoming_event_date-{words['first']}")).to_be_focused()
    page.locator("#q-upcoming_event_date").scroll_into_view_if_needed()
    shot(page, lang, "date-error", full_page=False)

    fill_step(page, {"upcoming_event_date": future.isoformat()})
    press(page, '.actions button[value="continue"]')
    assert "/s/comfort" in page.url
