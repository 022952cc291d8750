"""The clinic's look: a logo (PNG or JPEG, decoded and re-encoded by Pillow, served under its
content hash) and an accent colour (refused below WCAG AA contrast), on the client pages,
embedded or not, and in the PDF copies; set by the clinic's admins on the clinic page."""

# ruff: noqa: F811  (shared fixtures from dashboard_support are imported by name)
from __future__ import annotations

import io
import re
import subprocess
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image
from werkzeug.datastructures import FileStorage
from werkzeug.test import TestResponse, encode_multipart

from screener import look
from screener.storage.models import AuditEvent, ClinicLook

from .conftest import csrf_of
from .dashboard_support import (  # noqa: F401
    accounts,
    add_submission,
    clinics,
    fast_hashing,
    fetch,
    logged_in,
)
from .test_screening import BASE
from .test_summaries import store

pytestmark = pytest.mark.usefixtures("fast_hashing")

CLINIC_PAGE = "/dashboard/admin/clinic"
LOGO_SRC = re.compile(r'<img class="logo" src="(/c/demo/logo/[0-9a-f]{16}\.(?:png|jpg))" alt="([^"]*)" width="(\d+)" height="(\d+)">')
ACCENT_HREF = re.compile(r'<link rel="stylesheet" href="(/c/demo/accent/[0-9a-f]{16}\.css)">')


def image_bytes(fmt: str, size: tuple[int, int] = (300, 100), mode: str = "RGB", **save: Any) -> bytes:
    colour: Any = (20, 80, 70, 128) if mode == "RGBA" else (20, 80, 70) if mode == "RGB" else 128
    out = io.BytesIO()
    Image.new(mode, size, colour).save(out, format=fmt, **save)
    return out.getvalue()


def upload(client: FlaskClient, data: bytes, filename: str, content_type: str = "image/png") -> TestResponse:
    """Post a file to the logo form as a browser does (the body built in memory, at any size)."""
    page = client.get(CLINIC_PAGE)
    boundary, body = encode_multipart(
        {"csrf_token": csrf_of(page), "logo": FileStorage(io.BytesIO(data), filename, content_type=content_type)}
    )
    return client.post(
        f"{CLINIC_PAGE}/logo", data=body, content_type=f"multipart/form-data; boundary={boundary}"
    )


def set_accent(client: FlaskClient, colour: str) -> TestResponse:
    page = client.get(CLINIC_PAGE)
    return client.post(f"{CLINIC_PAGE}/accent", data={"csrf_token": csrf_of(page), "accent": colour})


def field_error(r: TestResponse, field: str) -> str:
    """The text of the error shown on a field of the clinic page."""
    html = r.get_data(as_text=True)
    m = re.search(rf'<p class="field-error" id="{field}-error">(.*?)</p>', html, re.S)
    assert m, f"no error on {field}"
    assert re.search(rf'id="{field}"[^>]*aria-describedby="[^"]*{field}-error', html) or re.search(
        rf'aria-describedby="[^"]*{field}-error[^"]*"[^>]*id="{field}"', html
    ), "the error is not tied to its field"
    text = re.sub(r"<[^>]+>", "", m.group(1))
    return re.sub(r"\s+", " ", text.replace("&#39;", "'")).strip()


def looks(app: Flask) -> list[ClinicLook]:
    from sqlalchemy.orm import undefer

    from screener.extensions import db

    with db.of(app).sessions() as s:
        rows = list(s.query(ClinicLook).options(undefer(ClinicLook.logo)))
        s.expunge_all()
        return rows


def audited(app: Flask, action: str) -> list[AuditEvent]:
    return fetch(app, AuditEvent, AuditEvent.action == action)


# Contrast ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("first", "second", "expected"),
    [
        ("#767676", "#ffffff", 4.54),  # the lightest grey that passes on white
        ("#777777", "#ffffff", 4.48),
        ("#000000", "#ffffff", 21.0),
        ("#ffffff", "#ffffff", 1.0),
        ("#595959", "#ffffff", 7.0),  # the lightest grey that passes AAA on white
        ("#0000ff", "#ffffff", 8.59),
        ("#ff0000", "#ffffff", 4.0),
        ("#008000", "#ffffff", 5.14),
    ],
)
def test_contrast_ratio_matches_wcag_known_pairs(first: str, second: str, expected: float) -> None:
    assert round(look.contrast_ratio(first, second), 2) == expected


HEX = st.integers(0, 0xFFFFFF).map(lambda n: f"#{n:06x}")


@given(HEX, HEX)
def test_contrast_ratio_is_symmetric_and_bounded(a: str, b: str) -> None:
    ratio = look.contrast_ratio(a, b)
    assert ratio == pytest.approx(look.contrast_ratio(b, a))
    assert 1.0 <= ratio <= 21.0 + 1e-9
    assert look.contrast_ratio(a, a) == pytest.approx(1.0)


@given(st.integers(0, 255), st.integers(0, 254))
def test_a_darker_grey_never_has_less_contrast_on_white(dark: int, step: int) -> None:
    lighter = min(255, dark + step + 1)
    assert look.contrast_ratio(f"#{dark:02x}{dark:02x}{dark:02x}", "#ffffff") >= look.contrast_ratio(
        f"#{lighter:02x}{lighter:02x}{lighter:02x}", "#ffffff"
    )


def test_a_ratio_is_never_rounded_up_to_a_pass() -> None:
    assert look.ratio_text(4.4999) == "4.49"
    assert look.ratio_text(4.478) == "4.48"
    assert look.ratio_text(4.542) == "4.54"
    assert look.ratio_text(4.5) == "4.50"


def test_accent_colours_accepted_and_refused(
    app: Flask, clinics: dict[str, int], logged_in: Callable[[str], FlaskClient]
) -> None:
    admin = logged_in("admin@example.com")
    r = set_accent(admin, "#777777")  # 4.48:1, just under
    assert r.status_code == 422
    message = field_error(r, "accent")
    assert "4.48:1" in message and "4.5:1" in message, message
    r = set_accent(admin, "#ffdd00")
    assert r.status_code == 422 and "1.35:1" in field_error(r, "accent")
    r = set_accent(admin, "not a colour")
    assert r.status_code == 422 and "#1d4f4a" in field_error(r, "accent")
    assert looks(app) == [] and audited(app, "accent_changed") == []
    # The refused value is kept in the field to correct.
    assert 'value="#777777"' in set_accent(admin, "#777777").get_data(as_text=True)

    assert set_accent(admin, "#767676").status_code == 303  # 4.54:1
    assert set_accent(admin, " #8B0000 ").status_code == 303
    [row] = looks(app)
    assert row.accent == "#8b0000"
    assert [e.detail["to"] for e in audited(app, "accent_changed")] == ["#767676", "#8b0000"]
    page = admin.get(CLINIC_PAGE).get_data(as_text=True)
    assert 'value="#8b0000"' in page
    # Empty: back to the standard colour.
    assert set_accent(admin, "").status_code == 303
    [row] = looks(app)
    assert row.accent is None


def test_the_accent_reaches_the_client_pages_through_a_hashed_stylesheet(
    app: Flask, clinics: dict[str, int], logged_in: Callable[[str], FlaskClient], client: FlaskClient
) -> None:
    assert not ACCENT_HREF.search(client.get("/c/demo/").get_data(as_text=True))
    admin = logged_in("admin@example.com")
    assert set_accent(admin, "#8b0000").status_code == 303
    for url in ("/c/demo/", "/embed/demo/"):
        html = client.get(url).get_data(as_text=True)
        m = ACCENT_HREF.search(html)
        assert m, url
        assert 'style="' not in html and "<style" not in html  # the CSP allows no inline style
    css = client.get(m.group(1))
    assert css.status_code == 200 and css.mimetype == "text/css"
    assert css.get_data(as_text=True).strip() == ":root{--accent:#8b0000}"
    assert "immutable" in css.headers["Cache-Control"] and "max-age=31536000" in css.headers["Cache-Control"]
    assert css.headers["X-Content-Type-Options"] == "nosniff"
    # Another clinic's pages and the dashboard keep the standard colour.
    assert not ACCENT_HREF.search(client.get("/c/other/").get_data(as_text=True))
    assert "/accent/" not in admin.get(CLINIC_PAGE).get_data(as_text=True)
    # A changed colour: a new address; the old one is gone.
    assert set_accent(admin, "#00008b").status_code == 303
    new = ACCENT_HREF.search(client.get("/c/demo/").get_data(as_text=True))
    assert new and new.group(1) != m.group(1)
    assert client.get(m.group(1)).status_code == 404
    assert client.get("/c/other/accent/" + new.group(1).rsplit("/", 1)[1]).status_code == 404


# The logo --------------------------------------------------------------------------------------


def test_a_png_logo_is_re_encoded_served_under_its_hash_and_shown_with_the_clinic_name(
    app: Flask, clinics: dict[str, int], logged_in: Callable[[str], FlaskClient], client: FlaskClient
) -> None:
    admin = logged_in("admin@example.com")
    original = image_bytes("PNG", (960, 320), "RGBA", pnginfo=_text_chunk("Author", "someone"))
    r = upload(admin, original, "logo.png")
    assert r.status_code == 303, r.get_data(as_text=True)
    [row] = looks(app)
    assert row.logo_type == "image/png" and (row.logo_width, row.logo_height) == (480, 160)
    assert row.logo is not None and row.logo != original
    stored = Image.open(io.BytesIO(row.logo))
    assert stored.format == "PNG" and stored.mode == "RGBA"  # transparency kept
    pixel = stored.getpixel((0, 0))
    assert isinstance(pixel, tuple) and pixel[3] == 128
    assert all(abs(a - b) <= 2 for a, b in zip(pixel, (20, 80, 70), strict=False))
    assert "Author" not in stored.info and b"someone" not in row.logo  # metadata dropped
    [event] = audited(app, "logo_changed")
    assert event.detail["hash"] == row.logo_hash and event.actor == "admin@example.com"

    for url in ("/c/demo/", "/embed/demo/"):
        html = client.get(url).get_data(as_text=True)
        m = LOGO_SRC.search(html)
        assert m, url
        assert m.group(2) == "Demo Clinic" and (m.group(3), m.group(4)) == ("480", "160")
    served = client.get(m.group(1))
    assert served.status_code == 200
    assert served.headers["Content-Type"] == "image/png"
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    cache = served.headers["Cache-Control"]
    assert "public" in cache and "immutable" in cache and "max-age=31536000" in cache
    assert served.get_data() == row.logo
    assert m.group(1).endswith(f"/{row.logo_hash[:16]}.png")
    # Another clinic's address for it, or a made-up hash: 404.
    assert client.get(m.group(1).replace("/c/demo/", "/c/other/")).status_code == 404
    assert client.get("/c/demo/logo/0000000000000000.png").status_code == 404
    # The dashboard shows it too, with the clinic's name.
    assert f'src="{m.group(1)}" alt="Demo Clinic"' in admin.get(CLINIC_PAGE).get_data(as_text=True)

    # Replaced: the old address is gone.
    assert upload(admin, image_bytes("JPEG", (200, 100)), "new.jpg", "image/jpeg").status_code == 303
    assert client.get(m.group(1)).status_code == 404
    new = LOGO_SRC.search(client.get("/c/demo/").get_data(as_text=True))
    assert new and new.group(1).endswith(".jpg") and (new.group(3), new.group(4)) == ("200", "100")
    jpeg = client.get(new.group(1))
    assert jpeg.headers["Content-Type"] == "image/jpeg"
    assert Image.open(io.BytesIO(jpeg.get_data())).format == "JPEG"

    # Removed: the name again, and the address is gone.
    page = admin.get(CLINIC_PAGE)
    r = admin.post(f"{CLINIC_PAGE}/logo/remove", data={"csrf_token": csrf_of(page)})
    assert r.status_code == 303
    html = client.get("/c/demo/").get_data(as_text=True)
    assert not LOGO_SRC.search(html) and '<p class="brand">Demo Clinic</p>' in html
    assert client.get(new.group(1)).status_code == 404
    assert len(audited(app, "logo_removed")) == 1


def _text_chunk(key: str, value: str) -> Any:
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    info.add_text(key, value)
    return info


def test_a_jpeg_logo_loses_its_exif_and_is_turned_upright(
    app: Flask, clinics: dict[str, int], logged_in: Callable[[str], FlaskClient]
) -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90° to show
    exif[0x010F] = "Camera Maker"
    data = image_bytes("JPEG", (300, 100), exif=exif.tobytes())
    admin = logged_in("admin@example.com")
    assert upload(admin, data, "photo.jpeg", "image/jpeg").status_code == 303
    [row] = looks(app)
    assert (row.logo_width, row.logo_height) == (53, 160)  # upright, then fitted to 480 x 160
    assert row.logo is not None and b"Camera Maker" not in row.logo
    assert not Image.open(io.BytesIO(row.logo)).getexif()


PNG_HEAD = image_bytes("PNG", (40, 20))[:60]  # a real header, then anything
JPEG_HEAD = image_bytes("JPEG", (40, 20))[:200]
HTML_AS_PNG = b"<!doctype html><html><body><script>alert(1)</script></body></html>"
SVG = (
    b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
    b"<script>alert(1)</script><rect width='10' height='10'/></svg>"
)


def _oversized() -> bytes:
    """A real PNG over 200 KB: noise does not compress."""
    import random

    rng = random.Random(7)
    image = Image.frombytes("RGB", (300, 300), bytes(rng.getrandbits(8) for _ in range(300 * 300 * 3)))
    out = io.BytesIO()
    image.save(out, format="PNG")
    assert out.tell() > 200 * 1024
    return out.getvalue()


def _huge_dimensions() -> bytes:
    """A small file that claims a 20000 x 20000 image (a decompression bomb)."""
    return image_bytes("PNG", (20000, 20000), "1")


REFUSED = {
    "HTML named .png": (HTML_AS_PNG, "logo.png", "image/png", "not a PNG or JPEG image"),
    "SVG": (SVG, "logo.svg", "image/svg+xml", "not a PNG or JPEG image"),
    "SVG named .png": (SVG, "logo.png", "image/png", "not a PNG or JPEG image"),
    "GIF": (image_bytes("GIF", (50, 50), "L"), "logo.gif", "image/gif", "not a PNG or JPEG image"),
    "GIF named .png": (image_bytes("GIF", (50, 50), "L"), "logo.png", "image/png", "not a PNG or JPEG image"),
    "truncated PNG": (image_bytes("PNG", (400, 400))[:200], "logo.png", "image/png", "damaged or incomplete"),
    "empty": (b"", "logo.png", "image/png", "Choose a PNG or JPEG file"),
}


@pytest.mark.parametrize("case", list(REFUSED))
def test_bad_files_are_refused_on_the_field_and_nothing_is_stored(
    app: Flask, clinics: dict[str, int], logged_in: Callable[[str], FlaskClient], case: str
) -> None:
    data, name, content_type, expected = REFUSED[case]
    admin = logged_in("admin@example.com")
    r = upload(admin, data, name, content_type)
    assert r.status_code == 422
    assert expected in field_error(r, "logo")
    assert looks(app) == [] and audited(app, "logo_changed") == []


def test_an_oversized_file_is_refused_on_the_field(
    app: Flask, clinics: dict[str, int], logged_in: Callable[[str], FlaskClient]
) -> None:
    admin = logged_in("admin@example.com")
    r = upload(admin, _oversized(), "big.png")
    assert r.status_code == 422
    assert "larger than 200 KB" in field_error(r, "logo")
    # Larger than the product's usual request limit, and than a logo request is read at all:
    # the same message on the field, not a bare error page.
    for size in (300 * 1024, 3 * 1024 * 1024):
        r = upload(admin, b"\x89PNG\r\n\x1a\n" + b"\0" * size, "huge.png")
        assert r.status_code in (413, 422)
        assert "larger than 200 KB" in field_error(r, "logo")
        assert "Clinic settings" in r.get_data(as_text=True)
    assert looks(app) == []


def test_a_decompression_bomb_is_refused_without_decoding(
    app: Flask, clinics: dict[str, int], logged_in: Callable[[str], FlaskClient]
) -> None:
    data = _huge_dimensions()
    assert len(data) < 200 * 1024
    admin = logged_in("admin@example.com")
    r = upload(admin, data, "bomb.png")
    assert r.status_code == 422
    message = field_error(r, "logo")
    assert "too many pixels" in message and "5000" in message, message
    # Under Pillow's own limit but over ours: the size is named.
    r = upload(admin, image_bytes("PNG", (6000, 10), "1"), "wide.png")
    assert r.status_code == 422
    assert "6000 by 10 pixels" in field_error(r, "logo")
    assert looks(app) == []


def test_odd_modes_become_plain_images() -> None:
    palette = Image.new("P", (40, 20))
    palette.putpalette([255, 0, 0, 0, 0, 255])
    out = io.BytesIO()
    palette.save(out, format="PNG", transparency=0)
    made = look.process_logo(out.getvalue())
    assert Image.open(io.BytesIO(made.data)).mode == "RGBA"
    for mode, fmt in (("I;16", "PNG"), ("L", "PNG"), ("LA", "PNG"), ("1", "PNG"), ("CMYK", "JPEG"), ("L", "JPEG")):
        made = look.process_logo(image_bytes(fmt, (30, 10), mode))
        assert Image.open(io.BytesIO(made.data)).mode in ("RGB", "RGBA"), mode


def test_an_animated_png_keeps_its_first_frame() -> None:
    frames = [Image.new("RGB", (20, 10), c) for c in ((255, 0, 0), (0, 0, 255))]
    out = io.BytesIO()
    frames[0].save(out, format="PNG", save_all=True, append_images=frames[1:])
    made = look.process_logo(out.getvalue())
    image = Image.open(io.BytesIO(made.data))
    assert not getattr(image, "is_animated", False)
    assert image.convert("RGB").getpixel((0, 0)) == (255, 0, 0)


def test_only_the_clinic_admin_changes_the_look(
    app: Flask, clinics: dict[str, int], logged_in: Callable[[str], FlaskClient]
) -> None:
    practitioner = logged_in("pa@example.com")
    token = csrf_of(practitioner.get("/dashboard/account"))
    png = image_bytes("PNG")
    assert practitioner.post(
        f"{CLINIC_PAGE}/logo", data={"csrf_token": token, "logo": (io.BytesIO(png), "l.png")},
        content_type="multipart/form-data",
    ).status_code == 403
    assert practitioner.post(f"{CLINIC_PAGE}/accent", data={"csrf_token": token, "accent": "#000000"}).status_code == 403
    assert practitioner.post(f"{CLINIC_PAGE}/logo/remove", data={"csrf_token": token}).status_code == 403
    # Without the form's token, not even an admin.
    admin = logged_in("admin@example.com")
    r = admin.post(f"{CLINIC_PAGE}/logo", data={"logo": (io.BytesIO(png), "l.png")}, content_type="multipart/form-data")
    assert r.status_code == 400
    assert looks(app) == []


# The PDF ------------------------------------------------------------------------------------------


def test_the_pdf_copy_carries_the_logo(
    app: Flask, clinics: dict[str, int], logged_in: Callable[[str], FlaskClient], client: FlaskClient,
    tmp_path: Any,
) -> None:
    token = store(app, {**BASE, "full_name": "Chan Tai Man"})
    before = client.get(f"/c/demo/d/{token}/summary.pdf")
    assert before.status_code == 200 and _pdf_images(before.get_data(), tmp_path) == []
    admin = logged_in("admin@example.com")
    assert upload(admin, image_bytes("PNG", (480, 160), "RGBA"), "logo.png").status_code == 303
    assert set_accent(admin, "#8b0000").status_code == 303
    for r in (
        client.get(f"/c/demo/d/{token}/summary.pdf"),
        admin.get(f"/dashboard/submissions/{add_submission(app, clinics['demo'], {'full_name': 'Mei'})}.pdf"),
    ):
        assert r.status_code == 200
        images = _pdf_images(r.get_data(), tmp_path)
        assert [(w, h) for w, h, _kind in images] == [(480, 160)], images


def _pdf_images(body: bytes, tmp_path: Any) -> list[tuple[int, int, str]]:
    """(width, height, type) of each image in a PDF, as poppler's pdfimages lists them."""
    path = tmp_path / "doc.pdf"
    path.write_bytes(body)
    out = subprocess.run(["pdfimages", "-list", str(path)], capture_output=True, check=True).stdout.decode()
    rows = [line.split() for line in out.splitlines()[2:] if line.strip()]
    return [(int(r[3]), int(r[4]), r[2]) for r in rows if r[2] == "image"]


@settings(max_examples=300, deadline=None)
@given(st.sampled_from([b"", b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff\xe0", PNG_HEAD, JPEG_HEAD]), st.binary(max_size=3000))
def test_any_bytes_are_a_logo_or_refused_never_an_error(head: bytes, tail: bytes) -> None:
    """Whatever is uploaded: a logo, or LogoRefused with a message (never another exception)."""
    try:
        made = look.process_logo(head + tail)
    except look.LogoRefused as exc:
        assert str(exc)
    else:
        assert Image.open(io.BytesIO(made.data)).format in ("PNG", "JPEG")
