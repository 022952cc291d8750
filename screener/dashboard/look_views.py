"""Dashboard routes for the clinic's look (registered on the dashboard's blueprint): its logo and
accent colour, in their own section of the clinic settings page, for the clinic's admins only.

A logo upload may be larger than the product's usual request limit (MAX_CONTENT_LENGTH), up to
LOGO_REQUEST_MAX: such a file is read and refused with a message on the field. A larger body
is not read at all, and refused with that same message.
"""
from __future__ import annotations

from typing import Any

from flask import abort, current_app, flash, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from werkzeug.exceptions import RequestEntityTooLarge

from .. import look
from ..extensions import csrf, db
from . import operations
from .auth import admin_required, current_practitioner
from .forms import AccentForm, ConfirmForm, LogoForm
from .views import bp, clinic_form, clinic_page

LOGO_REQUEST_MAX = 1024 * 1024


def look_context(
    logo_form: LogoForm | None = None, accent_form: AccentForm | None = None
) -> dict[str, Any]:
    """What the clinic page's look section shows: the current logo and colour, and the forms."""
    me = current_practitioner()
    row = look.look_of(db.session, me.clinic_id)
    if accent_form is None:
        accent_form = AccentForm(formdata=None, data={"accent": row.accent if row else ""})
    logo = None
    if row is not None and row.logo_hash:
        logo = {
            "url": url_for("look.logo", slug=me.clinic.slug, name=look.logo_name(row)),
            "width": row.logo_width, "height": row.logo_height,
        }
    return {
        "logo_form": logo_form or LogoForm(formdata=None),
        "accent_form": accent_form,
        "remove_form": ConfirmForm(formdata=None),
        "current_logo": logo,
        "current_accent": row.accent if row else None,
    }


def _look_page(status: int, **forms: Any) -> ResponseReturnValue:
    return clinic_page(clinic_form(posted=False), status, **forms)


@bp.post("/admin/clinic/logo")
@admin_required
def upload_logo() -> ResponseReturnValue:
    request.max_content_length = LOGO_REQUEST_MAX
    try:
        if current_app.config["WTF_CSRF_ENABLED"]:
            csrf.protect()
        form = LogoForm()
        valid = form.validate()
    except RequestEntityTooLarge:
        form = LogoForm(formdata=None)
        form.logo.errors = [look.too_big_message()]
        return _look_page(413, logo_form=form)
    if valid:
        try:
            logo = look.process_logo(look.read_upload(form.logo.data.stream))
        except look.LogoRefused as exc:
            form.logo.errors = [str(exc)]
        else:
            operations.set_logo(current_practitioner(), logo)
            flash(_("The logo was saved. Clients see it from now on."))
            return redirect(url_for("dashboard.clinic_settings", _anchor="look-title"), code=303)
    return _look_page(422, logo_form=form)


# CSRF is checked in the view, once the request may be larger than usual.
csrf.exempt(upload_logo)


@bp.post("/admin/clinic/logo/remove")
@admin_required
def remove_logo() -> ResponseReturnValue:
    if not ConfirmForm().validate_on_submit():
        abort(400)
    if operations.remove_logo(current_practitioner()):
        flash(_("The logo was removed. Clients see the clinic's name instead."))
    return redirect(url_for("dashboard.clinic_settings", _anchor="look-title"), code=303)


@bp.post("/admin/clinic/accent")
@admin_required
def change_accent() -> ResponseReturnValue:
    form = AccentForm()
    if not form.validate_on_submit():
        return _look_page(422, accent_form=form)
    colour = look.parse_hex(form.accent.data or "")
    operations.set_accent(current_practitioner(), colour)
    if colour is None:
        flash(_("The accent colour was removed: clients see the standard colour."))
    else:
        flash(_("The accent colour was saved."))
    return redirect(url_for("dashboard.clinic_settings", _anchor="look-title"), code=303)
