"""Where clients stop, in a real browser on a phone: reached from the Administration menu,
readable at 360 px (its tables scroll inside their region), no axe violations, in English and
Traditional Chinese. Screenshots under test-artifacts/dropoff/."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Browser

from ..client_pages import STAFF_PASSWORD
from ..test_dropoff import started
from .conftest import ARTIFACTS, LiveServer, describe, run_axe
from .journey import LANGS, make_admin, new_context, press

PHONE = {"width": 360, "height": 740}
TITLE = {"en": "Where clients stop", "zh-Hant": "求診者在哪一步停下", "zh-Hans": "求诊者在哪一步停下"}


@pytest.mark.parametrize("lang", LANGS)
def test_where_clients_stop_on_a_phone(
    browser: Browser, live_server: LiveServer, app: Any, lang: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    email = make_admin(app, monkeypatch)
    client = app.test_client()
    started(client, steps=2)
    started(client, prefix="/embed/demo", lang="zh-Hant", steps=8, send=True)
    context = new_context(browser, lang, viewport=PHONE, is_mobile=True, has_touch=True)
    page = context.new_page()
    folder = ARTIFACTS / "dropoff"
    folder.mkdir(parents=True, exist_ok=True)
    problems: dict[str, str] = {}
    try:
        page.goto(f"{live_server.url}/dashboard/login")
        page.fill("#email", email)
        page.fill("#password", STAFF_PASSWORD)
        press(page, "form.dash-form button[type=submit]")
        page.click(".admin-menu summary")
        with page.expect_navigation():
            page.click(f".admin-menu a:text-is('{TITLE[lang]}')")
        assert page.url.endswith("/dashboard/admin/dropoff"), page.url
        for name, query in (("numbers", ""), ("errors", "?date_from=2026-02-30")):
            if query:
                page.goto(f"{live_server.url}/dashboard/admin/dropoff{query}")
            assert page.locator("html").get_attribute("lang") == lang
            assert page.locator("h1").inner_text() == TITLE[lang]
            assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], name
            violations = run_axe(page)
            if violations:
                problems[name] = describe(violations)
            page.screenshot(path=str(folder / f"{lang}-{name}.png"), full_page=True)
        # The numbers' page: 2 started, the embedded one sent.
        assert page.locator("table.dropoff").count() == 0  # the errors' page has none
        page.goto(f"{live_server.url}/dashboard/admin/dropoff")
        first = page.locator("table.dropoff").first
        assert first.locator("tbody tr").first.locator("td").first.inner_text() == "2"
        assert first.locator("tbody tr.sent td").first.inner_text() == "1"
    finally:
        context.close()
    assert (folder / f"{lang}-numbers.png").stat().st_size > 0
    assert not problems, "\n".join(f"{name}: {v}" for name, v in problems.items())
