"""Dashboard forms. Every form that changes something is a FlaskForm with a CSRF token."""
from __future__ import annotations

import re
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    Form,
    FormField,
    HiddenField,
    IntegerField,
    PasswordField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    TimeField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import (
    DataRequired,
    Email,
    EqualTo,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    Regexp,
    ValidationError,
)
from wtforms.widgets import DateInput

from .. import plaintext
from ..appointments import PHONE_RE, STATUSES
from ..clinic_texts import FIELDS, LIMITS
from ..i18n import LANGUAGE_NAMES, language_name, valid_timezone
from ..look import accent_problem, parse_hex
from ..questionnaire.model import LANGUAGES, SEVERITIES
from ..security import frame_origins, normalise_origin
from .auth import PASSWORD_MAX, PASSWORD_MIN, password_is_weak

SEVERITY_LABELS: dict[str, Any] = {
    "red_flag": _l("Red flag"),
    "discuss": _l("Discuss"),
    "timing": _l("Timing"),
    "comfort": _l("Comfort"),
    "info": _l("For information"),
}
NO_FLAGS = "none"


# Invisible control characters (tab and line breaks stay): PostgreSQL refuses NUL in text, and
# none of them belongs in a name, a note or a search.
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def strip_control(value: Any) -> Any:
    """Typed text without control characters (other values unchanged)."""
    return CONTROL.sub("", value) if isinstance(value, str) else value


class DashboardForm(FlaskForm):
    """A dashboard form: every text field but a password drops control characters (a
    FormField's own fields filter themselves)."""

    class Meta:
        def bind_field(self, form: Any, unbound_field: Any, options: dict[str, Any]) -> Any:
            if not issubclass(unbound_field.field_class, (PasswordField, FormField)):
                options["filters"] = [*unbound_field.kwargs.get("filters", ()), strip_control]
            return unbound_field.bind(form=form, **options)


class LoginForm(DashboardForm):
    email = StringField(_l("Email"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=PASSWORD_MAX)])


class FilterForm(DashboardForm):
    """The submission list's filters (GET, no CSRF: it changes nothing)."""

    class Meta:
        csrf = False

    severity = SelectField(
        _l("Most serious flag"),
        choices=[SelectChoice("", _l("Any"))]
        + [SelectChoice(s, SEVERITY_LABELS[s]) for s in SEVERITIES]
        + [SelectChoice(NO_FLAGS, _l("No flags"))],
        default="",
        validate_choice=True,
    )
    reviewed = SelectField(
        _l("Reviewed"),
        choices=[
            SelectChoice("", _l("Any")),
            SelectChoice("no", _l("Not reviewed")),
            SelectChoice("yes", _l("Reviewed")),
        ],
        default="",
    )
    date_from = DateField(_l("Submitted from"), validators=[Optional()])
    date_to = DateField(_l("Submitted until"), validators=[Optional()])
    name = StringField(_l("Name contains"), validators=[Optional(), Length(max=200)])

    def validate_date_to(self, field: DateField) -> None:
        if field.data and self.date_from.data and field.data < self.date_from.data:
            raise ValidationError(_l("The end date is before the start date."))


class DayInput(DateInput):
    """A date box that leaves out a value that is no day (2026-02-30, typed into the address):
    a date input holds only a real day (browsers send nothing else), and the field's error
    says what was wrong."""

    def __call__(self, field: Any, **kwargs: Any) -> Any:
        if field.raw_data and field.data is None:
            kwargs["value"] = ""
        return super().__call__(field, **kwargs)


# Which pages a questionnaire was started from (the statistics of where clients stop).
STANDALONE, EMBEDDED = "standalone", "embedded"


class DropoffForm(DashboardForm):
    """The period and the part of the questionnaires that the statistics of where clients stop
    count (GET, no CSRF: it changes nothing). Days in the clinic's time zone, both included."""

    class Meta:
        csrf = False

    ARGS = ("date_from", "date_to", "language", "source")  # its query string
    date_from = DateField(_l("Started from"), validators=[Optional()], widget=DayInput())
    date_to = DateField(_l("Started until"), validators=[Optional()], widget=DayInput())
    # Not `lang`: that one is the dashboard's own language, on every page.
    language = SelectField(_l("Language"), default="")
    source = SelectField(
        _l("Started on"),
        choices=[
            SelectChoice("", _l("Any page")),
            SelectChoice(STANDALONE, _l("The clinic's own page")),
            SelectChoice(EMBEDDED, _l("A page embedding the form")),
        ],
        default="",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.language.choices = [SelectChoice("", _l("Any language"))] + [
            SelectChoice(code, language_name(code)) for code in LANGUAGES
        ]

    def validate_date_to(self, field: DateField) -> None:
        if field.data and self.date_from.data and field.data < self.date_from.data:
            raise ValidationError(_l("The end date is before the start date."))


class ReviewForm(DashboardForm):
    note = TextAreaField(_l("Review note"), validators=[Optional(), Length(max=4000)])


class ConfirmForm(DashboardForm):
    """A button that changes something (delete, logout, reset): only the CSRF token."""


def _password_field(label: Any) -> PasswordField:
    return PasswordField(
        label,
        validators=[
            DataRequired(),
            Length(
                min=PASSWORD_MIN,
                max=PASSWORD_MAX,
                message=_l("Use %(min)d to %(max)d characters."),
            ),
        ],
    )


class PasswordForm(DashboardForm):
    current = PasswordField(
        _l("Current password"), validators=[DataRequired(), Length(max=PASSWORD_MAX)]
    )
    new = _password_field(_l("New password"))
    repeat = PasswordField(
        _l("New password again"),
        validators=[DataRequired(), EqualTo("new", message=_l("The two passwords differ."))],
    )

    def __init__(self, *args: Any, user_inputs: list[str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user_inputs = user_inputs or []

    def validate_new(self, field: PasswordField) -> None:
        """Refuse a password that is easy to guess (zxcvbn; the account's email and name count
        as easy too)."""
        if field.errors or not field.data:
            return
        if password_is_weak(str(field.data), self.user_inputs) is not None:
            raise ValidationError(
                _l(
                    "This password is too easy to guess: avoid common passwords, names,"
                    " repeated characters and keyboard patterns. A phrase of several unrelated"
                    " words works well."
                )
            )


ROLE_CHOICES = [
    SelectChoice("practitioner", _l("Practitioner")),
    SelectChoice("admin", _l("Clinic admin")),
]


class PractitionerForm(DashboardForm):
    email = EmailField(
        _l("Email"), validators=[DataRequired(), Length(max=254), Email(check_deliverability=False)]
    )
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    role = SelectField(_l("Role"), choices=ROLE_CHOICES, default="practitioner")


class RoleForm(DashboardForm):
    role = SelectField(_l("Role"), choices=ROLE_CHOICES)


class ApiTokenForm(DashboardForm):
    name = StringField(
        _l("Name"),
        description=_l("What uses it, such as \"Records system\"."),
        validators=[DataRequired(), Length(max=100)],
    )


class WebhookForm(DashboardForm):
    url = StringField(
        _l("Endpoint address"),
        description=_l("An https:// address of the system that receives the events."),
        validators=[DataRequired(), Length(max=2000)],
    )
    include_answers = BooleanField(
        _l("Include the answers in each event"),
        description=_l(
            "Warning: the answers are health data. Only for an endpoint of your own that is"
            " allowed to hold them; without answers the event names the submission, which the"
            " endpoint can read through the API with a token."
        ),
    )

    def __init__(self, *args: Any, allow_local_http: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.allow_local_http = allow_local_http

    def validate_url(self, field: StringField) -> None:
        from ..webhooks import url_problem

        field.data = (field.data or "").strip()
        if url_problem(field.data, self.allow_local_http) is not None:
            raise ValidationError(_l("Enter an https:// address, such as https://ehr.example.com/hooks"))


class ClinicForm(DashboardForm):
    name = StringField(_l("Clinic name"), validators=[DataRequired(), Length(max=200)])
    contact_email = EmailField(
        _l("Contact email"),
        validators=[Optional(), Length(max=254), Email(check_deliverability=False)],
    )
    contact_phone = StringField(_l("Contact phone"), validators=[Optional(), Length(max=40)])
    notify_email = EmailField(
        _l("Email for new-submission notices"),
        description=_l("Leave empty to use the contact email. The notice has no health data."),
        validators=[Optional(), Length(max=254), Email(check_deliverability=False)],
    )
    allowed_origins = TextAreaField(
        _l("Websites allowed to embed the questionnaire"),
        description=_l("One origin per line, such as https://www.example.com"),
        validators=[Optional(), Length(max=4000)],
    )
    retention_days = IntegerField(
        _l("Keep submissions for (days)"),
        validators=[InputRequired(), NumberRange(min=1, max=36500)],
    )
    timezone = StringField(
        _l("Time zone"),
        description=_l(
            "The clinic's time zone, as a name such as Asia/Hong_Kong or Europe/London. The"
            " dashboard shows every time in it, and appointment times are typed in it."
        ),
        validators=[DataRequired(), Length(max=64)],
    )

    def validate_timezone(self, field: StringField) -> None:
        check_timezone(field)

    def validate_allowed_origins(self, field: TextAreaField) -> None:
        try:
            origins_of(field.data or "")
        except ValueError as exc:
            raise ValidationError(
                _l("Not an origin such as https://www.example.com: %(value)s", value=str(exc))
            ) from exc


def check_timezone(field: StringField) -> None:
    """A time zone field: an IANA name (any letter case), stored as the name is spelled."""
    name = valid_timezone(field.data)
    if name is None:
        raise ValidationError(
            _l("Not a time zone: use a name such as Asia/Hong_Kong or Europe/London.")
        )
    field.data = name


def origins_of(text: str) -> list[str]:
    """The origins of a textarea, one per line, normalised as the CSP header needs them
    (security.frame_origins), without repeats; ValueError naming a line that is not one."""
    lines = [line for line in text.splitlines() if line.strip()]
    for line in lines:
        if normalise_origin(line) is None:
            raise ValueError(line.strip()[:200])
    return frame_origins(lines)


# Clients and appointments ------------------------------------------------------------------------

STATUS_LABELS: dict[str, Any] = {
    "invited": _l("Invited"),
    "started": _l("Started"),
    "sent": _l("Sent"),
    "reviewed": _l("Reviewed"),
}


class InviteForm(DashboardForm):
    """Invite a client to an appointment: a known client (`client_id`), or a new one by name."""

    client_id = HiddenField()
    # Set once the practitioner has seen the clinic's look-alike clients and chosen a new one.
    confirm_new = HiddenField()
    name = StringField(_l("Client's full name"), validators=[Optional(), Length(max=200)])
    email = EmailField(
        _l("Client's email"),
        description=_l("The invitation is emailed here when email is set up. Optional."),
        validators=[
            Optional(), Length(max=254),
            Email(_l("Enter an email address like name@example.com."), check_deliverability=False),
        ],
    )
    phone = StringField(
        _l("Client's phone"),
        description=_l("Optional."),
        validators=[
            Optional(), Length(max=40),
            Regexp(
                PHONE_RE,
                message=_l("Enter a phone number using digits, spaces and + ( ) - only."),
            ),
        ],
    )
    day = DateField(
        _l("Appointment date"),
        validators=[InputRequired(_l("Enter the appointment's date."))],
    )
    time = TimeField(
        _l("Appointment time"),
        validators=[InputRequired(_l("Enter the appointment's time, such as 14:30."))],
    )
    send_email = BooleanField(_l("Email the invitation to the client"), default=True)


class LinkClientForm(DashboardForm):
    """Say whose a submission is: an existing client (`client_id`) or a new one (`new`)."""

    client_id = HiddenField()
    new = HiddenField()


class AppointmentFilterForm(DashboardForm):
    """The appointments view's filters (GET, no CSRF)."""

    class Meta:
        csrf = False

    day = DateField(_l("Day"), validators=[Optional()])
    status = SelectField(
        _l("Status"),
        choices=[SelectChoice("", _l("Any"))]
        + [SelectChoice(s, STATUS_LABELS[s]) for s in STATUSES],
        default="",
    )


class ClientSearchForm(DashboardForm):
    class Meta:
        csrf = False

    q = StringField(_l("Name, email or phone"), validators=[Optional(), Length(max=200)])


# The clinic's languages and texts ------------------------------------------------------------

TEXT_TOO_LONG = _l("Shorten this text to %(max)d characters or fewer: it has %(length)d.")


def _text_field(label: Any, field: str, description: Any = None) -> TextAreaField:
    return TextAreaField(
        label,
        description=description,
        filters=[lambda value: plaintext.clean(value) if isinstance(value, str) else value],
        validators=[Length(max=LIMITS[field], message=TEXT_TOO_LONG)],
    )


class LanguageTextsForm(Form):
    """A clinic's texts in one language (a part of ClinicTextsForm, whose CSRF token covers it)."""

    intro = _text_field(
        _l("Introduction on the start page"), "intro",
        _l("Shown under the questionnaire's title, before the client starts."),
    )
    next_steps = _text_field(
        _l("What happens next"), "next_steps",
        _l("Shown on the client's summary and its PDF copy, with your contact details. Empty:"
           " a standard sentence asking the client to contact you with any question."),
    )
    consent = _text_field(
        _l("Your own consent text (optional)"), "consent",
        _l("Replaces the paragraphs of the standard consent text; its title and the declaration"
           " the client signs stay. Empty: the standard text."),
    )
    address = _text_field(_l("Postal address"), "address")


def lang_key(lang: str) -> str:
    """A language's part of ClinicTextsForm (a field name: "zh-Hant" -> "zh_Hant")."""
    return lang.replace("-", "_")


class ClinicTextsForm(DashboardForm):
    """The languages a clinic offers, its default, and its texts in each language."""

    offered = SelectMultipleField(
        _l("Languages clients can choose"),
        choices=[SelectChoice(code, LANGUAGE_NAMES.get(code, code)) for code in LANGUAGES],
        validate_choice=True,
    )
    default_lang = SelectField(
        _l("Default language"),
        description=_l("For clients whose browser asks for a language you do not offer, and for"
                       " unfinished questionnaires in a language you no longer offer."),
        choices=[SelectChoice(code, LANGUAGE_NAMES.get(code, code)) for code in LANGUAGES],
    )

    def validate_offered(self, field: SelectMultipleField) -> None:
        if not field.data:
            raise ValidationError(_l("Choose at least one language."))

    def validate_default_lang(self, field: SelectField) -> None:
        if self.offered.data and field.data not in self.offered.data:
            raise ValidationError(_l("Choose one of the languages clients can choose."))

    def language_parts(self) -> list[tuple[str, Any]]:
        """(language, its texts' part of the form), in the product's order."""
        return [(lang, self[lang_key(lang)].form) for lang in LANGUAGES]

    def settings(self) -> dict[str, Any]:
        """What is stored: languages (product order), default, non-empty texts by language."""
        texts: dict[str, dict[str, str]] = {}
        for lang, part in self.language_parts():
            values = {name: part[name].data for name in FIELDS if part[name].data}
            if values:
                texts[lang] = values
        return {
            "languages": [lang for lang in LANGUAGES if lang in (self.offered.data or [])],
            "default_lang": self.default_lang.data,
            "texts": texts,
        }


for _lang in LANGUAGES:
    setattr(ClinicTextsForm, lang_key(_lang), FormField(LanguageTextsForm))


class LogoForm(FlaskForm):
    """The clinic's logo: a file, checked and re-encoded by screener/look.py, not here."""

    logo = FileField(
        _l("Logo file"),
        description=_l(
            "A PNG or JPEG file of at most 200 KB. Clients see it at the top of the"
            " questionnaire and of their PDF copy, with the clinic's name as its text for"
            " screen readers."
        ),
        validators=[FileRequired(_l("Choose a PNG or JPEG file for the logo."))],
        render_kw={"accept": "image/png,image/jpeg"},
    )


class AccentForm(FlaskForm):
    """The clinic's accent colour; empty: the product's own."""

    accent = StringField(
        _l("Colour code"),
        description=_l(
            "A colour as #rrggbb, such as #1d4f4a, for the header and buttons of the"
            " questionnaire. White text goes on it, so it must be dark enough for a contrast"
            " ratio of at least 4.5:1. Leave empty for the standard colour."
        ),
        filters=[lambda value: value.strip() if isinstance(value, str) else value],
        validators=[Optional(), Length(max=20)],
    )

    def validate_accent(self, field: StringField) -> None:
        colour = parse_hex(field.data or "")
        if colour is None:
            raise ValidationError(_l("Not a colour such as #1d4f4a (a # and six hex digits)."))
        problem = accent_problem(colour)
        if problem is not None:
            raise ValidationError(problem)
