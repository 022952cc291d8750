"""Informed consent, signed: the consent text on the review page in the client's language,
signed by typing the full name given (a drawn signature optional, checked on the server), and
the record (text version, name, time) in the summaries, the PDF and the exports."""

# ruff: noqa: F811  (shared fixtures from dashboard_support are imported by name)
from __future__ import annotations

import base64
import csv
import io
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from screener.questionnaire.consent import DrawingError, parse_drawing, same_name
from screener.questionnaire.model import LANGUAGES
from screener.storage.db import make_engine
from screener.storage.migrate import downgrade, upgrade
from screener.storage.models import Submission

from .conftest import Walker, consent_fields, csrf_of, submissions
from .dashboard_support import accounts, clinics, fast_hashing, logged_in  # noqa: F401
from .test_pdf import pdf_text

pytestmark = pytest.mark.usefixtures("fast_hashing")

DRAWING = {"w": 600, "h": 200, "strokes": [[10, 20, 40, 60, 90, 30], [300, 100]]}


def qn(app: Flask) -> Any:
    return app.extensions["questionnaire"]


def send(w: Walker, **form: str) -> Any:
    """Post the review page's form: its token and consent version, plus `form`."""
    review = w.get(f"{w.base}/review")
    fields = {"csrf_token": csrf_of(review), **consent_fields(review), "signed_name": ""}
    return w.client.post(f"{w.base}/submit", data={**fields, **form})


def page(r: Any) -> str:
    return str(r.get_data(as_text=True))


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_review_page_ends_with_the_consent_to_sign(
    app: Flask, walk: Callable[..., Walker], lang: str
) -> None:
    w = walk(lang)
    html = page(w.get(f"{w.base}/review"))
    consent = qn(app).consent
    assert consent is not None
    texts = [consent.title, *consent.paragraphs, consent.declaration]
    for t in texts:
        assert t.get(lang).replace("'", "&#39;") in html
    assert f'name="consent_version" value="{consent.version(lang)}"' in html
    # Typing the name signs; the drawing pad is hidden until its script shows it.
    assert 'id="signed_name" name="signed_name"' in html and 'autocomplete="name"' in html
    assert re.search(r'id="signature-pad"[^>]*hidden>', html)
    assert re.search(r'<script src="/static/signature\.js\?v=[0-9a-f]+" defer[^>]*>', html)
    assert html.index('id="consent"') < html.index("data-once")  # before "Send"
    for word in ("bruis", "bleed", "sore", "swell", "redness", "faint", "rare", "not promised", "stop at any time"):
        if lang == "en":
            assert word in html.lower(), word
    if lang == "zh-Hant":
        for word in ("瘀青", "出血", "酸痛", "腫脹", "發紅", "昏倒", "很少見", "不作保證", "隨時停止"):
            assert word in html, word
    if lang == "zh-Hans":
        for word in ("淤青", "出血", "酸痛", "肿胀", "发红", "昏倒", "很少见", "不作保证", "随时停止"):
            assert word in html, word


def test_sending_needs_the_typed_name(
    walk: Callable[..., Walker], session: Any
) -> None:
    w = walk()
    r = send(w)
    html = page(r)
    assert r.status_code == 200
    assert "<title>Error: Check your answers" in html
    assert 'href="#signed_name">Type your full name to sign the consent.</a>' in html
    assert 'aria-invalid="true"' in html and "signed_name-error" in html
    assert submissions(session) == []
    # A wrong name: said so, with the name to type; what was typed stays in the field.
    r = send(w, signed_name="Someone Else")
    html = page(r)
    assert "Type your full name as you gave it in your details: Mei Chen." in html
    assert 'value="Someone Else"' in html
    assert submissions(session) == []


def test_the_typed_name_signs_whatever_the_case_spacing_or_width(
    app: Flask, walk: Callable[..., Walker], session: Any
) -> None:
    w = walk()
    r = send(w, signed_name="  ｍｅｉ   CHEN ")
    assert r.status_code == 303 and r.headers["Location"].endswith("/summary")
    [sub] = submissions(session)
    consent = qn(app).consent
    assert sub.consent_version == consent.version("en")
    assert sub.consent_name == "ｍｅｉ CHEN"  # as typed, spaces tidied
    assert sub.consent_signed_at == sub.submitted_at
    assert sub.consent_signature is None
    assert same_name("MEI chen", "Mei  Chen") and not same_name("", "") and not same_name("Mei", "Mei Chen")


def test_a_drawn_signature_is_stored_as_vector_data(
    walk: Callable[..., Walker], session: Any
) -> None:
    w = walk()
    r = send(w, signed_name="Mei Chen", signature=json.dumps(DRAWING))
    assert r.status_code == 303
    [sub] = submissions(session)
    assert sub.consent_signature == DRAWING


@pytest.mark.parametrize(
    "drawn",
    [
        "not json",
        json.dumps({"w": 600, "h": 200, "strokes": [[10, 20, 700, 30]]}),  # outside the box
        json.dumps({"w": 600, "h": 200, "strokes": [[10.5, 20]]}),  # not whole numbers
        json.dumps({"w": 600, "h": 200, "strokes": [[True, 20]]}),
        json.dumps({"w": 600, "h": 200, "strokes": [[10, 20, 30]]}),  # half a point
        json.dumps({"w": 600, "h": 200, "strokes": []}),
        json.dumps({"w": 300, "h": 100, "strokes": [[1, 1]]}),
        json.dumps({"w": 600, "h": 200, "strokes": [[1, 1]], "extra": 1}),
        json.dumps({"w": 600, "h": 200, "strokes": [[1, 1] * 2001]}),  # too many points
        json.dumps({"w": 600, "h": 200, "strokes": [[1, 1]] * 61}),  # too many strokes
        "[" * 40000,
    ],
)
def test_a_bad_drawing_is_refused_with_a_message_and_the_name_kept(
    walk: Callable[..., Walker], session: Any, drawn: str
) -> None:
    w = walk()
    r = send(w, signed_name="Mei Chen", signature=drawn)
    html = page(r)
    assert r.status_code == 200
    assert 'href="#signature-pad">The drawn signature could not be read.' in html
    assert 'value="Mei Chen"' in html  # the typed name is kept
    assert 'id="signature" name="signature" value=""' in html  # the bad drawing is not
    assert submissions(session) == []


@settings(max_examples=200, deadline=None)
@given(st.recursive(
    st.none() | st.booleans() | st.integers(-10, 700) | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=6) | st.dictionaries(st.sampled_from(["w", "h", "strokes", "x"]), inner, max_size=4),
    max_leaves=30,
))
def test_any_posted_drawing_is_parsed_or_refused(value: Any) -> None:
    raw = json.dumps(value)
    try:
        parsed = parse_drawing(raw)
    except DrawingError:
        return
    if parsed is not None:
        assert parsed == value and parsed["w"] == 600 and parsed["h"] == 200


def test_a_changed_consent_text_asks_to_read_it_again(
    walk: Callable[..., Walker], session: Any
) -> None:
    w = walk()
    r = send(w, signed_name="Mei Chen", consent_version="000000000000")
    assert "The consent text has changed since this page was opened." in page(r)
    assert 'value="Mei Chen"' in page(r)
    assert submissions(session) == []


def test_signing_in_chinese_records_the_chinese_text(
    app: Flask, walk: Callable[..., Walker], session: Any,
    logged_in: Callable[[str], FlaskClient],
) -> None:
    w = walk("zh-Hant", details={"full_name": "陳美"})
    r = send(w, signed_name="陳美")
    assert r.status_code == 303
    [sub] = submissions(session)
    consent = qn(app).consent
    assert sub.consent_version == consent.version("zh-Hant") != consent.version("en")
    # The client's summary shows what they signed.
    summary = re.sub(r"\s+", " ", page(w.get(f"{w.base}/summary")))
    assert "您簽署的同意書" in summary and "輸入姓名「陳美」簽署" in summary
    assert consent.declaration.get("zh-Hant") in summary
    # The practitioner (reading in English) sees the Chinese text the client signed.
    staff = logged_in("pa@example.com")
    html = re.sub(r"\s+", " ", page(staff.get(f"/dashboard/submissions/{sub.id}")))
    assert "Consent signed by typing “陳美” on" in html
    assert f'<div class="consent-text" lang="zh-Hant"> <h3>{consent.title.get("zh-Hant")}</h3>' in html
    assert f"consent text version {sub.consent_version}" in html


def test_the_record_in_the_summary_pdf_and_exports(
    app: Flask, walk: Callable[..., Walker], session: Any,
    logged_in: Callable[[str], FlaskClient], tmp_path: Path,
) -> None:
    w = walk()
    assert send(w, signed_name="mei chen", signature=json.dumps(DRAWING)).status_code == 303
    [sub] = submissions(session)
    staff = logged_in("pa@example.com")
    html = re.sub(r"\s+", " ", page(staff.get(f"/dashboard/submissions/{sub.id}")))
    top = html[: html.index('id="red-flags"')]
    assert "Consent signed by typing “mei chen” on" in top and "With a drawn signature." in top
    assert '<path d="M10 20 L40 60 L90 30 M300 100 L300 100"' in html

    text_ = pdf_text(staff.get(f"/dashboard/submissions/{sub.id}.pdf").get_data())
    assert "Consent signed by typing “mei chen” on" in text_
    assert "Consent to facial acupuncture" in text_ and "You may stop at any time" in text_

    data = staff.get(f"/dashboard/submissions/{sub.id}.json").get_json()
    assert data["consent"] == {
        "version": sub.consent_version, "lang": "en", "name": "mei chen",
        "signed_at": sub.consent_signed_at.isoformat(), "signature": DRAWING,
    }

    rows = list(csv.DictReader(io.StringIO(
        staff.get("/dashboard/submissions.csv").get_data(as_text=True).lstrip("\ufeff")
    )))
    assert rows[0]["consent_version"] == sub.consent_version
    assert rows[0]["consent_name"] == "mei chen"
    assert rows[0]["consent_signed_at"] == sub.consent_signed_at.isoformat()

    resource = staff.get(f"/dashboard/submissions/{sub.id}.fhir.json").get_json()
    QuestionnaireResponse.model_validate(resource)
    [signature] = [
        e["valueSignature"] for e in resource["extension"]
        if e["url"] == "http://hl7.org/fhir/StructureDefinition/questionnaireresponse-signature"
    ]
    assert signature["who"] == {"display": "mei chen"}
    assert signature["type"][0]["code"] == "1.2.840.10065.1.12.1.7"
    assert signature["when"] == sub.consent_signed_at.isoformat().replace("+00:00", "Z")
    assert signature["extension"][0]["valueString"] == sub.consent_version
    assert signature["sigFormat"] == "image/svg+xml"
    svg = base64.b64decode(signature["data"]).decode()
    assert svg.startswith('<svg xmlns="http://www.w3.org/2000/svg"') and "M10 20 L40 60" in svg


def test_a_submission_without_consent_says_so(
    app: Flask, clinics: dict[str, int], logged_in: Callable[[str], FlaskClient]
) -> None:
    from .dashboard_support import add_submission

    sub_id = add_submission(app, clinics["demo"])
    staff = logged_in("pa@example.com")
    html = page(staff.get(f"/dashboard/submissions/{sub_id}"))
    assert html.count("No signed consent: this submission was sent without one.") == 2
    resource = staff.get(f"/dashboard/submissions/{sub_id}.fhir.json").get_json()
    assert all("signature" not in e["url"] for e in resource.get("extension", []))
    assert staff.get(f"/dashboard/submissions/{sub_id}.json").get_json()["consent"] is None


def test_0011_adds_the_consent_columns_to_earlier_submissions(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    try:
        upgrade(engine, "0010")
        with engine.begin() as conn:
            conn.execute(text(
                "INSERT INTO clinic (id, slug, name, allowed_origins, retention_days, created_at)"
                " VALUES (1, 'c', 'C', '[]', 365, '2025-01-01 00:00:00')"
            ))
            conn.execute(text(
                "INSERT INTO submission (id, clinic_id, answers, flags, questionnaire_version,"
                " lang, full_name, submitted_at) VALUES (1, 1, '{}', '[]', 'v', 'en', 'A',"
                " '2025-01-01 00:00:00')"
            ))
        upgrade(engine, "0011")
        with engine.connect() as conn:
            row = conn.execute(text(
                "SELECT consent_version, consent_name, consent_signed_at, consent_signature"
                " FROM submission"
            )).one()
        assert tuple(row) == (None, None, None, None)
        downgrade(engine, "0010")
        with engine.connect() as conn:
            columns = {r[1] for r in conn.execute(text("PRAGMA table_info(submission)"))}
        assert not any(c.startswith("consent_") for c in columns)
    finally:
        engine.dispose()


def test_submission_model_has_the_columns() -> None:
    assert {"consent_version", "consent_name", "consent_signed_at", "consent_signature"} <= set(
        Submission.__table__.columns.keys()
    )
