"""Phone first: at 360x740 no page scrolls sideways, touch targets are at least 44 px, fields
bring up the right keyboard, and nothing is loaded from another origin. Screenshots of every
page at that size are saved under test-artifacts/mobile/."""

from __future__ import annotations

import json
from typing import Any

import pytest
from playwright.sync_api import Browser, Page

from .conftest import ARTIFACTS, LiveServer
from .journey import (
    LANGS,
    client_journey,
    dashboard_visits,
    make_admin,
    new_context,
    press,
    walk_to_details,
)

PHONE = {"width": 360, "height": 740}
MIN_TARGET = 44

# Every control a finger can press, measured by the box that takes the press: a radio or
# checkbox by its whole option row (the label is part of it), everything else by itself.
# Links inside running text are exempt, as in WCAG 2.5.8; so is the off-screen skip link until
# it is focused, and the hidden default button of step forms (out of sight and tab order).
TARGETS = """() => {
  const out = [];
  const controls = 'a[href], button, input:not([type=hidden]), textarea, select';
  for (const el of document.querySelectorAll(controls)) {
    if (el.closest('[hidden]') || el.matches('.default-submit, .skip')) continue;
    if (el.tagName === 'A' && getComputedStyle(el).display === 'inline') continue;
    const box = (el.closest('.choice, .scale-option') || el).getBoundingClientRect();
    if (box.width === 0 && box.height === 0) continue;
    out.push({what: el.outerHTML.slice(0, 120),
              width: Math.round(box.width), height: Math.round(box.height)});
  }
  return out;
}"""


@pytest.mark.parametrize("lang", LANGS)
def test_every_page_fits_a_phone(
    browser: Browser, live_server: LiveServer, app: object, lang: str
) -> None:
    context = new_context(
        browser, lang, viewport=PHONE, device_scale_factor=1, is_mobile=True, has_touch=True
    )
    page = context.new_page()
    folder = ARTIFACTS / "mobile"
    folder.mkdir(parents=True, exist_ok=True)
    seen: list[str] = []
    too_wide: dict[str, int] = {}
    too_small: dict[str, list[dict[str, Any]]] = {}

    def visit(name: str) -> None:
        seen.append(name)
        width = page.evaluate("document.documentElement.scrollWidth")
        if width > PHONE["width"]:
            too_wide[name] = width
        # WCAG 1.4.10 (reflow) asks for 320 CSS px: the narrowest phones, or 400% zoom.
        page.set_viewport_size({"width": 320, "height": PHONE["height"]})
        narrow = page.evaluate("document.documentElement.scrollWidth")
        if narrow > 320:
            too_wide[f"{name}@320"] = narrow
        page.set_viewport_size(PHONE)
        small = [t for t in page.evaluate(TARGETS) if min(t["width"], t["height"]) < MIN_TARGET]
        if small:
            too_small[name] = small
        page.screenshot(path=str(folder / f"{lang}-{name}.png"), full_page=True)

    try:
        client_journey(page, live_server, visit)
    finally:
        context.close()
    assert len(seen) >= 15, seen
    assert (folder / f"{lang}-conditions.png").stat().st_size > 0
    assert not too_wide, f"pages wider than {PHONE['width']} px: {too_wide}"
    assert not too_small, json.dumps(too_small, indent=1, ensure_ascii=False)


@pytest.mark.parametrize("lang", LANGS)
def test_dashboard_pages_fit_a_phone(
    browser: Browser, live_server: LiveServer, app: Any, lang: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Practitioners read summaries on phones too: no dashboard page scrolls sideways."""
    email = make_admin(app, monkeypatch)
    context = new_context(browser, lang, viewport=PHONE, is_mobile=True, has_touch=True)
    page = context.new_page()
    too_wide: dict[str, int] = {}
    seen: list[str] = []

    def visit(name: str) -> None:
        seen.append(name)
        width = page.evaluate("document.documentElement.scrollWidth")
        if width > PHONE["width"]:
            too_wide[name] = width

    dashboard_visits(context, page, live_server, email, visit)
    assert len(seen) == 25, seen
    assert not too_wide, f"dashboard pages wider than {PHONE['width']} px: {too_wide}"


def test_the_width_check_can_fail(browser: Browser, live_server: LiveServer, app: object) -> None:
    context = new_context(browser, "en", viewport=PHONE)
    page = context.new_page()
    page.goto(f"{live_server.url}/c/demo/")
    page.evaluate("document.querySelector('h1').style.width = '500px'")
    assert page.evaluate("document.documentElement.scrollWidth") > PHONE["width"]
    context.close()


def test_fields_ask_for_the_right_keyboard(page: Page, live_server: LiveServer) -> None:
    walk_to_details(page, live_server.url)
    assert page.locator("#email").get_attribute("type") == "email"
    assert page.locator("#email").get_attribute("autocomplete") == "email"
    assert page.locator("#phone").get_attribute("type") == "tel"
    assert page.locator("#phone").get_attribute("autocomplete") == "tel"
    assert page.locator("#full_name").get_attribute("autocomplete") == "name"
    press(page, '.actions button[value="back"]')
    page.check('input[name="recent_procedures"][value="botox"]')
    # A date is three boxes of numbers (the GOV.UK date input), not a native date picker.
    for part in ("day", "month", "year"):
        box = page.locator(f"#botox_when-{part}")
        assert box.get_attribute("inputmode") == "numeric" and box.get_attribute("type") is None
    assert page.locator('input[type="date"]').count() == 0


def test_nothing_loads_from_another_origin(page: Page, live_server: LiveServer) -> None:
    urls: list[str] = []
    page.on("request", lambda request: urls.append(request.url))
    from .test_walk import walk_to_summary

    walk_to_summary(page, live_server.url)
    assert len(urls) > 10
    foreign = [u for u in urls if not u.startswith(live_server.url + "/")]
    assert not foreign, foreign


WEIGHT_BUDGET = 10 * 1024  # HTML + CSS + JS of one page, compressed, headers included
# The pages that show every answer miss it with an empty cache (tests/test_weight.py).
PAGES_OVER = {"review": 13 * 1024, "review-errors": 13 * 1024, "summary": 12 * 1024}
SURVEYJS_CORE_MIN_JS = 1.49 * 1024 * 1024


# What the page loaded, from the Resource Timing API; encoded < decoded shows a body came
# compressed. (Its transferSize adds a flat 300 bytes for headers, so the bytes themselves are
# taken from the network requests: encoded body plus the real response headers.)
LOADED = """() => [...performance.getEntriesByType('navigation'),
                   ...performance.getEntriesByType('resource')]
  .map(e => ({url: e.name, type: e.initiatorType || 'navigation',
              encoded: e.encodedBodySize, decoded: e.decodedBodySize}))"""


@pytest.mark.parametrize("lang", LANGS)
def test_pages_are_light_as_the_browser_receives_them(
    browser: Browser, live_server: LiveServer, app: object, lang: str
) -> None:
    """Bytes on the wire for each page with the browser cache off (so CSS and JS count on every
    page): compressed bodies and response headers, as Chromium received them."""
    context = new_context(browser, lang)
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
    requests: list[Any] = []
    page.on("request", lambda request: requests.append(request))
    weights: dict[str, dict[str, Any]] = {}

    def visit(name: str) -> None:
        page.wait_for_load_state("load")
        parts, encodings = {}, set()
        loaded = page.evaluate(LOADED)
        # A page that wizard.js put in place came by fetch (the last one): it stands for the
        # document, beside the CSS and JS the document loaded.
        fetched = [e for e in loaded if e["type"] == "fetch"]
        if fetched:
            loaded = [fetched[-1]] + [e for e in loaded if e["type"] in ("link", "script")]
        for entry in loaded:
            if not (name.startswith("error") and entry["type"] in ("navigation", "fetch")):
                # Compressed; Flask-Compress leaves error pages (under 1 KB) as they are.
                assert entry["encoded"] < entry["decoded"], (name, entry)
            request = next(r for r in reversed(requests) if r.url == entry["url"])
            sizes = request.sizes()  # waits until that request has finished
            assert sizes["responseBodySize"] == entry["encoded"], (name, entry, sizes)
            path = entry["url"].split("?")[0].removeprefix(live_server.url)
            parts[path] = sizes["responseBodySize"] + sizes["responseHeadersSize"]
            response = request.response()
            encodings.add(response.headers.get("content-encoding", "none") if response else "?")
        weights[name] = {
            "total": sum(parts.values()),
            "parts": parts,
            "encodings": sorted(encodings),
        }

    try:
        client_journey(page, live_server, visit, embed=False)
    finally:
        context.close()
    out = ARTIFACTS / f"weight-browser-{lang}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(weights, indent=1))
    assert len(weights) >= 15
    for name, w in weights.items():
        if not name.startswith("error"):
            assert set(w["parts"]) - {"/static/screener.css", "/static/wizard.js"}, (name, w)
            assert {"/static/screener.css", "/static/wizard.js"} <= set(w["parts"]), (name, w)
    over = {name: w for name, w in weights.items()
            if w["total"] > PAGES_OVER.get(name, WEIGHT_BUDGET)}
    assert not over, json.dumps(over, indent=1)
    heaviest = max(w["total"] for w in weights.values())
    assert heaviest < SURVEYJS_CORE_MIN_JS / 50
