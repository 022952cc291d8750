"""PDF copies: the practitioner summary and the client's copy, made by WeasyPrint, read back
with poppler's pdftotext and pdfinfo (Debian's poppler-utils): A4, the clinic's and client's
names, the dates sent and printed, "page X of Y", the flags, Chinese text in an embedded CJK
font; no health data in file names; every download audited; access checked."""

# ruff: noqa: F811  (shared fixtures from dashboard_support are imported by name)
from __future__ import annotations

import datetime as dt
import re
import subprocess
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_babel import force_locale, format_date
from werkzeug.test import TestResponse

from screener.storage.models import AuditEvent

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

PREGNANT = {"pregnancy": "yes", "full_name": "Chan Tai Man 陳大文"}
FILENAME = re.compile(r'attachment; filename="(practitioner-summary|summary)-\d+-\d{4}-\d\d-\d\d\.pdf"')


def pdf_text(body: bytes) -> str:
    """The PDF's text in reading order, as pdftotext gives it (lines joined by spaces)."""
    out = subprocess.run(["pdftotext", "-", "-"], input=body, capture_output=True, check=True)
    return re.sub(r"\s+", " ", out.stdout.decode())


def pdf_info(body: bytes, tool: str = "pdfinfo") -> str:
    return subprocess.run([tool, "-"], input=body, capture_output=True, check=True).stdout.decode()


def pdf_fonts(body: bytes, tmp_path: Any) -> str:
    path = tmp_path / "doc.pdf"  # pdffonts reads no standard input
    path.write_bytes(body)
    return subprocess.run(["pdffonts", str(path)], capture_output=True, check=True).stdout.decode()


def long_date(app: Flask, day: dt.date, locale: str) -> str:
    with app.test_request_context(), force_locale(locale):
        return str(format_date(day, "long"))


def is_pdf(r: TestResponse) -> bytes:
    assert r.status_code == 200, r.status_code
    assert r.mimetype == "application/pdf"
    assert r.headers["Cache-Control"] == "no-store"
    assert FILENAME.fullmatch(r.headers["Content-Disposition"]), r.headers["Content-Disposition"]
    body = r.get_data()
    assert body.startswith(b"%PDF-")
    return body


def audited(app: Flask, action: str) -> list[AuditEvent]:
    return fetch(app, AuditEvent, AuditEvent.action == action)


def test_practitioner_pdf_holds_names_dates_pages_and_flags(
    app: Flask, clinics: dict[str, int], logged_in: Callable[[str], FlaskClient], tmp_path: Any
) -> None:
    sub_id = add_submission(app, clinics["demo"], PREGNANT)
    client = logged_in("pa@example.com")
    body = is_pdf(client.get(f"/dashboard/submissions/{sub_id}.pdf"))
    info = pdf_info(body)
    pages = int(re.search(r"^Pages:\s+(\d+)", info, re.M).group(1))  # type: ignore[union-attr]
    assert "(A4)" in info
    text = pdf_text(body)
    today = dt.date.today()
    assert text.count("Demo Clinic") >= pages  # every page's header
    assert text.count("Chan Tai Man 陳大文") >= pages
    assert f"Sent on {long_date(app, today, 'en')} · Printed on {long_date(app, today, 'en')}" in text
    assert f"Page 1 of {pages}" in text and f"Page {pages} of {pages}" in text
    assert "Red flags: do not needle until medically cleared or resolved" in text
    assert "Pregnant or possibly pregnant" in text
    # The file name says nothing of the client or their health; the download is audited.
    [event] = audited(app, "export_pdf")
    assert event.submission_id == sub_id and event.actor == "pa@example.com"
    assert event.detail == {"lang": "en"}


def test_practitioner_pdf_in_chinese_embeds_a_cjk_font(
    app: Flask, clinics: dict[str, int], logged_in: Callable[[str], FlaskClient], tmp_path: Any
) -> None:
    sub_id = add_submission(app, clinics["demo"], PREGNANT)
    client = logged_in("pa@example.com")
    body = is_pdf(client.get(f"/dashboard/submissions/{sub_id}.pdf?lang=zh-Hant"))
    text = pdf_text(body)
    pages = int(re.search(r"^Pages:\s+(\d+)", pdf_info(body), re.M).group(1))  # type: ignore[union-attr]
    today = dt.date.today()
    assert "陳大文" in text and "紅旗警示" in text and "醫師摘要" in text
    assert "已懷孕或可能懷孕" in text
    assert f"第 1 頁，共 {pages} 頁" in text
    assert f"提交日期：{long_date(app, today, 'zh_Hant')} · 列印日期：{long_date(app, today, 'zh_Hant')}" in text
    fonts = pdf_fonts(body, tmp_path)
    cjk = [line for line in fonts.splitlines() if "CJK" in line]
    assert cjk and all(" yes yes " in line for line in cjk), fonts  # embedded, subset


def test_client_copy_by_the_private_link_in_the_clients_language(
    app: Flask, client: FlaskClient, tmp_path: Any
) -> None:
    token = store(app, {**BASE, **PREGNANT}, lang="zh-Hant")
    page = client.get(f"/c/demo/d/{token}/summary").get_data(as_text=True)
    assert f"/c/demo/d/{token}/summary.pdf" in page
    body = is_pdf(client.get(f"/c/demo/d/{token}/summary.pdf"))
    text = pdf_text(body)
    assert "Demo Clinic" in text and "陳大文" in text
    assert "謝謝！您的回答已送出。" in text and "請先與您的醫師商量" in text
    assert re.search(r"第 1 頁，共 \d+ 頁", text)
    [event] = audited(app, "client_pdf")
    assert event.practitioner_id is None and event.submission_id is not None
    # No copy of a questionnaire not sent, nor of another clinic's link.
    r = client.get("/c/demo/d/" + "A" * 32 + "/summary.pdf")
    assert r.status_code == 404


def test_client_copy_from_the_dashboard_is_in_the_clients_language(
    app: Flask, clinics: dict[str, int], logged_in: Callable[[str], FlaskClient]
) -> None:
    sub_id = add_submission(app, clinics["demo"], PREGNANT)
    client = logged_in("pa@example.com")
    detail = client.get(f"/dashboard/submissions/{sub_id}").get_data(as_text=True)
    assert f"/dashboard/submissions/{sub_id}.pdf" in detail
    assert f"/dashboard/submissions/{sub_id}/client-copy.pdf" in detail
    body = is_pdf(client.get(f"/dashboard/submissions/{sub_id}/client-copy.pdf?lang=zh-Hant"))
    text = pdf_text(body)
    assert "Thank you: your answers have been sent" in text  # answered in English
    assert "Please speak with your doctor first" in text
    [event] = audited(app, "export_client_pdf")
    assert event.submission_id == sub_id


def test_pdfs_are_scoped_to_the_own_clinic(
    app: Flask, clinics: dict[str, int], logged_in: Callable[[str], FlaskClient]
) -> None:
    sub_id = add_submission(app, clinics["demo"], PREGNANT)
    other = logged_in("pb@example.com")
    assert other.get(f"/dashboard/submissions/{sub_id}.pdf").status_code == 404
    assert other.get(f"/dashboard/submissions/{sub_id}/client-copy.pdf").status_code == 404
    assert app.test_client().get(f"/dashboard/submissions/{sub_id}.pdf").status_code == 302
    assert audited(app, "export_pdf") == [] and audited(app, "export_client_pdf") == []


def test_client_copies_are_rate_limited(app: Flask, client: FlaskClient) -> None:
    token = store(app, BASE)
    app.config["PDF_RATE_LIMIT"] = "2 per minute"
    codes = [client.get(f"/c/demo/d/{token}/summary.pdf").status_code for _ in range(3)]
    assert codes == [200, 200, 429]
