"""Step pages from a rendered shell: the page around the questions, rendered once per worker.

A step page without errors is the same for every client of a clinic, step, language and
position in the wizard, except for a few values of the draft: its CSRF token, the form's
address and the private link (both carry the draft token), the date the draft expires, and the
questions' markup (wizard/markup.py). The shell is rendered by the real template with a marker
in place of each of those values and kept; a request fills the markers in, escaped as the
template would escape them. Pages with errors, and debug mode (templates may change), render
in full.
"""
from __future__ import annotations

import secrets
from collections.abc import Callable, Hashable, Mapping
from typing import Any

from flask import current_app
from markupsafe import Markup, escape

from .markup import LRU

CACHE_SIZE = 512  # shells; about 5 KB each

# Markers nobody can type or name a clinic: private-use characters around a per-process secret.
_NONCE = secrets.token_hex(8)
_MARK = "\ue000{}" + _NONCE + "\ue001"


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

    With a `key`, `render` is called once with markers in place of the values and the result is
    kept under the key; each request fills the markers in. Safe values are filled in last, so
    text inside them (a client's answers) is never searched for markers. Without a key (or with
    the cache off, or in debug mode) the page is simply rendered.
    """
    cache: LRU = current_app.extensions["page_shells"]
    if key is None or cache.size == 0 or current_app.debug:
        return render({**values, **safe_values})
    shell = cache.get(key)
    if shell is None:
        shell = render({name: marker(name) for name in (*values, *safe_values)})
        cache.put(key, shell)
    page: str = shell
    for name, value in values.items():
        page = page.replace(marker(name), str(escape(value)))
    for name, value in safe_values.items():
        page = page.replace(marker(name), str(value))
    return page


def init_app(app: Any) -> None:
    app.extensions["page_shells"] = LRU(CACHE_SIZE)
