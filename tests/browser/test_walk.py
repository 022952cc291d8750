"""A client completes the questionnaire in a real browser, with and without JavaScript."""
from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Page

from ..conftest import STEP_ANSWERS, past
from .conftest import LiveServer
from .journey import fill_step, press

__all__ = ["fill_step", "walk_to_summary"]


def walk_to_summary(page: Page, base: str) -> None:
    """Answer every step (the first on the start page) and send, signing the consent."""
    page.goto(f"{base}/c/demo/")
    for step_id, answers in STEP_ANSWERS.items():
        if step_id != "about_you":
            assert f"/s/{step_id}" in page.url, page.url
        fill_step(page, answers)
        press(page, 'button[value="continue"]')
    assert page.url.endswith("/review")
    page.fill("#signed_name", str(STEP_ANSWERS["details"]["full_name"]))  # signs the consent
    press(page, "form.submit-form button[type=submit]")
    page.wait_for_url("**/summary")


@pytest.mark.parametrize("javascript", [True, False])
def test_walk_in_a_real_browser(browser: Browser, live_server: LiveServer, app: object, javascript: bool) -> None:
    context = browser.new_context(java_script_enabled=javascript)
    page = context.new_page()
    walk_to_summary(page, live_server.url)
    assert "Mei Chen" in page.content()
    assert context.cookies() == []
    context.close()


def test_conditional_question_is_revealed_by_script(page: Page, live_server: LiveServer) -> None:
    page.goto(f"{live_server.url}/c/demo/")
    steps = list(STEP_ANSWERS)
    for step_id in steps[: steps.index("recent_treatments")]:
        fill_step(page, STEP_ANSWERS[step_id])
        press(page, 'button[value="continue"]')
    assert not page.is_visible("#q-botox_when")
    assert not page.is_visible("#laser_type-0")
    page.check('input[name="recent_procedures"][value="botox"]')
    assert page.is_visible("#q-botox_when")
    fill_step(page, {"botox_when": past(30)})
    # A laser reveals two questions: its date and its kind.
    page.check('input[name="recent_procedures"][value="laser"]')
    assert page.is_visible("#q-laser_when") and page.is_visible("#laser_type-0")
    fill_step(page, {"laser_when": past(60)})
    page.check('input[name="laser_type"][value="non_ablative"]')
    page.check('input[name="permanent_implants"][value="no"]')
    press(page, 'button[value="continue"]')
    assert "/s/details" in page.url
