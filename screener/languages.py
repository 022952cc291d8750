"""The interface languages, as data: screener/languages.toml (or the file SCREENER_LANGUAGES
names), read once at import. Pure Python: the questionnaire's model, the web app and the
command line all read the same list.

A language file may also name folders of message catalogs of its own (`translations`, relative
to the file), for a language whose catalog is not in the package.
"""
from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PACKAGED = Path(__file__).parent / "languages.toml"
_KEYS = {"code", "locale", "name", "negotiate", "fallback", "pdf_font"}


class LanguageFileError(ValueError):
    """A languages file that is not a valid list of languages."""


@dataclass(frozen=True)
class Language:
    code: str  # BCP 47: "zh-Hans"
    locale: str  # Babel: "zh_Hans"
    name: str  # in its own words: "简体中文"
    negotiate: tuple[str, ...]  # language ranges that choose it, lower case: ("zh-hans", ...)
    fallback: str | None
    pdf_font: str


@dataclass(frozen=True)
class Languages:
    languages: tuple[Language, ...]
    translation_dirs: tuple[Path, ...] = ()

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(lang.code for lang in self.languages)

    @property
    def default(self) -> Language:
        return self.languages[0]

    def get(self, code: str) -> Language | None:
        return next((lang for lang in self.languages if lang.code == code), None)

    def fallbacks(self, code: str) -> tuple[str, ...]:
        """`code`, then its fallback, that one's, ..., then the default language (each once)."""
        chain: list[str] = []
        lang = self.get(code)
        while lang is not None and lang.code not in chain:
            chain.append(lang.code)
            lang = self.get(lang.fallback) if lang.fallback else None
        if self.default.code not in chain:
            chain.append(self.default.code)
        return tuple(chain)

    def match(self, tag: str | None) -> str | None:
        """The language a tag chooses ('zh-hant', 'zh_Hant', 'zh-TW', 'zh-Hans-SG', 'en-GB'),
        or None: the language with the longest range that is the tag or a prefix of it."""
        if not tag:
            return None
        t = tag.strip().replace("_", "-").lower()
        best: tuple[int, str] | None = None
        for lang in self.languages:
            for r in lang.negotiate:
                if (t == r or t.startswith(r + "-")) and (best is None or len(r) > best[0]):
                    best = (len(r), lang.code)
        return best[1] if best else None


def parse(data: dict[str, Any], base: Path) -> Languages:
    entries = data.get("language")
    if not isinstance(entries, list) or not entries:
        raise LanguageFileError("needs at least one [[language]]")
    langs: list[Language] = []
    for i, e in enumerate(entries):
        where = f"language[{i}]"
        if not isinstance(e, dict):
            raise LanguageFileError(f"{where}: not a table")
        unknown = set(e) - _KEYS
        missing = {"code", "locale", "name", "negotiate", "pdf_font"} - set(e)
        if unknown or missing:
            raise LanguageFileError(
                f"{where}: unknown keys {sorted(unknown)}, missing keys {sorted(missing)}"
            )
        negotiate = e["negotiate"]
        if not isinstance(negotiate, list) or not all(isinstance(r, str) for r in negotiate):
            raise LanguageFileError(f"{where}.negotiate: a list of language ranges")
        langs.append(Language(
            code=str(e["code"]), locale=str(e["locale"]), name=str(e["name"]),
            negotiate=tuple(r.replace("_", "-").lower() for r in negotiate),
            fallback=str(e["fallback"]) if e.get("fallback") else None,
            pdf_font=str(e["pdf_font"]),
        ))
    codes = [lang.code for lang in langs]
    if len(set(codes)) != len(codes):
        raise LanguageFileError("a language code is listed twice")
    for lang in langs:
        if lang.fallback is not None and lang.fallback not in codes:
            raise LanguageFileError(f"{lang.code}: fallback {lang.fallback} is not listed")
    dirs = data.get("translations", [])
    if not isinstance(dirs, list):
        raise LanguageFileError("translations: a list of folders")
    return Languages(tuple(langs), tuple(base / str(d) for d in dirs))


def load(path: str | Path) -> Languages:
    path = Path(path)
    try:
        with path.open("rb") as f:
            data = tomllib.load(f)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise LanguageFileError(f"{path}: {exc}") from exc
    try:
        return parse(data, path.parent)
    except LanguageFileError as exc:
        raise LanguageFileError(f"{path}: {exc}") from exc


def _configured() -> Languages:
    return load(os.environ.get("SCREENER_LANGUAGES") or PACKAGED)


LANGS = _configured()
# The codes, in order (the language switch's); the first is the default.
LANGUAGES: tuple[str, ...] = LANGS.codes
DEFAULT_LANG = LANGS.default.code

