"""Interface languages: the codes used in URLs, drafts and `<html lang>`, and locale choice."""
from __future__ import annotations

import datetime as dt
import functools
import zoneinfo
from typing import Any

import flask_babel
from babel import Locale, dates
from flask import g, has_request_context, request

from .languages import DEFAULT_LANG as DEFAULT_LANG
from .languages import LANGS
from .questionnaire.model import LANGUAGES

# Each language's Babel locale (its catalog's folder: screener/translations/<locale>).
BABEL_LOCALE = {lang.code: lang.locale for lang in LANGS.languages}
# Each language in its own words: the language switch.
LANGUAGE_NAMES = {lang.code: lang.name for lang in LANGS.languages}


def language_name(code: str) -> str:
    """A language's name in the interface language ("answered in Traditional Chinese" /
    以英文填寫): CLDR's name (Babel's data), else its own name, else the code itself."""
    lang = LANGS.get(code)
    if lang is None:
        return code
    reader = flask_babel.get_locale() or _BABEL_LOCALES[DEFAULT_LANG]
    try:
        key = str(Locale.parse(lang.locale))
    except (ValueError, LookupError):
        return lang.name
    return str(reader.languages.get(key) or reader.languages.get(key.split("_")[0]) or lang.name)


def normalise_lang(value: str | None) -> str | None:
    """The interface language a language tag chooses ('zh-hant', 'zh_Hant', 'zh-TW' ->
    'zh-Hant'; 'zh-CN', 'zh-Hans-SG', 'zh' -> 'zh-Hans'; 'en-GB' -> 'en'), or None: the
    `negotiate` ranges of screener/languages.toml."""
    return LANGS.match(value)


def offered_langs() -> tuple[str, ...]:
    """The languages this request may be in: on a clinic's client pages the clinic's
    (g.offered_langs, set by the wizard), elsewhere every language."""
    offered = g.get("offered_langs") if has_request_context() else None
    return tuple(offered) if offered else LANGUAGES


def offered_language_names() -> dict[str, str]:
    """The language switch's choices: each offered language named in itself."""
    return {code: LANGUAGE_NAMES.get(code, code) for code in offered_langs()}


def request_lang() -> str:
    """The language of this request: set by a view (draft), else Accept-Language, else the
    default (a clinic's on its client pages, g.default_lang); always one of offered_langs()."""
    offered = offered_langs()
    lang = g.get("lang")
    if lang in offered:
        return str(lang)
    # Accept-Language's tags by falling quality (werkzeug leaves out q=0): the first that
    # chooses one of the offered languages.
    for tag, _quality in request.accept_languages:
        chosen = normalise_lang(tag)
        if chosen is not None and chosen in offered:
            return chosen
    fallback = g.get("default_lang") or DEFAULT_LANG
    return fallback if fallback in offered else offered[0]


# Parsed once: Flask-Babel takes a Locale as it is, where it would parse a name on every request.
_BABEL_LOCALES = {lang: Locale.parse(name) for lang, name in BABEL_LOCALE.items()}


def locale_selector() -> Locale:
    return _BABEL_LOCALES[request_lang()]


def format_date(value: dt.date | dt.datetime | None, format: str = "medium") -> str:
    """A date in the interface's language (a datetime: its day in the clinic's time zone)."""
    if isinstance(value, dt.datetime):
        value = _aware(value).astimezone(request_zone()).date()
    return str(flask_babel.format_date(value, format))


# Time zones ---------------------------------------------------------------------------------

DEFAULT_ZONE = "UTC"


@functools.cache
def _zone_names() -> dict[str, str]:
    """Every IANA zone name this machine knows (the tzdata package, else the system's), by its
    lower-cased form."""
    return {name.lower(): name for name in zoneinfo.available_timezones()}


def valid_timezone(name: str | None) -> str | None:
    """The IANA name of a zone as typed (any letter case: 'asia/hong_kong'), or None."""
    if not name:
        return None
    return _zone_names().get(name.strip().lower())


def zone(name: str | None) -> zoneinfo.ZoneInfo:
    """The zone of a stored name (UTC for a name this machine does not know)."""
    return zoneinfo.ZoneInfo(valid_timezone(name) or DEFAULT_ZONE)


def request_zone() -> zoneinfo.ZoneInfo:
    """The time zone of this request: its clinic's (dashboard and client pages), else UTC."""
    clinic: Any = g.get("clinic") if has_request_context() else None
    return zone(clinic.timezone if clinic is not None else None)


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


def _locale() -> Locale:
    return flask_babel.get_locale() or _BABEL_LOCALES[DEFAULT_LANG]


def format_time(value: dt.datetime | None) -> str:
    """A moment as the dashboard shows every time: date and hour in the clinic's time zone,
    one format per language (Babel's data: "Mar 29, 2026, 1:30 AM", "2026年3月29日 上午1:30")."""
    if value is None:
        return ""
    return moment_text(value, request_zone(), _locale())


def moment_text(value: dt.datetime, tz: dt.tzinfo, locale: Locale | str) -> str:
    """format_time for a given zone and locale (outside a request: emails, the command line)."""
    if not isinstance(locale, Locale):
        locale = _BABEL_LOCALES.get(locale) or Locale.parse(locale)
    day = dates.format_skeleton("yMMMd", _aware(value), tzinfo=tz, locale=locale)
    hour = dates.format_time(_aware(value), "short", tzinfo=tz, locale=locale)
    return str(locale.datetime_formats["medium"]).format(hour, day)


def format_hour(value: dt.datetime) -> str:
    """Only the hour of a moment, in the clinic's time zone ("9:30 AM", "上午9:30")."""
    return str(dates.format_time(_aware(value), "short", tzinfo=request_zone(), locale=_locale()))


def format_day(day: dt.date) -> str:
    """A day with its weekday, as the appointments list heads its days ("Sun, March 29, 2026")."""
    return str(dates.format_skeleton("yMMMMEEEEd", day, locale=_locale()))


def zone_label(name: str | None = None) -> str:
    """A zone named for people: "Hong Kong Time (Asia/Hong_Kong)"; "UTC" for UTC."""
    tz = zone(name) if name is not None else request_zone()
    key = str(tz.key)
    if key in ("UTC", "Etc/UTC", "Etc/GMT") or not key.count("/"):
        return key
    return f"{dates.get_timezone_name(tz, 'long', locale=_locale())} ({key})"
