"""Keyboard only: a client completes the questionnaire with Tab, Space, Enter and typing, sees
where the focus is at every stop, and can switch language without losing what was typed."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from playwright.sync_api import Browser, Page

from ..conftest import STEP_ANSWERS
from .conftest import LiveServer
from .journey import new_context, next_page, press, walk_to_details

MAX_TABS_PER_PAGE = 200

# What the focused element is, and whether the focus is visible on it (or, for a scale's
# hidden radio, on the label drawn in its place).
FOCUS_INFO = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return {tag: 'body'};
  const shown = (e) => {
    const s = getComputedStyle(e);
    return (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2) || s.boxShadow !== 'none';
  };
  const label = el.matches('.scale-option input') ? el.nextElementSibling : null;
  return {
    tag: el.tagName.toLowerCase(), type: el.type || '', name: el.name || '', value: el.value || '',
    checked: !!el.checked, text: (el.innerText || '').trim(), id: el.id,
    action: el.getAttribute('value') || '', lang: el.getAttribute('lang') || '',
    visible: shown(el) || (label !== null && shown(label)),
  };
}"""


DATE_BOX = re.compile(r"-(day|month|year)$")


def type_date_box(page: Page, focus: dict[str, Any]) -> None:
    """Type today's day, month or year into a date question's box (only a question that
    applies keeps it, and today fits both past and future dates)."""
    part = DATE_BOX.search(focus["name"])
    assert part
    page.keyboard.type(str(getattr(dt.date.today(), part.group(1))))


def tab_through_step(page: Page, notes: list[str]) -> None:
    """Answer every question on the page reached by Tab, then press Enter on Continue."""
    answered: set[str] = set()
    wanted = {k: v for answers in STEP_ANSWERS.values() for k, v in answers.items()}
    for _ in range(MAX_TABS_PER_PAGE):
        page.keyboard.press("Tab")
        focus = page.evaluate(FOCUS_INFO)
        if focus["tag"] == "body":
            continue
        assert focus["visible"], f"no visible focus on {focus} at {page.url}"
        kind, name = focus["type"], focus["name"]
        if kind == "radio" and name not in answered:
            # Tab lands on a group's first radio; Space chooses it.
            page.keyboard.press("Space")
            answered.add(name)
        elif kind == "checkbox":
            want = wanted.get(name)
            tick = name.startswith("consent") or (isinstance(want, list) and focus["value"] in want)
            if tick and not focus["checked"]:
                page.keyboard.press("Space")
        elif kind == "text" and DATE_BOX.search(name) and name not in answered:
            type_date_box(page, focus)
            answered.add(name)
        elif (
            focus["tag"] in ("input", "textarea")
            and kind in ("text", "email", "tel", "textarea")
            and name not in answered
        ):
            value = {"email": "mei@example.com", "tel": "+886 2 1234 5678"}.get(
                kind, "Keyboard Client"
            )
            page.keyboard.type(value)
            answered.add(name)
        elif focus["tag"] == "button" and focus["action"] == "continue":
            notes.append(f"{page.url.rsplit('/', 1)[-1]}: {sorted(answered)}")
            with next_page(page):
                page.keyboard.press("Enter")
            return
    raise AssertionError(f"never reached Continue on {page.url}")


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_keyboard_only_walk_completes_the_questionnaire(
    browser: Browser, live_server: LiveServer, app: object, javascript: bool
) -> None:
    context = new_context(browser, "en", javascript=javascript)
    page = context.new_page()
    page.goto(f"{live_server.url}/c/demo/")
    # The first Tab stop is the skip link; it moves the focus to the main content.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    # The start page's questions (the first step), then Continue.
    notes: list[str] = []
    tab_through_step(page, notes)
    assert "/s/goals" in page.url, page.url
    for _ in range(3 * len(STEP_ANSWERS)):
        if page.url.endswith("/review"):
            break
        tab_through_step(page, notes)
        assert not page.locator(".error-summary").count(), (
            page.url,
            page.locator(".error-summary").inner_text(),
            notes,
        )
    assert page.url.endswith("/review"), (page.url, notes)
    # On the review page: Tab to the signature, type the name, Tab to "Send to the clinic",
    # press Enter.
    signed = False
    for _ in range(MAX_TABS_PER_PAGE):
        page.keyboard.press("Tab")
        focus = page.evaluate(FOCUS_INFO)
        assert focus["tag"] == "body" or focus["visible"], focus
        if page.evaluate("document.activeElement.id") == "signed_name":
            page.keyboard.type("Keyboard Client")
            signed = True
        if page.evaluate("document.activeElement.hasAttribute('data-once')"):
            assert signed
            with next_page(page):
                page.keyboard.press("Enter")
            break
    assert page.url.endswith("/summary"), page.url
    assert "Keyboard Client" in page.content()
    context.close()


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_language_switch_keeps_place_and_typed_answers(
    browser: Browser, live_server: LiveServer, app: object, javascript: bool
) -> None:
    context = new_context(browser, "en", javascript=javascript)
    page = context.new_page()
    walk_to_details(page, live_server.url)
    page.fill("#full_name", "Mei Chen")
    page.fill("#email", "mei@example.com")
    page.check("#consent_store")
    # The switch is in the header, reached by Tab like any other control.
    switch = page.locator(".lang-switch button[lang='zh-Hant']")
    switch.focus()
    with next_page(page):
        page.keyboard.press("Enter")
    assert "/s/details" in page.url
    assert page.locator("html").get_attribute("lang") == "zh-Hant"
    assert page.locator("#full_name").input_value() == "Mei Chen"
    assert page.locator("#email").input_value() == "mei@example.com"
    assert page.locator("#consent_store").is_checked()
    assert not page.locator(".error-summary").count()
    # And back to English, still in place.
    press(page, ".lang-switch button[lang='en']")
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator("#full_name").input_value() == "Mei Chen"
    context.close()


def test_enter_in_a_text_box_continues_and_does_not_switch_language(
    page: Page, live_server: LiveServer
) -> None:
    """The header's language buttons belong to the step form and come first in the page, so
    the form starts with a hidden Continue: Enter must press that, not a language button."""
    walk_to_details(page, live_server.url)
    page.fill("#full_name", "Mei Chen")
    page.focus("#full_name")
    with next_page(page):
        page.keyboard.press("Enter")
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator(".error-summary").count() == 1  # Continue was pressed: email is missing
    assert page.locator("#full_name").input_value() == "Mei Chen"
