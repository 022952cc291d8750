"""A clinic admin writes the clinic's texts on a 360 px phone, previews them and saves them;
a client then meets them on the start page and the summary, with the clinic's contact details.
Both languages, axe-core on the dashboard page and its preview; screenshots under
test-artifacts/clinic-texts/."""
from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from screener.extensions import db
from screener.storage.models import Clinic

from ..conftest import STEP_ANSWERS
from .conftest import ARTIFACTS, LiveServer, describe, run_axe
from .journey import LANGS, STAFF_PASSWORD, make_admin, new_context, press
from .test_walk import fill_step

PHONE = {"width": 360, "height": 740}
SHOTS = ARTIFACTS / "clinic-texts"
TEXTS = {
    "en": {
        "intro": "Welcome to Demo Clinic.\nOur practitioners read every answer.",
        "next_steps": "We call you within two working days to confirm your visit.\n\n"
                      "Directions: https://www.example.com/find-us",
        "address": "1 Queen's Road Central\nHong Kong",
    },
    "zh-Hant": {
        "intro": "歡迎光臨示範診所。\n我們的醫師會細閱每一個回答。",
        "next_steps": "我們會在兩個工作天內致電確認您的預約。\n\n交通：https://www.example.com/find-us",
        "address": "香港中環\n皇后大道中1號",
    },
    "zh-Hans": {
        "intro": "欢迎光临示范诊所。\n我们的医师会仔细阅读每一个回答。",
        "next_steps": "我们会在两个工作日内致电确认您的预约。\n\n交通：https://www.example.com/find-us",
        "address": "新加坡\n乌节路1号",
    },
}
PHONE_NUMBER, EMAIL = "+852 2345 6789", "hello@demo.example"


def shot(page: Page, lang: str, name: str) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], name
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{lang}-{name}.png"), full_page=True)


def axe_clean(page: Page, name: str) -> None:
    violations = run_axe(page)
    assert not violations, f"{name}: {describe(violations)}"


@pytest.mark.parametrize("lang", LANGS)
def test_an_admin_writes_previews_and_saves_texts_clients_then_read(
    browser: Browser, live_server: LiveServer, app: Any, lang: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with app.app_context(), db.transaction() as s:
        clinic = s.scalars(select(Clinic).where(Clinic.slug == "demo")).one()
        clinic.contact_phone, clinic.contact_email = PHONE_NUMBER, EMAIL
    email = make_admin(app, monkeypatch)
    context = new_context(
        browser, lang, viewport=PHONE, device_scale_factor=1, is_mobile=True, has_touch=True
    )
    page = context.new_page()
    try:
        base = live_server.url
        page.goto(f"{base}/dashboard/login")
        page.fill("#email", email)
        page.fill("#password", STAFF_PASSWORD)
        press(page, "form.dash-form button[type=submit]")
        page.goto(f"{base}/dashboard/admin/clinic/texts")
        expect(page.locator("html")).to_have_attribute("lang", lang)
        key = lang.replace("-", "_")
        for field, value in TEXTS[lang].items():
            page.fill(f"#{key}-{field}", value)
        shot(page, lang, "edit")
        axe_clean(page, "edit")

        press(page, 'button[name="action"][value="preview"]')
        preview = page.locator(f'.client-preview[lang="{lang}"]')
        expect(preview.locator(".clinic-intro")).to_contain_text(TEXTS[lang]["intro"].split("\n")[0])
        expect(preview.locator(".clinic-contact")).to_contain_text(PHONE_NUMBER)
        link = preview.locator('a[href="https://www.example.com/find-us"]')
        expect(link).to_have_attribute("rel", "noopener noreferrer")
        # The typed text is still in the form, unsaved.
        expect(page.locator(f"#{key}-intro")).to_have_value(TEXTS[lang]["intro"])
        shot(page, lang, "preview")
        axe_clean(page, "preview")

        press(page, 'button[name="action"][value="save"]')
        expect(page.locator(".flash")).to_be_visible()

        page.goto(f"{base}/c/demo/")
        intro = page.locator(".clinic-intro")
        expect(intro).to_contain_text(TEXTS[lang]["intro"].split("\n")[1])
        shot(page, lang, "start")
        for step_id, answers in STEP_ANSWERS.items():  # the first on the start page
            if step_id != "about_you":
                assert f"/s/{step_id}" in page.url, page.url
            fill_step(page, answers)
            press(page, 'button[value="continue"]')
        page.fill("#signed_name", str(STEP_ANSWERS["details"]["full_name"]))
        press(page, "form.submit-form button[type=submit]")
        assert page.url.endswith("/summary"), page.url
        steps = page.locator(".next-steps")
        expect(steps).to_contain_text(TEXTS[lang]["next_steps"].split("\n")[0])
        expect(steps.locator(f'a[href="tel:{PHONE_NUMBER.replace(" ", "")}"]')).to_be_visible()
        expect(steps.locator(f'a[href="mailto:{EMAIL}"]')).to_be_visible()
        expect(steps.locator(".clinic-address")).to_contain_text(
            TEXTS[lang]["address"].split("\n")[1]
        )
        steps.scroll_into_view_if_needed()
        shot(page, lang, "summary")
        axe_clean(page, "summary")
    finally:
        context.close()
