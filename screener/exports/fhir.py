"""FHIR R4 resources: the questionnaire as a `Questionnaire`, a submission as a
`QuestionnaireResponse` (with its screening flags as extensions), and the definitions their
canonical URLs name (a `CodeSystem` per choice question, the `StructureDefinition`s of the
extensions, the `NamingSystem` of submission ids). Pure Python; see docs/fhir.md.

Resources are built as plain JSON-ready dicts; the tests validate them with the R4B models of
`fhir.resources` (R4B keeps R4's Questionnaire and QuestionnaireResponse unchanged).
"""
from __future__ import annotations

import base64
import datetime as dt
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from flask_babel import force_locale
from flask_babel import gettext as _
from markupsafe import Markup, escape

from ..config import public_base_url
from ..languages import DEFAULT_LANG, LANGS
from ..questionnaire.consent import svg_document
from ..questionnaire.model import (
    LANGUAGES,
    AllOf,
    AnyOf,
    Compare,
    Condition,
    Not,
    Question,
    Questionnaire,
    Text,
)
from ..questionnaire.types import fhir_values, kind, plain_answer
from ..screening import Flag, flags_from_json
from ..screening.submission import SubmissionRecord

QUESTIONNAIRE_ID = "screener"
TRANSLATION = "http://hl7.org/fhir/StructureDefinition/translation"
ITEM_CONTROL = "http://hl7.org/fhir/StructureDefinition/questionnaire-itemControl"
MIN_VALUE = "http://hl7.org/fhir/StructureDefinition/minValue"
MAX_VALUE = "http://hl7.org/fhir/StructureDefinition/maxValue"
OPTION_EXCLUSIVE = "http://hl7.org/fhir/StructureDefinition/questionnaire-optionExclusive"
CONSTRAINT = "http://hl7.org/fhir/StructureDefinition/questionnaire-constraint"
# The language of `text` and `display`; others ride in translation extensions.
BASE_LANG = DEFAULT_LANG
FHIR_VERSION = "4.0.1"
XHTML = "http://www.w3.org/1999/xhtml"
SIGNATURE = "http://hl7.org/fhir/StructureDefinition/questionnaireresponse-signature"
# The signature's type: ASTM E1762-95 "Consent Signature" (FHIR's signature-type value set).
CONSENT_SIGNATURE = {
    "system": "urn:iso-astm:E1762-95:2013",
    "code": "1.2.840.10065.1.12.1.7",
    "display": "Consent Signature",
}

@dataclass(frozen=True)
class Urls:
    """The canonical URLs of one installation, all under `base` (e.g. https://host/fhir)."""

    base: str

    @property
    def questionnaire(self) -> str:
        return f"{self.base}/Questionnaire/{QUESTIONNAIRE_ID}"

    def code_system(self, question_id: str) -> str:
        """The code system of one choice question's values."""
        return f"{self.base}/CodeSystem/{question_id}"

    def extension(self, name: str) -> str:
        return f"{self.base}/StructureDefinition/{name}"

    @property
    def submission_ids(self) -> str:
        return f"{self.base}/NamingSystem/submission-id"

    @property
    def client_ids(self) -> str:
        return f"{self.base}/NamingSystem/client-id"

    @property
    def appointment_ids(self) -> str:
        return f"{self.base}/NamingSystem/appointment-id"

    def response(self, submission_id: int) -> str:
        return f"{self.base}/QuestionnaireResponse/{response_id(submission_id)}"


def urls_of(config: Mapping[str, Any]) -> Urls:
    """The installation's FHIR base: SCREENER_BASE_URL + /fhir (the local default in a debug or
    test app), where the API serves every resource it names. Never a request's Host header."""
    return Urls(f"{public_base_url(config)}/fhir")


def response_id(submission_id: int) -> str:
    """The logical id of a submission's QuestionnaireResponse."""
    return f"submission-{submission_id}"


def fhir_id(name: str) -> str:
    """A question id as a FHIR id ([A-Za-z0-9-.]{1,64}: no underscore)."""
    return name.replace("_", "-")[:64]


# Narratives -------------------------------------------------------------------------------------


def narrative(body: Markup | str) -> dict[str, Any]:
    """A generated narrative (`text`) around XHTML made with markupsafe (texts escaped)."""
    return {"status": "generated", "div": f'<div xmlns="{XHTML}">{body}</div>'}


def _list(items: Sequence[Markup | str], tag: str = "ul") -> Markup:
    if not items:
        return Markup("")
    return Markup("<{0}>{1}</{0}>").format(
        tag, Markup("").join(Markup("<li>{}</li>").format(i) for i in items)
    )


def questionnaire_title(lang: str) -> str:
    """The Questionnaire's title in `lang`, from its catalog (needs an app context)."""
    language = LANGS.get(lang) or LANGS.default
    with force_locale(language.locale):
        return str(_("Consultation questionnaire for facial acupuncture"))


# Texts ----------------------------------------------------------------------------------------


def _translations(text: Text, primary: str = BASE_LANG) -> dict[str, Any]:
    """The `_text`-style element carrying every language of a text but the primary one."""
    return {
        "extension": [
            {
                "url": TRANSLATION,
                "extension": [
                    {"url": "lang", "valueCode": lang},
                    {"url": "content", "valueString": text.get(lang)},
                ],
            }
            for lang in LANGUAGES
            if lang != primary and text.has(lang)  # a stored version may lack a language
        ]
    }


def _text(key: str, text: Text, primary: str = BASE_LANG) -> dict[str, Any]:
    return {key: text.get(primary), f"_{key}": _translations(text, primary)}


# Questionnaire ---------------------------------------------------------------------------------

Literal = tuple[str, str, dict[str, Any]]  # (question id, operator, answer[x] key and value)


class NotExpressible(Exception):
    """A show_if condition that FHIR's enableWhen cannot say exactly."""


def _answer_key(q: Question, value: Any, urls: Urls) -> dict[str, Any]:
    if q.type in ("single", "multi"):
        return {"answerCoding": {"system": urls.code_system(q.id), "code": str(value)}}
    if isinstance(value, bool):
        return {"answerBoolean": value}
    if isinstance(value, int):
        return {"answerInteger": value}
    return {"answerString": str(value)}


def _literals(
    cond: Condition, qn: Questionnaire, urls: Urls, negate: bool = False
) -> tuple[str, list[Literal]]:
    """(enableBehavior, comparisons) equal to the condition, or NotExpressible.

    FHIR has one level: all of, or any of, simple comparisons. Negations are pushed down
    (De Morgan); `!=` is true for an unanswered question, exactly like `not` over a comparison
    here, but `<`/`>` are false for an unanswered question, so a negated lte/gte is not exact.
    """
    if isinstance(cond, Not):
        return _literals(cond.not_, qn, urls, not negate)
    if isinstance(cond, AllOf | AnyOf):
        parts = cond.all if isinstance(cond, AllOf) else cond.any
        behavior = "all" if isinstance(cond, AllOf) != negate else "any"
        out: list[Literal] = []
        for part in parts:
            inner, lits = _literals(part, qn, urls, negate)
            if len(lits) > 1 and inner != behavior:
                raise NotExpressible
            out.extend(lits)
        return behavior, out
    assert isinstance(cond, Compare)
    q = qn.questions[cond.q]
    op = cond.operator
    if op == "within_days":  # relative to the submission date: no enableWhen operator
        raise NotExpressible
    if op in ("lte", "gte"):
        if negate:
            raise NotExpressible
        return "all", [(q.id, "<=" if op == "lte" else ">=", {"answerInteger": cond.operand})]
    values = [cond.operand] if op == "equals" else list(cond.operand)
    lits = [(q.id, "!=" if negate else "=", _answer_key(q, v, urls)) for v in values]
    return ("all" if negate else "any"), lits


def enable_when(cond: Condition | None, qn: Questionnaire, urls: Urls) -> dict[str, Any]:
    """The enableWhen/enableBehavior elements for a show_if, or an extension keeping it."""
    if cond is None:
        return {}
    try:
        behavior, lits = _literals(cond, qn, urls)
    except NotExpressible:
        # Always enabled in FHIR terms; the exact condition travels as JSON for the reader.
        return {
            "extension": [
                {
                    "url": urls.extension("show-if"),
                    "valueString": json.dumps(
                        cond.model_dump(by_alias=True, exclude_none=True), ensure_ascii=False
                    ),
                }
            ]
        }
    out: dict[str, Any] = {
        "enableWhen": [{"question": qid, "operator": op, **answer} for qid, op, answer in lits]
    }
    if len(lits) > 1:
        out["enableBehavior"] = behavior
    return out


def _merge_extensions(item: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    extensions = item.pop("extension", []) + extra.pop("extension", [])
    item.update(extra)
    if extensions:
        item["extension"] = extensions
    return item


def question_item(
    q: Question, qn: Questionnaire, urls: Urls, lang: str = BASE_LANG
) -> dict[str, Any]:
    """One question as a Questionnaire item (linkId = question id), texts primarily in `lang`."""
    item: dict[str, Any] = {
        "linkId": q.id, **_text("text", q.label, lang), "type": kind(q).fhir_item
    }
    item["required"] = q.required
    if q.type == "multi":
        item["repeats"] = True
    if q.type in ("text", "textarea", "email", "tel"):
        item["maxLength"] = q.text_max_length
    if q.choices:
        exclusive = set(q.exclusive or ())
        item["answerOption"] = [
            {
                "valueCoding": {
                    "system": urls.code_system(q.id),
                    "code": c.value,
                    **_text("display", c.label, lang),
                },
                # SDC: choosing this option clears the others ("none of these").
                **({"extension": [{"url": OPTION_EXCLUSIVE, "valueBoolean": True}]}
                   if c.value in exclusive else {}),
            }
            for c in q.choices
        ]
    if q.type == "consent":
        # R4 cannot restrict a boolean's answer; the constraint extension says only true is
        # accepted (the form refuses anything else).
        item["extension"] = [
            {
                "url": CONSTRAINT,
                "extension": [
                    {"url": "key", "valueId": f"{fhir_id(q.id)}-true"},
                    {"url": "severity", "valueCode": "error"},
                    {"url": "expression", "valueString": "answer.all(value = true)"},
                    {"url": "human",
                     "valueString": "Only true (ticked, \"I agree\") is accepted."},
                ],
            }
        ]
    if q.type == "scale":
        item["extension"] = [
            {"url": MIN_VALUE, "valueInteger": q.min},
            {"url": MAX_VALUE, "valueInteger": q.max},
        ]
    _merge_extensions(item, enable_when(q.show_if, qn, urls))
    if q.help:
        item["item"] = [
            {
                "linkId": f"{q.id}.help",
                **_text("text", q.help, lang),
                "type": "display",
                "extension": [
                    {
                        "url": ITEM_CONTROL,
                        "valueCodeableConcept": {
                            "coding": [
                                {
                                    "system": "http://hl7.org/fhir/questionnaire-item-control",
                                    "code": "help",
                                }
                            ]
                        },
                    }
                ],
            }
        ]
    return item


def questionnaire_resource(
    qn: Questionnaire, urls: Urls, lang: str = BASE_LANG
) -> dict[str, Any]:
    """The whole questionnaire as a FHIR R4 Questionnaire: one group item per step. Its texts
    are in `lang` (`language`), the other language in translation extensions."""
    items = []
    for step in qn.steps:
        group: dict[str, Any] = {
            "linkId": step.id, **_text("text", step.title, lang), "type": "group"
        }
        _merge_extensions(group, enable_when(step.show_if, qn, urls))
        group["item"] = [question_item(q, qn, urls, lang) for q in step.questions]
        items.append(group)
    title = questionnaire_title(lang)
    return {
        "resourceType": "Questionnaire",
        "id": QUESTIONNAIRE_ID,
        "meta": {"versionId": qn.version},
        "text": narrative(_questionnaire_div(qn, title, lang)),
        "url": urls.questionnaire,
        "version": qn.version,
        "name": "FacialAcupunctureScreener",
        "title": title,
        "status": "active",
        "language": lang,
        "subjectType": ["Patient"],
        "item": items,
    }


def _questionnaire_div(qn: Questionnaire, title: str, lang: str) -> Markup:
    steps = [
        escape(step.title.get(lang))
        + _list([q.label.get(lang) for q in step.questions], "ol")
        for step in qn.steps
    ]
    return Markup('<div lang="{}"><h1>{}</h1><p>{}</p>{}</div>').format(
        lang, title,
        f"Version {qn.version}: {len(qn.steps)} steps, {len(qn.questions)} questions.",
        _list(steps, "ol"),
    )


# QuestionnaireResponse ------------------------------------------------------------------------


def answer_values(
    q: Question | None, value: Any, urls: Urls, lang: str = BASE_LANG
) -> list[dict[str, Any]]:
    """The typed answer[x] entries of one stored answer (questionnaire/types.py); a chosen
    option's `display` is its label in `lang`, the language the client answered in."""
    values = fhir_values(q, value, urls.code_system(q.id) if q is not None else "")
    if q is not None:
        for v in values:
            coding = v.get("valueCoding")
            if coding is not None:
                coding["display"] = q.choice_label(coding["code"], lang)
    return values


def _flag_extension(flag: Flag, urls: Urls) -> dict[str, Any]:
    parts: list[dict[str, Any]] = [
        {"url": "rule", "valueCode": flag.rule},
        {"url": "severity", "valueCode": flag.severity},
    ]
    parts += [{"url": "because", "valueString": qid} for qid in flag.because]
    if flag.source:
        parts.append({"url": "source", "valueString": flag.source})
    for key, text in (("practitioner", flag.practitioner), ("client", flag.client)):
        # One sub-extension per language (a value[x] cannot carry a translation extension in
        # every toolkit, e.g. fhir.resources).
        parts.append(
            {
                "url": key,
                "extension": [
                    {"url": lang, "valueString": text.get(lang)}
                    for lang in LANGUAGES
                    if text.has(lang)
                ],
            }
        )
    for t in flag.timing:
        parts.append(
            {
                "url": "timing",
                "extension": [
                    {"url": "question", "valueString": t.question},
                    {"url": "date", "valueDate": t.date.isoformat()},
                    {"url": "days-since", "valueInteger": t.days_since},
                    {"url": "window-days", "valueInteger": t.window_days},
                    {"url": "window-ends", "valueDate": t.window_ends.isoformat()},
                    *(
                        [{"url": "counted-to", "valueDate": t.counted_to.isoformat()},
                         {"url": "counted-to-event", "valueCode": t.counted_to_event}]
                        if t.counted_to is not None else []
                    ),
                ],
            }
        )
    return {"url": urls.extension("screening-flag"), "extension": parts}


def signature_extension(submission: SubmissionRecord, urls: Urls) -> dict[str, Any] | None:
    """The client's signed consent as the QuestionnaireResponse signature extension: the typed
    name as `who`, the time as `when`, the drawing (if any) as SVG `data`, and the version of
    the consent text signed as an extension of the signature."""
    if not submission.consent_version or submission.consent_signed_at is None:
        return None
    signed = submission.consent_signed_at
    if signed.tzinfo is None:
        signed = signed.replace(tzinfo=dt.UTC)
    value: dict[str, Any] = {
        "extension": [
            {"url": urls.extension("consent-version"), "valueString": submission.consent_version}
        ],
        "type": [CONSENT_SIGNATURE],
        "when": signed.astimezone(dt.UTC).isoformat().replace("+00:00", "Z"),
        "who": {"display": submission.consent_name or ""},
    }
    if submission.consent_signature:
        svg = svg_document(submission.consent_signature).encode()
        value["sigFormat"] = "image/svg+xml"
        value["data"] = base64.b64encode(svg).decode("ascii")
    return {"url": SIGNATURE, "valueSignature": value}


def _response_items(
    qn: Questionnaire, answers: dict[str, Any], urls: Urls, lang: str
) -> Iterator[dict[str, Any]]:
    for step in qn.steps:
        children = []
        for q in step.questions:
            values = answer_values(q, answers.get(q.id), urls, lang)
            if values:
                children.append({"linkId": q.id, **_text("text", q.label), "answer": values})
        if children:
            yield {"linkId": step.id, **_text("text", step.title), "item": children}
    # Answers to questions removed from the file since: kept, as text.
    orphans = [
        {"linkId": qid, "answer": values}
        for qid, value in answers.items()
        if qid not in qn.questions and (values := answer_values(None, value, urls))
    ]
    yield from orphans


def questionnaire_response(
    submission: SubmissionRecord, qn: Questionnaire, urls: Urls
) -> dict[str, Any]:
    """A submission as a FHIR R4 QuestionnaireResponse; flags as `screening-flag` extensions."""
    submitted = submission.submitted_at
    if submitted.tzinfo is None:
        submitted = submitted.replace(tzinfo=dt.UTC)
    answers = dict(submission.answers or {})
    flags: Sequence[Flag] = flags_from_json(submission.flags)
    authored = submitted.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
    resource: dict[str, Any] = {
        "resourceType": "QuestionnaireResponse",
        "id": response_id(submission.id),
        "meta": {"lastUpdated": authored},
        "text": narrative(_response_div(submission, qn, answers, flags)),
        "language": submission.lang,
        "identifier": {"system": urls.submission_ids, "value": str(submission.id)},
        "questionnaire": f"{urls.questionnaire}|{submission.questionnaire_version}",
        "status": "completed",
        "authored": authored,
    }
    client = getattr(submission, "client", None)
    if client is not None:  # the clinic's client record, by its id and name
        resource["subject"] = {
            "identifier": {"system": urls.client_ids, "value": str(client.id)},
            "display": client.full_name,
        }
    extensions = [_flag_extension(f, urls) for f in flags]
    signature = signature_extension(submission, urls)
    if signature:
        extensions.append(signature)
    appointment_id = getattr(submission, "appointment_id", None)
    if appointment_id is not None:
        extensions.append({
            "url": urls.extension("appointment"),
            "valueIdentifier": {"system": urls.appointment_ids, "value": str(appointment_id)},
        })
    rechecked = getattr(submission, "rechecked", None)
    if rechecked is not None:
        # A pre-session check: the same questionnaire with only the questions asked afresh
        # (the other answers are the previous response's), and which response that was.
        answers = {qid: value for qid, value in answers.items() if qid in set(rechecked)}
        previous_id = getattr(submission, "previous_id", None)
        extensions.append({
            "url": urls.extension("pre-session-check"),
            "extension": [{"url": "previous", "valueIdentifier": {
                "system": urls.submission_ids, "value": str(previous_id),
            }}] if previous_id is not None else [{"url": "previous-deleted", "valueBoolean": True}],
        })
    if extensions:
        resource["extension"] = extensions
    items = list(_response_items(qn, answers, urls, submission.lang))
    if items:  # FHIR JSON has no empty arrays
        resource["item"] = items
    return resource


def _response_div(
    submission: SubmissionRecord, qn: Questionnaire, answers: dict[str, Any],
    flags: Sequence[Flag],
) -> Markup:
    """The submission in words, in the client's language: flags first, then every answer."""
    lang = submission.lang if submission.lang in LANGUAGES else BASE_LANG
    head = Markup("<p>") + escape(
        f"Submission {submission.id}, questionnaire version {submission.questionnaire_version},"
        f" answered in {lang}."
    ) + Markup("</p>")
    flag_lines = [f"{f.severity}: {f.practitioner.get(BASE_LANG)}" for f in flags]
    body = Markup("")
    for step in qn.steps:
        rows = [
            Markup("<tr><td>") + escape(q.label.get(lang)) + Markup("</td><td>")
            + escape(plain_answer(q, answers[q.id], lang)) + Markup("</td></tr>")
            for q in step.questions
            if q.id in answers
        ]
        if rows:
            body += (
                Markup("<h2>") + escape(step.title.get(lang)) + Markup("</h2><table>")
                + Markup("").join(rows) + Markup("</table>")
            )
    flags_part = (
        Markup("<p>Screening flags:</p>") + _list(flag_lines) if flags
        else Markup("<p>No screening flags.</p>")
    )
    return Markup('<div lang="{}">{}</div>').format(lang, head + flags_part + body)
