"""Every client page in a real browser, for the accessibility and phone checks.

`client_journey` walks the questionnaire and calls back on each page state a person can meet:
the start page (empty and with its errors), the draft's intro page (Back from the first step), every step before and after an empty Continue (errors shown), the resume link,
the review page, the summary, the embedded layout and the error pages.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from playwright.sync_api import Browser, BrowserContext, Page

from ..client_pages import JOURNEY_ANSWERS
from ..conftest import STEP_ANSWERS, date_boxes
from .conftest import LiveServer

# Browser locales that make the product pick each language from Accept-Language.
BROWSER_LOCALE = {"en": "en-GB", "zh-Hant": "zh-TW", "zh-Hans": "zh-CN"}
LANGS = tuple(BROWSER_LOCALE)

Visit = Callable[[str], None]


def new_context(
    browser: Browser, lang: str, *, javascript: bool = True, **kwargs: Any
) -> BrowserContext:
    """A fresh browser profile whose Accept-Language asks for `lang`."""
    return browser.new_context(
        locale=BROWSER_LOCALE[lang], java_script_enabled=javascript, **kwargs
    )


def fill_step(page: Page, answers: dict[str, object]) -> None:
    """Answer a step's questions on the page shown."""
    # The step's page may still be loading after the click that led here: wait for its fields
    # before asking what kind they are (count() does not wait).
    for name in answers:
        page.locator(f'[name="{name}"], [name="{name}-day"]').first.wait_for(state="attached")
    for name, value in answers.items():
        if isinstance(value, list):
            for v in value:
                page.check(f'input[name="{name}"][value="{v}"]')
        elif name.startswith("consent"):
            page.check(f'input[name="{name}"]')
        elif page.locator(f'input[name="{name}-day"]').count():  # a date: its three boxes
            for box, typed in date_boxes(name, str(value)).items():
                page.fill(f'input[name="{box}"]', typed)
        elif page.locator(f'input[type="radio"][name="{name}"]').count():
            page.check(f'input[name="{name}"][value="{value}"]')
        else:
            page.fill(f'[name="{name}"]', str(value))


@contextmanager
def next_page(page: Page) -> Iterator[None]:
    """Wait, after what the block does (a click, a key), until the next page is shown: loaded
    after a form's POST and redirect without script, or put in place by wizard.js's step change
    (a new main element, its URL pushed) with it."""
    if page.locator("html.js").count() == 0:
        with page.expect_navigation():
            yield
        return
    page.evaluate("() => { window.shownMain = document.getElementById('main'); }")
    yield
    page.wait_for_function(
        "() => document.readyState === 'complete' && document.getElementById('main')"
        " && window.shownMain !== document.getElementById('main')"
    )


def press(page: Page, selector: str) -> None:
    """Click a button that submits a form (or a link), and wait until the resulting page is
    shown, so the next check never meets a page still on its way."""
    with next_page(page):
        page.click(selector)


def start_draft(page: Page, base: str) -> None:
    """Open the demo clinic's questionnaire, answer the first step on the start page and go
    on, then back: the draft's own first step is shown."""
    page.goto(f"{base}/c/demo/")
    fill_step(page, STEP_ANSWERS["about_you"])
    press(page, "form[action$='/start'] button[type=submit]")
    assert "/s/goals" in page.url, page.url
    press(page, '.actions button[value="back"]')
    assert "/s/about_you" in page.url, page.url


def walk_to_details(page: Page, base: str) -> None:
    """Start a draft and answer every step before the last one (details) with STEP_ANSWERS."""
    start_draft(page, base)
    for step_id in list(STEP_ANSWERS)[:-1]:
        fill_step(page, STEP_ANSWERS[step_id])
        press(page, '.actions button[value="continue"]')
    assert "/s/details" in page.url


def dashboard_visits(
    context: BrowserContext, page: Page, server: LiveServer, email: str, visit: Visit
) -> None:
    """Make a submission as a client, then visit every dashboard page; closes `context`."""
    try:
        client_journey(page, server, lambda name: None, embed=False)
        dashboard_journey(page, server, email, visit)
    finally:
        context.close()


def client_journey(page: Page, server: LiveServer, visit: Visit, *, embed: bool = True) -> None:
    """Walk every client page, calling `visit(name)` on each (language: the browser's)."""
    base = server.url
    page.goto(f"{base}/c/demo/")
    visit("start")
    press(page, "form[action$='/start'] button[type=submit]")  # nothing answered
    assert page.locator(".error-summary").count(), page.url
    visit("start-errors")
    fill_step(page, STEP_ANSWERS["about_you"])
    press(page, "form[action$='/start'] button[type=submit]")
    assert "/s/goals" in page.url, page.url
    press(page, '.actions button[value="back"]')  # the draft's own first step
    # Back from the first step: the draft's intro page, whose Continue goes on with the draft.
    press(page, '.actions button[value="back"]')
    assert page.url.endswith("/intro"), page.url
    visit("intro")
    press(page, ".actions a.button")
    resume_url = page.locator(".resume-link a").get_attribute("href")
    for step_id, answers in JOURNEY_ANSWERS.items():
        assert f"/s/{step_id}" in page.url, page.url
        visit(step_id)
        if step_id != "about_you":  # answered on the start page, whose errors were visited
            press(page, '.actions button[value="continue"]')
        if page.locator(".error-summary").count():
            visit(f"{step_id}-errors")
        fill_step(page, answers)
        press(page, '.actions button[value="continue"]')
        if step_id == "about_you":  # the private link brings the client back where they were
            assert resume_url
            page.goto(resume_url)
            assert "/s/goals" in page.url, page.url
            visit("resume")
    assert page.url.endswith("/review"), page.url
    visit("review")
    press(page, "form.submit-form button[type=submit]")  # not signed: the page says so
    assert page.locator("#signed_name-error").count(), page.url
    visit("review-errors")
    page.fill("#signed_name", str(JOURNEY_ANSWERS["details"]["full_name"]))
    press(page, "form.submit-form button[type=submit]")
    page.wait_for_url("**/summary")
    visit("summary")
    assert resume_url
    page.goto(resume_url)  # after sending, the private link shows the summary
    assert page.url.endswith("/summary"), page.url

    if embed:
        page.goto(f"{base}/embed/demo/")
        visit("embed-start")
        fill_step(page, STEP_ANSWERS["about_you"])
        press(page, "form[action$='/start'] button[type=submit]")
        visit("embed-step")
        press(page, '.actions button[value="continue"]')
        visit("embed-step-errors")
        # A form whose check token does not match (expired, tampered with) gets the 400 page.
        page.evaluate("document.querySelector('input[name=csrf_token]').value = 'stale'")
        press(page, '.actions button[value="continue"]')
        visit("error-400")

    page.goto(f"{base}/c/no-such-clinic/")
    visit("error-404")
    page.goto(f"{base}/c/demo/d/not-a-real-draft-token/")
    visit("error-404-draft")
    page.goto(f"{base}/c/demo/start")  # the start form only posts here
    visit("error-405")


STAFF_PASSWORD = "correct horse battery staple"


def make_admin(app: Any, monkeypatch: Any, email: str = "admin@example.com") -> str:
    """A clinic admin of the demo clinic (who sees every dashboard page); returns the email."""
    from argon2 import PasswordHasher
    from sqlalchemy import select

    from screener.dashboard import auth
    from screener.extensions import db
    from screener.storage.models import Clinic

    # Cheap hashing for tests (the live server runs in this process, so it checks with it too).
    monkeypatch.setattr(
        auth, "hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    )
    with app.app_context(), db.transaction() as s:
        clinic = s.scalars(select(Clinic).where(Clinic.slug == "demo")).one()
        auth.create_practitioner(s, clinic, email, "Admin Example", STAFF_PASSWORD, "admin")
    return email


def dashboard_journey(page: Page, server: LiveServer, email: str, visit: Visit) -> None:
    """Every dashboard page a clinic admin can meet, after the client journey made submissions."""
    base = f"{server.url}/dashboard"
    page.goto(f"{base}/login")
    visit("dashboard-login")
    page.fill("#email", email)
    page.fill("#password", "wrong password")
    press(page, "form.dash-form button[type=submit]")
    visit("dashboard-login-failed")
    page.fill("#email", email)
    page.fill("#password", STAFF_PASSWORD)
    press(page, "form.dash-form button[type=submit]")
    assert page.url.endswith("/dashboard/appointments"), page.url  # the first page
    visit("dashboard-appointments-empty")
    page.goto(f"{base}/appointments/new")
    visit("dashboard-invite")
    press(page, "form.dash-form .actions button[type=submit]")
    visit("dashboard-invite-errors")
    tomorrow = (dt.date.today() + dt.timedelta(days=1)).isoformat()
    for attempt in ("first", "again"):
        if attempt == "again":
            page.goto(f"{base}/appointments/new")
        page.fill("#name", "Alice Chan")
        page.fill("#email", "alice@example.com")
        page.fill("#day", tomorrow)
        page.fill("#time", "10:30" if attempt == "first" else "15:00")
        press(page, "form.dash-form .actions button[type=submit]")
        if attempt == "again":  # the clinic knows an Alice Chan now: which one is it?
            visit("dashboard-invite-matches")
            press(page, "button[name=client_id]")
    assert "/dashboard/appointments/" in page.url, page.url
    visit("dashboard-appointment")
    page.goto(f"{base}/appointments")
    visit("dashboard-appointments")
    page.goto(f"{base}/clients")
    visit("dashboard-clients")
    press(page, ".client-list a")
    visit("dashboard-client")
    page.goto(f"{base}/")
    visit("dashboard-index")
    page.goto(f"{base}/?severity=red_flag&reviewed=no")
    visit("dashboard-index-filtered")
    first = page.locator("table.submissions tbody a").first.get_attribute("href")
    assert first
    page.goto(f"{server.url}{first}")
    visit("dashboard-submission")
    page.goto(f"{server.url}{first}/delete")
    visit("dashboard-delete")
    for path in ("exports", "account", "admin/practitioners", "admin/clinic", "admin/audit",
                 "admin/api", "admin/webhooks", "admin/dropoff", "admin/clinic/texts"):
        page.goto(f"{base}/{path}")
        visit(f"dashboard-{path.replace('/', '-')}")
    # The clinic's texts previewed as clients will see them (the page after Preview).
    page.fill("#en-intro", "Welcome.\nSee https://www.example.com or call 2345 6789.")
    press(page, 'button[name="action"][value="preview"]')
    visit("dashboard-admin-clinic-texts-preview")
    page.goto(f"{base}/submissions/999999")
    visit("dashboard-404")
