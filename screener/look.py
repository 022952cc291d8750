"""A clinic's look: its logo and accent colour on the client pages, embedded or not, and in PDFs.

The logo: a PNG or JPEG file of at most LOGO_MAX_BYTES, accepted only when Pillow decodes it as
one of those two formats (never by its name or the browser's content type), with its size
checked from the header before any pixel is decoded. Pillow re-encodes what it decoded, without
any metadata, scaled down to fit LOGO_BOX: the uploaded bytes are never stored nor served. The
result is served from this site under its content hash, cached for a year; a replaced or removed
logo's address answers 404.

The accent colour replaces the product's own colour (screener.css's --accent) through a small
stylesheet served under the hash of its text, linked only by the pages of a clinic that has one
(the CSP allows no inline styles). White text is put on it (header, buttons) and it is used as a
text colour on white (secondary buttons), so it is refused unless white on it reaches WCAG AA's
4.5:1 contrast ratio.
"""
from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import math
import re
import warnings
from dataclasses import dataclass
from typing import IO, Any

from flask import Blueprint, Response, abort, g, request, url_for
from flask_babel import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, undefer

from .assets import YEAR
from .extensions import db
from .storage.models import ClinicLook, valid_slug
from .wizard.drafts import find_clinic

LOGO_MAX_BYTES = 200 * 1024
# The largest image decoded at all: the header says the size before any pixel is read, so a
# small file claiming a huge image (a decompression bomb) is refused without decoding it.
LOGO_MAX_SOURCE_SIDE = 5000
LOGO_MAX_SOURCE_PIXELS = 12_000_000
LOGO_BOX = (480, 160)  # stored at most this large (twice the largest size a page shows)
LOGO_TYPES = {"PNG": "image/png", "JPEG": "image/jpeg"}
# What Pillow may call a file it opened with the two formats above: a JPEG with more images in
# it (a camera's MPO) is a JPEG, of which the first image is kept.
DECODED_TYPES = {**LOGO_TYPES, "MPO": "image/jpeg"}
EXTENSIONS = {"image/png": "png", "image/jpeg": "jpg"}
HASH_CHARS = 16  # of the content hash in a logo's address

AA_RATIO = 4.5  # WCAG 2 AA, normal text
TEXT_ON_ACCENT = "#ffffff"  # what screener.css puts on the accent; also the page background
DEFAULT_ACCENT = "#1d4f4a"  # screener.css's own
CLIENT_BLUEPRINTS = ("client", "embed")  # the wizard's two mounts (screener/__init__.py)
HEX_RE = re.compile(r"#?([0-9a-fA-F]{6}|[0-9a-fA-F]{3})")

bp = Blueprint("look", __name__)


# Contrast (WCAG 2) -------------------------------------------------------------------------------


def parse_hex(text: str) -> str | None:
    """'#1D4F4A', '1d4f4a' or '#1df' -> '#1d4f4a' (lower case, six digits); None otherwise."""
    m = HEX_RE.fullmatch(text.strip())
    if m is None:
        return None
    digits = m.group(1).lower()
    if len(digits) == 3:
        digits = "".join(c * 2 for c in digits)
    return f"#{digits}"


def relative_luminance(colour: str) -> float:
    """WCAG 2's relative luminance of an sRGB colour '#rrggbb' (0 black to 1 white)."""
    def linear(channel: int) -> float:
        c = channel / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, gr, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * linear(r) + 0.7152 * linear(gr) + 0.0722 * linear(b)


def contrast_ratio(first: str, second: str) -> float:
    """WCAG 2's contrast ratio of two colours, 1 to 21, whichever is lighter."""
    a, b = relative_luminance(first), relative_luminance(second)
    return (max(a, b) + 0.05) / (min(a, b) + 0.05)


def ratio_text(ratio: float, limit: float = AA_RATIO) -> str:
    """A ratio as people see it in contrast checkers, to 2 decimals; one under `limit` is never
    shown as reaching it (4.499 is "4.49", not "4.50")."""
    shown = round(ratio, 2)
    if ratio < limit <= shown:
        shown = math.floor(limit * 100 - 1) / 100
    return f"{shown:.2f}"


def accent_problem(colour: str) -> str | None:
    """Why a colour '#rrggbb' cannot be the accent, in words; None when it can."""
    ratio = contrast_ratio(TEXT_ON_ACCENT, colour)
    if ratio >= AA_RATIO:
        return None
    return str(_(
        "White text on this colour has a contrast ratio of %(ratio)s:1; at least %(needed)s:1 is"
        " needed so that everyone can read it (WCAG AA). Choose a darker colour.",
        ratio=ratio_text(ratio), needed="4.5",
    ))


def accent_css(colour: str) -> str:
    """The stylesheet that gives a clinic's pages its accent colour."""
    return f":root{{--accent:{colour}}}\n"


def css_hash(colour: str) -> str:
    return hashlib.sha256(accent_css(colour).encode()).hexdigest()[:HASH_CHARS]


# The logo ----------------------------------------------------------------------------------------


class LogoRefused(ValueError):
    """An uploaded file that cannot be a logo; str() is the message for the form's field."""


@dataclass(frozen=True)
class Logo:
    data: bytes
    mimetype: str
    width: int
    height: int

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


def read_upload(stream: IO[bytes]) -> bytes:
    """An upload's bytes, refused without reading on when over LOGO_MAX_BYTES."""
    data = stream.read(LOGO_MAX_BYTES + 1)
    if not data:
        raise LogoRefused(_("Choose a PNG or JPEG file for the logo."))
    if len(data) > LOGO_MAX_BYTES:
        raise LogoRefused(too_big_message())
    return data


def too_big_message() -> str:
    return str(_(
        "This file is larger than %(size)s KB, the most a logo can be. Save a smaller PNG or"
        " JPEG (a logo needs at most %(width)s by %(height)s pixels) and try again.",
        size=LOGO_MAX_BYTES // 1024, width=LOGO_BOX[0], height=LOGO_BOX[1],
    ))


def _not_an_image() -> LogoRefused:
    return LogoRefused(
        _("This file is not a PNG or JPEG image. Save the logo as PNG or JPEG and try again.")
    )


def process_logo(data: bytes) -> Logo:
    """The logo to store for uploaded bytes: decoded by Pillow as PNG or JPEG, checked, scaled
    down to fit LOGO_BOX and re-encoded without metadata; LogoRefused when it cannot be one."""
    if len(data) > LOGO_MAX_BYTES:
        raise LogoRefused(too_big_message())
    with warnings.catch_warnings():
        # Pillow warns of, and over twice its limit refuses, images of too many pixels: both
        # are a refusal here, and the explicit limits below are stricter anyway.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            source = Image.open(io.BytesIO(data), formats=list(LOGO_TYPES))
        except (UnidentifiedImageError, Image.DecompressionBombWarning,
                Image.DecompressionBombError, OSError, ValueError, SyntaxError) as exc:
            if isinstance(exc, Image.DecompressionBombWarning | Image.DecompressionBombError):
                raise _too_large_image() from exc
            raise _not_an_image() from exc
        with source:
            width, height = source.size
            if (
                width < 1 or height < 1 or max(width, height) > LOGO_MAX_SOURCE_SIDE
                or width * height > LOGO_MAX_SOURCE_PIXELS
            ):
                raise _too_large_image(width, height)
            mimetype = DECODED_TYPES.get(str(source.format))
            if mimetype is None:
                raise _not_an_image()
            try:
                source.seek(0)  # an animated PNG: its first frame
                source.load()
                image = ImageOps.exif_transpose(source) if mimetype == "image/jpeg" else source
                image = _plain_mode(image)
            except (OSError, ValueError, SyntaxError, Image.DecompressionBombWarning) as exc:
                raise LogoRefused(
                    _("This image is damaged or incomplete and cannot be read. Save it again"
                      " as PNG or JPEG and try again.")
                ) from exc
    image.thumbnail(LOGO_BOX, Image.Resampling.LANCZOS)
    # A new image of the decoded pixels only: no EXIF, ICC profile, text chunks or comments.
    clean = Image.frombytes(image.mode, image.size, image.tobytes())
    out = io.BytesIO()
    if mimetype == "image/png":
        clean.save(out, format="PNG", optimize=True)
    else:
        clean.save(out, format="JPEG", quality=88, optimize=True, progressive=True)
    return Logo(out.getvalue(), mimetype, clean.width, clean.height)


def _too_large_image(width: int | None = None, height: int | None = None) -> LogoRefused:
    if width is None or height is None:
        return LogoRefused(
            _("This image has too many pixels to be a logo. Save it at most %(side)s pixels"
              " wide and high and try again.", side=LOGO_MAX_SOURCE_SIDE)
        )
    return LogoRefused(
        _("This image is %(width)s by %(height)s pixels; a logo can be at most %(side)s pixels"
          " wide and high. Save it smaller and try again.",
          width=width, height=height, side=LOGO_MAX_SOURCE_SIDE)
    )


def _plain_mode(image: Image.Image) -> Image.Image:
    """RGB, or RGBA when the image has any transparency (a palette's included)."""
    has_alpha = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
    if image.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        # 16-bit and float greyscale: scaled to 8 bits before RGB.
        image = image.point(lambda v: v / 256).convert("L")
    return image.convert("RGBA" if has_alpha else "RGB")


# Reading and serving -----------------------------------------------------------------------------


def look_of(session: Session, clinic_id: int, with_logo: bool = False) -> ClinicLook | None:
    """A clinic's look row (its logo's bytes only when asked for), or None."""
    options = [undefer(ClinicLook.logo)] if with_logo else []
    return session.get(ClinicLook, clinic_id, options=options)


def logo_name(look: ClinicLook) -> str:
    return f"{(look.logo_hash or '')[:HASH_CHARS]}.{EXTENSIONS.get(look.logo_type or '', 'png')}"


def clinic_look() -> ClinicLook | None:
    """This request's clinic's look (g.clinic), read once per request; None without one."""
    ctx = g._get_current_object()
    if "clinic_look" not in ctx:
        clinic = ctx.get("clinic")
        try:
            ctx.clinic_look = look_of(db.session, clinic.id) if clinic is not None else None
        except SQLAlchemyError:
            # An error page after a failed query (the database is down, or the transaction
            # broken) is still the product's own page, in the standard look.
            with contextlib.suppress(SQLAlchemyError):
                db.session.rollback()
            ctx.clinic_look = None
    found: ClinicLook | None = ctx.clinic_look
    return found


@bp.app_template_global()
def look_urls() -> dict[str, Any]:
    """For templates: the logo (url, width, height) and accent stylesheet URL of this request's
    clinic on its client pages, each None when it has none (the dashboard keeps its own look)."""
    clinic = g.get("clinic")
    look = clinic_look() if request.blueprint in CLIENT_BLUEPRINTS else None
    if look is None or clinic is None:
        return {"logo": None, "accent_css": None}
    logo = None
    if look.logo_hash:
        logo = {
            "url": url_for("look.logo", slug=clinic.slug, name=logo_name(look)),
            "width": look.logo_width, "height": look.logo_height,
        }
    css = None
    if look.accent:
        css = url_for("look.accent", slug=clinic.slug, digest=css_hash(look.accent))
    return {"logo": logo, "accent_css": css}


@bp.app_template_global()
def logo_data_url() -> dict[str, Any] | None:
    """For the PDFs: this request's clinic's logo as a data: URL (WeasyPrint fetches nothing)."""
    clinic = g.get("clinic")
    if clinic is None:
        return None
    look = look_of(db.session, clinic.id, with_logo=True)
    if look is None or look.logo is None:
        return None
    encoded = base64.b64encode(look.logo).decode("ascii")
    return {
        "url": f"data:{look.logo_type};base64,{encoded}",
        "width": look.logo_width, "height": look.logo_height,
    }


def pdf_accent_css() -> str | None:
    """For the PDFs: the accent on the header's rule and the clinic's name, or None."""
    look = clinic_look()
    if look is None or not look.accent:
        return None
    return f".pdf-head{{border-bottom-color:{look.accent}}}.pdf-clinic{{color:{look.accent}}}"


def _forever(response: Response) -> Response:
    response.cache_control.public = True
    response.cache_control.max_age = YEAR
    response.cache_control.immutable = True
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def _clinic_look_or_404(slug: str, with_logo: bool = False) -> ClinicLook:
    clinic = find_clinic(db.session, slug) if valid_slug(slug) else None
    look = look_of(db.session, clinic.id, with_logo) if clinic is not None else None
    if look is None:
        abort(404)
    return look


@bp.get("/c/<slug>/logo/<name>")
def logo(slug: str, name: str) -> Response:
    """A clinic's current logo under its content hash; any other name (an old logo's): 404."""
    look = _clinic_look_or_404(slug, with_logo=True)
    if look.logo is None or not look.logo_hash or name != logo_name(look):
        abort(404)
    response = Response(look.logo, mimetype=look.logo_type)
    return _forever(response)


@bp.get("/c/<slug>/accent/<digest>.css")
def accent(slug: str, digest: str) -> Response:
    """A clinic's accent stylesheet under the hash of its text; any other hash: 404."""
    look = _clinic_look_or_404(slug)
    if not look.accent or digest != css_hash(look.accent):
        abort(404)
    response = Response(accent_css(look.accent), mimetype="text/css")
    return _forever(response)
