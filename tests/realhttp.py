"""A cookie-less HTTP client that walks the wizard over a real socket (gunicorn tests, bench).

Standard library only, so the benchmark measures the server, not a client library.
"""
from __future__ import annotations

import html
import http.client
import re
import time
import urllib.parse
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]*)"|value="([^"]*)"[^>]*name="csrf_token"')
CONSENT_RE = re.compile(r'name="consent_version" value="([0-9a-f]+)"')
NAME_RE = re.compile(r"<dt>(?:Full name|姓名)</dt>\s*<dd[^>]*>([^<]*)</dd>")
# The start form's first step (about_you), answered.
START_ANSWERS = [("age_band", "30_44"), ("pregnancy", "no")]


class HTTPError(AssertionError):
    """The server answered with an unexpected status."""


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: str
    seconds: float


@dataclass
class HttpWalker:
    """One client: starts a draft and posts every step, like a browser without cookies."""

    host: str
    port: int
    clinic: str = "demo"
    timeout: float = 30.0
    url: str = ""
    timings: list[tuple[str, float]] = field(default_factory=list)

    def request(self, method: str, path: str, form: Iterable[tuple[str, str]] | None = None) -> Response:
        conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        body = urllib.parse.urlencode(list(form)) if form is not None else None
        headers = {"Content-Type": "application/x-www-form-urlencoded"} if body is not None else {}
        started = time.perf_counter()
        try:
            conn.request(method, path, body=body, headers=headers)
            resp = conn.getresponse()
            text = resp.read().decode("utf-8", "replace")
            result = Response(resp.status, {k.lower(): v for k, v in resp.getheaders()}, text,
                              time.perf_counter() - started)
        finally:
            conn.close()
        if "set-cookie" in result.headers:
            raise HTTPError(f"{method} {path} set a cookie")
        return result

    def expect(self, resp: Response, status: int, what: str) -> Response:
        if resp.status != status:
            raise HTTPError(f"{what}: expected {status}, got {resp.status}")
        return resp

    @property
    def token(self) -> str:
        m = re.search(r"/d/([^/]+)/", self.url)
        assert m, self.url
        return m.group(1)

    @property
    def base(self) -> str:
        return f"/c/{self.clinic}/d/{self.token}"

    def start(self, lang: str = "en") -> None:
        """Send the start form with the first step answered; the draft's first step becomes the
        current page (its answers are sent again by the first step())."""
        form = [("lang", lang), *START_ANSWERS]
        r = self.expect(self.request("POST", f"/c/{self.clinic}/start", form), 303, "start")
        self.timings.append(("start", r.seconds))
        m = re.search(r"/d/([^/]+)/", r.headers["location"])
        assert m, r.headers["location"]
        self.url = f"/c/{self.clinic}/d/{m.group(1)}/s/about_you"

    def step(self, answers: Mapping[str, Any], label: str | None = None) -> None:
        """GET the current step, POST its answers, follow to the next page's URL."""
        label = label or self.url.rsplit("/", 1)[-1]
        page = self.expect(self.request("GET", self.url), 200, f"GET {label}")
        m = CSRF_RE.search(page.body)
        assert m, f"no csrf token on {label}"
        form = [("csrf_token", m.group(1) or m.group(2)), ("action", "continue")]
        for name, value in answers.items():
            for v in value if isinstance(value, list) else [value]:
                form.append((name, str(v)))
        r = self.expect(self.request("POST", self.url, form), 303, f"POST {label}")
        self.timings.append((label, page.seconds + r.seconds))
        self.url = urllib.parse.urlsplit(r.headers["location"]).path

    def submit(self) -> None:
        review = self.expect(self.request("GET", f"{self.base}/review"), 200, "review")
        m = CSRF_RE.search(review.body)
        assert m, "no csrf token on review"
        form = [("csrf_token", m.group(1) or m.group(2))]
        consent, name = CONSENT_RE.search(review.body), NAME_RE.search(review.body)
        if consent and name:  # sign the consent with the name given
            form += [("consent_version", consent.group(1)), ("signed_name", html.unescape(name.group(1)))]
        r = self.expect(self.request("POST", f"{self.base}/submit", form), 303, "submit")
        self.timings.append(("submit", review.seconds + r.seconds))
        self.url = urllib.parse.urlsplit(r.headers["location"]).path


def wait_until_up(host: str, port: int, seconds: float = 30.0) -> None:
    """Poll /healthz until the server answers 200."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            conn = http.client.HTTPConnection(host, port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return
        except OSError:
            pass
        finally:
            conn.close()
        if time.monotonic() > deadline:
            raise TimeoutError(f"server on {host}:{port} did not come up")
        time.sleep(0.1)
