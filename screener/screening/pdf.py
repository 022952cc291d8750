"""PDF copies of the two summaries, made with WeasyPrint from the summaries' own templates.

A4 pages with the clinic's name and the client's name at the top of every page, the date sent
and the date printed at the bottom with "page X of Y". Text is laid out by Pango with the fonts
fontconfig finds: Debian's fonts-noto-cjk (installed by scripts/pdf-deps.sh with the serving
and the test dependencies), whose glyphs cover Latin and Chinese (each language's family:
languages.toml `pdf_font`, font_css); WeasyPrint embeds
the subset of glyphs a document uses. Nothing is fetched while rendering: the stylesheets are
read from the static folder, the clinic's logo and accent colour (screener/look.py) are in the
document as a data: URL and a stylesheet string, and the documents refer to nothing else.

WeasyPrint is imported on first use, so the rest of the product starts without it.
"""
from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

from flask import current_app, g
from flask_babel import gettext as _
from PIL import ImageFile

from ..i18n import format_date, request_lang
from ..languages import LANGS, Language
from ..look import pdf_accent_css
from ..storage.models import Submission, utcnow
from .render import reading_in, render_client_summary, render_practitioner_summary

PDF_MIMETYPE = "application/pdf"
STYLESHEETS = ("pdf.css",)
PAGE_MARK, PAGES_MARK = "\x01", "\x02"


class PdfUnavailable(RuntimeError):
    """WeasyPrint or the system libraries it needs (Pango) are missing on this server."""


def css_string(text: str) -> str:
    """A CSS string literal of `text` (quotes, backslashes and line breaks escaped)."""
    escaped = re.sub(r'[\\"\n\r\f]', lambda m: f"\\{ord(m.group(0)):x} ", text)
    return f'"{escaped}"'


def page_number_css() -> str:
    """The "page X of Y" margin box in the active language, as CSS counters."""
    line = _("Page %(page)s of %(pages)s", page=PAGE_MARK, pages=PAGES_MARK)
    parts: list[str] = []
    for piece in re.split(f"([{PAGE_MARK}{PAGES_MARK}])", line):
        if piece == PAGE_MARK:
            parts.append("counter(page)")
        elif piece == PAGES_MARK:
            parts.append("counter(pages)")
        elif piece:
            parts.append(css_string(piece))
    content = " ".join(parts)
    return f"@page{{@bottom-right{{content:{content}}}}}"


def font_css(lang: str) -> str:
    """Each language's font family (languages.toml `pdf_font`) for text marked in it (the
    document's `<html lang>`, a consent text signed in another language), and the reader's for
    the page margins. Pango picks a family's own glyph forms: Noto Sans CJK SC for Simplified
    Chinese, TC for Traditional."""

    def family(language: Language) -> str:
        return f'{css_string(language.pdf_font)},"WenQuanYi Micro Hei",sans-serif'

    rules = [f":lang({lang_.code}){{font-family:{family(lang_)}}}" for lang_ in LANGS.languages]
    margin = family(LANGS.get(lang) or LANGS.default)
    boxes = "".join(
        f"@{box}{{font-family:{margin}}}"
        for box in ("top-left", "top-right", "bottom-left", "bottom-right")
    )
    return "".join(rules) + f"@page{{{boxes}}}"


def pdf_head(submission: Submission, title: str, printed: dt.datetime) -> dict[str, Any]:
    """What the first lines of the document and every page's margins show."""
    return {
        "layout": "pdf/base.html",
        "pdf": {
            "title": title,
            "client": submission.full_name,
            "dates": _(
                "Sent on %(sent)s · Printed on %(printed)s",
                sent=format_date(submission.submitted_at, "long"),
                printed=format_date(printed, "long"),
            ),
        },
    }


def write_pdf(html: str) -> bytes:
    """The document of `html` (rendered in the reader's language) as PDF bytes."""
    try:
        from weasyprint import CSS, HTML
        from weasyprint.urls import URLFetcher
    except (ImportError, OSError) as exc:  # OSError: Pango or its kin not installed
        raise PdfUnavailable(str(exc)) from exc
    # Importing WeasyPrint tells Pillow, process-wide, to decode truncated images; the logo
    # upload (screener/look.py) must refuse them, and a document only embeds logos already
    # re-encoded whole. Pillow's default again.
    ImageFile.LOAD_TRUNCATED_IMAGES = False
    static = Path(current_app.static_folder or "")
    sheets = [CSS(filename=str(static / name)) for name in STYLESHEETS]
    sheets.append(CSS(string=page_number_css()))
    sheets.append(CSS(string=font_css(request_lang())))
    accent = pdf_accent_css()
    if accent:
        sheets.append(CSS(string=accent))
    # Data URLs only: a document never makes the server fetch anything.
    fetcher = URLFetcher(allowed_protocols=("data",))
    document = HTML(string=html, base_url=str(static), url_fetcher=fetcher)
    pdf: bytes = document.write_pdf(stylesheets=sheets)
    return pdf


def practitioner_pdf(
    submission: Submission, lang: str, printed: dt.datetime | None = None
) -> bytes:
    """The practitioner summary of a submission as PDF, in the reader's language."""
    printed = printed or utcnow()
    with reading_in(submission, lang):
        head = pdf_head(submission, _("Practitioner summary"), printed)
        html = render_practitioner_summary(submission, g.lang, **head)
        return write_pdf(html)


def client_pdf(submission: Submission, lang: str, printed: dt.datetime | None = None) -> bytes:
    """The client's copy of their summary as PDF, in `lang`."""
    printed = printed or utcnow()
    with reading_in(submission, lang):
        head = pdf_head(submission, _("Your consultation summary"), printed)
        html = render_client_summary(submission, g.lang, **head)
        return write_pdf(html)


def pdf_filename(kind: str, submission: Submission) -> str:
    """A file name without health data or names: the kind, the submission's number and day."""
    day = submission.submitted_at.astimezone(dt.UTC).date().isoformat()
    return f"{kind}-{submission.id}-{day}.pdf"
