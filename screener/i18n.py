"""Interface languages: the codes used in URLs, drafts and `<html lang>`, and locale choice."""
from __future__ import annotations

from flask import g, request

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
