"""Interface languages: the codes used in URLs, drafts and `<html lang>`, and locale choice."""
from __future__ import annotations

import datetime as dt
from functools import cache, lru_cache
from typing import Any

import flask_babel
from babel import Locale, dates
from flask import Flask, g, request

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


# Parsed once: Flask-Babel takes a Locale as it is, where it would parse a name on every request.
_BABEL_LOCALES = {lang: Locale.parse(name) for lang, name in BABEL_LOCALE.items()}


def locale_selector() -> Locale:
    return _BABEL_LOCALES[request_lang()]


def install_template_gettext(app: Flask) -> None:
    """Jinja's `_()` and friends, in Flask-Babel's locale of the moment (its locale selector,
    or `force_locale`), as Python-side `gettext` is.

    Flask-Babel's own template callables look its translations up through several context
    lookups on every call (a step page makes about twenty); here the translations it returns
    for a locale are kept per process and found by the locale's name.
    """
    catalogs: dict[str, Any] = {}

    def translations() -> Any:
        locale = flask_babel.get_locale()
        name = locale_name(locale) if locale is not None else ""
        catalog = catalogs.get(name)
        if catalog is None:
            catalog = flask_babel.get_translations()
            if locale is not None:  # outside a request Flask-Babel has no locale: not kept
                catalogs[name] = catalog
        return catalog

    app.jinja_env.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=lambda s: translations().ugettext(s),
        ngettext=lambda s, p, n: translations().ungettext(s, p, n),
        newstyle=True,
        pgettext=lambda c, s: translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: translations().unpgettext(c, s, p, n),
    )


def ui_locale() -> str:
    """The name of the locale interface text is in now (part of cache keys for markup)."""
    return locale_name(flask_babel.get_locale())


@cache
def locale_name(locale: Locale) -> str:
    """str(locale), kept: Babel builds the name anew on every call, a few times a page."""
    return str(locale)


@lru_cache(maxsize=4096)
def _format_day(day: dt.date, format: str, locale: str) -> str:
    return dates.format_date(day, format, locale=locale)


def format_date(value: dt.date | dt.datetime | None, format: str = "medium") -> str:
    """`flask_babel.format_date` (a datetime is first moved to the user's time zone), with the
    formatting of each (day, format, locale) done once per process: Babel's date patterns are
    slow to apply and pages show the same few dates over and over."""
    if value is None:  # today: not for keeping
        return str(flask_babel.format_date(None, format))
    if isinstance(value, dt.datetime):
        value = flask_babel.to_user_timezone(value).date()
    return _format_day(value, format, ui_locale())
