"""Client wizard routes. Registered twice: /c/<slug>/ (standalone) and /embed/<slug>/ (iframe).

No route reads or sets a cookie: the draft is found by the token in the URL path.
"""
from __future__ import annotations

import datetime as dt
import io
import time
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    g,
    make_response,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from .. import appointments, clinic_texts, notify, webhooks
from ..dashboard.operations import client_copy_downloaded
from ..extensions import db, limiter
from ..i18n import (
    format_date,
    format_time,
    normalise_lang,
    request_lang,
    zone,
)
from ..questionnaire import engine
from ..questionnaire.answers import answer_rows
from ..questionnaire.consent import NAME_MAX, DrawingError, parse_drawing, same_name
from ..questionnaire.engine import BACK, CONTINUE, INTRO, REVIEW, SWITCH_LANG
from ..questionnaire.model import Question, Questionnaire, Step
from ..questionnaire.types import display_answer
from ..screening import pdf, screen
from ..screening.render import client_summary_context
from ..screening.rules import APPOINTMENT, SUBMISSION
from ..security import frame_origins
from ..storage import versions
from ..storage.models import Appointment, Client, Draft, Submission, utcnow, valid_slug
from .drafts import (
    START_NONCE_SECONDS,
    find_clinic,
    find_draft,
    invitation_draft,
    new_draft,
    save_draft,
    set_draft_lang,
    start_nonce,
    start_nonce_token,
    step_context,
    step_token,
    submit_draft,
    submit_token,
    submit_token_valid,
    token_hash_of,
)
from .forms import StepForm, answers_formdata, form_answers, make_form

bp = Blueprint("wizard", __name__)
# wizard.js sends a step with this header (value "1"): a valid step is then answered with the
# next page itself (200) instead of a 303 to it, so a step change costs one round trip. The
# page's URL comes in LOCATION_HEADER; after the start form, FIRST_HEADER gives the draft's own
# first step, which the script puts in place of the public start page in the history.
FETCH_HEADER = "Screener-Fetch"
LOCATION_HEADER = "Screener-Location"
FIRST_HEADER = "Screener-First"


def full_questionnaire() -> Questionnaire:
    return current_app.extensions["questionnaire"]  # type: ignore[no-any-return]


def questionnaire() -> Questionnaire:
    """What this request's client is asked: the whole questionnaire, or for a pre-session
    check (set by _load_draft) only its recheck questions."""
    return g.get("check") or full_questionnaire()


def today() -> dt.date:
    """The date answers are checked against: the server's date (UTC by default)."""
    return dt.date.today()


def wurl(endpoint: str, **values: Any) -> str:
    """url_for within the blueprint serving this request (standalone or embed)."""
    return url_for(f"{request.blueprint}.{endpoint}", **values)


@bp.app_context_processor
def _helpers() -> dict[str, Any]:
    return {"wurl": wurl}


@bp.url_value_preprocessor
def _pull_clinic(endpoint: str | None, values: dict[str, Any] | None) -> None:
    slug = (values or {}).pop("slug", "")
    ctx = g._get_current_object()
    ctx.embedded = request.blueprint == "embed"
    # Checked before the query: PostgreSQL refuses some strings (a NUL byte) with an error.
    clinic = find_clinic(db.session, slug) if valid_slug(slug) else None
    if clinic is None:
        abort(404)
    ctx.clinic = clinic
    # Only the clinic's languages: the switch, the browser's choice, a draft's (i18n).
    ctx.offered_langs = clinic_texts.offered(clinic)
    ctx.default_lang = clinic_texts.default_lang(clinic)
    if ctx.embedded:
        # Normalised once here, for the CSP header and the embed host check (security, embed).
        ctx.frame_ancestors = frame_origins(clinic.allowed_origins)


@bp.url_defaults
def _add_clinic(endpoint: str, values: dict[str, Any]) -> None:
    clinic = g.get("clinic")
    if clinic is not None:
        values.setdefault("slug", clinic.slug)
    token = g.get("token")
    if token is not None and endpoint.endswith(
        (".resume", ".intro", ".step", ".review", ".submit", ".summary", ".summary_pdf")
    ):
        values.setdefault("token", token)


def _load_draft(token: str) -> Draft:
    ctx = g._get_current_object()
    draft = find_draft(db.session, ctx.clinic, token)
    if draft is None:
        # The draft of an invitation whose link has expired (or whose summary link has): the
        # invitation's page, with the clinic's contact details.
        appointment = _appointment_of(token)
        if appointment is not None:
            ctx.lang = clinic_texts.client_lang(
                ctx.clinic, normalise_lang(request.args.get("lang")) or request_lang()
            )
            closed = _closed_invitation(appointment, token)
            if closed is not None:
                abort(make_response(closed))
        abort(404, description="draft")
    ctx.token = token
    ctx.draft = draft
    ctx.private_page = True
    if draft.appointment_id is not None:
        _load_appointment(draft.appointment_id)
    # The language asked for, else the draft's; the clinic's default when it is not offered
    # (any more: the clinic may have changed its languages since the draft was started).
    wanted = clinic_texts.client_lang(
        ctx.clinic, normalise_lang(request.args.get("lang")) or draft.lang
    )
    if wanted != draft.lang:
        with db.transaction() as session:
            set_draft_lang(session, draft, wanted)
    ctx.lang = draft.lang
    return draft


def _load_appointment(appointment_id: int) -> None:
    """An invitation's draft: its appointment, and for a pre-session check the submission it
    builds on and the check's questions (g.appointment, g.previous, g.check)."""
    appointment = db.session.get(Appointment, appointment_id)
    g.appointment = appointment
    if appointment is None or appointment.previous_submission_id is None:
        return
    previous = db.session.get(Submission, appointment.previous_submission_id)
    check = engine.recheck_questionnaire(full_questionnaire())
    if previous is not None and check is not None:
        g.previous, g.check = previous, check


def _resume_target(draft: Draft) -> str:
    if draft.submitted_at is not None:
        return wurl("summary")
    if draft.current_step == REVIEW:
        return wurl("review")
    qn = questionnaire()
    steps = engine.visible_steps(qn, draft.answers, today())
    step_id = draft.current_step if any(s.id == draft.current_step for s in steps) else steps[0].id
    return wurl("step", step_id=step_id)


def _see_other(location: str) -> ResponseReturnValue:
    """303 to `location` (ASCII: wizard URLs only), without the HTML body `redirect()` writes
    for browsers that do not follow redirects."""
    return current_app.response_class(status=303, headers={"Location": location})


def _step_form(
    step: Step, questions: list[Question], draft: Draft, *, posted: bool, csrf: bool = True
) -> StepForm:
    return make_form(
        questionnaire(),
        step,
        questions,
        formdata=request.form if posted else None,
        answers=draft.answers,
        csrf_context=step_context(draft.token_hash, step.id),
        secret=current_app.config["SECRET_KEY"],
        lang=draft.lang,
        today=today(),
        csrf=csrf,
    )


def stored_form(step: Step, answers: dict[str, Any], lang: str) -> StepForm:
    """A step's stored answers, re-validated by the same form the client filled in."""
    qn = questionnaire()
    questions = engine.visible_questions(qn, step, answers, today())
    form = make_form(
        qn,
        step,
        questions,
        formdata=answers_formdata(questions, answers),
        answers=answers,
        csrf_context="",
        secret=current_app.config["SECRET_KEY"],
        lang=lang,
        today=today(),
        csrf=False,
    )
    form.validate()
    return form


def first_incomplete_step(answers: dict[str, Any], lang: str) -> Step | None:
    """The first visible step whose stored answers do not pass its form, or None: every step
    is checked again before the review page and the submit (as django-formtools' render_done)."""
    qn, day = questionnaire(), today()
    for step in engine.visible_steps(qn, answers, day):
        if stored_form(step, answers, lang).errors:
            return step
    return None


# Routes -----------------------------------------------------------------------------------


@bp.get("/<slug>/")
def start() -> ResponseReturnValue:
    """The public start page: what the questionnaire is, above the first step's questions.
    Nothing is stored: the draft is made when the form is sent (begin)."""
    g.lang = clinic_texts.client_lang(
        g.clinic, normalise_lang(request.args.get("lang")) or request_lang()
    )
    response = make_response(_render_start(posted=False, nonce=None))
    # The nonce makes the page one client's: never kept by a shared cache. The browser may
    # keep it, so that its Back shows the same form (same nonce) again rather than a new one.
    response.headers["Cache-Control"] = "private, no-cache"
    return response


def _first_step() -> tuple[Step, list[Question], int]:
    """The first step of a new draft, its questions and the number of steps."""
    qn, day = questionnaire(), today()
    steps = engine.visible_steps(qn, {}, day)
    return steps[0], engine.rendered_questions(qn, steps[0], {}, day), len(steps)


def _start_form(step: Step, rendered: list[Question], *, posted: bool) -> StepForm:
    """The first step's form on the start page: no draft yet, so no draft-bound CSRF token (the
    POST makes a new draft of its own, or goes on with the one its nonce made)."""
    return make_form(
        questionnaire(), step, rendered, formdata=request.form if posted else None, answers={},
        csrf_context="", secret=current_app.config["SECRET_KEY"],
        lang=g.get("lang") or request_lang(), today=today(), csrf=False,
    )


def _render_start(*, posted: bool, nonce: str | None, form: StepForm | None = None) -> str:
    qn = questionnaire()
    first, rendered, total = _first_step()
    form = form or _start_form(first, rendered, posted=posted)
    errors = [(q.id, form[q.id].errors[0]) for q in rendered if form[q.id].errors]
    reveals = {q.id: engine.reveal_controller(qn, q) for q in rendered}
    return render_template(
        "wizard/start.html",
        steps=qn.steps,
        draft_days=current_app.config["DRAFT_DAYS"],
        clinic_page=clinic_texts.page_texts(g.clinic, request_lang()),
        step=first, total=total, questions=rendered, form=form, errors=errors, reveals=reveals,
        leaves={q.id: engine.compare_leaves(q) for q in rendered if reveals[q.id]},
        nonce=nonce or start_nonce(current_app.config["SECRET_KEY"], g.clinic.id, int(time.time())),
    )


@bp.get("/<slug>/d/<token>/intro")
def intro(token: str) -> ResponseReturnValue:
    """The start page's text inside a draft: where Back from the first step leads, so the
    client never meets the public start page (whose Start makes a new, empty draft)."""
    draft = _load_draft(token)
    if draft.submitted_at is not None:
        return _see_other(wurl("summary", sent=1))
    qn = questionnaire()
    first = engine.visible_steps(qn, draft.answers, today())[0]
    return render_template(
        "wizard/intro.html",
        steps=qn.steps,
        draft_days=current_app.config["DRAFT_DAYS"],
        first_url=wurl("step", step_id=first.id),
        clinic_page=clinic_texts.page_texts(g.clinic, draft.lang),
        **_resume_values(draft),
    )


def _draft_limit() -> str:
    return str(current_app.config["DRAFT_RATE_LIMIT"])


def _submit_limit() -> str:
    return str(current_app.config["SUBMIT_RATE_LIMIT"])


def _pdf_limit() -> str:
    return str(current_app.config["PDF_RATE_LIMIT"])


@bp.post("/<slug>/start")
@limiter.shared_limit(_draft_limit, scope="client-start")  # /c/ and /embed/ count together
def begin() -> ResponseReturnValue:
    """The start page's form: its first step's answers make a new draft, which goes on to its
    next step. Errors come back on the start page, with the answers. Sent again with the same
    nonce (the browser's Back to the start page, then Continue), it goes on with the draft the
    nonce made instead of making a second one."""
    g.lang = lang = clinic_texts.client_lang(
        g.clinic, normalise_lang(request.form.get("lang")) or request_lang()
    )
    g.private_page = True  # an error page shows the answers
    days = current_app.config["DRAFT_DAYS"]
    secret, clinic = current_app.config["SECRET_KEY"], g.clinic
    sent_nonce = request.form.get("nonce")
    token = start_nonce_token(secret, clinic.id, sent_nonce, int(time.time()), START_NONCE_SECONDS)
    if token is not None and find_draft(db.session, clinic, token) is not None:
        return _post_first_step(token)
    qn, day = questionnaire(), today()
    first, rendered, _total = _first_step()
    form = _start_form(first, rendered, posted=True)
    form.validate()
    shown = engine.shown_questions(qn, rendered, form_answers(form, rendered), day)
    for q in rendered:
        if q not in shown:
            form[q.id].errors = []
    if any(form[q.id].errors for q in shown):
        return _render_start(posted=True, nonce=sent_nonce if token else None, form=form)
    outcome = engine.apply_step(
        qn, {}, first, form_answers(form, shown), action=CONTINUE, today=day, from_review=False,
        first_incomplete=lambda answers: first_incomplete_step(answers, lang),
    )

    def make(wanted: str | None) -> str:
        with db.transaction() as session:
            draft, made = new_draft(session, clinic, lang, days, wanted, embedded=g.embedded)
            draft.answers, draft.current_step = outcome.answers, outcome.position
            draft.furthest_step = engine.position_index(full_questionnaire(), outcome.position)
        return made

    try:
        token = make(token)
    except IntegrityError:
        db.session.rollback()
        if token is not None and find_draft(db.session, clinic, token) is not None:
            # The same nonce sent twice at once: the other request made the draft.
            return _post_first_step(token)
        token = make(None)  # the nonce's draft has expired but is not deleted yet
    g.token = token
    return _go(_outcome_url(outcome.go_to, False, CONTINUE), first=wurl("step", step_id=first.id))


def _post_first_step(token: str) -> ResponseReturnValue:
    """The start form sent again for the draft its nonce made: as its first step's form."""
    draft = _load_draft(token)
    if draft.submitted_at is not None:
        return _go(wurl("summary", sent=1))
    qn, day = questionnaire(), today()
    steps = engine.visible_steps(qn, draft.answers, day)
    rendered = engine.rendered_questions(qn, steps[0], draft.answers, day)
    return _post_step(draft, steps[0], steps, rendered, False, csrf=False)


def _outcome_url(go_to: str, from_review: bool, action: str) -> str:
    """The page a step's outcome leads to."""
    if go_to == INTRO:
        return wurl("intro")
    if go_to == REVIEW:
        return wurl("review")
    args = {"from": REVIEW} if from_review and action != BACK else {}
    return wurl("step", step_id=go_to, **args)


def _go(location: str, first: str | None = None) -> ResponseReturnValue:
    """After a step is stored: a 303 to the next page; for wizard.js (FETCH_HEADER) the next
    page itself, with its URL (and `first`, the draft's first step, after the start form)."""
    if request.headers.get(FETCH_HEADER) != "1":
        return _see_other(location)
    response = _page_at(location)
    if response.status_code == 200:
        response.headers[LOCATION_HEADER] = location
        if first is not None:
            response.headers[FIRST_HEADER] = first
    return response


def _page_at(location: str) -> Response:
    """The response a GET of `location` (a path of this app) gets, made within this request:
    its own app context (a fresh `g` and database session), the same client headers but for
    Accept-Encoding (this request's response is compressed once, as any other)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    path, _, query = location.partition("?")
    environ = {
        k: v for k, v in request.environ.items()
        if not k.startswith("werkzeug.request")
        and k not in ("CONTENT_TYPE", "CONTENT_LENGTH", "HTTP_ACCEPT_ENCODING",
                      "HTTP_" + FETCH_HEADER.upper().replace("-", "_"))
    }
    environ.update({
        "REQUEST_METHOD": "GET", "PATH_INFO": path.removeprefix(request.script_root),
        "QUERY_STRING": query, "wsgi.input": io.BytesIO(b""),
    })
    with app.app_context(), app.request_context(environ):
        response: Response = app.full_dispatch_request()
    return response


def _appointment_of(token: str) -> Appointment | None:
    """The clinic's appointment whose invitation token this is, if it is one."""
    if token_hash_of(token) is None:
        return None
    return appointments.appointment_by_token(db.session, g.clinic.id, token)


def _closed_invitation(appointment: Appointment, token: str) -> ResponseReturnValue | None:
    """The page of an invitation whose answers were sent (with the summary link while it
    works) or whose link has expired, with the clinic's contact details; None when it is open."""
    g.private_page = True
    sent = db.session.scalar(
        select(Submission.id).where(Submission.appointment_id == appointment.id)
    )
    if sent is not None:
        g.token = token
        summary_url = wurl("summary") if find_draft(db.session, g.clinic, token) else None
        return render_template("wizard/invitation.html", state="used", summary_url=summary_url)
    if appointment.expires_at <= utcnow():
        when = format_time(appointment.starts_at)
        return render_template("wizard/invitation.html", state="expired", when=when), 410
    return None


@bp.get("/<slug>/i/<token>")
def invitation(token: str) -> ResponseReturnValue:
    """A client's invitation link: makes the appointment's draft the first time (holding the
    details the clinic knows) and resumes it after; a link that is unknown, expired or whose
    answers were sent gets a page with the clinic's contact details instead."""
    g.lang = clinic_texts.client_lang(
        g.clinic, normalise_lang(request.args.get("lang")) or request_lang()
    )
    g.private_page = True
    clinic = g.clinic
    appointment = _appointment_of(token)
    if appointment is None:
        return render_template("wizard/invitation.html", state="unknown"), 404
    closed = _closed_invitation(appointment, token)
    if closed is not None:
        return closed
    draft = db.session.scalars(select(Draft).where(Draft.appointment_id == appointment.id)).first()
    if draft is None:
        client = db.session.get(Client, appointment.client_id)
        # A client who has sent the questionnaire before gets the short check.
        previous = db.session.scalar(
            select(Submission.id)
            .where(Submission.clinic_id == clinic.id, Submission.client_id == appointment.client_id)
            .order_by(Submission.submitted_at.desc(), Submission.id.desc())
            .limit(1)
        )
        check = engine.recheck_questionnaire(full_questionnaire())
        try:
            with db.transaction() as session:
                if previous is not None and check is not None:
                    session.add(appointment)
                    appointment.previous_submission_id = previous
                invitation_draft(
                    session, appointment, client,
                    check if previous is not None and check is not None
                    else full_questionnaire(),
                    clinic_texts.client_lang(clinic, g.lang),
                )
        except IntegrityError:  # opened twice at the same moment: the other request made it
            db.session.rollback()
    g.token = token
    return _see_other(wurl("resume"))


@bp.get("/<slug>/d/<token>/")
def resume(token: str) -> ResponseReturnValue:
    return _see_other(_resume_target(_load_draft(token)))


@bp.route("/<slug>/d/<token>/s/<step_id>", methods=["GET", "POST"])
def step(token: str, step_id: str) -> ResponseReturnValue:
    draft = _load_draft(token)
    if draft.submitted_at is not None:
        return _see_other(wurl("summary", sent=1))
    qn, day = questionnaire(), today()
    steps = engine.visible_steps(qn, draft.answers, day)
    current = next((s for s in steps if s.id == step_id), None)
    if current is None:
        return _see_other(_resume_target(draft))
    from_review = request.args.get("from") == REVIEW
    rendered = engine.rendered_questions(qn, current, draft.answers, day)

    if request.method == "GET":
        form = _step_form(current, rendered, draft, posted=False)
        if request.args.get("check") == "1":
            # Sent here by a failed final check: show what is missing.
            for name, errors in stored_form(current, draft.answers, draft.lang).errors.items():
                form[name].errors = list(errors)
        return _render_step(current, steps, rendered, from_review, form)

    return _post_step(draft, current, steps, rendered, from_review)


def _post_step(
    draft: Draft, current: Step, steps: list[Step], rendered: list[Question], from_review: bool,
    *, csrf: bool = True,
) -> ResponseReturnValue:
    """A step's form sent: the same page with errors, or stored and on to the next page."""
    qn, day = questionnaire(), today()
    form = _step_form(current, rendered, draft, posted=True, csrf=csrf)
    form.validate()
    if csrf and form["csrf_token"].errors:
        abort(400, description="csrf")
    # Which questions apply depends on what was just posted on this very step.
    shown = engine.shown_questions(
        qn, rendered, {**draft.answers, **form_answers(form, rendered)}, day
    )
    for q in rendered:
        if q not in shown:
            form[q.id].errors = []
    switch_to = normalise_lang(request.form.get("switch_lang"))
    if switch_to not in clinic_texts.offered(g.clinic):
        switch_to = None
    # The language switch is a submit button of this form: like Back, it keeps what passes.
    action = (
        SWITCH_LANG if switch_to else BACK if request.form.get("action") == "back" else CONTINUE
    )
    if action == CONTINUE and any(form[q.id].errors for q in shown):
        return _render_step(current, steps, rendered, from_review, form)

    outcome = engine.apply_step(
        qn, draft.answers, current, form_answers(form, [q for q in shown if not form[q.id].errors]),
        action=action, today=day, from_review=from_review,
        first_incomplete=lambda answers: first_incomplete_step(answers, draft.lang),
    )
    with db.transaction() as session:
        save_draft(
            session, draft, outcome.answers, outcome.position, lang=switch_to,
            reached=engine.position_index(full_questionnaire(), outcome.position),
        )
    return _go(_outcome_url(outcome.go_to, from_review, action))


def _render_step(
    current: Step, steps: list[Step], rendered: list[Question], from_review: bool, form: StepForm
) -> str:
    """The step page, from the form (stored answers, or a posted form and its errors)."""
    qn, draft = questionnaire(), g.draft
    number = next(i for i, s in enumerate(steps) if s.id == current.id) + 1
    errors = [(q.id, form[q.id].errors[0]) for q in rendered if form[q.id].errors]
    reveals = {q.id: engine.reveal_controller(qn, q) for q in rendered}
    previous = g.get("previous")
    earlier = (previous.answers or {}) if previous is not None else {}
    # In a pre-session check each question shows what the client answered last time.
    last = {
        q.id: display_answer(q, earlier[q.id], draft.lang) for q in rendered if q.id in earlier
    }
    return render_template(
        "wizard/step.html", step=current, number=number, total=len(steps), questions=rendered,
        last=last, check=previous is not None,
        last_date=format_date(previous.submitted_at, "long") if previous is not None else "",
        form=form, errors=errors, from_review=from_review, reveals=reveals,
        leaves={q.id: engine.compare_leaves(q) for q in rendered if reveals[q.id]},
        action_url=wurl("step", step_id=current.id, **({"from": REVIEW} if from_review else {})),
        csrf_token=step_token(current_app.config["SECRET_KEY"], draft.token_hash, current.id),
        **_resume_values(draft),
    )


def private_link() -> str:
    """The draft's private link: always its standalone page, also inside a frame (where a framed
    page would open bare, without the clinic's name, and the host's address is not kept)."""
    return url_for("client.resume", _external=True)


def _resume_values(draft: Draft) -> dict[str, str]:
    """What the "come back later" box shows (wizard/_resume.html)."""
    return {
        "resume_url": private_link(),
        "expires_text": format_date(draft.expires_at, "long"),
    }


@bp.get("/<slug>/d/<token>/review")
def review(token: str) -> ResponseReturnValue:
    draft = _load_draft(token)
    if draft.submitted_at is not None:
        return _see_other(wurl("summary", sent=1))
    missing = first_incomplete_step(draft.answers, draft.lang)
    if missing is not None:
        return _see_other(wurl("step", step_id=missing.id, check=1))
    return _render_review(draft)


def _render_review(
    draft: Draft, signed_name: str = "", signature: str = "", errors: dict[str, str] | None = None
) -> str:
    """The review page, ending with the consent to sign and the send button; after a send
    refused for the signature, with what was typed and drawn, and the errors."""
    qn = questionnaire()
    return render_template(
        "wizard/review.html",
        sections=answer_rows(qn, draft.answers, draft.lang, today()),
        csrf_token=submit_token(current_app.config["SECRET_KEY"], draft.token_hash),
        consent=clinic_texts.consent_words(g.clinic, qn, draft.lang),
        signed_name=signed_name,
        signature=signature,
        errors=errors or {},
        **_resume_values(draft),
    )


def _clean(text: str) -> str:
    """A typed line as stored: no control characters, trimmed, at most NAME_MAX characters."""
    kept = "".join(c for c in text if c.isprintable() or c == " ")
    return " ".join(kept.split())[:NAME_MAX]


def _signed_consent(
    qn: Questionnaire, answers: dict[str, Any], form: Any
) -> tuple[dict[str, Any], dict[str, str]]:
    """The consent columns of the submission from the posted form, and the errors by field
    (signed_name, signature): nothing is stored unless there are none."""
    if qn.consent is None:
        return {}, {}
    errors: dict[str, str] = {}
    version = str(form.get("consent_version", ""))
    typed = _clean(str(form.get("signed_name", "")))
    full_name = str(answers.get("full_name", ""))
    if clinic_texts.signable(g.clinic, qn, version) is None:
        errors["signed_name"] = _(
            "The consent text has changed since this page was opened. Read it again below, "
            "then sign."
        )
    elif not typed:
        errors["signed_name"] = _("Type your full name to sign the consent.")
    elif "full_name" in qn.questions and not same_name(typed, full_name):
        errors["signed_name"] = _(
            "Type your full name as you gave it in your details: %(name)s.", name=full_name
        )
    try:
        drawing = parse_drawing(str(form.get("signature", "")))
    except DrawingError:
        drawing = None
        errors["signature"] = _(
            "The drawn signature could not be read. Clear it and draw it again, or send "
            "without it: your typed name is enough."
        )
    if errors:
        return {}, errors
    return {
        "consent_version": version, "consent_name": typed, "consent_signature": drawing,
    }, {}


@bp.post("/<slug>/d/<token>/submit")
@limiter.shared_limit(_submit_limit, scope="client-submit")  # /c/ and /embed/ together
def submit(token: str) -> ResponseReturnValue:
    draft = _load_draft(token)
    if draft.submitted_at is not None:  # a double click or a re-sent form: already done
        return _see_other(wurl("summary", sent=1))
    if not submit_token_valid(
        current_app.config["SECRET_KEY"], draft.token_hash, request.form.get("csrf_token")
    ):
        abort(400, description="csrf")
    missing = first_incomplete_step(draft.answers, draft.lang)
    if missing is not None:
        return _see_other(wurl("step", step_id=missing.id, check=1))
    qn, day = full_questionnaire(), today()
    answers = engine.prune(questionnaire(), draft.answers, day)
    appointment, previous = g.get("appointment"), g.get("previous")
    rechecked = None
    if previous is not None:  # a pre-session check: the earlier answers with these replaced
        rechecked = engine.asked_questions(questionnaire(), answers, day)
        answers = engine.rechecked_answers(qn, previous.answers or {}, answers, day)
    signed, errors = _signed_consent(qn, answers, request.form)
    if errors:  # what was typed and drawn stays on the page
        drawn = "" if "signature" in errors else str(request.form.get("signature", ""))
        return _render_review(draft, _clean(str(request.form.get("signed_name", ""))), drawn,
                              errors)
    now = utcnow()
    if signed:
        signed["consent_signed_at"] = now
    # Timing windows are counted to the appointment's day (clinic time) when there is one.
    screen_day, event = (
        (appointments.local_day(appointment.starts_at, zone(g.clinic.timezone)), APPOINTMENT)
        if appointment is not None else (day, SUBMISSION)
    )
    submission = {
        "clinic_id": draft.clinic_id, "answers": answers,
        "flags": [f.to_json() for f in screen(qn, answers, screen_day, event)],
        "questionnaire_version": qn.version, "lang": draft.lang,
        "full_name": str(answers.get("full_name", "")), "submitted_at": now, **signed,
        "client_id": appointment.client_id if appointment else None,
        "appointment_id": appointment.id if appointment else None,
        "previous_id": previous.id if previous is not None else None,
        "rechecked": rechecked,
    }
    # The link now shows a summary with health data: it works for DRAFT_DAYS more.
    link_expires_at = now + dt.timedelta(days=current_app.config["DRAFT_DAYS"])
    try:
        with db.transaction() as session:
            submission_id = submit_draft(session, draft, submission, link_expires_at)
            if submission_id is not None:
                versions.record(session, qn)  # the version it was answered in, once
                words = clinic_texts.signable(g.clinic, qn, signed.get("consent_version", ""))
                if words is not None:  # the clinic's own consent text, kept as signed
                    clinic_texts.record_consent(session, words)
                # The clinic's notice (no health data), delivered by the outbox's worker:
                # committed with the submission or not at all.
                notify.queue_notice(session, g.clinic, submission_id)
                webhooks.queue_submission_event(session, g.clinic, submission_id, submission)
    except IntegrityError:  # a submission for this draft exists (the unique key): not twice
        submission_id = None
    if submission_id is None:
        # Submitted meanwhile (the review page then shows the summary), or saved from another
        # tab since this request read the draft: the review page shows the answers as they are.
        return _see_other(wurl("review"))
    # Only the request that made the submission marks the summary: framed in a checked host
    # page, frame.js tells the host once, then drops the mark (screener/embed.py).
    return _see_other(wurl("summary", **({"done": 1} if g.get("embed_host") else {})))


def _sent_submission(draft: Draft) -> Submission | None:
    """The submission a sent draft made (None while unsent, or once deleted by the clinic)."""
    if draft.submitted_at is None:
        return None
    return db.session.scalars(select(Submission).where(Submission.draft_id == draft.id)).first()


@bp.get("/<slug>/d/<token>/summary")
def summary(token: str) -> ResponseReturnValue:
    draft = _load_draft(token)
    sub = _sent_submission(draft)
    if sub is None:
        return _see_other(_resume_target(draft))
    return render_template(
        "wizard/summary.html",
        already_sent=request.args.get("sent") == "1",
        link_expires_at=draft.expires_at,
        resume_url=private_link(),
        **client_summary_context(sub, draft.lang),
    )


@bp.get("/<slug>/d/<token>/summary.pdf")
@limiter.shared_limit(_pdf_limit, scope="client-pdf")  # /c/ and /embed/ together
def summary_pdf(token: str) -> ResponseReturnValue:
    """The client's copy of their summary as PDF, in the draft's language; audited."""
    draft = _load_draft(token)
    sub = _sent_submission(draft)
    if sub is None:
        return _see_other(_resume_target(draft))
    try:
        body = pdf.client_pdf(sub, draft.lang)
    except pdf.PdfUnavailable:
        current_app.logger.exception("PDF copies are not available on this server")
        abort(503)
    client_copy_downloaded(sub)
    response = current_app.response_class(body, mimetype=pdf.PDF_MIMETYPE)
    name = pdf.pdf_filename("summary", sub)
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
