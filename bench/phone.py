"""Phone benchmark: the whole questionnaire in Chromium on an emulated slow phone.

A benchmark, not a test: it prints figures and checks nothing but that the walk reaches the
summary. The product is served by gunicorn (2 workers, SQLite) on loopback. Each walk is a
fresh browser profile (empty cache at first) at 360 x 740 px, driven through the DevTools
protocol: Network.emulateNetworkConditions (each profile's latency added to every request,
throughput capped both ways) and Emulation.setCPUThrottlingRate 4. Walks: with and without
JavaScript, on each profile:

- slow 3G: 400 kbps down and up, 400 ms round trip;
- fast 3G: 1.6 Mbps down, 750 kbps up, 150 ms round trip.

Per page it reports the bytes received (headers and compressed bodies, as DevTools'
encodedDataLength counts them), the requests, the first contentful paint of a loaded page, and
when the page can be used:

- the start page: from the navigation's start until the page has painted its content and its
  script has run (the later of first contentful paint and DOMContentLoaded's end: a deferred
  script runs before that event);
- every later page: from pressing Continue (the form's submit event) until the next page can be
  used. With JavaScript the step goes by fetch and the next page is put in place: measured in
  the page from the submit event to the first animation frame after the new content is in.
  Without JavaScript it is a navigation (POST, 303, GET): measured from the navigation's start
  to the later of its first contentful paint and DOMContentLoaded's end.

    .venv/bin/python -m bench.phone                      # both profiles, with and without JS
    .venv/bin/python -m bench.phone --profile slow3g --javascript on
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from playwright.sync_api import CDPSession, Page, sync_playwright  # noqa: E402

from bench.load import HOST, Server, prepare  # noqa: E402
from tests.conftest import STEP_ANSWERS, date_boxes  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
PHONE = {"width": 360, "height": 740}
CPU_SLOWDOWN = 4
# DevTools' throughputs are bytes a second; latency in milliseconds is added to each request.
PROFILES: dict[str, dict[str, float]] = {
    "slow3g": {"latency": 400, "downloadThroughput": 400_000 / 8, "uploadThroughput": 400_000 / 8},
    "fast3g": {"latency": 150, "downloadThroughput": 1_600_000 / 8,
               "uploadThroughput": 750_000 / 8},
}

# Times of a loaded page, in ms from its navigation's start.
LOAD_TIMES = """() => {
  const fcp = performance.getEntriesByName('first-contentful-paint')[0];
  const nav = performance.getEntriesByType('navigation')[0];
  return {fcp: fcp ? fcp.startTime : null, dcl: nav.domContentLoadedEventEnd};
}"""
# With JavaScript: the submit event's time, and the first frame after a new <main> is in.
HOOK = """() => {
  window.benchSubmit = null; window.benchShown = null;
  const before = document.getElementById('main');
  window.addEventListener('submit', () => { window.benchSubmit = performance.now(); },
                          {capture: true, once: true});
  new MutationObserver((changes, observer) => {
    const main = document.getElementById('main');
    if (main && main !== before) {
      observer.disconnect();
      requestAnimationFrame(() => { window.benchShown = performance.now(); });
    }
  }).observe(document.body, {childList: true});
}"""


@dataclass
class PageFigures:
    name: str
    bytes: int = 0
    requests: int = 0
    fcp: float | None = None  # ms; a loaded page only
    usable: float = 0.0  # ms: since navigation start (first page) or since Continue


@dataclass
class Wire:
    """Bytes received and requests sent on the network (not served from the browser's cache)
    seen by DevTools since the last take()."""

    bytes: int = 0
    requests: int = 0
    sizes: dict[str, float] = field(default_factory=dict)

    def attach(self, cdp: CDPSession) -> None:
        cdp.on("Network.requestWillBeSent", self._sent)
        cdp.on("Network.loadingFinished", self._finished)
        cdp.on("Network.requestServedFromCache", self._cached)

    def _sent(self, event: dict[str, Any]) -> None:
        self.requests += 1
        if event.get("redirectResponse"):  # a 303's own response ends with the next request
            self.bytes += int(event["redirectResponse"].get("encodedDataLength", 0))

    def _cached(self, event: dict[str, Any]) -> None:  # no request on the network
        self.requests -= 1

    def _finished(self, event: dict[str, Any]) -> None:
        self.bytes += int(event.get("encodedDataLength", 0))

    def take(self) -> tuple[int, int]:
        taken = (self.bytes, self.requests)
        self.bytes = self.requests = 0
        return taken


def fill(page: Page, answers: dict[str, object]) -> None:
    for name, value in answers.items():
        if isinstance(value, list):
            for v in value:
                page.check(f'input[name="{name}"][value="{v}"]')
        elif name.startswith("consent"):
            page.check(f'input[name="{name}"]')
        elif page.locator(f'input[name="{name}-day"]').count():
            for box, typed in date_boxes(name, str(value)).items():
                page.fill(f'input[name="{box}"]', typed)
        elif page.locator(f'input[type="radio"][name="{name}"]').count():
            page.check(f'input[name="{name}"][value="{value}"]')
        else:
            page.fill(f'[name="{name}"]', str(value))


def settle(page: Page, cdp: CDPSession) -> None:
    """Let the page's last requests end before the next measure starts."""
    page.wait_for_load_state("load")
    time.sleep(0.3)


def loaded_page(page: Page, name: str, wire: Wire, cdp: CDPSession) -> PageFigures:
    settle(page, cdp)
    times = page.evaluate(LOAD_TIMES)
    got, requests = wire.take()
    fcp = times["fcp"]
    return PageFigures(name, got, requests, fcp, max(fcp or 0.0, times["dcl"]))


def continue_to(page: Page, button: str, name: str, wire: Wire, cdp: CDPSession,
                javascript: bool) -> PageFigures:
    """Press `button` and measure until the next page can be used."""
    wire.take()
    if javascript and page.locator("#step-form").count():
        page.evaluate(HOOK)
        page.click(button)
        page.wait_for_function("() => window.benchShown !== null", timeout=60_000)
        took = page.evaluate("() => window.benchShown - window.benchSubmit")
        settle(page, cdp)
        got, requests = wire.take()
        return PageFigures(name, got, requests, None, took)
    with page.expect_navigation(timeout=60_000):
        page.click(button)
    return loaded_page(page, name, wire, cdp)


def walk(base: str, profile: str, javascript: bool, browser: Any) -> list[PageFigures]:
    context = browser.new_context(
        viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True,
        java_script_enabled=javascript, locale="en-GB",
    )
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    wire = Wire()
    wire.attach(cdp)
    cdp.send("Network.enable")
    cdp.send("Network.emulateNetworkConditions", {"offline": False, **PROFILES[profile]})
    cdp.send("Emulation.setCPUThrottlingRate", {"rate": CPU_SLOWDOWN})
    figures: list[PageFigures] = []
    try:
        page.goto(f"{base}/c/demo/", wait_until="load")
        figures.append(loaded_page(page, "start + about_you", wire, cdp))
        steps = list(STEP_ANSWERS)
        for i, step_id in enumerate(steps):
            fill(page, STEP_ANSWERS[step_id])
            after = steps[i + 1] if i + 1 < len(steps) else "review"
            figures.append(continue_to(page, '.actions button[value="continue"]', after, wire,
                                       cdp, javascript))
            assert page.url.endswith(f"/s/{after}" if after != "review" else "/review"), page.url
        page.fill("#signed_name", str(STEP_ANSWERS["details"]["full_name"]))
        figures.append(continue_to(page, "form.submit-form button[type=submit]", "summary",
                                   wire, cdp, javascript))
        assert "/summary" in page.url, page.url
    finally:
        context.close()
    return figures


def kb(n: float) -> str:
    return f"{n / 1024:.1f}"


def ms(n: float | None) -> str:
    return "-" if n is None else f"{n:.0f}"


def report(profile: str, javascript: bool, figures: list[PageFigures]) -> None:
    print(f"\n{profile}, JavaScript {'on' if javascript else 'off'}, CPU x{CPU_SLOWDOWN}, "
          f"{PHONE['width']} px")
    print("| page | KB | requests | FCP ms | usable ms |")
    print("|---|---|---|---|---|")
    for f in figures:
        print(f"| {f.name} | {kb(f.bytes)} | {f.requests} | {ms(f.fcp)} | {ms(f.usable)} |")
    changes = [f.usable for f in figures[1:-1]]  # step changes (Continue), not the send
    print(f"| **whole walk** | {kb(sum(f.bytes for f in figures))} | "
          f"{sum(f.requests for f in figures)} | | first question {ms(figures[0].usable)}; "
          f"step changes median {ms(sorted(changes)[len(changes) // 2])}, "
          f"max {ms(max(changes))}, sum {ms(sum(changes))} |")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--profile", choices=[*PROFILES, "all"], default="all")
    parser.add_argument("--javascript", choices=["on", "off", "both"], default="both")
    parser.add_argument("--repeat", type=int, default=1, help="walks per setting (median kept)")
    args = parser.parse_args()
    profiles = list(PROFILES) if args.profile == "all" else [args.profile]
    modes = {"on": [True], "off": [False], "both": [True, False]}[args.javascript]

    tmp = Path(tempfile.mkdtemp(prefix="screener-phone-"))
    url = f"sqlite:///{tmp / 'bench.db'}"
    env = {"DATABASE_URL": url, "SECRET_KEY": "bench-secret-key-0123456789abcdef",
           "SCREENER_INSTANCE": str(tmp), "SCREENER_RATE_LIMITS": "off", "SCREENER_SMTP_HOST": ""}
    prepare(url, env)
    server = Server(2, env, tmp / "gunicorn.log")
    base = f"http://{HOST}:{server.port}"
    print(f"Screener phone benchmark: {CHROMIUM}, gunicorn 2 workers on loopback, SQLite, "
          f"{os.cpu_count()} cores")
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM)
            walk(base, "fast3g", True, browser)  # warm-up: the server's first requests
            for profile in profiles:
                for javascript in modes:
                    runs = [walk(base, profile, javascript, browser) for _ in range(args.repeat)]
                    runs.sort(key=lambda r: sum(f.usable for f in r))
                    report(profile, javascript, runs[len(runs) // 2])
            browser.close()
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
