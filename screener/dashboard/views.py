"""Dashboard routes under /dashboard/: login, submissions, exports, clinic administration.

Every route but the login page needs a logged-in practitioner (checked once, in
`_require_login`), and every read is scoped to the practitioner's own clinic: another clinic's
submission is a 404, exactly like one that does not exist, so ids reveal nothing.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from typing import Any
from urllib.parse import urlencode

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    send_file,
    session,
    stream_with_context,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import force_locale, format_percent, ngettext
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user
from jinja2.utils import htmlsafe_json_dumps
from markupsafe import Markup
from sqlalchemy import select

from .. import clinic_texts, webhooks
from ..config import page_base_url
from ..embed import embed_snippets
from ..exports import fhir
from ..exports.csv import submissions_csv
from ..exports.jobs import file_of
from ..extensions import db, limiter
from ..i18n import (
    BABEL_LOCALE,
    format_day,
    format_time,
    language_name,
    normalise_lang,
    request_lang,
    request_zone,
    zone_label,
)
from ..questionnaire.model import LANGUAGES, SEVERITIES, Questionnaire
from ..screening import pdf, submission_json
from ..screening.render import practitioner_summary_context
from ..screening.summary import rule_label
from ..storage import versions
from ..storage.models import (
    ROLES,
    ApiToken,
    Clinic,
    ExportJob,
    LoginSession,
    OutboxMessage,
    Practitioner,
    Submission,
    WebhookEndpoint,
    parse_id,
    utcnow,
)
from . import audit, dropoff, operations, queries
from .auth import (
    LOGIN_ID,
    admin_required,
    authenticate,
    check_password,
    current_practitioner,
    safe_next,
    user_inputs_of,
)
from .forms import (
    EMBEDDED,
    SEVERITY_LABELS,
    STANDALONE,
    ApiTokenForm,
    ClinicForm,
    ClinicTextsForm,
    ConfirmForm,
    DropoffForm,
    FilterForm,
    LoginForm,
    PasswordForm,
    PractitionerForm,
    ReviewForm,
    RoleForm,
    WebhookForm,
    lang_key,
    origins_of,
    strip_control,
)

bp = Blueprint("dashboard", __name__)

PUBLIC_ENDPOINTS = {"dashboard.login"}
CSV_YIELD_PER = 200  # rows per fetch: a batch of decoded answers and flags is ~1.5 MB
VERSION_RE = re.compile(r"[0-9a-f]{1,32}")  # a questionnaire version (content hash)


@bp.before_request
def _require_login() -> ResponseReturnValue | None:
    """Every dashboard page: no caching, the reader's language, and a login (but the login's)."""
    g.private_page = True  # Cache-Control: no-store on every dashboard response
    # Dashboard pages send their address to this site only: browsers then name the page in a
    # form's Origin and Referer, which Flask-WTF checks on HTTPS (the product-wide `no-referrer`
    # would make every HTTPS POST fail that check). Applied by security.set_security_headers.
    g.referrer_policy = "same-origin"
    wanted = normalise_lang(request.args.get("lang"))
    if wanted:
        session["lang"] = wanted
    g.lang = session.get("lang") or request_lang()
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    if not current_user.is_authenticated:
        return current_app.login_manager.unauthorized()  # type: ignore[attr-defined, no-any-return]
    g.clinic = current_practitioner().clinic
    return None


def severity_label(severity: str | None) -> str:
    """A severity in words."""
    return str(SEVERITY_LABELS.get(severity or "", _("No flags")))


def dashboard_lang_url(lang: str) -> str:
    """This page in another language (a GET page; after a POST, the list)."""
    if request.method != "GET" or request.endpoint is None:
        return url_for("dashboard.index", lang=lang)
    args = {**request.args.to_dict(), **(request.view_args or {}), "lang": lang}
    return url_for(request.endpoint, **args)


@bp.context_processor
def _helpers() -> dict[str, Any]:
    return {
        "severity_label": severity_label,
        "dashboard_lang_url": dashboard_lang_url,
        "format_time": format_time,
        "zone_label": zone_label,
    }


@bp.errorhandler(403)
@bp.errorhandler(404)
def _error(error: Any) -> ResponseReturnValue:
    return render_template("dashboard/error.html", code=error.code), error.code


# Login ---------------------------------------------------------------------------------------


def _login_limit() -> str:
    return str(current_app.config["LOGIN_RATE_LIMIT"])


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def login() -> ResponseReturnValue:
    if current_user.is_authenticated:
        return redirect(url_for("dashboard.appointments_view"))
    form = LoginForm()
    if request.method == "GET":
        return render_template("dashboard/login.html", form=form, failed=False, locked=None)
    # As typed, for the audit log and the count of failures (no NUL: PostgreSQL refuses it).
    email = strip_control(str(request.form.get("email", ""))).strip().lower()[:254]
    account, password = None, ""
    named: list[Practitioner] = []
    if form.validate_on_submit():  # CSRF was checked before the view (CSRFProtect)
        until = operations.locked_until(email)
        if until is not None:  # refused before any password is checked
            operations.login_refused(email, _named(email))
            return _locked(form, until)
        password = str(form.password.data)
        account, named = authenticate(db.session, str(form.email.data), password)
    if account is None:
        # A form without both an email and a password guesses nothing: noted, not counted.
        until = operations.login_failed(email, named, count=bool(password))
        if until is not None:
            return _locked(form, until)
        return render_template("dashboard/login.html", form=form, failed=True, locked=None), 401
    login_id = operations.login_succeeded(account, password)
    lang = session.get("lang")
    session.clear()  # nothing from before the login survives it
    if lang:
        session["lang"] = lang
    session[LOGIN_ID] = login_id
    login_user(account)
    session.permanent = True
    return redirect(
        safe_next(request.args.get("next")) or url_for("dashboard.appointments_view")
    )


def _named(email: str) -> list[Practitioner]:
    """The accounts an email names (no password is checked)."""
    return list(db.session.scalars(
        select(Practitioner).where(Practitioner.email == email).order_by(Practitioner.id)
    ))


def _locked(form: LoginForm, until: Any) -> ResponseReturnValue:
    """The login page saying how long logins with this email are refused."""
    minutes = max(1, -(-int((until - utcnow()).total_seconds()) // 60))
    message = ngettext(
        "Too many failed attempts with this email address. Try again in %(num)d minute.",
        "Too many failed attempts with this email address. Try again in %(num)d minutes.",
        minutes,
    )
    response = render_template("dashboard/login.html", form=form, failed=False, locked=message)
    return response, 429, {"Retry-After": str(minutes * 60)}


@bp.post("/logout")
def logout() -> ResponseReturnValue:
    if ConfirmForm().validate_on_submit():
        operations.logged_out(current_practitioner(), g.get("login_session_id"))
        logout_user()
        session.clear()
    return redirect(url_for("dashboard.login"))


# Submissions ---------------------------------------------------------------------------------


def _filters(form: FilterForm) -> queries.Filters:
    """The filters of a valid form; a field with an error filters nothing."""
    form.validate()

    def ok(field: Any) -> Any:
        return None if field.errors else (field.data or None)

    reviewed = ok(form.reviewed)
    return queries.Filters(
        severity=ok(form.severity),
        reviewed=None if reviewed is None else reviewed == "yes",
        date_from=ok(form.date_from),
        date_to=ok(form.date_to),
        name=ok(form.name),
        zone=request_zone(),
    )


def _filter_args(form: FilterForm) -> dict[str, str]:
    """The filter query string of the current list, for page links and the CSV link."""
    return {
        name: request.args[name]
        for name in ("severity", "reviewed", "date_from", "date_to", "name")
        if request.args.get(name) and not form[name].errors
    }


def _flag_counts(flags: Any) -> list[tuple[str, int]]:
    counted = Counter(f.get("severity") for f in flags or () if isinstance(f, dict))
    return [(s, counted[s]) for s in SEVERITIES if counted[s]]


def _red_flag_names(row: Any, questionnaires: dict[str, Questionnaire]) -> list[str]:
    """The short names of a listed submission's red flags, from the questionnaire version it
    was answered in (rules' `label`)."""
    version = row.questionnaire_version
    if version not in questionnaires:
        questionnaires[version] = versions.answered_in(version)
    return [
        rule_label(questionnaires[version], str(f.get("rule", "")), g.lang)
        for f in row.flags or ()
        if isinstance(f, dict) and f.get("severity") == "red_flag"
    ]


@bp.get("/")
def index() -> ResponseReturnValue:
    me = current_practitioner()
    form = FilterForm(request.args)
    filters = _filters(form)
    page = queries.submission_page(
        db.session,
        me.clinic_id,
        filters,
        before=queries.Cursor.decode(request.args.get("before")),
        after=queries.Cursor.decode(request.args.get("after")),
    )
    args = _filter_args(form)
    questionnaires: dict[str, Questionnaire] = {}
    return render_template(
        "dashboard/index.html",
        form=form,
        page=page,
        rows=[
            (row, _flag_counts(row.flags), _red_flag_names(row, questionnaires))
            for row in page.rows
        ],
        counts=queries.counts(db.session, me.clinic_id),
        args=args,
        paged="before" in request.args or "after" in request.args,
    )


def _submission_or_404(submission_id: int) -> Submission:
    sub = queries.clinic_submission(db.session, current_practitioner().clinic_id, submission_id)
    if sub is None:
        abort(404)
    return sub


def _audit(action: str, submission_id: int | None, detail: dict[str, Any] | None = None) -> None:
    operations.record_access(current_practitioner(), action, submission_id, detail)


@bp.get("/submissions/<id:submission_id>")
def submission(submission_id: int) -> ResponseReturnValue:
    sub = _submission_or_404(submission_id)
    _audit("view", sub.id)
    review = ReviewForm(data={"note": sub.review_note or ""})
    return render_template(
        "dashboard/submission.html",
        review_form=review,
        **submission_client_context(sub),
        **practitioner_summary_context(sub, g.lang),
    )


@bp.post("/submissions/<id:submission_id>/review")
def review(submission_id: int) -> ResponseReturnValue:
    sub = _submission_or_404(submission_id)
    form = ReviewForm()
    if not form.validate_on_submit():  # (a bad CSRF token was refused before the view)
        return render_template(
            "dashboard/submission.html",
            review_form=form,
            **submission_client_context(sub),
            **practitioner_summary_context(sub, g.lang),
        ), 422
    operations.review_submission(current_practitioner(), sub, form.note.data)
    flash(_("Marked as reviewed."))
    return redirect(url_for("dashboard.submission", submission_id=sub.id), code=303)


@bp.route("/submissions/<id:submission_id>/delete", methods=["GET", "POST"])
def delete_submission(submission_id: int) -> ResponseReturnValue:
    sub = _submission_or_404(submission_id)
    form = ConfirmForm()
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        operations.delete_submission(current_practitioner(), sub)
        flash(_("The submission was deleted."))
        return redirect(url_for("dashboard.index"), code=303)
    return render_template("dashboard/delete.html", submission=sub, form=form)


# Exports -------------------------------------------------------------------------------------


def fhir_urls() -> fhir.Urls:
    """The installation's FHIR base: <SCREENER_BASE_URL>/fhir, where the API serves them."""
    return fhir.urls_of(current_app.config)


def _json_download(data: Any, filename: str, mimetype: str = "application/json") -> Response:
    # < > & ' inside strings written as \u escapes (the same text to any JSON reader): a file
    # shown as HTML by mistake holds no markup.
    body = str(htmlsafe_json_dumps(data, ensure_ascii=False, indent=2))
    response = current_app.response_class(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@bp.get("/submissions/<id:submission_id>.json")
def export_json(submission_id: int) -> ResponseReturnValue:
    sub = _submission_or_404(submission_id)
    _audit("export_json", sub.id)
    qn = versions.answered_in(sub.questionnaire_version)
    data = submission_json(sub, qn, _clinic_consent_lang)
    return _json_download(data, f"submission-{sub.id}.json")


def _clinic_consent_lang(version: str) -> str | None:
    """The language of a clinic's own consent text signed, by its version."""
    words = clinic_texts.stored_consent(db.session, version)
    return words.lang if words is not None else None


@bp.get("/submissions/<id:submission_id>.fhir.json")
def export_fhir(submission_id: int) -> ResponseReturnValue:
    sub = _submission_or_404(submission_id)
    _audit("export_fhir", sub.id)
    qn = versions.answered_in(sub.questionnaire_version)
    resource = fhir.questionnaire_response(sub, qn, fhir_urls())
    return _json_download(
        resource, f"submission-{sub.id}.fhir.json", mimetype="application/fhir+json"
    )


def pdf_download(body: bytes, filename: str) -> Response:
    """A PDF as a download (the file name carries no health data: see pdf.pdf_filename)."""
    response = current_app.response_class(body, mimetype=pdf.PDF_MIMETYPE)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _pdf_or_503(make: Any, sub: Submission, lang: str) -> bytes:
    try:
        return make(sub, lang)  # type: ignore[no-any-return]
    except pdf.PdfUnavailable:
        current_app.logger.exception("PDF copies are not available on this server")
        abort(503)


@bp.get("/submissions/<id:submission_id>.pdf")
def export_pdf(submission_id: int) -> ResponseReturnValue:
    """The practitioner summary as PDF, in the reader's language."""
    sub = _submission_or_404(submission_id)
    body = _pdf_or_503(pdf.practitioner_pdf, sub, g.lang)
    _audit("export_pdf", sub.id, detail={"lang": g.lang})
    return pdf_download(body, pdf.pdf_filename("practitioner-summary", sub))


@bp.get("/submissions/<id:submission_id>/client-copy.pdf")
def export_client_pdf(submission_id: int) -> ResponseReturnValue:
    """The client's copy of their summary as PDF, in the language they answered in (to hand or
    send to the client)."""
    sub = _submission_or_404(submission_id)
    body = _pdf_or_503(pdf.client_pdf, sub, sub.lang)
    _audit("export_client_pdf", sub.id, detail={"lang": sub.lang})
    return pdf_download(body, pdf.pdf_filename("summary", sub))


@bp.get("/questionnaire.fhir.json")
def export_questionnaire() -> ResponseReturnValue:
    """The current questionnaire, or with ?version= any version stored (what a response's
    `questionnaire` canonical|version names); an unknown version is a 404."""
    qn = versions.current()
    wanted = request.args.get("version")
    if wanted is not None and wanted != qn.version:
        if VERSION_RE.fullmatch(wanted) is None:  # checked before the query
            abort(404)
        qn = versions.answered_in(wanted)
        if qn.version != wanted:  # not stored
            abort(404)
    resource = fhir.questionnaire_resource(qn, fhir_urls())
    name = "questionnaire.fhir.json" if wanted is None else f"questionnaire-{qn.version}.fhir.json"
    return _json_download(resource, name, mimetype="application/fhir+json")


@bp.get("/submissions.csv")
def export_csv() -> ResponseReturnValue:
    """The list with its filters as CSV: streamed when it has at most CSV_STREAM_ROWS rows (so
    that the response ends well within the server's worker timeout), else a page offering to
    prepare the file in the background."""
    me = current_practitioner()
    form = FilterForm(request.args)
    filters = replace(_filters(form), until=utcnow())
    bound = current_app.config["CSV_STREAM_ROWS"]
    if queries.count_up_to(db.session, me.clinic_id, filters, bound + 1) > bound:
        return render_template("dashboard/export_large.html", bound=bound, args=_filter_args(form))
    _audit("export_csv", None, detail={"filters": _filter_args(form)})
    clinic_id = me.clinic_id

    def pieces() -> Iterator[str]:
        # The request's session is closed when the view returns: the stream reads with the one
        # db.session gives while it runs (closed in turn when the stream ends).
        yield from submissions_csv(db.session, clinic_id, filters, CSV_YIELD_PER)

    response = Response(stream_with_context(pieces()), mimetype="text/csv")
    stamp = utcnow().strftime("%Y%m%d-%H%M")
    response.headers["Content-Disposition"] = (
        f'attachment; filename="submissions-{g.clinic.slug}-{stamp}.csv"'
    )
    return response


@bp.post("/exports")
def request_export() -> ResponseReturnValue:
    """Prepare the list with the filters of the query string as a CSV file."""
    if not ConfirmForm().validate_on_submit():
        abort(400)
    form = FilterForm(request.args)
    operations.request_export(current_practitioner(), _filters(form), _filter_args(form))
    flash(_("The file is being prepared. It will be listed here, ready to download."))
    return redirect(url_for("dashboard.exports"), code=303)


@bp.get("/exports")
def exports() -> ResponseReturnValue:
    """The CSV files the practitioner asked for, newest first."""
    me = current_practitioner()
    jobs = db.session.scalars(
        select(ExportJob)
        .where(ExportJob.practitioner_id == me.id, ExportJob.expires_at > utcnow())
        .order_by(ExportJob.requested_at.desc(), ExportJob.id.desc())
        .limit(50)
    ).all()
    return render_template(
        "dashboard/exports.html",
        jobs=[(job, _describe(queries.Filters.from_json(job.filters))) for job in jobs],
        form=ConfirmForm(),
    )


def _describe(filters: queries.Filters) -> str:
    """The filters of an export in words."""
    shown = []
    if filters.severity:
        shown.append(f'{_("Most serious flag")}: {severity_label(filters.severity)}')
    if filters.reviewed is not None:
        shown.append(_("Reviewed") if filters.reviewed else _("Not reviewed"))
    if filters.date_from:
        shown.append(f'{_("Submitted from")}: {filters.date_from.isoformat()}')
    if filters.date_to:
        shown.append(f'{_("Submitted until")}: {filters.date_to.isoformat()}')
    if filters.name:
        shown.append(f'{_("Name contains")}: {filters.name}')
    return "; ".join(shown) or _("All submissions")


@bp.get("/exports/<id:job_id>.csv")
def download_export(job_id: int) -> ResponseReturnValue:
    """A prepared file, gzip-compressed with its length (the browser unpacks it as it saves;
    a download cut short shows as failed, not as a shorter file; it can be resumed)."""
    me = current_practitioner()
    job = db.session.get(ExportJob, job_id)
    if job is None or job.practitioner_id != me.id or job.status != "ready":
        abort(404)
    path = file_of(job)
    if path is None or job.expires_at <= utcnow():
        abort(404)
    if "Accept-Encoding" in request.headers and not request.accept_encodings["gzip"]:
        abort(406)
    operations.export_downloaded(me, job)
    stamp = job.requested_at.strftime("%Y%m%d-%H%M")
    response = send_file(
        path, mimetype="text/csv", as_attachment=True, conditional=True,
        download_name=f"submissions-{g.clinic.slug}-{stamp}.csv",
    )
    response.headers["Content-Encoding"] = "gzip"
    response.vary.add("Accept-Encoding")
    return response


# Own account ---------------------------------------------------------------------------------


def _password_check_limit() -> str:
    return str(current_app.config["PASSWORD_CHECK_RATE_LIMIT"])


def _account_key() -> str:
    return f"account:{current_practitioner().id}"


def _wrong_password(response: Response) -> bool:
    """Only a wrong current password counts against the account page's limits."""
    return bool(g.get("wrong_current_password"))


@bp.route("/account", methods=["GET", "POST"])
@limiter.limit(
    _password_check_limit, key_func=_account_key, methods=["POST"], deduct_when=_wrong_password,
    scope="password-check-account",
)
@limiter.limit(
    _password_check_limit, methods=["POST"], deduct_when=_wrong_password,
    scope="password-check-address",
)
def account() -> ResponseReturnValue:
    me = current_practitioner()
    form = PasswordForm(user_inputs=user_inputs_of(me))
    if form.validate_on_submit():
        if not check_password(me, str(form.current.data)):
            g.wrong_current_password = True
            form.current.errors = [_("The current password is not right.")]
        else:
            operations.change_own_password(me, str(form.new.data), g.get("login_session_id"))
            login_user(me)  # the session key changed: keep this session, end the others
            flash(_("Your password was changed. Other sessions were logged out."))
            return redirect(url_for("dashboard.account"), code=303)
    return render_template("dashboard/account.html", form=form, me=me)


# Clinic administration -----------------------------------------------------------------------


def _clinic_practitioner_or_404(practitioner_id: int) -> Practitioner:
    account = db.session.scalars(
        select(Practitioner).where(
            Practitioner.id == practitioner_id,
            Practitioner.clinic_id == current_practitioner().clinic_id,
        )
    ).first()
    if account is None:
        abort(404)
    return account


def _practitioners_page(
    form: PractitionerForm, shown_password: tuple[str, str] | None = None
) -> str:
    accounts = db.session.scalars(
        select(Practitioner)
        .where(Practitioner.clinic_id == current_practitioner().clinic_id)
        .order_by(Practitioner.name, Practitioner.id)
    ).all()
    return render_template(
        "dashboard/practitioners.html",
        accounts=accounts,
        form=form,
        action_form=ConfirmForm(),
        shown_password=shown_password,
        roles=ROLES,
    )


@bp.route("/admin/practitioners", methods=["GET", "POST"])
@admin_required
def practitioners() -> ResponseReturnValue:
    form = PractitionerForm()
    if form.validate_on_submit():
        try:
            account, password = operations.add_practitioner(
                current_practitioner(), str(form.email.data), str(form.name.data),
                str(form.role.data),
            )
        except operations.EmailTaken:
            form.email.errors = [_("An account with this email already exists.")]
            return _practitioners_page(form), 422
        # Shown once, on this response only (never put in a cookie or a URL).
        return _practitioners_page(PractitionerForm(formdata=None), (account.email, password))
    status = 422 if request.method == "POST" else 200
    return _practitioners_page(form), status


@bp.post("/admin/practitioners/<id:practitioner_id>/password")
@admin_required
def reset_password(practitioner_id: int) -> ResponseReturnValue:
    account = _clinic_practitioner_or_404(practitioner_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    password = operations.reset_password(current_practitioner(), account)
    return _practitioners_page(PractitionerForm(formdata=None), (account.email, password))


@bp.post("/admin/practitioners/<id:practitioner_id>")
@admin_required
def change_practitioner(practitioner_id: int) -> ResponseReturnValue:
    """Activate, deactivate or change the role of another account of the clinic."""
    account = _clinic_practitioner_or_404(practitioner_id)
    me = current_practitioner()
    if account.id == me.id:
        abort(403)  # an admin cannot lock themselves out
    action = request.form.get("action")
    form = RoleForm() if action == "role" else ConfirmForm()
    if action not in ("role", "activate", "deactivate") or not form.validate_on_submit():
        abort(400)
    if isinstance(form, RoleForm):
        operations.change_role(me, account, str(form.role.data))
    else:
        operations.set_active(me, account, action == "activate")
    flash(_("The account of %(email)s was changed.", email=account.email))
    return redirect(url_for("dashboard.practitioners"), code=303)


def clinic_form(posted: bool = True) -> ClinicForm:
    """The clinic settings form with the stored settings (and, when `posted`, the request's)."""
    clinic = current_practitioner().clinic
    formdata = {} if posted else {"formdata": None}
    return ClinicForm(
        **formdata,
        data={
            "name": clinic.name,
            "contact_email": clinic.contact_email or "",
            "contact_phone": clinic.contact_phone or "",
            "notify_email": clinic.notify_email or "",
            "allowed_origins": "\n".join(clinic.allowed_origins or []),
            "retention_days": clinic.retention_days,
            "timezone": clinic.timezone,
        },
    )


def clinic_page(form: ClinicForm, status: int = 200, **look_forms: Any) -> ResponseReturnValue:
    """The clinic settings page: its settings form, the look's forms (look_views.py), snippets."""
    clinic = current_practitioner().clinic
    snippets = embed_snippets(clinic, page_base_url(current_app.config))
    page = render_template(
        "dashboard/clinic.html", form=form, clinic=clinic, snippets=snippets,
        email_on=bool(current_app.config.get("SMTP_HOST")), **look_context(**look_forms),
    )
    return page, status


@bp.route("/admin/clinic", methods=["GET", "POST"])
@admin_required
def clinic_settings() -> ResponseReturnValue:
    me = current_practitioner()
    clinic = me.clinic
    form = clinic_form()
    if form.validate_on_submit():
        operations.update_clinic(
            me,
            clinic,
            operations.ClinicSettings(
                name=str(form.name.data).strip(),
                contact_email=(form.contact_email.data or "").strip() or None,
                contact_phone=(form.contact_phone.data or "").strip() or None,
                notify_email=(form.notify_email.data or "").strip() or None,
                allowed_origins=origins_of(form.allowed_origins.data or ""),
                retention_days=int(form.retention_days.data or clinic.retention_days),
                timezone=str(form.timezone.data),
            ),
        )
        flash(_("The clinic settings were saved."))
        return redirect(url_for("dashboard.clinic_settings"), code=303)
    return clinic_page(form, 422 if request.method == "POST" else 200)


@bp.route("/admin/clinic/texts", methods=["GET", "POST"])
@admin_required
def clinic_texts_page() -> ResponseReturnValue:
    """The clinic's languages and its own texts in each; Preview shows them as clients will
    see them, in each language offered, without saving."""
    me = current_practitioner()
    clinic = me.clinic
    form = ClinicTextsForm(
        data={
            "offered": list(clinic_texts.offered(clinic)),
            "default_lang": clinic_texts.default_lang(clinic),
            **{
                lang_key(lang): {
                    field: clinic_texts.own_text(clinic, field, lang)
                    for field in clinic_texts.FIELDS
                }
                for lang in LANGUAGES
            },
        }
    )
    preview: list[tuple[str, Markup]] = []
    if form.validate_on_submit():
        if request.form.get("action") != "preview":
            operations.update_clinic_texts(me, clinic, form.settings())
            flash(_("The languages and texts were saved."))
            return redirect(url_for("dashboard.clinic_texts_page"), code=303)
        shown = clinic_texts.texts_with(clinic, form.settings())
        preview = [(lang, _client_preview(shown, lang)) for lang in clinic_texts.offered(shown)]
    status = 422 if request.method == "POST" and form.errors else 200
    page = render_template(
        "dashboard/clinic_texts.html", form=form, clinic=clinic, preview=preview,
        limits=clinic_texts.LIMITS,
    )
    return page, status


def _client_preview(shown: Clinic, lang: str) -> Markup:
    """The clinic's texts in `lang` as its client pages show them, in that language (what
    names the parts stays in the reader's)."""
    labels = {
        "start": _("Start page"), "summary": _("Summary"), "consent": _("Consent"),
        "no_intro": _("No introduction: the start page shows the standard text only."),
        "no_consent": _("The standard consent text."), "lang": request_lang(),
    }
    with force_locale(BABEL_LOCALE[lang]):
        # A page rendered by Jinja with autoescape: HTML already, put into this page as it is.
        return Markup(render_template(  # noqa: S704  # nosec B704
            "dashboard/_client_preview.html",
            lang=lang,
            labels=labels,
            page=clinic_texts.page_texts(shown, lang),
            consent=clinic_texts.consent_words(shown, versions.current(), lang),
        ))


@bp.get("/admin/sessions")
@admin_required
def sessions() -> ResponseReturnValue:
    """The active login sessions of the clinic's accounts, each with a button to end it."""
    return render_template(
        "dashboard/sessions.html",
        rows=queries.active_sessions(
            db.session, current_practitioner().clinic_id, utcnow(),
            current_app.config["PERMANENT_SESSION_LIFETIME"], current_app.config["SESSION_MAX_AGE"],
        ),
        current_id=g.get("login_session_id"),
        form=ConfirmForm(),
    )


@bp.post("/admin/sessions/<id:session_id>/end")
@admin_required
def end_session(session_id: int) -> ResponseReturnValue:
    row = db.session.scalars(
        select(LoginSession)
        .join(Practitioner, Practitioner.id == LoginSession.practitioner_id)
        .where(
            LoginSession.id == session_id,
            Practitioner.clinic_id == current_practitioner().clinic_id,
        )
    ).first()
    if row is None:
        abort(404)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    operations.end_session(current_practitioner(), row)
    if row.id == g.get("login_session_id"):  # one's own: that is a logout
        logout_user()
        session.clear()
        return redirect(url_for("dashboard.login"), code=303)
    flash(_("The session was ended."))
    return redirect(url_for("dashboard.sessions"), code=303)


def _api_page(form: ApiTokenForm, shown_token: tuple[str, str] | None = None) -> str:
    tokens = db.session.scalars(
        select(ApiToken)
        .where(ApiToken.clinic_id == current_practitioner().clinic_id)
        .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
    ).all()
    return render_template(
        "dashboard/api.html", tokens=tokens, form=form, shown_token=shown_token,
        api_url=fhir_urls().base,
    )


@bp.route("/admin/api", methods=["GET", "POST"])
@admin_required
def api_tokens() -> ResponseReturnValue:
    form = ApiTokenForm()
    if form.validate_on_submit():
        row, token = operations.create_api_token(current_practitioner(), str(form.name.data))
        # Shown once, on this response only (never put in a cookie or a URL).
        return _api_page(ApiTokenForm(formdata=None), (row.name, token))
    status = 422 if request.method == "POST" else 200
    return _api_page(form), status


@bp.post("/admin/api/<id:token_id>/revoke")
@admin_required
def revoke_api_token(token_id: int) -> ResponseReturnValue:
    row = db.session.scalars(
        select(ApiToken).where(
            ApiToken.id == token_id, ApiToken.clinic_id == current_practitioner().clinic_id
        )
    ).first()
    if row is None:
        abort(404)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    operations.revoke_api_token(current_practitioner(), row)
    flash(_("The token %(name)s was revoked: it no longer works.", name=row.name))
    return redirect(url_for("dashboard.api_tokens"), code=303)


DELIVERY_LOG_ROWS = 50


def _webhooks_page(form: WebhookForm, shown: WebhookEndpoint | None = None) -> str:
    clinic_id = current_practitioner().clinic_id
    endpoints = db.session.scalars(
        select(WebhookEndpoint)
        .where(WebhookEndpoint.clinic_id == clinic_id)
        .order_by(WebhookEndpoint.created_at, WebhookEndpoint.id)
    ).all()
    log = db.session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.clinic_id == clinic_id)
        .order_by(OutboxMessage.created_at.desc(), OutboxMessage.id.desc())
        .limit(DELIVERY_LOG_ROWS)
    ).all()
    return render_template(
        "dashboard/webhooks.html", endpoints=endpoints, log=log, form=form, shown=shown,
    )


def _webhook_form(**kwargs: Any) -> WebhookForm:
    return WebhookForm(allow_local_http=webhooks.allow_local_http(current_app), **kwargs)


@bp.route("/admin/webhooks", methods=["GET", "POST"])
@admin_required
def webhook_endpoints() -> ResponseReturnValue:
    """The clinic's webhook endpoints, the form to add one, and the delivery log."""
    form = _webhook_form()
    if form.validate_on_submit():
        endpoint = operations.add_webhook(
            current_practitioner(), str(form.url.data), bool(form.include_answers.data)
        )
        # The secret is shown once, on this response only.
        return _webhooks_page(_webhook_form(formdata=None), endpoint)
    status = 422 if request.method == "POST" else 200
    return _webhooks_page(form), status


@bp.post("/admin/webhooks/<id:endpoint_id>/remove")
@admin_required
def remove_webhook(endpoint_id: int) -> ResponseReturnValue:
    endpoint = db.session.scalars(
        select(WebhookEndpoint).where(
            WebhookEndpoint.id == endpoint_id,
            WebhookEndpoint.clinic_id == current_practitioner().clinic_id,
        )
    ).first()
    if endpoint is None:
        abort(404)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    operations.remove_webhook(current_practitioner(), endpoint)
    flash(_("The endpoint %(url)s was removed.", url=endpoint.url))
    return redirect(url_for("dashboard.webhook_endpoints"), code=303)


@bp.get("/admin/audit")
@admin_required
def audit_log() -> ResponseReturnValue:
    submission_id = parse_id(request.args.get("submission"))
    page = queries.audit_page(
        db.session,
        current_practitioner().clinic_id,
        submission_id=submission_id,
        before=queries.Cursor.decode(request.args.get("before")),
        after=queries.Cursor.decode(request.args.get("after")),
    )
    return render_template(
        "dashboard/audit.html",
        page=page,
        actions=audit.ACTIONS,
        submission_id=submission_id,
        args={"submission": str(submission_id)} if submission_id is not None else {},
    )


def _dropoff_numbers(form: DropoffForm) -> dict[str, Any]:
    """What the page of where clients stop shows (dashboard/dropoff.py): the form, the notes,
    and for a valid form (`period` not None) the numbers of its period and part."""
    zone = request_zone()
    today = dt.datetime.now(zone).date()
    draft_days = int(current_app.config["DRAFT_DAYS"])
    complete = dropoff.complete_from(today, draft_days)
    out: dict[str, Any] = {
        "form": form, "draft_days": draft_days, "complete_from": complete,
        "format_day": format_day, "period": None,
    }
    if not form.validate():  # the errors on their fields, and no numbers for a wrong period
        return out
    first, last = form.date_from.data or complete, form.date_to.data or today
    if first > last:  # one end given, beyond the other's default: said on the given one's field
        field = form.date_to if form.date_to.data else form.date_from
        field.errors = [*field.errors, _("The end date is before the start date.")]
        return out
    period = dropoff.Period(first, last, zone)
    lang = form.language.data or None
    embedded = {STANDALONE: False, EMBEDDED: True}.get(form.source.data or "")
    qn = versions.current()
    positions = len(qn.steps) + 1
    counts = dropoff.count(db.session, current_practitioner().clinic_id, period)
    chosen = counts.part(positions, lang, embedded)

    def share(n: int, of: int) -> str | None:  # None: of nothing (the page shows a dash)
        return format_percent(n / of) if of else None

    def median(part: dropoff.Part) -> tuple[str, str] | None:
        value = part.median
        return None if value is None else (
            dropoff.duration_text(value), dropoff.iso_duration(value)
        )

    labels = [s.title.get(g.lang) for s in qn.steps] + [_("Review and signature")]
    page_names = {False: _("The clinic's own page"), True: _("A page embedding the form")}
    parts = [(_("All questionnaires"), counts.part(positions))] + [
        (language_name(code), counts.part(positions, lang=code)) for code in LANGUAGES
    ] + [(page_names[kind], counts.part(positions, embedded=kind)) for kind in (False, True)]
    return {
        **out, "period": period, "median": median(chosen),
        # Started, each step and the review page, sent: (label, number, % of started).
        "rows": [(_("Started"), chosen.started, share(chosen.started, chosen.started))]
        + [(label, n, share(n, chosen.started))
           for label, n in zip(labels, chosen.reached, strict=True)]
        + [(_("Sent"), chosen.sent, share(chosen.sent, chosen.started))],
        "breakdown": [
            (label, p.started, p.sent, share(p.sent, p.started), median(p)) for label, p in parts
        ],
        "not_recorded": counts.not_recorded, "incomplete": period.first < complete,
        "part_label": _(", ").join(
            ([language_name(lang)] if lang is not None else [])
            + ([page_names[embedded]] if embedded is not None else [])
        ) or _("all questionnaires"),
    }


@bp.get("/admin/dropoff")
@admin_required
def dropoff_view() -> ResponseReturnValue:
    """Where clients stop: a period's questionnaires, step by step."""
    numbers = _dropoff_numbers(DropoffForm(request.args))
    return render_template(
        "dashboard/dropoff.html", **numbers,
        csv_args={k: v for k, v in request.args.items() if k in DropoffForm.ARGS},
    )


@bp.get("/admin/dropoff.csv")
@admin_required
def dropoff_csv() -> ResponseReturnValue:
    """The page's table of steps as CSV, in the interface language (numbers only, no client's
    data); a wrong period goes back to the page, which says what is wrong."""
    numbers = _dropoff_numbers(DropoffForm(request.args))
    if numbers["period"] is None:
        query = urlencode([(k, v) for k, v in request.args.items() if k in DropoffForm.ARGS])
        return redirect(f"{url_for('dashboard.dropoff_view')}?{query}", code=303)
    period: dropoff.Period = numbers["period"]
    out = io.StringIO()
    writer = csv.writer(out)
    # The page's own heading, whose "%%" the template's gettext turns into "%" (this one not).
    writer.writerow([_("Step"), _("Reached"), _("%% of started").replace("%%", "%")])
    writer.writerows([label, n, pct or ""] for label, n, pct in numbers["rows"])
    median = numbers["median"]
    writer.writerow([_("Median time from start to sent:"), median[0] if median else ""])
    name = f"where-clients-stop-{period.first.isoformat()}-{period.last.isoformat()}.csv"
    return Response(
        "\ufeff" + out.getvalue(), mimetype="text/csv",  # the BOM: spreadsheets read UTF-8
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


# Clients and appointments: their routes are on this blueprint too.
from .appointment_views import submission_client_context  # noqa: E402
from .look_views import look_context  # noqa: E402
