"""The practitioner summary's first screen at 1280 and 360 px, the submission list on a phone,
the drawn signature and the embed snippet's copy button, in a real browser (axe-core on the
pages). Screenshots go to test-artifacts/records/."""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select, update

from screener.extensions import db
from screener.storage.models import Clinic, Submission, utcnow

from ..conftest import STEP_ANSWERS
from ..dashboard_support import add_submission
from .conftest import ARTIFACTS, LiveServer, describe, run_axe
from .journey import LANGS, STAFF_PASSWORD, make_admin, new_context, press, start_draft
from .test_walk import fill_step

SIZES = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 360, "height": 740}}
CLIENT = {
    "full_name": "Chan Tai Man", "age_band": "45_59", "email": "tai.man@example.com",
    "phone": "+852 5555 0123", "pregnancy": "yes", "blood_thinners": "yes",
    "blood_thinners_which": "Apixaban", "fainting_history": "yes",
}
FOLDER = ARTIFACTS / "records"

PREGNANCY = {"en": "Pregnancy", "zh-Hant": "懷孕", "zh-Hans": "怀孕"}  # the rule's short label


def demo_clinic(app: Flask) -> int:
    with app.app_context():
        return int(db.session.scalars(select(Clinic.id).where(Clinic.slug == "demo")).one())


def signed_submission(app: Flask) -> int:
    """A client with red flags and contact details, who signed the consent."""
    sub_id = add_submission(app, demo_clinic(app), CLIENT)
    qn = app.extensions["questionnaire"]
    with app.app_context(), db.transaction() as s:
        s.execute(update(Submission).where(Submission.id == sub_id).values(
            consent_version=qn.consent.version("en"), consent_name="Chan Tai Man",
            consent_signed_at=utcnow(),
        ))
    return sub_id


def log_in(page: Page, base: str, email: str) -> None:
    page.goto(f"{base}/dashboard/login")
    page.fill("#email", email)
    page.fill("#password", STAFF_PASSWORD)
    press(page, "form.dash-form button[type=submit]")


def in_view(page: Page, selector: str, size: dict[str, int]) -> None:
    """The element is inside the first screen: no scrolling down or sideways to see it."""
    box = page.locator(selector).first.bounding_box()
    assert box is not None, selector
    assert box["x"] >= 0 and box["x"] + box["width"] <= size["width"] + 0.5, (selector, box)
    assert box["y"] >= 0 and box["y"] + box["height"] <= size["height"], (selector, box)


def no_sideways_scrolling(page: Page, size: dict[str, int]) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= size["width"]


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("size_name", list(SIZES))
def test_the_summarys_first_screen_says_who_how_to_reach_them_and_the_red_flags(
    browser: Browser, live_server: LiveServer, app: Flask, monkeypatch: Any,
    lang: str, size_name: str,
) -> None:
    size = SIZES[size_name]
    email = make_admin(app, monkeypatch)
    sub_id = signed_submission(app)
    context = new_context(browser, lang, viewport=size, device_scale_factor=1)
    page = context.new_page()
    try:
        log_in(page, live_server.url, email)
        page.goto(f"{live_server.url}/dashboard/submissions/{sub_id}?lang={lang}")
        FOLDER.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(FOLDER / f"summary-{lang}-{size_name}.png"))
        first_screen = [".client-name", ".client-facts", ".flag-counts", ".consent-line",
                        "#red-flags h2"]
        if size_name == "desktop":  # the first red flag's advice too
            first_screen.append("#flag-pregnancy .flag-text")
        for selector in first_screen:
            in_view(page, selector, size)
        assert PREGNANCY[lang] in page.locator(".flag-counts").inner_text()
        facts = page.locator(".client-facts").inner_text()
        assert "tai.man@example.com" in facts and "+852 5555 0123" in facts
        assert {"en": "45 to 59", "zh-Hant": "45 至 59 歲", "zh-Hans": "45 至 59 岁"}[lang] in facts
        no_sideways_scrolling(page, size)
        # The medicine the client named sits in the blood-thinner flag.
        assert "Apixaban" in page.locator("#flag-blood_thinners").inner_text()
        violations = run_axe(page)
        assert not violations, describe(violations)
    finally:
        context.close()


@pytest.mark.parametrize("lang", LANGS)
def test_the_list_on_a_phone_shows_name_date_and_named_red_flags(
    browser: Browser, live_server: LiveServer, app: Flask, monkeypatch: Any, lang: str
) -> None:
    size = SIZES["phone"]
    email = make_admin(app, monkeypatch)
    signed_submission(app)
    add_submission(app, demo_clinic(app), {"full_name": "Lee Siu Ming", "keloid": "yes"})
    context = new_context(browser, lang, viewport=size, device_scale_factor=1, is_mobile=True,
                          has_touch=True)
    page = context.new_page()
    try:
        log_in(page, live_server.url, email)
        page.goto(f"{live_server.url}/dashboard/?lang={lang}")
        FOLDER.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(FOLDER / f"list-{lang}-phone.png"), full_page=True)
        no_sideways_scrolling(page, size)
        rows = page.locator("table.submissions tbody tr")
        assert rows.count() == 2
        for i in range(2):
            for cell in (".col-name", ".col-date", ".col-flags"):
                box = rows.nth(i).locator(cell).bounding_box()
                assert box and box["x"] >= 0 and box["x"] + box["width"] <= size["width"], cell
        flags = rows.nth(1).locator(".col-flags").inner_text()
        assert PREGNANCY[lang] in flags
        violations = run_axe(page)
        assert not violations, describe(violations)
    finally:
        context.close()


def test_a_drawn_signature_goes_with_the_typed_name(
    browser: Browser, live_server: LiveServer, app: Flask
) -> None:
    context = new_context(browser, "en")
    page = context.new_page()
    try:
        start_draft(page, live_server.url)  # on the draft's own first step
        for answers in STEP_ANSWERS.values():
            fill_step(page, answers)
            press(page, '.actions button[value="continue"]')
        assert page.url.endswith("/review")
        canvas = page.locator("canvas.signature-canvas")
        expect(canvas).to_be_visible()  # drawn by signature.js once the review is in place
        canvas.scroll_into_view_if_needed()
        box = canvas.bounding_box()  # in the viewport, where the mouse moves
        assert box

        def stroke(points: list[tuple[float, float]]) -> None:
            page.mouse.move(box["x"] + points[0][0] * box["width"], box["y"] + points[0][1] * box["height"])
            page.mouse.down()
            for x, y in points[1:]:
                page.mouse.move(box["x"] + x * box["width"], box["y"] + y * box["height"], steps=4)
            page.mouse.up()

        stroke([(0.1, 0.5), (0.3, 0.2), (0.5, 0.7)])
        assert page.input_value("#signature")
        page.click("text=Clear the drawing")
        assert page.input_value("#signature") == ""
        stroke([(0.1, 0.5), (0.3, 0.2), (0.5, 0.7)])
        stroke([(0.6, 0.6), (0.9, 0.4)])
        drawn = json.loads(page.input_value("#signature"))
        assert drawn["w"] == 600 and drawn["h"] == 200 and len(drawn["strokes"]) == 2
        violations = run_axe(page)
        assert not violations, describe(violations)
        page.fill("#signed_name", "Mei Chen")
        press(page, "form.submit-form button[type=submit]")
        assert page.url.endswith("/summary")
        assert page.locator(".signature-svg path").count() == 1
        with app.app_context():
            sub = db.session.scalars(select(Submission)).one()
            assert sub.consent_name == "Mei Chen"
            assert sub.consent_signature == drawn
            xs = [v for s in drawn["strokes"] for v in s[0::2]]
            assert min(xs) >= 40 and max(xs) <= 560  # where the pointer went, scaled to the box
    finally:
        context.close()


def test_the_embed_snippet_copies_with_one_click(
    browser: Browser, live_server: LiveServer, app: Flask, monkeypatch: Any
) -> None:
    email = make_admin(app, monkeypatch)
    context = new_context(browser, "en", permissions=["clipboard-read", "clipboard-write"])
    page = context.new_page()
    try:
        log_in(page, live_server.url, email)
        page.goto(f"{live_server.url}/dashboard/admin/clinic")
        button = page.locator('button[data-copy="snippet-script"]')
        assert button.is_visible()
        button.click()
        page.wait_for_function("document.querySelector('.copy-status').textContent !== ''")
        copied = page.evaluate("navigator.clipboard.readText()")
        assert copied == page.locator("#snippet-script").inner_text()
        assert "data-screener-clinic=\"demo\"" in copied
    finally:
        context.close()
