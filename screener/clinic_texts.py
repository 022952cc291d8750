"""A clinic's languages and its own texts, as its client pages show them.

A clinic offers some of the product's languages (questionnaire.model.LANGUAGES, at least one)
and names one of them its default: the language of a client whose own is not offered (their
browser's, or a draft's started in a language the clinic offered then). None stored: every
language, the product's default first.

Its own texts are plain text by language (Clinic.texts): the start page's introduction, what
happens next (the summary and its PDF copy), a consent text in place of the questionnaire's, and
the postal address; the phone and the email are the clinic's, one for all languages. A text
missing in the reader's language is the clinic default language's (marked with its `lang`), else
the product's own (the questionnaire's consent, the summary's default words, no intro).

A clinic's own consent text reads between the questionnaire's title and declaration in its
language, and its version is the hash of that whole text, as the questionnaire's is
(questionnaire/consent.py, ConsentWords). When a client signs it, the text is stored under its
version in `consent_text` (in the submission's transaction, never changed afterwards), so the
words agreed to are known however the clinic edits its text later.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from .i18n import DEFAULT_LANG
from .languages import LANGS
from .plaintext import render
from .questionnaire.consent import ConsentWords
from .questionnaire.model import LANGUAGES, Questionnaire
from .storage.models import Clinic, ConsentText, utcnow

FIELDS = ("intro", "next_steps", "consent", "address")
# The longest text of each field, in characters (a consent text is the longest by far).
LIMITS = {"intro": 2000, "next_steps": 2000, "consent": 10000, "address": 300}


def offered(clinic: Clinic) -> tuple[str, ...]:
    """The languages the clinic's client pages offer, in the product's order."""
    chosen = clinic.languages or ()
    return tuple(lang for lang in LANGUAGES if lang in chosen) or LANGUAGES


def default_lang(clinic: Clinic) -> str:
    """The clinic's default language (one it offers)."""
    langs = offered(clinic)
    if clinic.default_lang in langs:
        return str(clinic.default_lang)
    return DEFAULT_LANG if DEFAULT_LANG in langs else langs[0]


def client_lang(clinic: Clinic, wanted: str | None) -> str:
    """`wanted` when the clinic offers it, else the clinic's default."""
    return wanted if wanted is not None and wanted in offered(clinic) else default_lang(clinic)


@dataclass(frozen=True)
class Shown:
    """One of the clinic's texts as a page shows it: the text and its language."""

    text: str
    lang: str

    @property
    def html(self) -> Markup:
        return render(self.text)


def own_text(clinic: Clinic, field: str, lang: str) -> str:
    """The clinic's text as stored for one language ("" for none)."""
    value = ((clinic.texts or {}).get(lang) or {}).get(field)
    return value if isinstance(value, str) else ""


def text_of(clinic: Clinic, field: str, lang: str) -> Shown | None:
    """The clinic's text for a reader of `lang`: in `lang`, else in its fallback languages
    (screener/languages.toml: zh-Hans reads zh-Hant before another script), else in the
    clinic's default language, else None (the product's own)."""
    chain = [c for c in LANGS.fallbacks(lang) if c == lang or c != DEFAULT_LANG]
    for candidate in dict.fromkeys((*chain, default_lang(clinic))):
        value = own_text(clinic, field, candidate)
        if value.strip():
            return Shown(value, candidate)
    return None


@dataclass(frozen=True)
class ClinicPage:
    """What the client pages show of the clinic in one language."""

    intro: Shown | None
    next_steps: Shown | None
    address: Shown | None
    phone: str | None
    email: str | None

    @property
    def has_contact(self) -> bool:
        return bool(self.address or self.phone or self.email)


def page_texts(clinic: Clinic, lang: str) -> ClinicPage:
    return ClinicPage(
        intro=text_of(clinic, "intro", lang),
        next_steps=text_of(clinic, "next_steps", lang),
        address=text_of(clinic, "address", lang),
        phone=clinic.contact_phone or None,
        email=clinic.contact_email or None,
    )


def texts_with(clinic: Clinic, texts: dict[str, Any]) -> Clinic:
    """A detached copy of the clinic with other languages and texts (the dashboard's
    preview), never added to a session."""
    return Clinic(
        slug=clinic.slug, name=clinic.name, contact_email=clinic.contact_email,
        contact_phone=clinic.contact_phone, languages=texts.get("languages"),
        default_lang=texts.get("default_lang"), texts=texts.get("texts"),
    )


# Consent ---------------------------------------------------------------------------------------


def consent_words(clinic: Clinic, qn: Questionnaire, lang: str) -> ConsentWords | None:
    """The consent a client of `lang` signs: the clinic's own text (in `lang` or its default
    language) between the questionnaire's title and declaration, else the questionnaire's;
    None when the questionnaire has no consent (clients send without signing)."""
    consent = qn.consent
    if consent is None:
        return None
    own = text_of(clinic, "consent", lang)
    if own is None:
        return ConsentWords.of(consent, lang)
    return ConsentWords(
        lang=own.lang,
        title=consent.title.get(own.lang),
        declaration=consent.declaration.get(own.lang),
        body=own.text,
        clinic_id=clinic.id,
    )


def signable(clinic: Clinic, qn: Questionnaire, version: str) -> ConsentWords | None:
    """The consent text of `version` as shown now in one of the languages (the page may have
    been opened in another), or None when no text shown now has that version."""
    for lang in LANGUAGES:
        words = consent_words(clinic, qn, lang)
        if words is not None and words.version == version:
            return words
    return None


def record_consent(session: Session, words: ConsentWords) -> None:
    """Keep a clinic's own consent text under its version, unless it is kept already (in the
    caller's transaction: the submission's). The questionnaire's own text is kept with its
    version (storage/versions.py)."""
    if not words.own:
        return
    stored = session.scalar(select(ConsentText.version).where(ConsentText.version == words.version))
    if stored is not None:
        return
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    session.execute(
        insert(ConsentText)
        .values(
            version=words.version, lang=words.lang, title=words.title, body=words.body or "",
            declaration=words.declaration, created_at=utcnow(),
        )
        .on_conflict_do_nothing(index_elements=["version"])
    )


def stored_consent(session: Session, version: str) -> ConsentWords | None:
    """A clinic's own consent text a client signed, by its version (None: not one)."""
    row = session.get(ConsentText, version)
    if row is None:
        return None
    return ConsentWords(
        lang=row.lang, title=row.title, declaration=row.declaration, body=row.body
    )
