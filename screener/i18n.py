"""Interface languages: the codes used in URLs, drafts and `<html lang>`, and locale choice."""
from __future__ import annotations

import datetime as dt

import flask_babel
from babel import Locale
from flask import g, request
from flask_babel import lazy_gettext as _l

from .questionnaire.model import LANGUAGES

DEFAULT_LANG = "en"
BABEL_LOCALE = {"en": "en", "zh-Hant": "zh_Hant"}
# Each language in its own words: the language switch.
LANGUAGE_NAMES = {"en": "English", "zh-Hant": "繁體中文"}
# Each language in the reader's words: "answered in English" / 以英文填寫.
_LANGUAGE_NAMES_TRANSLATED = {"en": _l("English"), "zh-Hant": _l("Traditional Chinese")}


def language_name(code: str) -> str:
    """A language's name in the interface language (the code itself if unknown)."""
    name = _LANGUAGE_NAMES_TRANSLATED.get(code)
    return str(name) if name is not None else code


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
    """The language of this request: set by a view (draft), else Accept-Language, else English."""
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


def format_date(value: dt.date | dt.datetime | None, format: str = "medium") -> str:
    """A date in the interface's language (a datetime: its day in the user's time zone)."""
    if isinstance(value, dt.datetime):
        value = flask_babel.to_user_timezone(value).date()
    return str(flask_babel.format_date(value, format))
