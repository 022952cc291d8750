"""What a client meets on a 360 px phone, in both languages, in a real browser: leaving the first
step keeps the draft. Screenshots of each state are saved under test-artifacts/phone/."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, Page, expect

from .conftest import ARTIFACTS, LiveServer
from .journey import LANGS, new_context, press, start_draft

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
