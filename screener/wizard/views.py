"""Client wizard routes. Registered twice: /c/<slug>/ (standalone) and /embed/<slug>/ (iframe).

No route reads or sets a cookie: the draft is found by the token in the URL path.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    g,
    render_template,
    request,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ..extensions import db, limiter
from ..i18n import DEFAULT_LANG, format_date, normalise_lang, request_lang, ui_locale
from ..notify import notify_new_submission
from ..questionnaire.model import Question, Questionnaire, Step
from ..screening import screen
from ..screening.render import client_summary_context
from ..security import frame_origins
from ..storage.models import Submission, utcnow, valid_slug
from . import engine
from .drafts import (
    DraftRow,
    find_clinic_and_draft,
    save_draft,
    set_draft_lang,
    start_draft,
    step_context,
    step_token,
    submit_draft,
    submit_token,
    submit_token_valid,
)
from .forms import (
    StepForm,
    answers_formdata,
    form_answers,
    make_form,
    valid_field_answers,
)
from .markup import field_state, question_markup, questions_block, stored_state
from .shell import answers_block, draft_url, render_page
from .summary import Section, answer_rows

bp = Blueprint("wizard", __name__)

REVIEW = "review"


def questionnaire() -> Questionnaire:
    return current_app.extensions["questionnaire"]  # type: ignore[no-any-return]


def today() -> dt.date:
    """The date answers are checked against: the server's date (UTC by default)."""
    return dt.date.today()


def wurl(endpoint: str, **values: Any) -> str:
    """url_for within the blueprint serving this request (standalone or embed), built once per
    process for all drafts (shell.draft_url)."""
    return draft_url(f"{request.blueprint}.{endpoint}", values)


@bp.app_context_processor
def _helpers() -> dict[str, Any]:
    return {"wurl": wurl}


@bp.url_value_preprocessor
def _pull_clinic(endpoint: str | None, values: dict[str, Any] | None) -> None:
    slug = (values or {}).pop("slug", "")
    token = (values or {}).get("token")
    ctx = g._get_current_object()  # type: ignore[attr-defined]
    ctx.embedded = request.blueprint == "embed"
    # Checked before the query: PostgreSQL refuses some strings (a NUL byte) with an error.
    clinic, draft = (
        find_clinic_and_draft(db.driver(), slug, token) if valid_slug(slug) else (None, None)
    )
    if clinic is None:
        abort(404)
    ctx.clinic = clinic
    ctx.found_draft = draft
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
        (".resume", ".step", ".review", ".submit", ".summary")
    ):
        values.setdefault("token", token)


def _load_draft(token: str) -> DraftRow:
    ctx = g._get_current_object()  # type: ignore[attr-defined]
    draft: DraftRow | None = ctx.found_draft  # looked up with the clinic (_pull_clinic)
    if draft is None:
        abort(404, description="draft")
    ctx.token = token
    ctx.draft = draft
    ctx.private_page = True
    wanted = normalise_lang(request.args.get("lang"))
    if wanted and wanted != draft.lang:
        set_draft_lang(db.driver(), draft, wanted)
    ctx.lang = draft.lang
    return draft


def _resume_target(draft: DraftRow) -> str:
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
    step: Step, questions: list[Question], draft: DraftRow, *, posted: bool, csrf: bool = True
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


# The code that checks answers (forms, fields, visibility, questionnaire model), as a digest of
# its source: marks made by other code (before a deploy) are not trusted.
CHECKS_VERSION = hashlib.sha256(b"".join(
    (Path(__file__).parent / name).read_bytes()
    for name in ("forms.py", "fields.py", "engine.py", "../questionnaire/model.py",
                 "../questionnaire/conditions.py")
)).hexdigest()[:8]


def _digest(*parts: Any) -> str:
    """A short digest of JSON-ready values (key order does not count)."""
    blob = json.dumps(parts, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(blob.encode()).hexdigest()[:24]


def completeness_mark(answers: dict[str, Any]) -> str:
    """What Draft.checked_for holds for these answers, found complete by this questionnaire
    and checking code today: their versions, the day and a digest of the answers, so answers
    changed in any other way (or another day, questionnaire or code) are checked again."""
    return f"{questionnaire().version}:{today().isoformat()}:{_digest(CHECKS_VERSION, answers)}"


def draft_incomplete_step(draft: DraftRow) -> Step | None:
    """first_incomplete_step of a draft, skipped when a save today found these very answers
    complete."""
    if draft.checked_for is not None and draft.checked_for == completeness_mark(draft.answers):
        return None
    return first_incomplete_step(draft.answers, draft.lang, draft.step_checks)


def first_incomplete_step(
    answers: dict[str, Any], lang: str, step_checks: dict[str, Any] | None = None
) -> Step | None:
    """The first visible step whose stored answers do not pass its form, or None.

    A step whose entry in `step_checks` (Draft.step_checks) is the step_digest of these answers
    was found complete with them and is not checked again.
    """
    qn, day = questionnaire(), today()
    for step in engine.visible_steps(qn, answers, day):
        if step_checks and step_checks.get(step.id) == step_digest(step, answers, day):
            continue
        if stored_form(step, answers, lang).errors:
            return step
    return None


def step_digest(step: Step, answers: dict[str, Any], day: dt.date) -> str:
    """A digest of all that decides whether a step's stored answers pass its form: the
    checking code and questionnaire versions, the day (date checks, date conditions), the
    answers of the step's questions and the answers their visibility depends on. (The language
    only words the messages.)"""
    qn = questionnaire()
    relevant = {qid: answers.get(qid) for qid in _step_inputs(qn, step.id)}
    return _digest(CHECKS_VERSION, qn.version, day.isoformat(), step.id, relevant)


@lru_cache(maxsize=256)
def _step_inputs(qn: Questionnaire, step_id: str) -> tuple[str, ...]:
    """The answers a step's form check reads: its questions' and their conditions' inputs."""
    step = qn.step(step_id)
    assert step is not None
    ids = {q.id for q in step.questions}
    for q in step.questions:
        if q.show_if is not None:
            ids.update(q.show_if.question_ids())
    return tuple(sorted(ids))


def _checks_after_save(
    draft: DraftRow, step: Step, checked: list[Question], saved: dict[str, Any], day: dt.date
) -> dict[str, Any]:
    """The draft's step_checks once `step` was sent complete: its `checked` questions passed
    the form. The step is marked only when those are exactly the questions its stored answers
    show, so that the mark stands for the check the stored answers would get."""
    checks = dict(draft.step_checks or {})
    checks.pop(step.id, None)
    stored = engine.visible_questions(questionnaire(), step, saved, day)
    if [q.id for q in stored] == [q.id for q in checked]:
        checks[step.id] = step_digest(step, saved, day)
    return checks


# Routes -----------------------------------------------------------------------------------


@bp.get("/<slug>/")
def start() -> ResponseReturnValue:
    g.lang = normalise_lang(request.args.get("lang")) or request_lang()
    qn = questionnaire()
    return render_template(
        "wizard/start.html",
        steps=qn.steps,
        draft_days=current_app.config["DRAFT_DAYS"],
    )


def _draft_limit() -> str:
    return str(current_app.config["DRAFT_RATE_LIMIT"])


def _submit_limit() -> str:
    return str(current_app.config["SUBMIT_RATE_LIMIT"])


@bp.post("/<slug>/start")
@limiter.shared_limit(_draft_limit, scope="client-start")  # /c/ and /embed/ count together
def begin() -> ResponseReturnValue:
    lang = normalise_lang(request.form.get("lang")) or request_lang() or DEFAULT_LANG
    first = questionnaire().steps[0].id
    g.token = start_draft(db.driver(), g.clinic.id, lang, current_app.config["DRAFT_DAYS"], first)
    return _see_other(wurl("step", step_id=first))


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
        if request.args.get("check") != "1":
            return _render_step(current, steps, rendered, from_review)
        # Sent here by a failed final check: show what is missing.
        form = _step_form(current, rendered, draft, posted=False)
        for name, errors in stored_form(current, draft.answers, draft.lang).errors.items():
            form[name].errors = list(errors)
        return _render_step(current, steps, rendered, from_review, form)

    form = _step_form(current, rendered, draft, posted=True)
    form.validate()
    if form.csrf_token.errors:
        abort(400, description="csrf")
    # Which questions apply depends on what was just posted on this very step.
    posted = {**draft.answers, **form_answers(form, rendered)}
    visible = [q for q in rendered if engine.question_visible(qn, q, posted, day)]
    own = {q.id for q in current.questions}
    others = {k: v for k, v in draft.answers.items() if k not in own}

    switch_to = normalise_lang(request.form.get("switch_lang"))
    if switch_to:
        # The language switch is a submit button of this form: it keeps what was typed here
        # (what passes the checks, as Back does) and shows the same step in the other language.
        saved = engine.prune(qn, {**others, **valid_field_answers(form, visible)}, day)
        save_draft(db.driver(), draft, saved, current.id, lang=switch_to)
        args = {"from": REVIEW} if from_review else {}
        return _see_other(wurl("step", step_id=current.id, **args))

    if request.form.get("action") == "back":
        saved = engine.prune(qn, {**others, **valid_field_answers(form, visible)}, day)
        previous = engine.previous_step(qn, saved, current.id, day)
        save_draft(db.driver(), draft, saved, previous.id if previous else current.id)
        if previous is None:
            return _see_other(wurl("start"))
        return _see_other(wurl("step", step_id=previous.id))

    if any(form[q.id].errors for q in visible):
        for q in rendered:
            if q not in visible:
                form[q.id].errors = []
        return _render_step(current, steps, rendered, from_review, form)

    saved = engine.prune(qn, {**others, **form_answers(form, visible)}, day)
    checks = _checks_after_save(draft, current, visible, saved, day)
    target = engine.next_step(qn, saved, current.id, day)
    if from_review or target is None:
        target = first_incomplete_step(saved, draft.lang, checks)
    save_draft(db.driver(), draft, saved, target.id if target else REVIEW,
               checked_for=None if target else completeness_mark(saved), step_checks=checks)
    if target is None:
        return _see_other(wurl("review"))
    args = {"from": REVIEW} if from_review else {}
    return _see_other(wurl("step", step_id=target.id, **args))


def _render_step(
    current: Step,
    steps: list[Step],
    rendered: list[Question],
    from_review: bool,
    form: StepForm | None = None,
) -> str:
    """The step page: from the stored answers, or (form) from a posted form and its errors.

    Without a form, the questions' markup usually comes from the caches (wizard/markup.py) and
    the WTForms form is only built if some question has to be rendered afresh.
    """
    qn, day, draft = questionnaire(), today(), g.draft
    number = next(i for i, s in enumerate(steps) if s.id == current.id) + 1
    locale = ui_locale()
    if form is not None:
        block = Markup("\n").join(
            question_markup(qn, q, field_state(q, form[q.id]), form[q.id].errors,
                            lambda q=q: form[q.id], draft.lang, day, locale)
            for q in rendered
        )
    else:
        states = [stored_state(q, draft.answers.get(q.id)) for q in rendered]
        # The form behind the markup, built only if some question is not in the cache.
        stored = cache(lambda: _step_form(current, rendered, draft, posted=False))

        def each_question() -> Markup:
            return Markup("\n").join(
                question_markup(qn, q, state, [], lambda q=q: stored()[q.id], draft.lang, day,
                                locale)
                for q, state in zip(rendered, states)
            )

        block = questions_block(qn, rendered, states, draft.lang, locale, day, each_question)
    errors = (
        [(name, msgs[0]) for name, msgs in form.errors.items() if msgs and name != "csrf_token"]
        if form is not None else []
    )
    # Everything else on the page is the same for every draft at this point of the wizard.
    key = None if errors else (
        "step", qn.version, current.id, number, len(steps), from_review, *_page_key(draft)
    )
    return render_page(
        key,
        lambda values: render_template(
            "wizard/step.html", step=current, number=number, total=len(steps),
            questions=rendered, errors=errors, from_review=from_review,
            action_url=wurl("step", step_id=current.id, **({"from": REVIEW} if from_review else {})),
            **values,
        ),
        values={
            "csrf_token": step_token(current_app.config["SECRET_KEY"], draft.token_hash, current.id),
            **_resume_values(draft),
        },
        safe_values={"questions_block": block},
    )


def _page_key(draft: DraftRow) -> tuple[Any, ...]:
    """What a client page's shell depends on besides the page itself (wizard/shell.py)."""
    clinic = g.clinic
    return (
        draft.lang, ui_locale(), request_lang(), g.embedded, g.get("embed_host"), clinic.id,
        clinic.slug, clinic.name, request.script_root,
    )


def _resume_values(draft: DraftRow) -> dict[str, str]:
    """What the "come back later" box shows (wizard/_resume.html)."""
    return {
        "resume_url": wurl("resume", _external=True),
        "expires_text": format_date(draft.expires_at, "long"),
    }


@bp.get("/<slug>/d/<token>/review")
def review(token: str) -> ResponseReturnValue:
    draft = _load_draft(token)
    if draft.submitted_at is not None:
        return _see_other(wurl("summary", sent=1))
    missing = draft_incomplete_step(draft)
    if missing is not None:
        return _see_other(wurl("step", step_id=missing.id, check=1))
    qn = questionnaire()
    page_key = ("review", qn.version, *_page_key(draft))

    def render_section(section: Section) -> str:  # only for sections not kept (shell.py)
        template = current_app.jinja_env.get_template("wizard/_answer_section.html")
        return template.module.answer_section(  # type: ignore[attr-defined,no-any-return]
            section, wurl("step", step_id=section.step.id, **{"from": REVIEW}), gettext("Change")
        )

    answers = answers_block(page_key, qn, draft.answers, draft.lang, today(), render_section)
    return render_page(
        page_key,
        lambda values: render_template("wizard/review.html", **values),
        values={
            "csrf_token": submit_token(current_app.config["SECRET_KEY"], draft.token_hash),
            **_resume_values(draft),
        },
        safe_values={"answers_block": answers},
    )


@bp.post("/<slug>/d/<token>/submit")
@limiter.shared_limit(_submit_limit, scope="client-submit")  # /c/ and /embed/ together
def submit(token: str) -> ResponseReturnValue:
    draft = _load_draft(token)
    if draft.submitted_at is not None:  # a double click or a re-sent form: already done
        return _see_other(wurl("summary"))
    if not submit_token_valid(
        current_app.config["SECRET_KEY"], draft.token_hash, request.form.get("csrf_token")
    ):
        abort(400, description="csrf")
    missing = draft_incomplete_step(draft)
    if missing is not None:
        return _see_other(wurl("step", step_id=missing.id, check=1))
    qn, day = questionnaire(), today()
    answers = engine.prune(qn, draft.answers, day)
    now = utcnow()
    flags = [f.to_json() for f in screen(qn, answers, day)]
    submission = {
        "clinic_id": draft.clinic_id, "draft_id": draft.id, "answers": answers, "flags": flags,
        "questionnaire_version": qn.version, "lang": draft.lang,
        "full_name": str(answers.get("full_name", "")), "submitted_at": now,
    }
    # The link now shows a summary with health data: it works for DRAFT_DAYS more.
    link_expires_at = now + dt.timedelta(days=current_app.config["DRAFT_DAYS"])
    try:
        submission_id = submit_draft(db.driver(), draft, submission, link_expires_at)
    except IntegrityError:  # a submission for this draft exists (the unique key): not twice
        submission_id = None
    if submission_id is None:
        # Submitted meanwhile (the review page then shows the summary), or saved from another
        # tab since this request read the draft: the review page shows the answers as they are.
        return _see_other(wurl("review"))
    # Committed here: tell the clinic (no health data; never raises).
    clinic = g.clinic
    notify_new_submission(clinic.name, clinic.notify_email or clinic.contact_email, submission_id)
    # Only the request that made the submission marks the summary: framed in a checked host
    # page, frame.js tells the host once, then drops the mark (screener/embed.py).
    return _see_other(wurl("summary", **({"done": 1} if g.get("embed_host") else {})))


@bp.get("/<slug>/d/<token>/summary")
def summary(token: str) -> ResponseReturnValue:
    draft = _load_draft(token)
    if draft.submitted_at is None:
        return _see_other(_resume_target(draft))
    sub = db.session.scalars(select(Submission).where(Submission.draft_id == draft.id)).first()
    if sub is None:
        return _see_other(_resume_target(draft))
    return render_template(
        "wizard/summary.html",
        submission=sub,
        sections=answer_rows(questionnaire(), sub.answers, draft.lang, sub.submitted_at.date()),
        already_sent=request.args.get("sent") == "1",
        link_expires_at=draft.expires_at,
        **client_summary_context(questionnaire(), sub, draft.lang),
    )
