"""Dashboard routes for clients and appointments (registered on the dashboard's blueprint).

The appointments view is a practitioner's first page: the clinic's appointments by day in its
time zone, today first, each with its client's questionnaire status, flags and actions.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from flask import abort, current_app, flash, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from sqlalchemy import select

from .. import appointments, invitations
from ..config import page_base_url
from ..extensions import db
from ..i18n import format_day, format_hour, request_zone
from ..storage.models import Appointment, Client, Submission, parse_id, utcnow
from . import operations, queries
from .auth import current_practitioner
from .forms import (
    STATUS_LABELS,
    AppointmentFilterForm,
    ClientSearchForm,
    ConfirmForm,
    InviteForm,
    LinkClientForm,
)
from .views import bp


@bp.app_template_global()
def status_label(status: str) -> str:
    return str(STATUS_LABELS.get(status, status))


@bp.app_template_filter()
def match_reason(reason: str) -> str:
    """Why a client may be the same person, in words."""
    words: dict[str, str] = {
        "email": _("same email"), "phone": _("same phone"), "name": _("similar name")
    }
    return words.get(reason, reason)


def _row_status(row: Any) -> str:
    return appointments.status(
        row.draft_id is not None, row.submission_id is not None, row.reviewed_at is not None
    )


def _flag_names(flags: Any) -> list[tuple[str, str]]:
    """(severity, rule id) of a submission's stored flags, most serious first."""
    return [
        (str(f.get("severity")), str(f.get("rule")))
        for f in flags or () if isinstance(f, dict) and f.get("rule")
    ]


def _link_open(row: Any, now: dt.datetime) -> bool:
    """Whether the client's link still opens a questionnaire (not expired, not answered)."""
    return row.submission_id is None and row.expires_at > now


def _view_row(row: Any, now: dt.datetime) -> dict[str, Any]:
    base = page_base_url(current_app.config)
    token = appointments.token_for(current_app.config["SECRET_KEY"], row.token_seed)
    return {
        "row": row,
        "status": _row_status(row),
        "flags": _flag_names(row.flags),
        "hour": format_hour(row.starts_at),
        "link": f"{base}/c/{g.clinic.slug}/i/{token}" if _link_open(row, now) else None,
        "can_email": bool(
            row.email and current_app.config["SMTP_HOST"] and _link_open(row, now)
        ),
    }


@bp.get("/appointments")
def appointments_view() -> ResponseReturnValue:
    """Appointments by day, today first (or one day's), with filters by day and status."""
    form = AppointmentFilterForm(request.args)
    form.validate()
    zone, now = request_zone(), utcnow()
    day = None if form.day.errors else form.day.data
    status = None if form.status.errors else (form.status.data or None)
    first = day or appointments.local_day(now, zone)
    start = queries.midnight(first, zone)
    end = (
        queries.midnight(first + dt.timedelta(days=1), zone)
        if day and day < dt.date.max else None
    )
    rows = queries.appointment_rows(db.session, g.clinic.id, start, end, status)
    days: dict[dt.date, list[dict[str, Any]]] = {}
    for row in rows:
        days.setdefault(appointments.local_day(row.starts_at, zone), []).append(
            _view_row(row, now)
        )
    return render_template(
        "dashboard/appointments.html",
        form=form,
        days=[(d, format_day(d), items) for d, items in days.items()],
        today=appointments.local_day(now, zone),
        filtered=bool(day or status),
        action_form=ConfirmForm(),
    )


def _appointment_or_404(appointment_id: int) -> Appointment:
    row = appointments.clinic_appointment(db.session, g.clinic.id, appointment_id)
    if row is None:
        abort(404)
    return row


def _client_or_404(client_id: int | None) -> Client:
    row = (
        appointments.clinic_client(db.session, g.clinic.id, client_id)
        if client_id is not None else None
    )
    if row is None:
        abort(404)
    return row


@bp.get("/appointments/<id:appointment_id>")
def appointment(appointment_id: int) -> ResponseReturnValue:
    appt = _appointment_or_404(appointment_id)
    [row] = [
        r for r in queries.appointment_rows(
            db.session, g.clinic.id, appt.starts_at, appt.starts_at + dt.timedelta(seconds=1),
            client_id=appt.client_id,
        ) if r.id == appt.id
    ]
    return render_template(
        "dashboard/appointment.html",
        appointment=appt,
        item=_view_row(row, utcnow()),
        action_form=ConfirmForm(),
    )


@bp.post("/appointments/<id:appointment_id>/send")
def send_invitation(appointment_id: int) -> ResponseReturnValue:
    """Email the invitation (again): the same link."""
    appt = _appointment_or_404(appointment_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    client = db.session.get(Client, appt.client_id)
    assert client is not None
    sent = db.session.scalar(select(Submission.id).where(Submission.appointment_id == appt.id))
    if sent is not None or appt.expires_at <= utcnow():
        flash(_("The client has answered or the link has expired: nothing was sent."))
    elif invitations.email(current_practitioner(), g.clinic, client, appt):
        flash(_("The invitation was emailed to %(email)s.", email=client.email))
    else:
        flash(_("Nothing was sent: email is not set up, or the client has no email address."))
    back = request.form.get("back")
    target = url_for("dashboard.appointments_view") if back == "list" else url_for(
        "dashboard.appointment", appointment_id=appt.id
    )
    return redirect(target, code=303)


# Inviting ----------------------------------------------------------------------------------------


def _invite_page(
    form: InviteForm, client: Client | None, found: list[Any], status: int,
    existing: Appointment | None = None,
) -> tuple[str, int]:
    return render_template(
        "dashboard/invite.html", form=form, client=client, matches=found,
        zone_name=g.clinic.timezone, existing=existing,
    ), status


@bp.route("/appointments/new", methods=["GET", "POST"])
def invite() -> ResponseReturnValue:
    """Invite a client (known, or new by name) to an appointment."""
    me = current_practitioner()
    if request.method == "GET":
        client_id = parse_id(request.args.get("client"))
        client = _client_or_404(client_id) if request.args.get("client") else None
        form = InviteForm(data={"client_id": str(client.id) if client else ""})
        return _invite_page(form, client, [], 200)
    form = InviteForm()
    client = (
        _client_or_404(parse_id(form.client_id.data)) if form.client_id.data else None
    )
    valid = form.validate_on_submit()
    name = appointments.clean_text(form.name.data, appointments.NAME_MAX)
    if client is None and not name:
        form.name.errors = [*form.name.errors, _("Enter the client's name.")]
        valid = False
    starts_at = None
    if form.day.data and form.time.data and not form.day.errors and not form.time.errors:
        try:
            starts_at = appointments.local_moment(
                form.day.data, form.time.data, request_zone(), utcnow()
            )
        except appointments.TimeProblem as exc:
            if exc.kind == "far":
                form.day.errors = [
                    *form.day.errors, _("Enter a date within the next five years.")
                ]
            else:
                form.time.errors = [*form.time.errors, (
                    _("This time has passed. Enter a time still to come.")
                    if exc.kind == "past" else _(
                        "The clocks skip this time on that day in %(zone)s. Enter another time.",
                        zone=g.clinic.timezone,
                    )
                )]
            valid = False
    if not valid or starts_at is None:
        return _invite_page(form, client, [], 422)
    email = (form.email.data or "").strip() or None
    phone = appointments.clean_text(form.phone.data, appointments.PHONE_MAX) or None
    if client is None:
        found = appointments.matches(db.session, g.clinic.id, name, email, phone)
        if found and form.confirm_new.data != "1":
            return _invite_page(form, None, found, 200)
        client = operations.create_client(me, g.clinic.id, name, email, phone)
    try:
        appt = operations.invite(me, g.clinic, client, starts_at)
    except operations.AlreadyInvited as exc:
        form.time.errors = [
            _("%(name)s is invited to this appointment already.", name=client.full_name)
        ]
        return _invite_page(form, client, [], 422, exc.appointment)
    if form.send_email.data and client.email:
        if invitations.email(me, g.clinic, client, appt):
            flash(_("The invitation was emailed to %(email)s.", email=client.email))
        else:
            flash(_("Email is not set up: copy the link below and send it to the client."))
    else:
        flash(_("The invitation was made: copy the link below and send it to the client."))
    return redirect(url_for("dashboard.appointment", appointment_id=appt.id), code=303)


# Clients -----------------------------------------------------------------------------------------


@bp.get("/clients")
def clients() -> ResponseReturnValue:
    form = ClientSearchForm(request.args)
    form.validate()
    search = None if form.q.errors else (form.q.data or None)
    page = queries.client_page(
        db.session, g.clinic.id, search,
        before=queries.Cursor.decode(request.args.get("before")),
        after=queries.Cursor.decode(request.args.get("after")),
    )
    return render_template(
        "dashboard/clients.html", form=form, page=page,
        args={"q": search} if search else {},
        paged="before" in request.args or "after" in request.args,
    )


@bp.get("/clients/<id:client_id>")
def client(client_id: int) -> ResponseReturnValue:
    """A client's page: details, then submissions and appointments, newest first (audited)."""
    person = _client_or_404(client_id)
    operations.client_viewed(current_practitioner(), person)
    now = utcnow()
    booked = queries.appointment_rows(
        db.session, g.clinic.id, dt.datetime(1970, 1, 1, tzinfo=dt.UTC),
        client_id=person.id, newest_first=True,
    )
    return render_template(
        "dashboard/client.html",
        client=person,
        submissions=[
            (row, _flag_names(row.flags))
            for row in queries.client_submissions(db.session, g.clinic.id, person.id)
        ],
        appointments=[_view_row(row, now) for row in booked],
    )


@bp.post("/submissions/<id:submission_id>/client")
def link_client(submission_id: int) -> ResponseReturnValue:
    """A practitioner says whose a submission is: a client of the clinic, or a new one."""
    me = current_practitioner()
    sub = queries.clinic_submission(db.session, g.clinic.id, submission_id)
    if sub is None:
        abort(404)
    form = LinkClientForm()
    if not form.validate_on_submit():
        abort(400)
    if form.new.data == "1":
        person = operations.client_from_submission(me, sub)
        flash(_("A new client, %(name)s, was made from this submission.", name=person.full_name))
    else:
        person = _client_or_404(parse_id(form.client_id.data))
        operations.link_submission(me, sub, person)
        flash(_("The submission is now linked to %(name)s.", name=person.full_name))
    return redirect(url_for("dashboard.submission", submission_id=sub.id), code=303)


def submission_client_context(sub: Submission) -> dict[str, Any]:
    """The client box of a submission's page: its client, or clients who may be the person."""
    if sub.client_id is not None:
        return {"linked_client": db.session.get(Client, sub.client_id), "client_matches": []}
    answers = sub.answers or {}
    found = appointments.matches(
        db.session, sub.clinic_id, sub.full_name or str(answers.get("full_name") or ""),
        str(answers.get("email") or "") or None, str(answers.get("phone") or "") or None,
    )
    return {"linked_client": None, "client_matches": found}
