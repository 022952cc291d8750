"""Step pages from a rendered shell: the page around the questions, rendered once per worker.

A step page without errors is the same for every client of a clinic, step, language and
position in the wizard, except for a few values of the draft: its token (in the page's links
and form addresses), its CSRF token, the private link, the date the draft expires, and the
questions' markup (wizard/markup.py). The review page likewise, but for the answers. The shell
is rendered by the real template with a marker in place of each of those values, and a
stand-in for the draft token in every URL, and kept; a request puts its token in and fills the
markers in, escaped as the template would escape them. Pages with errors, and debug mode
(templates may change), render in full.
"""
from __future__ import annotations

import datetime as dt
import re
import secrets
from collections.abc import Callable, Hashable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from flask import current_app, g, request, url_for
from markupsafe import Markup, escape

from ..questionnaire.model import Question, Questionnaire, Step
from . import engine
from .markup import FREE_TEXT, LRU, answer_state, kept_in
from .summary import Section, answer_section

CACHE_SIZE = 512  # shells; about 5 KB each
URL_CACHE_SIZE = 2048  # draft URLs

# Markers nobody can type or name a clinic: private-use characters around a per-process secret.
_NONCE = secrets.token_hex(8)
_MARK = "\ue000{}" + _NONCE + "\ue001"


# Stands in for the draft token (g.token, which url_for puts in draft URLs) while a shell is
# rendered: URL-safe like a real token, so URLs carry it unchanged; random, so no page has it.
STAND_IN_TOKEN = secrets.token_urlsafe(24)


def marker(name: str) -> str:
    """A value's marker: plain text that escaping leaves as it is."""
    return _MARK.format(name)


def render_page(
    key: Hashable | None,
    render: Callable[[Mapping[str, Any]], str],
    values: Mapping[str, Any],
    safe_values: Mapping[str, Markup],
) -> str:
    """The page `render(context)` gives with `values` (text, escaped by the template) and
    `safe_values` (markup).

    With a `key`, `render` is called once with markers in place of the values and the draft
    token replaced by a stand-in; the result is kept under the key, cut at the markers and the
    stand-in: the key must hold all else the page depends on. Each request joins the pieces
    with its token and values, in one pass, so nothing filled in (a client's answers) is ever
    searched for markers. Without a key (or with the cache off, or in debug mode) the page is
    simply rendered.
    """
    cache = kept_in("page_shells")
    if key is None or cache is None:
        return render({**values, **safe_values})
    token = g.get("token")

    def make() -> tuple[str, ...]:
        with _stand_in_token():
            return _cut(render({name: marker(name) for name in (*values, *safe_values)}))

    pieces = cache.get_or_make(key, make)
    fill = {name: str(escape(value)) for name, value in values.items()}
    fill.update((name, str(value)) for name, value in safe_values.items())
    fill[""] = token or ""
    page = list(pieces)
    page[1::2] = [fill[name] for name in pieces[1::2]]
    return "".join(page)


# A marker (its name in group 1) or the stand-in token (group 1 empty).
_SLOT = re.compile(
    "\ue000(\\w+)" + _NONCE + "\ue001|" + re.escape(STAND_IN_TOKEN)
)


def _cut(shell: str) -> tuple[str, ...]:
    """A shell as text pieces alternating with slot names (odd places; "" for the token)."""
    pieces, start = [], 0
    for m in _SLOT.finditer(shell):
        pieces += [shell[start:m.start()], m.group(1) or ""]
        start = m.end()
    pieces.append(shell[start:])
    return tuple(pieces)


def draft_url(endpoint: str, values: Mapping[str, Any]) -> str:
    """`url_for(endpoint, **values)`, built once per process for every draft: with the stand-in
    in place of the draft token (g.token), which each call puts back. The key holds what else
    url_for reads (the app's url_defaults included): the address the request came to (scheme,
    host, script root), the clinic, and the embedding page kept in framed URLs (embed.py)."""
    cache: LRU = current_app.extensions["draft_urls"]
    ctx, req = g._get_current_object(), request._get_current_object()  # type: ignore[attr-defined]
    token, clinic = ctx.get("token"), ctx.get("clinic")
    key = (endpoint, tuple(sorted(values.items())), token is None, req.scheme, req.host,
           req.root_path, clinic.slug if clinic is not None else None, ctx.get("embed_host"))

    return _for_any_draft(cache, key, lambda: url_for(endpoint, **values), token)


def _for_any_draft(cache: LRU, key: Hashable, make: Callable[[], str], token: str | None) -> str:
    """make()'s text kept under `key`: made with the stand-in in place of the draft token, which
    each call replaces with the request's `token` (g.token; none: nothing to replace)."""

    def with_stand_in() -> str:
        with _stand_in_token():
            return make()

    text: str = cache.get_or_make(key, with_stand_in)
    return text if token is None else text.replace(STAND_IN_TOKEN, token)


@contextmanager
def _stand_in_token() -> Iterator[None]:
    """g.token is the stand-in meanwhile (if the request has a draft token at all)."""
    token = g.get("token")
    g.token = STAND_IN_TOKEN if token is not None else None
    try:
        yield
    finally:
        g.token = token


def answers_block(
    page_key: Hashable,
    qn: Questionnaire,
    answers: Mapping[str, Any],
    lang: str,
    day: dt.date,
    render: Callable[[Section], str],
) -> Markup:
    """The review page's answers: `render(section)` for each visible step's, escaped HTML with
    the draft's links. A section without typed text (markup.answer_state) is kept per process
    with the stand-in token, per page (`page_key`: what its links and words depend on) and
    answers shown, and is not even built again; one with typed text is rendered every time."""
    cache, token = kept_in("answer_sections"), g.get("token")
    out = []
    for step in engine.visible_steps(qn, answers, day):
        questions = engine.visible_questions(qn, step, answers, day)

        def make(step: Step = step, questions: list[Question] = questions) -> str:
            return str(render(answer_section(step, questions, answers, lang)))

        states = tuple((q.id, answer_state(q, answers.get(q.id))) for q in questions)
        if cache is None or any(state is FREE_TEXT for _, state in states):
            out.append(make())
        else:
            out.append(_for_any_draft(cache, (page_key, step.id, states), make, token))
    return Markup("".join(out))  # nosec B704  (each part: output of an autoescaping template)


def init_app(app: Any) -> None:
    app.extensions["page_shells"] = LRU(CACHE_SIZE)
    app.extensions["draft_urls"] = LRU(URL_CACHE_SIZE)
