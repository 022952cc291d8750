"""The read-only FHIR R4 REST API under /fhir (docs/fhir.md).

- `GET /fhir/metadata`: the CapabilityStatement (no token).
- `GET /fhir/QuestionnaireResponse` and `/QuestionnaireResponse/<id>`: the submissions of the
  clinic whose API token is sent as `Authorization: Bearer <token>`; another clinic's id is a
  404 like a missing one. Each request is an audit entry of the clinic.
- `GET /fhir/Questionnaire/screener` (`?version=`, `/_history/<version>`), and the definitions
  the resources name, at their canonical URLs: `CodeSystem/<question>`,
  `StructureDefinition/<extension>`, `NamingSystem/submission-id` (no token: no health data).

Every URL in a response (identifiers, canonical URLs, `fullUrl`, page links) is made from
SCREENER_BASE_URL, never from the request's Host header. Errors are OperationOutcomes.
"""
from __future__ import annotations

import datetime as dt
import json
import re
from importlib.metadata import PackageNotFoundError, version
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, Response, abort, current_app, g, request
from flask.typing import ResponseReturnValue
from sqlalchemy import ColumnElement, and_, func, or_, select
from werkzeug.exceptions import HTTPException

from .dashboard import operations, queries
from .exports import fhir, fhir_defs
from .extensions import db
from .questionnaire.model import LANGUAGES, Questionnaire
from .storage import versions
from .storage.models import ApiToken, Submission, parse_id

bp = Blueprint("fhir", __name__)

FHIR_JSON = "application/fhir+json"
DEFAULT_COUNT = 50
MAX_COUNT = 100
RESPONSE_ID = re.compile(r"submission-([0-9]{1,10})")
VERSION_RE = re.compile(r"[0-9a-f]{1,32}")
# _lastUpdated: a prefix, then a date or a dateTime with seconds and a time zone.
DATE_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
PREFIXES = ("ge", "gt", "le", "lt")


class Invalid(Exception):
    """A search parameter the API cannot use: 400 with this message."""


def fhir_response(resource: dict[str, Any], status: int = 200) -> Response:
    body = json.dumps(resource, ensure_ascii=False, separators=(",", ":"))
    return Response(body, status=status, mimetype=FHIR_JSON)


def outcome(status: int, code: str, message: str) -> Response:
    return fhir_response(fhir_defs.operation_outcome(code, message), status)


def error_response(error: HTTPException) -> Response:
    """Any HTTP error under /fhir, as an OperationOutcome (also for unknown paths)."""
    status = error.code or 500
    codes = {400: "invalid", 401: "login", 403: "forbidden", 404: "not-found",
             405: "not-supported", 413: "too-costly", 429: "throttled"}
    messages = {
        401: "An API token is needed: Authorization: Bearer <token>.",
        404: "No such resource.",
        405: "The API is read-only: GET only.",
    }
    message = messages.get(status) or str(error.description or error.name)
    response = outcome(status, codes.get(status, "exception"), message)
    if status == 401:
        given = request.headers.get("Authorization") is not None
        response.headers["WWW-Authenticate"] = (
            'Bearer realm="screener"' + (', error="invalid_token"' if given else "")
        )
    return response


@bp.errorhandler(HTTPException)
def _error(error: HTTPException) -> Response:
    return error_response(error)


@bp.before_request
def _private() -> None:
    g.private_page = True  # Cache-Control: no-store (answers; and the token's clinic only)


def urls() -> fhir.Urls:
    return fhir.urls_of(current_app.config)


def bearer_token() -> ApiToken:
    """The active API token of the request, else 401."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    row = operations.api_token_of(token.strip()) if scheme.lower() == "bearer" else None
    if row is None:
        abort(401)
    return row


# Definitions (public) ---------------------------------------------------------------------------


def software_version() -> str:
    try:
        return version("screener")
    except PackageNotFoundError:
        return "unknown"


@bp.get("/metadata")
def metadata() -> ResponseReturnValue:
    return fhir_response(fhir_defs.capability_statement(urls(), software_version()))


def _stored_version(wanted: str) -> Questionnaire:
    """The questionnaire of a version used (current or stored), else 404."""
    qn = versions.current()
    if wanted == qn.version:
        return qn
    if VERSION_RE.fullmatch(wanted) is None:
        abort(404)
    qn = versions.answered_in(wanted)
    if qn.version != wanted:  # never stored
        abort(404)
    return qn


def _language() -> str:
    """?_language= picks the primary language of the Questionnaire's texts (default English;
    the other language is there too, in translation extensions)."""
    lang = request.args.get("_language", fhir.BASE_LANG)
    if lang not in LANGUAGES:
        abort(400, description=f"_language: one of {', '.join(LANGUAGES)}")
    return lang


@bp.get("/Questionnaire/<qid>")
def questionnaire(qid: str) -> ResponseReturnValue:
    """The current questionnaire, or with ?version= any version used."""
    if qid != fhir.QUESTIONNAIRE_ID:
        abort(404)
    wanted = request.args.get("version")
    qn = versions.current() if wanted is None else _stored_version(wanted)
    return fhir_response(fhir.questionnaire_resource(qn, urls(), _language()))


@bp.get("/Questionnaire/<qid>/_history/<vid>")
def questionnaire_version(qid: str, vid: str) -> ResponseReturnValue:
    if qid != fhir.QUESTIONNAIRE_ID:
        abort(404)
    return fhir_response(fhir.questionnaire_resource(_stored_version(vid), urls(), _language()))


@bp.get("/CodeSystem/<name>")
def code_system(name: str) -> ResponseReturnValue:
    """A choice question's code system (its canonical URL names the question id; its FHIR id
    has '-' for '_', and both work here): from the current questionnaire, else from the
    newest stored version that has the question."""
    candidates = [versions.current()] + [
        versions.answered_in(v) for v in versions.stored_newest_first(db.session)
    ]
    for qn in candidates:
        for q in qn.questions.values():
            if q.choices and name in (q.id, fhir.fhir_id(q.id)):
                return fhir_response(fhir_defs.code_system(q, qn, urls()))
    abort(404)


@bp.get("/StructureDefinition/<name>")
def structure_definition(name: str) -> ResponseReturnValue:
    resource = fhir_defs.structure_definition(name, urls())
    if resource is None:
        abort(404)
    return fhir_response(resource)


@bp.get("/NamingSystem/submission-id")
def naming_system() -> ResponseReturnValue:
    return fhir_response(fhir_defs.naming_system(urls()))


# QuestionnaireResponse (a token's clinic only) -------------------------------------------------


def _response(sub: Submission, base: fhir.Urls) -> dict[str, Any]:
    return fhir.questionnaire_response(sub, versions.answered_in(sub.questionnaire_version), base)


@bp.get("/QuestionnaireResponse/<rid>")
def questionnaire_response(rid: str) -> ResponseReturnValue:
    token = bearer_token()
    match = RESPONSE_ID.fullmatch(rid)
    sid = parse_id(match.group(1)) if match else None
    sub = queries.clinic_submission(db.session, token.clinic_id, sid) if sid else None
    if sub is None:
        abort(404)
    resource = _response(sub, urls())
    operations.api_read(token, "api_read", sub.id)
    return fhir_response(resource)


def parse_instant(text: str) -> tuple[dt.datetime, dt.datetime]:
    """The range [start, end) a _lastUpdated value names: a whole day for a date, the instant
    itself for a dateTime (which needs a time zone)."""
    text = text.replace(" ", "+")  # an unencoded '+' of a time zone arrives as a space
    if DATE_RE.fullmatch(text):
        day = dt.date.fromisoformat(text)
        start = dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)
        return start, start + dt.timedelta(days=1)
    if "T" not in text:
        raise Invalid("a date (YYYY-MM-DD) or a dateTime with a time zone")
    try:
        at = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise Invalid("a date (YYYY-MM-DD) or a dateTime with a time zone") from None
    if at.tzinfo is None:
        raise Invalid("a dateTime needs a time zone (Z or +hh:mm)")
    at = at.astimezone(dt.UTC)  # OverflowError near year 1 or 9999: the caller says invalid
    return at, at


def last_updated_filter(value: str) -> ColumnElement[bool]:
    prefix, rest = value[:2], value[2:]
    if prefix not in PREFIXES:
        raise Invalid("_lastUpdated takes ge, gt, le or lt before its date")
    try:
        start, end = parse_instant(rest)
    except (ValueError, OverflowError):
        raise Invalid("_lastUpdated: not a date") from None
    column = Submission.submitted_at
    exact = start == end
    if prefix == "ge":
        return column >= start
    if prefix == "lt":
        return column < start
    if prefix == "gt":
        return column > start if exact else column >= end
    return column <= start if exact else column < end  # le


def _count() -> int:
    raw = request.args.get("_count")
    if raw is None:
        return DEFAULT_COUNT
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 6:
        raise Invalid("_count must be a whole number from 0 to 100")
    return min(int(raw), MAX_COUNT)


def _search_url(base: fhir.Urls, params: list[tuple[str, str]]) -> str:
    query = urlencode(params)
    return f"{base.base}/QuestionnaireResponse" + (f"?{query}" if query else "")


@bp.get("/QuestionnaireResponse")
def search() -> ResponseReturnValue:
    """The token's clinic's submissions, newest first, a page of _count at a time.

    The next-page link names the last row shown (its time and id): the next page starts after
    it, so submissions arriving meanwhile (newer) never shift or repeat the pages.
    """
    token = bearer_token()
    try:
        dates = request.args.getlist("_lastUpdated")
        where = [Submission.clinic_id == token.clinic_id] + [last_updated_filter(v) for v in dates]
        count = _count()
    except Invalid as exc:
        return outcome(400, "invalid", str(exc))
    cursor_text = request.args.get("_cursor")
    cursor = queries.Cursor.decode(cursor_text)
    if cursor_text is not None and cursor is None:
        return outcome(400, "invalid", "_cursor: not a page of this search")
    page_where = list(where)
    if cursor is not None:
        page_where.append(or_(
            Submission.submitted_at < cursor.at,
            and_(Submission.submitted_at == cursor.at, Submission.id < cursor.id),
        ))
    total = int(db.session.scalar(select(func.count()).select_from(Submission).where(*where)) or 0)
    rows = list(db.session.scalars(
        select(Submission).where(*page_where)
        .order_by(Submission.submitted_at.desc(), Submission.id.desc())
        .limit(count + 1)
    )) if count else []
    more = len(rows) > count
    rows = rows[:count]
    base = urls()
    params = [("_lastUpdated", v) for v in dates] + [("_count", str(count))]
    here = [("_cursor", cursor_text)] if cursor_text is not None else []
    links = {"self": _search_url(base, params + here)}
    if more:
        last = queries.Cursor(rows[-1].submitted_at, rows[-1].id)
        links["next"] = _search_url(base, [*params, ("_cursor", last.encode())])
    resources = [_response(sub, base) for sub in rows]
    operations.api_read(token, "api_search", detail={"count": len(rows)})
    return fhir_response(
        fhir_defs.bundle(resources, [base.response(sub.id) for sub in rows], links, total)
    )

