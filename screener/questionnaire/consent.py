"""Signing the consent (questions.yaml `consent`): the typed name and the optional drawing.

Pure Python. A client signs by typing their full name, which must be the name they gave (the
`full_name` answer) whatever the case, spacing or character width. Where JavaScript and a
pointer are available they may also draw a signature (static/signature.js): vector data,
{"w": 600, "h": 200, "strokes": [[x0, y0, x1, y1, ...], ...]} with whole-number coordinates
inside the box, bounded in size, checked here before it is stored.
"""
from __future__ import annotations

import hashlib
import json
import unicodedata
from dataclasses import dataclass
from typing import Any

from .model import Consent

WIDTH, HEIGHT = 600, 200  # the drawing's coordinate box (the canvas is scaled to it)
MAX_STROKES = 60
MAX_POINTS = 2000  # in all strokes together
MAX_CHARS = 32_000  # the posted JSON text
NAME_MAX = 200


class DrawingError(ValueError):
    """A posted drawing that is not the vector data signature.js makes."""


def normal_name(name: str) -> str:
    """A name for comparison: NFKC (full-width letters as plain ones), case-folded, one space
    between words."""
    return " ".join(unicodedata.normalize("NFKC", name).casefold().split())


def same_name(typed: str, full_name: str) -> bool:
    """Whether the typed signature is the full name the client gave."""
    return bool(normal_name(typed)) and normal_name(typed) == normal_name(full_name)


def parse_drawing(raw: str | None) -> dict[str, Any] | None:
    """The drawing posted in the signature field: None for none (empty), else the checked
    data; DrawingError when it is anything else."""
    if raw is None or not raw.strip():
        return None
    if len(raw) > MAX_CHARS:
        raise DrawingError("too long")
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise DrawingError("not JSON") from exc
    if not isinstance(data, dict) or set(data) != {"w", "h", "strokes"}:
        raise DrawingError("not a drawing")
    if [data["w"], data["h"]] != [WIDTH, HEIGHT] or {type(data["w"]), type(data["h"])} != {int}:
        raise DrawingError("wrong box")
    strokes = data["strokes"]
    if not isinstance(strokes, list) or not 1 <= len(strokes) <= MAX_STROKES:
        raise DrawingError("wrong number of strokes")
    points = 0
    for stroke in strokes:
        if not isinstance(stroke, list) or len(stroke) < 2 or len(stroke) % 2:
            raise DrawingError("a stroke is not a list of points")
        for i, value in enumerate(stroke):
            limit = WIDTH if i % 2 == 0 else HEIGHT
            if type(value) is not int or not 0 <= value <= limit:
                raise DrawingError("a point is outside the box")
        points += len(stroke) // 2
    if points > MAX_POINTS:
        raise DrawingError("too many points")
    return {"w": WIDTH, "h": HEIGHT, "strokes": strokes}


def svg_path(drawing: dict[str, Any]) -> str:
    """The drawing as an SVG path's `d` (numbers only: safe in any markup)."""
    parts = []
    for stroke in drawing.get("strokes", ()):
        points = [f"{int(stroke[i])} {int(stroke[i + 1])}" for i in range(0, len(stroke) - 1, 2)]
        if len(points) == 1:  # a dot
            points.append(points[0])
        parts.append("M" + " L".join(points))
    return " ".join(parts)


def svg_document(drawing: dict[str, Any]) -> str:
    """The drawing as a standalone SVG file (the FHIR signature's data)."""
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}">'
        f'<path d="{svg_path(drawing)}" fill="none" stroke="#000" stroke-width="3"'
        ' stroke-linecap="round" stroke-linejoin="round"/></svg>'
    )


@dataclass(frozen=True)
class ConsentWords:
    """A consent text in one language as a client reads and signs it: the questionnaire's
    (`paragraphs`), or a clinic's own text in place of its paragraphs (`body`, plain text:
    screener/plaintext.py) between the questionnaire's title and declaration.

    Its version is the same as the questionnaire's (Consent.version): the first 12 hex digits
    of the SHA-256 of the whole text, a blank line between its parts. A clinic's own text's
    version is 32 hex digits of the SHA-256 of its clinic's id and the whole text: it names
    what that clinic's clients signed, which nobody can make another text (or another clinic's
    text) take the place of.
    """

    lang: str
    title: str
    declaration: str
    paragraphs: tuple[str, ...] = ()
    body: str | None = None  # a clinic's own text
    clinic_id: int | None = None  # whose own text it is

    @classmethod
    def of(cls, consent: Consent, lang: str) -> ConsentWords:
        """The questionnaire's own consent text in `lang`."""
        return cls(
            lang=lang,
            title=consent.title.get(lang),
            declaration=consent.declaration.get(lang),
            paragraphs=tuple(p.get(lang) for p in consent.paragraphs),
        )

    @property
    def own(self) -> bool:
        """Whether this is a clinic's own text (stored when signed: screener/clinic_texts.py)."""
        return self.body is not None

    @property
    def text(self) -> str:
        middle = [self.body] if self.body is not None else list(self.paragraphs)
        return "\n\n".join([self.title, *middle, self.declaration])

    @property
    def version(self) -> str:
        if self.body is None:
            return hashlib.sha256(self.text.encode("utf-8")).hexdigest()[:12]
        owned = f"clinic {self.clinic_id}\n\n{self.text}"
        return hashlib.sha256(owned.encode("utf-8")).hexdigest()[:32]
