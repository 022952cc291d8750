"""What a client meets on a 360 px phone, in both languages, in a real browser: leaving the first
step keeps the draft; the scale's end words sit beside their numbers. Screenshots of each state
are saved under test-artifacts/phone/."""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from ..conftest import STEP_ANSWERS
from .conftest import ARTIFACTS, LiveServer
from .journey import LANGS, new_context, press, start_draft
from .test_walk import fill_step

PHONE = {"width": 360, "height": 740}
SHOTS = ARTIFACTS / "phone"


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


def shot(page: Page, lang: str, name: str) -> None:
    """Keep a full-page screenshot; the page must not scroll sideways."""
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], name
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{lang}-{name}.png"), full_page=True)


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


def test_the_browsers_back_from_the_first_step_stays_in_the_draft(
    phone: Page, live_server: LiveServer, lang: str
) -> None:
    page = phone
    start_draft(page, live_server.url)
    draft = page.url.split("/s/")[0]
    assert page.url == f"{draft}/s/about_you"  # the start mark is gone from the address
    page.go_back()
    page.wait_for_url(f"{draft}/intro")
    continue_link = page.locator(".actions a.button")
    expect(continue_link).to_have_attribute("href", f"{urlsplit(draft).path}/s/about_you")
    assert page.locator("form[action$='/start']").count() == 0  # not the public start page
    shot(page, lang, "browser-back-from-step-1")
    press(page, ".actions a.button")
    assert page.url == f"{draft}/s/about_you"


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
    scale = "#q-pain_tolerance"
    # The words of each end, found by what they say: "0 = ..." and "10 = ...".
    low, high = (page.locator(scale).get_by_text(re.compile(rf"^{n} = ")) for n in (0, 10))
    line = float(high.evaluate("e => parseFloat(getComputedStyle(e).lineHeight)"))
    assert_beside(box(low), box(page.locator('label[for="pain_tolerance-0"]')), line)
    assert_beside(box(high), box(page.locator('label[for="pain_tolerance-10"]')), line)
    if width == PHONE["width"]:
        shot(page, lang, "comfort")
        page.locator(scale).screenshot(path=str(SHOTS / f"{lang}-scale.png"))
