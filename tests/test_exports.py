"""Exports: JSON and FHIR R4 per submission (validated with fhir.resources' R4B models for every
screening persona), the questionnaire as a FHIR Questionnaire, and the streamed CSV list."""

# ruff: noqa: F811  (shared fixtures from dashboard_support are imported by name)
from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from fhir.resources.R4B.questionnaire import Questionnaire as FhirQuestionnaire
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse
from flask import Flask
from flask.testing import FlaskClient

from screener.config import ROOT
from screener.exports import fhir
from screener.exports.csv import BOM, CHUNK_ROWS, FIXED_COLUMNS, neutralise, stream_csv
from screener.questionnaire import load_questionnaire
from screener.questionnaire.model import Questionnaire
from screener.screening import screen, submission_json

from .dashboard_support import accounts, add_submission, clinics, fast_hashing, logged_in  # noqa: F401
from .test_screening import BASE, PERSONAS, TODAY

URLS = fhir.Urls("https://screener.example/fhir")


@pytest.fixture(scope="module")
def qn() -> Questionnaire:
    return load_questionnaire(ROOT / "questions.yaml")


def fake_submission(qn: Questionnaire, answers: dict[str, Any], sid: int = 7) -> Any:
    """A submission as the wizard stores one (flags screened on TODAY), without a database."""
    return SimpleNamespace(
        id=sid,
        clinic=SimpleNamespace(slug="demo"),
        submitted_at=dt.datetime.combine(TODAY, dt.time(9, 41, 7, 123456), tzinfo=dt.UTC),
        lang="zh-Hant",
        questionnaire_version=qn.version,
        answers=answers,
        flags=[f.to_json() for f in screen(qn, answers, TODAY)],
        consent_version=None, consent_name=None, consent_signed_at=None, consent_signature=None,
    )


def answer_items(resource: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """linkId -> answers, over the step groups."""
    return {
        item["linkId"]: item["answer"]
        for group in resource.get("item", [])
        for item in group.get("item", [])
    }


def flag_extensions(resource: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for ext in resource.get("extension", []):
        assert ext["url"] == "https://screener.example/fhir/StructureDefinition/screening-flag"
        out.append(
            {part["url"]: part for part in ext["extension"] if part["url"] != "because"}
            | {"because": [p["valueString"] for p in ext["extension"] if p["url"] == "because"]}
        )
    return out


# FHIR QuestionnaireResponse ---------------------------------------------------------------------


@pytest.mark.parametrize(("persona", "diff", "expected"), PERSONAS, ids=[p[0] for p in PERSONAS])
def test_questionnaire_response_validates_for_every_persona(
    qn: Questionnaire, persona: str, diff: dict[str, Any], expected: set[tuple[str, str]]
) -> None:
    answers = {**BASE, **diff}
    sub = fake_submission(qn, answers)
    resource = fhir.questionnaire_response(sub, qn, URLS)
    model = QuestionnaireResponse.model_validate(resource)
    # What validated is what we sent: nothing dropped or coerced on the way.
    assert json.loads(model.model_dump_json(exclude_none=True)) == json.loads(json.dumps(resource))
    assert resource["status"] == "completed"
    assert (
        resource["questionnaire"]
        == f"https://screener.example/fhir/Questionnaire/screener|{qn.version}"
    )
    assert resource["authored"] == f"{TODAY.isoformat()}T09:41:07.123456Z"

    items = answer_items(resource)
    answered = {q for q, v in answers.items() if v not in (None, "", [])}
    asked = answered & set(qn.questions)
    assert set(items) == asked  # linkId = question id, one item per answered question
    # An answer to a question no longer asked (pain_tolerance of an old draft) is kept apart.
    assert {i["linkId"] for i in resource["item"] if "answer" in i} == answered - asked
    for qid, values in items.items():
        q = qn.questions[qid]
        value = answers[qid]
        if q.type == "single":
            assert values == [
                {
                    "valueCoding": {
                        "system": f"https://screener.example/fhir/CodeSystem/{qid}",
                        "code": value,
                        # the label in the language the client answered in (zh-Hant)
                        "display": q.choice_label(value, "zh-Hant"),
                    }
                }
            ]
        elif q.type == "multi":
            assert [v["valueCoding"]["code"] for v in values] == value
            assert [v["valueCoding"]["display"] for v in values] == [
                q.choice_label(v, "zh-Hant") for v in value
            ]
        elif q.type == "scale":
            assert values == [{"valueInteger": value}]
        elif q.type == "date":
            assert values == [{"valueDate": value}]
        elif q.type == "consent":
            assert values == [{"valueBoolean": True}]
        else:
            assert values == [{"valueString": value}]

    flags = flag_extensions(resource)
    assert {(f["severity"]["valueCode"], f["rule"]["valueCode"]) for f in flags} == expected
    for stored, ext in zip(sub.flags, flags, strict=True):
        assert ext["because"] == stored["because"]
        for key in ("practitioner", "client"):
            texts = {t["url"]: t["valueString"] for t in ext[key]["extension"]}
            assert texts == stored[key]


def test_timing_flags_carry_their_dates(qn: Questionnaire) -> None:
    answers = {
        **BASE,
        "recent_procedures": ["botox"],
        "botox_when": (TODAY - dt.timedelta(days=10)).isoformat(),
    }
    resource = fhir.questionnaire_response(fake_submission(qn, answers), qn, URLS)
    QuestionnaireResponse.model_validate(resource)
    [flag] = [f for f in flag_extensions(resource) if f["rule"]["valueCode"] == "botox_recent"]
    timing = {p["url"]: p for p in flag["timing"]["extension"]}
    assert timing["date"]["valueDate"] == answers["botox_when"]
    assert timing["days-since"]["valueInteger"] == 10
    assert timing["window-ends"]["valueDate"] > answers["botox_when"]


def test_free_text_and_removed_questions_stay_valid(qn: Questionnaire) -> None:
    answers = {
        **BASE,
        "full_name": "陳 <b>&</b>\nline two",
        "other_health": "   ",  # blank: FHIR has no empty strings, so no answer
        "removed_question": ["a", "b"],  # answered with an older questionnaire
        "pain_sensitivity": "six",  # a value that no longer fits the question's type
    }
    resource = fhir.questionnaire_response(fake_submission(qn, answers), qn, URLS)
    QuestionnaireResponse.model_validate(resource)
    items = answer_items(resource)
    assert items["full_name"] == [{"valueString": "陳 <b>&</b>\nline two"}]
    assert "other_health" not in items
    assert items["pain_sensitivity"] == [{"valueString": "six"}]
    orphans = [i for i in resource["item"] if i["linkId"] == "removed_question"]
    assert orphans == [{"linkId": "removed_question", "answer": [{"valueString": '["a", "b"]'}]}]


def forged_host(app: Flask, client: FlaskClient) -> tuple[FlaskClient, dict[str, str]]:
    """A client sending this client's login with the Host header evil.example."""
    cookie = client.get_cookie("session", path="/dashboard")
    assert cookie is not None
    return (
        app.test_client(use_cookies=False),
        {"Host": "evil.example", "Cookie": f"session={cookie.value}"},
    )


def test_fhir_export_over_http(
    app: Flask, clinics: dict[str, int], logged_in: Callable[[str], FlaskClient]
) -> None:
    sid = add_submission(app, clinics["demo"], {"pregnancy": "yes"})
    client, forged = forged_host(app, logged_in("pa@example.com"))
    # The request's Host header never makes an identifier: the local default without
    # SCREENER_BASE_URL (debug and tests only), else the base URL.
    r = client.get(f"/dashboard/submissions/{sid}.fhir.json", headers=forged)
    assert r.status_code == 200 and r.mimetype == "application/fhir+json"
    assert r.headers["Content-Disposition"] == f'attachment; filename="submission-{sid}.fhir.json"'
    resource = json.loads(r.get_data(as_text=True))
    QuestionnaireResponse.model_validate(resource)
    assert resource["id"] == f"submission-{sid}"
    assert resource["questionnaire"].startswith("http://127.0.0.1:5000/fhir/Questionnaire/screener|")
    app.config["BASE_URL"] = "https://screener.example"
    r = client.get(f"/dashboard/submissions/{sid}.fhir.json", headers=forged)
    assert "evil.example" not in r.get_data(as_text=True)
    assert json.loads(r.get_data())["questionnaire"].startswith("https://screener.example/fhir/")


# FHIR Questionnaire ----------------------------------------------------------------------------


def items_by_link(resource: dict[str, Any]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}

    def walk(items: list[dict[str, Any]]) -> None:
        for item in items:
            out[item["linkId"]] = item
            walk(item.get("item", []))

    walk(resource["item"])
    return out


# FHIR R4 Questionnaire item types of the question types.
FHIR_ITEM_TYPES = {
    "single": "choice", "multi": "choice", "scale": "integer", "text": "string",
    "email": "string", "tel": "string", "textarea": "text", "date": "date", "consent": "boolean",
}


def test_questionnaire_validates_and_has_every_question(qn: Questionnaire) -> None:
    resource = fhir.questionnaire_resource(qn, URLS)
    FhirQuestionnaire.model_validate(resource)
    items = items_by_link(resource)
    assert [g["linkId"] for g in resource["item"]] == [s.id for s in qn.steps]
    for qid, q in qn.questions.items():
        item = items[qid]
        assert item["type"] == FHIR_ITEM_TYPES[q.type]
        assert item["text"] == q.label.en
        assert item["_text"]["extension"][0]["extension"][1]["valueString"] == q.label.get(
            "zh-Hant"
        )
        if q.choices:
            assert [o["valueCoding"]["code"] for o in item["answerOption"]] == list(q.choice_values)
        assert item.get("repeats", False) == (q.type == "multi")


def test_questionnaire_enable_when_from_show_if(qn: Questionnaire) -> None:
    items = items_by_link(fhir.questionnaire_resource(qn, URLS))
    assert items["skin_goals_other"]["enableWhen"] == [
        {
            "question": "skin_goals",
            "operator": "=",
            "answerCoding": {
                "system": "https://screener.example/fhir/CodeSystem/skin_goals",
                "code": "other",
            },
        }
    ]
    assert items["upcoming_event_date"]["enableWhen"][0]["question"] == "upcoming_event"
    # Every show_if of the real questionnaire (steps and questions) is expressible.
    conditional = [x for x in (*qn.steps, *qn.questions.values()) if x.show_if is not None]
    assert conditional and all("enableWhen" in items[x.id] for x in conditional)


def test_enable_when_maps_what_fhir_can_say(qn: Questionnaire) -> None:
    fixture = load_questionnaire(ROOT / "tests" / "fixtures" / "conditional.yaml")
    resource = fhir.questionnaire_resource(fixture, URLS)
    FhirQuestionnaire.model_validate(resource)
    items = items_by_link(resource)
    # any: [pain <= 3, not skin any_of [none]]: one level of "any", the negation as !=.
    assert items["low_pain"]["enableBehavior"] == "any"
    assert [(w["question"], w["operator"]) for w in items["low_pain"]["enableWhen"]] == [
        ("pain", "<="),
        ("skin", "!="),
    ]
    assert items["low_pain"]["enableWhen"][0]["answerInteger"] == 3
    # within_days depends on the day of answering: kept as JSON in an extension instead.
    follow = items["injection_followup"]
    assert "enableWhen" not in follow
    [kept] = follow["extension"]
    assert kept["url"] == "https://screener.example/fhir/StructureDefinition/show-if"
    assert json.loads(kept["valueString"]) == {"q": "injection_when", "within_days": 30}


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ({"q": "has_history", "in": ["yes", "not_sure"]}, ("any", ["=", "="])),
        ({"not": {"q": "has_history", "in": ["yes", "not_sure"]}}, ("all", ["!=", "!="])),
        ({"all": [{"q": "pain", "gte": 2}, {"q": "agree", "equals": True}]}, ("all", [">=", "="])),
        (
            {
                "not": {
                    "any": [
                        {"q": "has_history", "equals": "yes"},
                        {"q": "skin", "any_of": ["none"]},
                    ]
                }
            },
            ("all", ["!=", "!="]),
        ),
        ({"not": {"not": {"q": "has_history", "equals": "no"}}}, ("any", ["="])),
        (
            {
                "all": [
                    {"q": "pain", "lte": 3},
                    {
                        "any": [
                            {"q": "has_history", "equals": "yes"},
                            {"q": "agree", "equals": True},
                        ]
                    },
                ]
            },
            None,
        ),
        ({"not": {"q": "pain", "lte": 3}}, None),  # true when unanswered here, never in FHIR
        ({"q": "botox_when", "within_days": "window"}, None),
    ],
)
def test_condition_mapping_table(condition: dict[str, Any], expected: Any) -> None:
    from pydantic import TypeAdapter

    from screener.questionnaire.model import Condition

    fixture = load_questionnaire(ROOT / "tests" / "fixtures" / "conditional.yaml")
    cond = TypeAdapter(Condition).validate_python(condition)
    out = fhir.enable_when(cond, fixture, URLS)
    if expected is None:
        assert "enableWhen" not in out and out["extension"][0]["url"].endswith("/show-if")
    else:
        behavior, operators = expected
        assert [w["operator"] for w in out["enableWhen"]] == operators
        assert out.get("enableBehavior", behavior) == behavior
        if any(op == "=" for op in operators) and "agree" in json.dumps(condition):
            assert {"question": "agree", "operator": "=", "answerBoolean": True} in out[
                "enableWhen"
            ]


def test_questionnaire_over_http(app: Flask, logged_in: Callable[[str], FlaskClient]) -> None:
    r = logged_in("pa@example.com").get("/dashboard/questionnaire.fhir.json")
    assert r.status_code == 200 and r.mimetype == "application/fhir+json"
    resource = json.loads(r.get_data(as_text=True))
    FhirQuestionnaire.model_validate(resource)
    assert resource["version"] == app.extensions["questionnaire"].version


# JSON -------------------------------------------------------------------------------------------


def test_json_export_is_the_submission_json(
    app: Flask, clinics: dict[str, int], logged_in: Callable[[str], FlaskClient]
) -> None:
    from screener.storage.models import Submission

    from .dashboard_support import fetch

    sid = add_submission(app, clinics["demo"], {"pregnancy": "yes", "full_name": "陳美玲"})
    r = logged_in("pa@example.com").get(f"/dashboard/submissions/{sid}.json")
    assert r.status_code == 200 and r.mimetype == "application/json"
    assert r.headers["Content-Disposition"] == f'attachment; filename="submission-{sid}.json"'
    assert "陳美玲" in r.get_data(as_text=True)  # UTF-8, not \\u escapes
    [sub] = fetch(app, Submission, Submission.id == sid)
    with app.app_context():
        sub.clinic = SimpleNamespace(slug="demo")
        assert json.loads(r.get_data(as_text=True)) == submission_json(
            sub, app.extensions["questionnaire"]
        )


# CSV --------------------------------------------------------------------------------------------


def read_csv(body: bytes) -> list[dict[str, str]]:
    assert body.startswith(BOM.encode())
    return list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"), newline="")))


PAYLOADS = ['=HYPERLINK("https://evil.example","x")', "+1+1", "-2+3", "@SUM(A1)", "\tTAB", "\rCR"]


def test_csv_round_trips_chinese_and_neutralises_formulas(
    app: Flask, clinics: dict[str, int], logged_in: Callable[[str], FlaskClient]
) -> None:
    ids = [
        add_submission(
            app, clinics["demo"], {"full_name": "陳美玲", "other_health": "高血壓，已服藥"}
        ),
        *[
            add_submission(app, clinics["demo"], {"full_name": p, "other_health": p})
            for p in PAYLOADS
        ],
    ]
    r = logged_in("pa@example.com").get("/dashboard/submissions.csv")
    assert r.status_code == 200 and r.is_streamed
    assert r.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert r.headers["Content-Disposition"].startswith('attachment; filename="submissions-demo-')
    rows = read_csv(r.get_data())
    qn = app.extensions["questionnaire"]
    assert list(rows[0]) == [*FIXED_COLUMNS, *qn.questions]
    by_id = {int(row["submission_id"]): row for row in rows}
    assert sorted(by_id) == sorted(ids)
    chinese = by_id[ids[0]]
    assert chinese["full_name"] == "陳美玲" and chinese["other_health"] == "高血壓，已服藥"
    assert chinese["skin_goals"] == "fine_lines;texture" and chinese["pain_sensitivity"] == "4"
    assert chinese["consent_store"] == "true" and chinese["lang"] == "en"
    for sid, payload in zip(ids[1:], PAYLOADS, strict=True):
        assert by_id[sid]["full_name"] == "'" + payload
        assert by_id[sid]["other_health"] == "'" + payload
    for row in rows:
        assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r")) for cell in row.values())


def test_csv_follows_the_list_filters_and_the_clinic(
    app: Flask, clinics: dict[str, int], logged_in: Callable[[str], FlaskClient]
) -> None:
    red = add_submission(app, clinics["demo"], {"pregnancy": "yes"})
    add_submission(app, clinics["demo"])
    add_submission(app, clinics["other"], {"pregnancy": "yes"})
    rows = read_csv(
        logged_in("pa@example.com").get("/dashboard/submissions.csv?severity=red_flag").get_data()
    )
    assert [int(r["submission_id"]) for r in rows] == [red]
    assert rows[0]["max_severity"] == "red_flag" and rows[0]["flags"] == "pregnancy"


def test_csv_is_written_in_pieces(qn: Questionnaire) -> None:
    rows = (
        SimpleNamespace(
            id=i,
            submitted_at=dt.datetime(2025, 1, 1, tzinfo=dt.UTC),
            lang="en",
            questionnaire_version="v",
            max_severity=None,
            flags=[],
            reviewed_at=None,
            consent_version=None, consent_name=None, consent_signed_at=None,
            answers={"full_name": f"n{i}"},
        )
        for i in range(CHUNK_ROWS * 2 + 3)
    )
    pieces = list(stream_csv(qn, rows))
    assert len(pieces) == 4  # header, two full chunks, the rest
    assert pieces[0].startswith(BOM) and pieces[1].count("\r\n") == CHUNK_ROWS


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("=1+1", "'=1+1"), ("plain", "plain"), ("", ""), ("a=b", "a=b"), ("-", "'-"), ("２", "２"),
        (" =1+1", "' =1+1"), ("fine_lines;texture", "fine_lines;texture"),
        # A formula character where a spreadsheet could start a cell: after a separator (comma,
        # semicolon, tab, pipe), a line break or a quote, with or without spaces between.
        ("x;=1+1", "x;'=1+1"), ("x, -2+3", "x, '-2+3"), ("x\t@SUM(A1)", "x\t'@SUM(A1)"),
        ("x|+1", "x|'+1"), ("x\n=1", "x\n'=1"), ('x";=1', "x\";'=1"), ("x'=1", "x''=1"),
        ("=a;=b", "'=a;'=b"), ("1-2 = 3", "1-2 = 3"), ("a;b", "a;b"),
    ],
)
def test_neutralise(cell: str, expected: str) -> None:
    assert neutralise(cell) == expected


INJECTIONS = [*PAYLOADS, " =1+1", "Asthma;=1+1", "x,=1+1", "x\t=1+1", "x|=1+1", "x\n=1+1",
              'x";=1+1', "x;\"=1+1", "a; -2+3", "@SUM(1;2)"]


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice (soffice) is missing")
def test_libreoffice_reads_no_cell_of_the_csv_as_a_formula(
    app: Flask, clinics: dict[str, int], logged_in: Callable[[str], FlaskClient], tmp_path: Path
) -> None:
    """The exported list opened in LibreOffice Calc with formulas evaluated and comma, semicolon,
    tab and pipe all taken as separators (what a clinic might pick on import): every cell with
    a client's text stays text."""
    for payload in INJECTIONS:
        add_submission(app, clinics["demo"], {"full_name": payload, "other_health": payload})
    body = logged_in("pa@example.com").get("/dashboard/submissions.csv").get_data()
    (tmp_path / "list.csv").write_bytes(body)
    result = subprocess.run(
        ["soffice", "--headless", "--norestore",
         # separators , ; tab |, quote ", UTF-8, from line 1, formulas evaluated
         "--infilter=CSV:44/59/9/124,34,76,1,,0,false,true,false,false,false,-1,true",
         "--convert-to", "fods", "--outdir", str(tmp_path), str(tmp_path / "list.csv")],
        env={**os.environ, "HOME": str(tmp_path)}, capture_output=True, text=True, timeout=180,
        check=False,
    )
    sheet = (tmp_path / "list.fods").read_text(encoding="utf-8")
    assert result.returncode == 0 and "<table:table-cell" in sheet, result.stderr
    assert "table:formula" not in sheet
    assert "Asthma;&apos;=1+1" in sheet or "Asthma;'=1+1" in sheet  # shown as text
