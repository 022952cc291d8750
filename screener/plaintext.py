"""Plain text typed by a clinic admin, as HTML: nothing in it can add markup or script.

Every character is escaped; the only elements made are `<p>` (a blank line starts a paragraph),
`<br>` (a line break) and `<a>` for what reads as a web address (http:// or https:// only), an
email address (mailto:) or a phone number (tel:). A web address opens in a new tab, with
rel="noopener noreferrer", and says so to screen readers; any other scheme (javascript:, data:)
stays text. Pure Python but for the one translated phrase (needs Flask-Babel's context).
"""
from __future__ import annotations

import re
from urllib.parse import urlsplit

from flask_babel import gettext as _
from markupsafe import Markup, escape

CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\u2028\u2029]")  # but tab and line feed
PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n\s*")
TOKEN = re.compile(
    r"(?P<url>\bhttps?://[^\s<>\"'`]+)"
    # Parts bounded (an address's local part has at most 64 characters, a domain label 63): a
    # long run of letters costs linear time, not quadratic.
    r"|(?P<email>(?:\bmailto:)?[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63})*"
    r"\.[A-Za-z]{2,63})"
    r"|(?P<phone>(?<![\w+])\+?\d[\d ().-]{5,22}\d(?![\w]))",
    re.IGNORECASE,
)
TRAILING = ".,;:!?'\""  # punctuation after an address ends the sentence, not the address
DATE_LIKE = re.compile(r"\d{4}[-./]\d{1,2}[-./]\d{1,2}|\d{1,2}[-./]\d{1,2}[-./]\d{2,4}")
PHONE_DIGITS = (7, 15)  # a number with fewer or more digits is not taken for a phone number


def clean(text: str) -> str:
    """Text as stored: line feeds for every line break, tabs as spaces, no other control
    characters, no spaces at line ends, none before or after."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", " ")
    text = CONTROL.sub("", text)
    return "\n".join(line.rstrip() for line in text.split("\n")).strip()


def render(text: str | None) -> Markup:
    """The HTML of a clinic's plain text (empty for none)."""
    if not text:
        return Markup("")
    paragraphs = [p for p in PARAGRAPH_BREAK.split(clean(text)) if p.strip()]
    return Markup("").join(
        Markup("<p>{}</p>").format(Markup("<br>\n").join(_line(line) for line in p.split("\n")))
        for p in paragraphs
    )


def _line(line: str) -> Markup:
    out: list[Markup] = []
    at = 0
    for match in TOKEN.finditer(line):
        link = _link(match)
        if link is None:
            continue
        html, end = link
        out.append(escape(line[at:match.start()]))
        out.append(html)
        at = end
    out.append(escape(line[at:]))
    return Markup("").join(out)


def _link(match: re.Match[str]) -> tuple[Markup, int] | None:
    """A link for a match and where its text ends, or None when it is not one."""
    text, end = match.group(0), match.end()
    if match.group("url"):
        stripped = _strip_trailing(text)
        end -= len(text) - len(stripped)
        return _web_link(stripped), end
    if match.group("email"):
        address = text[len("mailto:"):] if text.lower().startswith("mailto:") else text
        return Markup('<a href="mailto:{}">{}</a>').format(address, address), end
    digits = re.sub(r"\D", "", text)
    if DATE_LIKE.fullmatch(text) or not PHONE_DIGITS[0] <= len(digits) <= PHONE_DIGITS[1]:
        return None
    number = ("+" if text.startswith("+") else "") + digits
    return Markup('<a href="tel:{}">{}</a>').format(number, text), end


def _strip_trailing(url: str) -> str:
    while url and (url[-1] in TRAILING or (url[-1] == ")" and url.count("(") < url.count(")"))):
        url = url[:-1]
    return url


def _web_link(url: str) -> Markup:
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:  # a malformed address ("http://[")
        return escape(url)
    if parts.scheme.lower() not in ("http", "https") or not host:
        return escape(url)
    return Markup(
        '<a href="{}" class="external-link" rel="noopener noreferrer" target="_blank">{}'
        '<span class="visually-hidden"> ({})</span></a>'
    ).format(url, url, _("opens in a new tab"))
