"""The read-only FHIR R4 API: per-clinic tokens (dashboard and command line), token isolation
between clinics, the searchset with _lastUpdated, _count and page links that stay right while
submissions arrive, every canonical URL resolving, URLs from SCREENER_BASE_URL only, narratives,
answer labels in the answer's language, optionExclusive and the consent constraint.

Every resource is validated with fhir.resources' R4B models here; the official FHIR R4 JSON
Schema and LHC-Forms check them in the browser tests (tests/browser/test_fhir_clients.py)."""

# ruff: noqa: F811  (shared fixtures from dashboard_support are imported by name)
from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.capabilitystatement import CapabilityStatement
from fhir.resources.R4B.codesystem import CodeSystem
from fhir.resources.R4B.namingsystem import NamingSystem
from fhir.resources.R4B.operationoutcome import OperationOutcome
from fhir.resources.R4B.questionnaire import Questionnaire as FhirQuestionnaire
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse
from fhir.resources.R4B.structuredefinition import StructureDefinition
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from screener.config import ROOT
from screener.extensions import db
from screener.questionnaire import parse_questionnaire
from screener.storage import versions
from screener.storage.models import ApiToken, AuditEvent, utcnow

from .dashboard_support import (  # noqa: F401
    accounts,
    add_submission,
    clinics,
    csrf_of,
    fast_hashing,
    fetch,
    logged_in,
)

BASE = "https://screener.example"
FHIR = f"{BASE}/fhir"
MODELS: dict[str, Any] = {
    "Bundle": Bundle, "CapabilityStatement": CapabilityStatement, "CodeSystem": CodeSystem,
    "NamingSystem": NamingSystem, "OperationOutcome": OperationOutcome,
    "Questionnaire": FhirQuestionnaire, "QuestionnaireResponse": QuestionnaireResponse,
    "StructureDefinition": StructureDefinition,
}
NO_TEXT = {"Bundle"}  # not a DomainResource: no narrative


def check(resource: dict[str, Any]) -> dict[str, Any]:
    """A served resource: valid (R4B models, nothing dropped), with a narrative."""
    model = MODELS[resource["resourceType"]].model_validate(resource)
    assert json.loads(model.model_dump_json(exclude_none=True)) == resource
    if resource["resourceType"] not in NO_TEXT:
        div = resource["text"]["div"]
        assert div.startswith('<div xmlns="http://www.w3.org/1999/xhtml">') and len(div) > 60
    for entry in resource.get("entry", []):
        check(entry["resource"])
    return resource


@pytest.fixture
def api_app(app: Flask) -> Flask:
    app.config["BASE_URL"] = BASE
    return app


def make_token(app: Flask, slug: str, name: str = "Records system") -> str:
    result = app.test_cli_runner().invoke(args=["create-api-token", slug, "--name", name])
    assert result.exit_code == 0, result.output
    return result.stdout.strip().splitlines()[0]


@pytest.fixture
def tokens(api_app: Flask, clinics: dict[str, int]) -> dict[str, str]:
    return {slug: make_token(api_app, slug) for slug in ("demo", "other")}


class Api:
    """GETs to the API with a token, as a records system would send them."""

    def __init__(self, client: FlaskClient, token: str | None) -> None:
        self.client, self.token = client, token

    def get(self, url: str, status: int = 200, **headers: str) -> dict[str, Any]:
        path = url.removeprefix(BASE)
        if self.token:
            headers.setdefault("Authorization", f"Bearer {self.token}")
        r = self.client.get(path, headers=headers)
        assert r.status_code == status, (url, r.status_code, r.get_data(as_text=True)[:500])
        assert r.mimetype == "application/fhir+json"
        return check(json.loads(r.get_data(as_text=True)))


@pytest.fixture
def api(client: FlaskClient, tokens: dict[str, str]) -> Callable[[str | None], Api]:
    return lambda slug="demo": Api(client, tokens[slug] if slug else None)


def ids(bundle: dict[str, Any]) -> list[str]:
    return [e["resource"]["id"] for e in bundle.get("entry", [])]


def next_url(bundle: dict[str, Any]) -> str | None:
    return next((link["url"] for link in bundle["link"] if link["relation"] == "next"), None)


# Tokens ------------------------------------------------------------------------------------------


def test_metadata_needs_no_token(api: Callable[..., Api]) -> None:
    cs = api(None).get("/fhir/metadata")
    assert cs["resourceType"] == "CapabilityStatement" and cs["fhirVersion"] == "4.0.1"
    assert cs["implementation"]["url"] == FHIR
    types = {r["type"] for r in cs["rest"][0]["resource"]}
    assert {"QuestionnaireResponse", "Questionnaire", "CodeSystem"} <= types


@pytest.mark.parametrize(
    "header",
    [None, "Bearer", "Bearer scr_not-a-token", "Basic dXNlcjpwYXNz", "bearer  "],
)
def test_submissions_need_a_valid_token(
    api_app: Flask, clinics: dict[str, int], client: FlaskClient, header: str | None
) -> None:
    sid = add_submission(api_app, clinics["demo"])
    headers = {"Authorization": header} if header is not None else {}
    for path in ("/fhir/QuestionnaireResponse", f"/fhir/QuestionnaireResponse/submission-{sid}"):
        r = client.get(path, headers=headers)
        assert r.status_code == 401
        assert r.headers["WWW-Authenticate"].startswith('Bearer realm="screener"')
        outcome = check(json.loads(r.get_data()))
        assert outcome["issue"][0]["code"] == "login"
        assert "Mei" not in r.get_data(as_text=True)


def test_token_isolation_between_two_clinics(
    api_app: Flask, clinics: dict[str, int], api: Callable[..., Api]
) -> None:
    a = [add_submission(api_app, clinics["demo"]) for _ in range(3)]
    b = [add_submission(api_app, clinics["other"]) for _ in range(2)]
    seen_a = api("demo").get("/fhir/QuestionnaireResponse")
    seen_b = api("other").get("/fhir/QuestionnaireResponse")
    assert sorted(ids(seen_a)) == sorted(f"submission-{i}" for i in a)
    assert sorted(ids(seen_b)) == sorted(f"submission-{i}" for i in b)
    assert seen_a["total"] == 3 and seen_b["total"] == 2
    for sid in b:  # another clinic's submission is a 404, like one that does not exist
        api("demo").get(f"/fhir/QuestionnaireResponse/submission-{sid}", 404)
        api("other").get(f"/fhir/QuestionnaireResponse/submission-{sid}")
    api("demo").get(f"/fhir/QuestionnaireResponse/submission-{max(a + b) + 1}", 404)
    for bad in ("42", "submission-0", "submission-99999999999", "submission-²"):
        api("demo").get(f"/fhir/QuestionnaireResponse/{bad}", 404)


def test_admin_creates_sees_and_revokes_a_token(
    api_app: Flask, clinics: dict[str, int], logged_in: Callable[[str], FlaskClient],
    client: FlaskClient,
) -> None:
    sid = add_submission(api_app, clinics["demo"])
    admin = logged_in("admin@example.com")
    page = admin.get("/dashboard/admin/api")
    assert page.status_code == 200 and f"{FHIR}" in page.get_data(as_text=True)
    r = admin.post("/dashboard/admin/api", data={"csrf_token": csrf_of(page), "name": "  "})
    assert r.status_code == 422 and "This field is required." in r.get_data(as_text=True)
    r = admin.post("/dashboard/admin/api", data={"csrf_token": csrf_of(page), "name": "EHR"})
    assert r.status_code == 200
    token = re.search(r"<code>(scr_[A-Za-z0-9_-]+)</code>", r.get_data(as_text=True))
    assert token is not None
    token_text = token.group(1)
    [row] = fetch(api_app, ApiToken)
    assert row.name == "EHR" and token_text not in (row.token_hash, row.hint)
    assert token_text.startswith(row.hint) and row.last_used_at is None
    listing = admin.get("/dashboard/admin/api").get_data(as_text=True)
    assert token_text not in listing and row.hint in listing and "Never" in listing  # once

    Api(client, token_text).get(f"/fhir/QuestionnaireResponse/submission-{sid}")
    [row] = fetch(api_app, ApiToken)
    assert row.last_used_at is not None
    assert "Never" not in admin.get("/dashboard/admin/api").get_data(as_text=True)

    page = admin.get("/dashboard/admin/api")
    r = admin.post(f"/dashboard/admin/api/{row.id}/revoke", data={"csrf_token": csrf_of(page)})
    assert r.status_code == 303
    Api(client, token_text).get("/fhir/QuestionnaireResponse", 401)
    actions = [e.action for e in fetch(api_app, AuditEvent, AuditEvent.clinic_id == row.clinic_id)]
    assert {"api_token_created", "api_read", "api_token_revoked"} <= set(actions)
    [read] = fetch(api_app, AuditEvent, AuditEvent.action == "api_read")
    assert read.submission_id == sid and read.actor == "API token EHR"
    assert token_text not in json.dumps(read.detail)
    audit_page = admin.get("/dashboard/admin/audit").get_data(as_text=True)
    assert "Read a submission through the API" in audit_page


def test_only_admins_manage_tokens_of_their_own_clinic(
    api_app: Flask, clinics: dict[str, int], tokens: dict[str, str],
    logged_in: Callable[[str], FlaskClient], api: Callable[..., Api],
) -> None:
    assert logged_in("pa@example.com").get("/dashboard/admin/api").status_code == 403
    rows = {r.clinic_id: r for r in fetch(api_app, ApiToken)}
    admin = logged_in("admin@example.com")
    page = admin.get("/dashboard/admin/api")
    assert rows[clinics["other"]].hint not in page.get_data(as_text=True)
    revoke = f"/dashboard/admin/api/{rows[clinics['other']].id}/revoke"
    assert admin.post(revoke, data={"csrf_token": csrf_of(page)}).status_code == 404
    api("other").get("/fhir/QuestionnaireResponse")  # still works
    revoke = f"/dashboard/admin/api/{rows[clinics['demo']].id}/revoke"
    assert admin.post(revoke, data={"csrf_token": csrf_of(page)}).status_code == 303
    api("demo").get("/fhir/QuestionnaireResponse", 401)


# Search ------------------------------------------------------------------------------------------


def test_search_pages_stay_right_while_submissions_arrive(
    api_app: Flask, clinics: dict[str, int], api: Callable[..., Api]
) -> None:
    start = utcnow() - dt.timedelta(hours=1)
    made = [
        add_submission(api_app, clinics["demo"], submitted_at=start + dt.timedelta(minutes=i))
        for i in range(7)
    ]
    same_time = add_submission(api_app, clinics["demo"], submitted_at=start + dt.timedelta(minutes=3))
    newest_first = [f"submission-{i}" for i in [*reversed(made[4:]), same_time, made[3],
                                               *reversed(made[:3])]]
    first = api("demo").get("/fhir/QuestionnaireResponse?_count=3")
    assert ids(first) == newest_first[:3] and first["total"] == 8
    # New submissions arrive while the client pages: they never shift the pages it reads.
    for _ in range(4):
        add_submission(api_app, clinics["demo"])
    seen, url = ids(first), next_url(first)
    while url is not None:
        assert url.startswith(f"{FHIR}/QuestionnaireResponse?")
        assert parse_qs(urlsplit(url).query)["_count"] == ["3"]
        page = api("demo").get(url)
        seen += ids(page)
        url = next_url(page)
    assert seen == newest_first  # each once, in order, none of the new ones
    fresh = api("demo").get("/fhir/QuestionnaireResponse?_count=0")
    assert fresh["total"] == 12 and "entry" not in fresh and next_url(fresh) is None


def test_last_updated_prefixes(
    api_app: Flask, clinics: dict[str, int], api: Callable[..., Api]
) -> None:
    day = dt.datetime(2026, 3, 10, 12, 0, tzinfo=dt.UTC)
    at = {
        "before": add_submission(api_app, clinics["demo"], submitted_at=day - dt.timedelta(days=1)),
        "noon": add_submission(api_app, clinics["demo"], submitted_at=day),
        "after": add_submission(api_app, clinics["demo"], submitted_at=day + dt.timedelta(days=1)),
    }

    def found(query: str) -> set[str]:
        bundle = api("demo").get(f"/fhir/QuestionnaireResponse?{query}")
        return {k for k, sid in at.items() if f"submission-{sid}" in ids(bundle)}

    assert found("_lastUpdated=ge2026-03-10") == {"noon", "after"}
    assert found("_lastUpdated=gt2026-03-10") == {"after"}
    assert found("_lastUpdated=le2026-03-10") == {"before", "noon"}
    assert found("_lastUpdated=lt2026-03-10") == {"before"}
    assert found("_lastUpdated=ge2026-03-10&_lastUpdated=lt2026-03-11") == {"noon"}
    assert found("_lastUpdated=gt2026-03-10T12:00:00Z") == {"after"}
    assert found("_lastUpdated=ge2026-03-10T20:00:00%2B08:00") == {"noon", "after"}
    assert found("_lastUpdated=le2026-03-10T12:00:00+00:00") == {"before", "noon"}  # '+' unencoded
    bundle = api("demo").get("/fhir/QuestionnaireResponse?_lastUpdated=ge2026-03-10&_count=1")
    assert parse_qs(urlsplit(next_url(bundle) or "").query)["_lastUpdated"] == ["ge2026-03-10"]
    for bad in ("_lastUpdated=2026-03-10", "_lastUpdated=ge2026-13-40", "_lastUpdated=eq2026",
                "_lastUpdated=ge2026-03-10T12:00:00", "_count=-1", "_count=ten", "_cursor=x"):
        outcome = api("demo").get(f"/fhir/QuestionnaireResponse?{bad}", 400)
        assert outcome["issue"][0]["code"] == "invalid"


# Resources ---------------------------------------------------------------------------------------


def test_a_response_in_chinese_carries_its_labels_in_chinese(
    api_app: Flask, clinics: dict[str, int], api: Callable[..., Api]
) -> None:
    sid = add_submission(api_app, clinics["demo"], {"skin_goals": ["fine_lines", "texture"]})
    with api_app.app_context(), db.transaction() as s:
        from screener.storage.models import Submission

        sub = s.get(Submission, sid)
        assert sub is not None
        sub.lang = "zh-Hant"
    qr = api("demo").get(f"/fhir/QuestionnaireResponse/submission-{sid}")
    qn = api_app.extensions["questionnaire"]
    codings = {
        item["linkId"]: [a["valueCoding"] for a in item["answer"] if "valueCoding" in a]
        for group in qr["item"] for item in group.get("item", [])
    }
    assert [c["display"] for c in codings["skin_goals"]] == [
        qn.questions["skin_goals"].choice_label(v, "zh-Hant") for v in ("fine_lines", "texture")
    ]
    assert qr["language"] == "zh-Hant" and qr["identifier"]["system"].startswith(FHIR)
    assert qn.questions["skin_goals"].choice_label("texture", "zh-Hant") in qr["text"]["div"]


def canonical_urls(value: Any) -> Iterator[str]:
    """Every string in a resource that names something under the FHIR base."""
    if isinstance(value, dict):
        for v in value.values():
            yield from canonical_urls(v)
    elif isinstance(value, list):
        for v in value:
            yield from canonical_urls(v)
    elif isinstance(value, str) and value.startswith(FHIR + "/"):
        yield value


def test_every_canonical_url_resolves(
    api_app: Flask, clinics: dict[str, int], api: Callable[..., Api], client: FlaskClient
) -> None:
    sid = add_submission(
        api_app, clinics["demo"],
        {"recent_procedures": ["botox"],
         "botox_when": (dt.date.today() - dt.timedelta(days=10)).isoformat()},
    )
    qr = api("demo").get(f"/fhir/QuestionnaireResponse/submission-{sid}")
    qn = api(None).get("/fhir/Questionnaire/screener")
    urls = set(canonical_urls(qr)) | set(canonical_urls(qn))
    assert f"{FHIR}/StructureDefinition/screening-flag" in urls
    assert any("/CodeSystem/" in u for u in urls) and f"{FHIR}/NamingSystem/submission-id" in urls
    for url in sorted(urls):
        canonical, _, version = url.partition("|")
        path = canonical + (f"?version={version}" if version else "")
        resource = api(None).get(path)  # definitions need no token
        if resource["resourceType"] == "NamingSystem":
            assert resource["uniqueId"][0]["value"] == canonical
        else:
            assert resource["url"] == canonical
        if version:
            assert resource["version"] == version
    # Unknown definitions and paths are OperationOutcomes, too.
    for path in ("/fhir/StructureDefinition/nope", "/fhir/CodeSystem/nope", "/fhir/Patient/1",
                 "/fhir/Questionnaire/other", "/fhir/Questionnaire/screener?version=ffff"):
        api(None).get(path, 404)
    r = client.post("/fhir/QuestionnaireResponse", data="{}")
    assert r.status_code in (400, 405) and r.mimetype == "application/fhir+json"


def test_the_structure_definitions_describe_the_flags(api: Callable[..., Api]) -> None:
    sd = api(None).get("/fhir/StructureDefinition/screening-flag")
    slices = {e["sliceName"] for e in sd["differential"]["element"] if "sliceName" in e}
    assert {"rule", "severity", "because", "practitioner", "client", "timing", "en",
            "zh-Hant", "window-ends"} <= slices
    assert sd["context"] == [{"type": "element", "expression": "QuestionnaireResponse"}]


def test_every_stored_version_is_served(
    api_app: Flask, api: Callable[..., Api]
) -> None:
    old = parse_questionnaire((ROOT / "tests" / "fixtures" / "version_a.yaml").read_text())
    with api_app.app_context(), db.transaction() as s:
        versions.record(s, old)
    current = api_app.extensions["questionnaire"].version
    assert api(None).get("/fhir/Questionnaire/screener")["version"] == current
    for path in (f"/fhir/Questionnaire/screener?version={old.version}",
                 f"/fhir/Questionnaire/screener/_history/{old.version}"):
        q = api(None).get(path)
        assert q["version"] == old.version == q["meta"]["versionId"]
        assert {i["linkId"] for g in q["item"] for i in g["item"]} >= {"tea"}
    api(None).get(f"/fhir/Questionnaire/screener/_history/{current}")
    api(None).get("/fhir/Questionnaire/screener/_history/0123abc", 404)
    # A question only the older version has: its code system still resolves.
    tea = api(None).get("/fhir/CodeSystem/tea")
    assert tea["version"] == old.version and {c["code"] for c in tea["concept"]} >= {"oolong"}


def test_exclusive_options_and_consent_items(api: Callable[..., Api], api_app: Flask) -> None:
    q = api(None).get("/fhir/Questionnaire/screener")
    qn = api_app.extensions["questionnaire"]
    items = {i["linkId"]: i for g in q["item"] for i in g["item"]}
    exclusive_seen = 0
    for qid, question in qn.questions.items():
        for option in items[qid].get("answerOption", []):
            marked = {"url": "http://hl7.org/fhir/StructureDefinition/questionnaire-optionExclusive",
                      "valueBoolean": True} in option.get("extension", [])
            assert marked == (option["valueCoding"]["code"] in (question.exclusive or ()))
            exclusive_seen += marked
        if question.type == "consent":
            [constraint] = [e for e in items[qid]["extension"]
                            if e["url"].endswith("questionnaire-constraint")]
            parts = {p["url"]: next(v for k, v in p.items() if k.startswith("value"))
                     for p in constraint["extension"]}
            assert parts["expression"] == "answer.all(value = true)"
            assert parts["severity"] == "error" and "true" in parts["human"]
    assert exclusive_seen >= 2


def test_urls_never_follow_the_request_host(
    api_app: Flask, clinics: dict[str, int], api: Callable[..., Api]
) -> None:
    for _ in range(2):
        add_submission(api_app, clinics["demo"])
    forged = {"Host": "evil.example", "X-Forwarded-Host": "evil.example"}
    for path in ("/fhir/metadata", "/fhir/QuestionnaireResponse?_count=1",
                 "/fhir/Questionnaire/screener", "/fhir/StructureDefinition/screening-flag"):
        body = json.dumps(api("demo").get(path, **forged))
        assert "evil.example" not in body and FHIR in body
    api_app.config["BASE_URL"] = None  # a test app without one: the local default
    bundle = api("demo").get("/fhir/QuestionnaireResponse?_count=1", **forged)
    assert (next_url(bundle) or "").startswith("http://127.0.0.1:5000/fhir/")


def test_the_questionnaire_in_either_language(api: Callable[..., Api], api_app: Flask) -> None:
    qn = api_app.extensions["questionnaire"]
    zh = api(None).get("/fhir/Questionnaire/screener?_language=zh-Hant")
    assert zh["language"] == "zh-Hant" and zh["version"] == qn.version
    first = zh["item"][0]["item"][0]
    label = qn.questions[first["linkId"]].label
    assert first["text"] == label.get("zh-Hant")
    translations = {t["extension"][0]["valueCode"]: t for t in first["_text"]["extension"]}
    assert set(translations) == {"en", "zh-Hans"}
    translation = translations["en"]
    assert {"url": "lang", "valueCode": "en"} in translation["extension"]
    assert {"url": "content", "valueString": label.get("en")} in translation["extension"]
    option = first["answerOption"][0]["valueCoding"]
    assert option["display"] == qn.questions[first["linkId"]].choice_label(option["code"], "zh-Hant")
    assert api(None).get("/fhir/Questionnaire/screener")["language"] == "en"
    api(None).get("/fhir/Questionnaire/screener?_language=fr", 400)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    last_updated=st.lists(st.text(max_size=40) | st.builds(
        lambda p, d: p + d.isoformat(), st.sampled_from(["ge", "gt", "le", "lt", "eq", ""]),
        st.datetimes(timezones=st.timezones()) | st.dates(),
    ), max_size=3),
    count=st.none() | st.text(max_size=8) | st.integers(-5, 10**7).map(str),
    cursor=st.none() | st.text(max_size=60),
    rid=st.text(max_size=30),
)
# Instants whose UTC time is before year 1 or after 9999, and a day with no day after it.
@example(last_updated=["ge0001-01-01T00:00:00+14:00"], count=None, cursor=None, rid="x")
@example(last_updated=["le9999-12-31T23:59:59-14:00"], count=None, cursor=None, rid="x")
@example(last_updated=["gt9999-12-31"], count=None, cursor=None, rid="x")
def test_no_search_or_id_gives_a_server_error(
    api: Callable[..., Api], client: FlaskClient, tokens: dict[str, str],
    last_updated: list[str], count: str | None, cursor: str | None, rid: str,
) -> None:
    params = [("_lastUpdated", v) for v in last_updated]
    params += [("_count", count)] if count is not None else []
    params += [("_cursor", cursor)] if cursor is not None else []
    headers = {"Authorization": f"Bearer {tokens['demo']}"}
    r = client.get("/fhir/QuestionnaireResponse", query_string=params, headers=headers)
    assert r.status_code in (200, 400) and r.mimetype == "application/fhir+json"
    check(json.loads(r.get_data()))
    r = client.get(f"/fhir/QuestionnaireResponse/{quote(rid, safe='')}", headers=headers)
    assert r.status_code in (200, 308, 404)  # 308: Werkzeug merges the slashes of "//"
