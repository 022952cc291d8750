"""The FHIR R4 definitions the resources name, served at their canonical URLs by the API
(screener/api.py): a `CodeSystem` per choice question, the `StructureDefinition`s of the
`screening-flag` and `show-if` extensions, the `NamingSystem` of submission ids, the server's
`CapabilityStatement`, and the API's `Bundle` and `OperationOutcome`. Pure Python; see
docs/fhir.md.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from markupsafe import Markup

from ..questionnaire.model import LANGUAGES, Question, Questionnaire
from .fhir import BASE_LANG, FHIR_VERSION, QUESTIONNAIRE_ID, Urls, fhir_id, narrative

PUBLISHER = "Screener"
DEFINED = "2026-12-10"  # when these definitions were published (StructureDefinition.date)


def _para(text: str) -> Markup:
    return Markup("<p>{}</p>").format(text)


# CodeSystem -------------------------------------------------------------------------------------


def _pascal(name: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in name.replace("-", "_").split("_"))


def code_system(q: Question, qn: Questionnaire, urls: Urls) -> dict[str, Any]:
    """The choice values of one `single`/`multi` question, with their labels."""
    assert q.choices
    concepts = [
        {
            "code": c.value,
            "display": c.label.get(BASE_LANG),
            "designation": [
                {"language": lang, "value": c.label.get(lang)}
                for lang in LANGUAGES
                if lang != BASE_LANG
            ],
        }
        for c in q.choices
    ]
    rows = Markup("").join(
        Markup("<tr><td>{}</td><td>{}</td></tr>").format(c.value, c.label.get(BASE_LANG))
        for c in q.choices
    )
    div = _para(f"Answers to the question '{q.label.get(BASE_LANG)}' ({q.id}).") + Markup(
        "<table><tr><th>Code</th><th>Display</th></tr>{}</table>"
    ).format(rows)
    return {
        "resourceType": "CodeSystem",
        "id": fhir_id(q.id),
        "text": narrative(div),
        "url": urls.code_system(q.id),
        "version": qn.version,
        "name": _pascal(q.id)[:254] or "Choices",
        "title": q.label.get(BASE_LANG),
        "status": "active",
        "publisher": PUBLISHER,
        "description": f"The answers to question {q.id} of the Screener questionnaire.",
        "caseSensitive": True,
        "content": "complete",
        "count": len(concepts),
        "concept": concepts,
    }


# StructureDefinitions of the extensions ----------------------------------------------------------


@dataclass(frozen=True)
class Part:
    """One sub-extension: a value of `type`, or sub-extensions of its own (`parts`)."""

    name: str
    min: int
    max: str
    short: str
    type: str = ""
    parts: tuple[Part, ...] = ()


LANGUAGE_PARTS = tuple(Part(lang, 1, "1", f"The text in {lang}", "string") for lang in LANGUAGES)
FLAG_PARTS = (
    Part("rule", 1, "1", "The rule id in questions.yaml", "code"),
    Part("severity", 1, "1", "red_flag | discuss | timing | comfort | info", "code"),
    Part("because", 0, "*", "A question (linkId) whose answer raised the flag", "string"),
    Part("source", 0, "1", "The rule's source key", "string"),
    Part("practitioner", 1, "1", "What the practitioner must do", parts=LANGUAGE_PARTS),
    Part("client", 1, "1", "The words the client was shown", parts=LANGUAGE_PARTS),
    Part(
        "timing", 0, "*", "A timing window of the rule",
        parts=(
            Part("question", 1, "1", "The question (linkId) with the date", "string"),
            Part("date", 1, "1", "The date answered", "date"),
            Part("days-since", 1, "1", "Days from that date to the submission", "integer"),
            Part("window-days", 1, "1", "The rule's window in days", "integer"),
            Part("window-ends", 1, "1", "The last day of the window", "date"),
        ),
    ),
)

EXTENSIONS: dict[str, dict[str, Any]] = {
    "screening-flag": {
        "title": "Screening flag",
        "description": (
            "A screening flag raised by the submission's answers, frozen at submission: the"
            " rule, its severity, the questions it read, what the practitioner must do and"
            " what the client was shown, in English and Traditional Chinese."
        ),
        "context": "QuestionnaireResponse",
        "parts": FLAG_PARTS,
    },
    "show-if": {
        "title": "Show-if condition",
        "description": (
            "The exact condition under which the item is shown, as JSON in the questions.yaml"
            " syntax, for a condition that enableWhen cannot express (the item then has no"
            " enableWhen)."
        ),
        "context": "Questionnaire.item",
        "type": "string",
    },
}


def _elements(path: str, id_: str, parts: Sequence[Part]) -> list[dict[str, Any]]:
    """The differential elements of sub-extensions `parts` under element `id_`."""
    out: list[dict[str, Any]] = [
        {
            "id": f"{id_}.extension",
            "path": f"{path}.extension",
            "slicing": {"discriminator": [{"type": "value", "path": "url"}], "rules": "open"},
        }
    ]
    for part in parts:
        pid = f"{id_}.extension:{part.name}"
        ppath = f"{path}.extension"
        out.append({
            "id": pid, "path": ppath, "sliceName": part.name, "short": part.short,
            "definition": part.short + ".", "min": part.min, "max": part.max,
        })
        if part.parts:
            out += _elements(ppath, pid, part.parts)
        else:
            out.append({"id": f"{pid}.extension", "path": f"{ppath}.extension", "max": "0"})
        out.append({"id": f"{pid}.url", "path": f"{ppath}.url", "fixedUri": part.name})
        if part.parts:
            out.append({"id": f"{pid}.value[x]", "path": f"{ppath}.value[x]", "max": "0"})
        else:
            out.append({
                "id": f"{pid}.value[x]", "path": f"{ppath}.value[x]", "min": 1,
                "type": [{"code": part.type}],
            })
    return out


def structure_definition(name: str, urls: Urls) -> dict[str, Any] | None:
    """The StructureDefinition of one of the product's extensions, or None."""
    spec = EXTENSIONS.get(name)
    if spec is None:
        return None
    url = urls.extension(name)
    elements: list[dict[str, Any]] = [{
        "id": "Extension", "path": "Extension", "short": spec["title"],
        "definition": spec["description"], "min": 0, "max": "*",
    }]
    if "parts" in spec:
        elements += _elements("Extension", "Extension", spec["parts"])
        elements += [
            {"id": "Extension.url", "path": "Extension.url", "fixedUri": url},
            {"id": "Extension.value[x]", "path": "Extension.value[x]", "max": "0"},
        ]
    else:
        elements += [
            {"id": "Extension.extension", "path": "Extension.extension", "max": "0"},
            {"id": "Extension.url", "path": "Extension.url", "fixedUri": url},
            {"id": "Extension.value[x]", "path": "Extension.value[x]", "min": 1,
             "type": [{"code": spec["type"]}]},
        ]
    parts = [f"{p.name}: {p.short}" for p in spec.get("parts", ())]
    items = Markup("").join(Markup("<li>{}</li>").format(p) for p in parts)
    div = _para(spec["description"]) + (Markup("<ul>{}</ul>").format(items) if parts else "")
    return {
        "resourceType": "StructureDefinition",
        "id": name,
        "text": narrative(div),
        "url": url,
        "name": _pascal(name),
        "title": spec["title"],
        "status": "active",
        "date": DEFINED,
        "publisher": PUBLISHER,
        "description": spec["description"],
        "fhirVersion": FHIR_VERSION,
        "kind": "complex-type",
        "abstract": False,
        "context": [{"type": "element", "expression": spec["context"]}],
        "type": "Extension",
        "baseDefinition": "http://hl7.org/fhir/StructureDefinition/Extension",
        "derivation": "constraint",
        "differential": {"element": elements},
    }


# NamingSystem, CapabilityStatement, OperationOutcome, Bundle --------------------------------------


def naming_system(urls: Urls) -> dict[str, Any]:
    description = (
        "The ids of submissions in this Screener installation: "
        "QuestionnaireResponse.identifier.value is the submission's number."
    )
    return {
        "resourceType": "NamingSystem",
        "id": "submission-id",
        "text": narrative(_para(description)),
        "name": "ScreenerSubmissionId",
        "status": "active",
        "kind": "identifier",
        "date": DEFINED,
        "publisher": PUBLISHER,
        "description": description,
        "uniqueId": [{"type": "uri", "value": urls.submission_ids, "preferred": True}],
    }


def capability_statement(urls: Urls, software_version: str) -> dict[str, Any]:
    """What the API serves (GET /fhir/metadata)."""
    read = [{"code": "read"}]
    security = (
        "QuestionnaireResponse needs a clinic's API token: Authorization: Bearer <token>."
        " A token reads its own clinic's submissions only. The definitions are public."
    )
    div = _para("Screener's read-only FHIR R4 API.") + _para(security)
    return {
        "resourceType": "CapabilityStatement",
        "id": "screener",
        "text": narrative(div),
        "name": "ScreenerApi",
        "title": "Screener FHIR API",
        "status": "active",
        "date": DEFINED,
        "publisher": PUBLISHER,
        "description": "Read-only FHIR R4 API of a Screener installation.",
        "kind": "instance",
        "software": {"name": "Screener", "version": software_version},
        "implementation": {"description": "Screener", "url": urls.base},
        "fhirVersion": FHIR_VERSION,
        "format": ["json"],
        "rest": [{
            "mode": "server",
            "security": {"cors": False, "description": security},
            "resource": [
                {
                    "type": "QuestionnaireResponse",
                    "interaction": [{"code": "read"}, {"code": "search-type"}],
                    "searchParam": [{
                        "name": "_lastUpdated", "type": "date",
                        "documentation": "ge, gt, le or lt and a date or a dateTime with a"
                        " time zone; newest first; _count (1 to 100, default 50) per page.",
                    }],
                },
                {
                    "type": "Questionnaire",
                    "versioning": "versioned",
                    "interaction": [{"code": "read"}, {"code": "vread"}],
                    "documentation": f"Questionnaire/{QUESTIONNAIRE_ID}, with ?version= or"
                    " /_history/<version> for every version used.",
                },
                {"type": "CodeSystem", "interaction": read},
                {"type": "StructureDefinition", "interaction": read},
                {"type": "NamingSystem", "interaction": read},
            ],
        }],
    }


def operation_outcome(code: str, message: str) -> dict[str, Any]:
    """An error of the API (code: an IssueType such as not-found, security, invalid)."""
    return {
        "resourceType": "OperationOutcome",
        "text": narrative(_para(message)),
        "issue": [{"severity": "error", "code": code, "diagnostics": message}],
    }


def bundle(
    resources: Sequence[dict[str, Any]],
    full_urls: Sequence[str],
    links: dict[str, str],
    total: int,
) -> dict[str, Any]:
    """A searchset Bundle of `resources`, newest first, with its `self` and `next` links."""
    out: dict[str, Any] = {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": total,
        "link": [{"relation": rel, "url": url} for rel, url in links.items()],
    }
    if resources:
        out["entry"] = [
            {"fullUrl": full, "resource": r, "search": {"mode": "match"}}
            for r, full in zip(resources, full_urls, strict=True)
        ]
    return out
