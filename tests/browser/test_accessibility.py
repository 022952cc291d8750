"""WCAG 2.1 A and AA: axe-core finds nothing on any client page, in both languages, with and
without JavaScript; error summaries take focus; titles and progress say where the client is."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from ..conftest import STEP_ANSWERS
from .conftest import LiveServer, describe, run_axe
from .journey import (
    LANGS,
    client_journey,
    dashboard_visits,
    make_admin,
    new_context,
    press,
    start_draft,
    walk_to_details,
)
from .test_walk import fill_step


def axe_everywhere(page: Page, server: LiveServer) -> tuple[list[str], dict[str, Any]]:
    """Run axe on every page of the journey; the pages seen and the violations per page."""
    seen: list[str] = []
    problems: dict[str, Any] = {}

    def visit(name: str) -> None:
        if name == "goals":  # whether conditional questions start hidden (script) or shown
            seen.append(f"conditional-shown={page.locator('.conditional').first.is_visible()}")
        seen.append(name)
        violations = run_axe(page)
        if violations:
            problems[name] = describe(violations)

    client_journey(page, server, visit)
    return seen, problems


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
@pytest.mark.parametrize("lang", LANGS)
def test_every_client_page_has_no_axe_violations(
    browser: Browser, live_server: LiveServer, app: object, lang: str, javascript: bool
) -> None:
    # axe needs JavaScript itself (it waits on timers, which never fire with JavaScript off), so
    # "without JavaScript" here means without the product's script: the same pages, unenhanced.
    context = new_context(browser, lang)
    if not javascript:
        context.route("**/static/wizard.js*", lambda route: route.abort())
    page = context.new_page()
    try:
        seen, problems = axe_everywhere(page, live_server)
    finally:
        context.close()
    # The walk really met the pages it is meant to check (steps with errors included).
    # With the script, conditional questions wait hidden; without it they are all shown.
    assert f"conditional-shown={not javascript}" in seen, seen
    for name in (
        "start",
        "start-errors",
        "intro",
        "about_you",
        "details-errors",
        "resume",
        "review",
        "summary",
        "embed-step-errors",
        "error-400",
        "error-404",
        "error-405",
    ):
        assert name in seen, (name, seen)
    assert not problems, "\n".join(f"{name}: {v}" for name, v in problems.items())


@pytest.mark.parametrize("lang", LANGS)
def test_dashboard_pages_have_no_axe_violations(
    browser: Browser, live_server: LiveServer, app: Any, lang: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    email = make_admin(app, monkeypatch)
    context = new_context(browser, lang)
    page = context.new_page()
    problems: dict[str, Any] = {}
    seen: list[str] = []

    def visit(name: str) -> None:
        seen.append(name)
        assert page.locator("html").get_attribute("lang") == lang, name
        violations = run_axe(page)
        if violations:
            problems[name] = describe(violations)

    dashboard_visits(context, page, live_server, email, visit)
    assert len(seen) == 25, seen
    assert not problems, "\n".join(f"{name}: {v}" for name, v in problems.items())


def test_axe_reports_a_real_violation(page: Page, live_server: LiveServer) -> None:
    """The check can fail: an input stripped of its label is reported."""
    start_draft(page, live_server.url)
    page.evaluate("document.querySelectorAll('label').forEach(l => l.remove())")
    assert any(v["id"] == "label" for v in run_axe(page))


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_error_summary_takes_focus_and_links_to_each_field(
    browser: Browser, live_server: LiveServer, app: object, javascript: bool
) -> None:
    context = new_context(browser, "en", javascript=javascript)
    page = context.new_page()
    page.goto(f"{live_server.url}/c/demo/")  # the first step's questions, on the start page
    press(page, '.actions button[value="continue"]')
    summary = page.locator(".error-summary")
    # The browser applies autofocus a moment after the page loads: wait for it (polled by
    # Playwright itself, so this also works with JavaScript off).
    expect(summary).to_be_focused()
    assert summary.get_attribute("role") == "alert"
    links = summary.locator("a")
    assert links.count() == 2  # age_band and pregnancy are required
    for i in range(links.count()):
        target = links.nth(i).get_attribute("href")
        assert target and page.locator(target).count() == 1, target
    # Each group names its error in aria-describedby, and the error text says it is an error.
    for qid in ("age_band", "pregnancy"):
        fieldset = page.locator(f"#q-{qid} fieldset")
        assert f"{qid}-error" in (fieldset.get_attribute("aria-describedby") or "")
        assert page.locator(f"#{qid}-error").inner_text().startswith("Error:")
    # Following a link lands on the first option of that question.
    links.nth(1).click()
    expect(page.locator("#pregnancy-0")).to_be_focused()
    context.close()


def test_page_titles_say_the_step_and_the_error_state(page: Page, live_server: LiveServer) -> None:
    steps = len(STEP_ANSWERS)
    page.goto(f"{live_server.url}/c/demo/")
    assert page.title() == "Before your facial acupuncture consultation – Demo Clinic"
    assert page.locator("h2 .progress").inner_text().startswith(f"Step 1 of {steps}")
    press(page, '.actions button[value="continue"]')
    assert page.title().startswith("Error: Before your facial"), page.title()
    start_draft(page, live_server.url)
    assert re.match(rf"^About you – Step 1 of {steps} – ", page.title()), page.title()
    progress = page.locator("h1 .progress").inner_text()
    assert progress.startswith(f"Step 1 of {steps}")
    fill_step(page, STEP_ANSWERS["about_you"])
    press(page, '.actions button[value="continue"]')
    assert (
        page.title().startswith(f"Your skin goals – Step 2 of {steps}")
        or "Step 2 of" in page.title()
    )


def test_text_fields_with_errors_are_marked_invalid_and_described(
    page: Page, live_server: LiveServer
) -> None:
    walk_to_details(page, live_server.url)
    page.fill("#email", "not-an-email")
    press(page, '.actions button[value="continue"]')
    email = page.locator("#email")
    assert email.get_attribute("aria-invalid") == "true"
    assert "email-error" in (email.get_attribute("aria-describedby") or "")
    assert page.locator("#email").input_value() == "not-an-email"  # what was typed stays
    name = page.locator("#full_name")
    assert name.get_attribute("aria-invalid") == "true"


def test_scale_is_a_labelled_radio_group(page: Page, live_server: LiveServer) -> None:
    """Pain sensitivity: a fieldset whose legend is the question; each number is a radio whose
    label also says what the two ends mean; the help text is tied to the group."""
    start_draft(page, live_server.url)
    for step_id in ("about_you", "goals"):
        fill_step(page, STEP_ANSWERS[step_id])
        press(page, '.actions button[value="continue"]')
    group = page.get_by_role("group", name=re.compile("How sensitive are you to small discomforts"))
    assert group.count() == 1
    assert group.get_attribute("aria-describedby") == "pain_sensitivity-help"
    radios = group.get_by_role("radio")
    assert radios.count() == 11
    assert page.get_by_role("radio", name="0 – Not sensitive at all").count() == 1
    assert page.get_by_role("radio", name="10 – Extremely sensitive").count() == 1
    assert page.get_by_role("radio", name="5", exact=True).count() == 1
