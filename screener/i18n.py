"""Interface languages: the codes used in URLs, drafts and `<html lang>`, and locale choice."""
from __future__ import annotations

import datetime as dt
from functools import lru_cache
from pathlib import Path
from typing import Any

import flask_babel
from babel import dates, support
from flask import Flask, g, has_request_context, request

from .questionnaire.model import LANGUAGES

DEFAULT_LANG = "en"
BABEL_LOCALE = {"en": "en", "zh-Hant": "zh_Hant"}
LANGUAGE_NAMES = {"en": "English", "zh-Hant": "繁體中文"}


def normalise_lang(value: str | None) -> str | None:
    """'zh-hant', 'zh_Hant', 'zh-TW', 'zh-HK' -> 'zh-Hant'; 'en-GB' -> 'en'; others -> None."""
    if not value:
        return None
    v = value.strip().replace("_", "-").lower()
    if v.startswith("zh") and not (v.startswith("zh-hans") or v in ("zh-cn", "zh-sg")):
        return "zh-Hant"
    if v == "en" or v.startswith("en-"):
        return "en"
    return None


def request_lang() -> str:
    """The language of this request: as set by a view (draft), else Accept-Language, else English."""
    lang = g.get("lang")
    if lang in LANGUAGES:
        return str(lang)
    best = request.accept_languages.best_match(
        ["en", "en-GB", "en-US", "zh-Hant", "zh-TW", "zh-HK", "zh"], default=None
    )
    return normalise_lang(best) or DEFAULT_LANG


def locale_selector() -> str:
    return BABEL_LOCALE[request_lang()]


def install_template_gettext(app: Flask, directory: Path) -> None:
    """Jinja's `_()` and friends, translated into the request's language (`request_lang()`).

    The same catalogs as Flask-Babel, but each language's catalog is found once per process
    instead of through several context lookups per call (a step page makes about twenty calls).
    Code that renders a template in another language sets `g.lang` (screening/render.py does,
    beside Flask-Babel's `force_locale` for Python-side text).
    """
    catalogs: dict[str, support.NullTranslations] = {}

    def translations() -> Any:
        lang = request_lang() if has_request_context() else g.get("lang", DEFAULT_LANG)
        catalog = catalogs.get(lang)
        if catalog is None:
            catalog = catalogs[lang] = support.Translations.load(
                str(directory), [BABEL_LOCALE.get(lang, BABEL_LOCALE[DEFAULT_LANG])], "messages"
            )
        return catalog

    app.jinja_env.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=lambda s: translations().ugettext(s),
        ngettext=lambda s, p, n: translations().ungettext(s, p, n),
        newstyle=True,
        pgettext=lambda c, s: translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: translations().unpgettext(c, s, p, n),
    )


@lru_cache(maxsize=4096)
def _format_day(day: dt.date, format: str, locale: str) -> str:
    return dates.format_date(day, format, locale=locale)


def format_date(value: dt.date | dt.datetime, format: str = "medium") -> str:
    """`flask_babel.format_date` (a datetime is first moved to the user's time zone), with the
    formatting of each (day, format, locale) done once per process: Babel's date patterns are
    slow to apply and pages show the same few dates over and over."""
    if isinstance(value, dt.datetime):
        value = flask_babel.to_user_timezone(value).date()
    return _format_day(value, format, str(flask_babel.get_locale()))
