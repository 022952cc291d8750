"""Flask CLI commands: `flask --app screener <command>`."""
from __future__ import annotations

import json
import logging
import secrets
import signal
import sys
import threading
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import ScriptInfo, with_appcontext
from sqlalchemy import select

from .config import ROOT, instance_dir
from .extensions import db
from .i18n import DEFAULT_ZONE, valid_timezone
from .questionnaire import QuestionnaireError, load_questionnaire
from .questionnaire.model import QuestionnaireDoc
from .storage import versions
from .storage.migrate import upgrade
from .storage.models import ROLES, Clinic, Practitioner, utcnow, valid_slug

DEMO_SLUG = "demo"
DEMO_EMAIL = "demo@example.com"
DEMO_PASSWORD_FILE = "demo_password"  # noqa: S105 - a file name


def register(app: Flask) -> None:
    """Commands that need a running app. init-db, check-questions and questions-schema are
    plugins (pyproject.toml): they work before the app can start."""
    app.cli.add_command(seed_demo)
    for command in (
        create_clinic, create_practitioner, set_password_command, purge_command, deliver_command,
        create_api_token, add_webhook, invite_command, export_command,
    ):
        app.cli.add_command(command)


def write_secret_key(instance_path: Path) -> bool:
    """Create instance/secret_key once; True when a new key was written."""
    path = instance_path / "secret_key"
    if path.exists():
        return False
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.write_text(secrets.token_hex(32) + "\n")
    path.chmod(0o600)
    return True


@click.command("init-db")
@click.pass_context
def init_db(ctx: click.Context) -> None:
    """Create instance/secret_key if there is none, then create or upgrade the database and
    store the questionnaire version being deployed."""
    if write_secret_key(instance_dir()):
        click.echo(f"Secret key written to {instance_dir() / 'secret_key'}")
    app = ctx.ensure_object(ScriptInfo).load_app()
    with app.app_context():
        upgrade(db.engine)
        with db.transaction() as session:
            versions.record(session, versions.current())
        click.echo(f"Database ready: {db.engine.url.render_as_string(hide_password=True)}")


@click.command("seed-demo")
@with_appcontext
def seed_demo() -> None:
    """Create the demo clinic (slug 'demo') if it does not exist."""
    with db.transaction() as session:
        clinic = session.scalars(select(Clinic).where(Clinic.slug == DEMO_SLUG)).first()
        if clinic is None:
            session.add(
                Clinic(
                    slug=DEMO_SLUG,
                    name="Demo Facial Acupuncture Clinic",
                    contact_email="clinic@example.com",
                    allowed_origins=["http://localhost:5001"],
                    retention_days=365,
                )
            )
            click.echo("Demo clinic created: /c/demo/")
        else:
            click.echo("Demo clinic already exists: /c/demo/")
    click.echo(demo_login())


def demo_login() -> str:
    """Create the demo clinic's admin account once; the login to print (or how to get one).

    The generated password is kept in instance/demo_password (mode 600) so that every run
    prints the same, working login; it is checked against the account before it is shown.
    """
    from .dashboard.auth import check_password, create_practitioner, generate_password

    path = Path(current_app.instance_path) / DEMO_PASSWORD_FILE
    with db.transaction() as session:
        clinic = session.scalars(select(Clinic).where(Clinic.slug == DEMO_SLUG)).one()
        account = session.scalars(
            select(Practitioner).where(
                Practitioner.email == DEMO_EMAIL, Practitioner.clinic_id == clinic.id
            )
        ).first()
        if account is None:
            password = generate_password()
            account = create_practitioner(
                session, clinic, DEMO_EMAIL, "Demo Practitioner", password, "admin"
            )
            path.write_text(password + "\n")
            path.chmod(0o600)
    password = path.read_text().strip() if path.is_file() else ""
    if password and check_password(account, password):
        return f"Demo dashboard login: {DEMO_EMAIL} / {password}"
    return (
        f"Demo dashboard account {DEMO_EMAIL} exists with a password changed since; set one with"
        f" `flask --app screener set-password {DEMO_EMAIL}`"
    )


@click.command("check-questions")
@click.argument("file", required=False, type=click.Path(dir_okay=False, path_type=Path))
def check_questions(file: Path | None) -> None:
    """Validate a questionnaire file (default: questions.yaml); exit 1 on any error."""
    path = file or ROOT / "questions.yaml"
    try:
        qn = load_questionnaire(path)
    except QuestionnaireError as exc:
        click.echo(str(exc), err=True)
        sys.exit(1)
    n_questions = len(qn.questions)
    click.echo(
        f"{path.name}: OK, version {qn.version}: {len(qn.steps)} steps, {n_questions} questions,"
        f" {len(qn.rules)} rules, {len(qn.sources)} sources"
    )


def questionnaire_json_schema() -> dict[str, object]:
    schema = QuestionnaireDoc.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "Screener questionnaire (questions.yaml)"
    return schema


@click.command("questions-schema")
def questions_schema() -> None:
    """Print the JSON Schema of questions.yaml (published as docs/questions.schema.json)."""
    click.echo(json.dumps(questionnaire_json_schema(), indent=2, ensure_ascii=False))


# Clinics and accounts --------------------------------------------------------------------------


def read_password(confirm: bool = True, user_inputs: tuple[str, ...] = ()) -> str:
    """A password from the terminal (asked twice, not echoed) or the first line of stdin,
    checked against the policy (length; not easy to guess, nor made of `user_inputs`).

    Never a command-line argument: those end up in shell history and `ps` output.
    """
    from .dashboard.auth import PasswordError, check_password_policy

    if sys.stdin.isatty():
        password = click.prompt("Password", hide_input=True, confirmation_prompt=confirm)
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    try:
        check_password_policy(password, user_inputs)
    except PasswordError as exc:
        raise click.ClickException(str(exc)) from exc
    return str(password)


def _clinic(slug: str) -> Clinic:
    clinic = db.session.scalars(select(Clinic).where(Clinic.slug == slug)).first()
    if clinic is None:
        raise click.ClickException(f"no clinic with slug {slug!r}")
    return clinic


@click.command("create-clinic")
@click.argument("slug")
@click.option("--name", required=True, help="The clinic's name, as clients see it.")
@click.option("--email", "contact_email", help="Contact email (new-submission notices go here).")
@click.option("--phone", "contact_phone", help="Contact phone.")
@click.option("--origin", "origins", multiple=True, help="An origin allowed to embed the form.")
@click.option("--retention-days", default=365, show_default=True, type=click.IntRange(1, 36500))
@click.option(
    "--timezone", "timezone_name", default=DEFAULT_ZONE, show_default=True,
    help="The clinic's IANA time zone, such as Asia/Hong_Kong or Europe/London.",
)
@with_appcontext
def create_clinic(
    slug: str,
    name: str,
    contact_email: str | None,
    contact_phone: str | None,
    origins: tuple[str, ...],
    retention_days: int,
    timezone_name: str,
) -> None:
    """Create a clinic; its questionnaire is then at /c/SLUG/."""
    from .dashboard.forms import origins_of

    if not valid_slug(slug):
        raise click.ClickException("the slug takes lower-case letters, digits and '-'")
    timezone = valid_timezone(timezone_name)
    if timezone is None:
        raise click.ClickException(
            f"not a time zone: {timezone_name!r} (use an IANA name such as Asia/Hong_Kong)"
        )
    try:
        allowed = origins_of("\n".join(origins))
    except ValueError as exc:
        raise click.ClickException(f"not an origin (scheme://host[:port]): {exc}") from exc
    with db.transaction() as session:
        if session.scalars(select(Clinic).where(Clinic.slug == slug)).first():
            raise click.ClickException(f"a clinic with slug {slug!r} exists already")
        session.add(
            Clinic(
                slug=slug,
                name=name,
                contact_email=contact_email,
                contact_phone=contact_phone,
                allowed_origins=allowed,
                retention_days=retention_days,
                timezone=timezone,
            )
        )
    click.echo(f"Clinic {slug!r} created: /c/{slug}/ (time zone {timezone})")


@click.command("create-practitioner")
@click.argument("email")
@click.option("--clinic", "slug", required=True, help="The clinic's slug.")
@click.option("--name", required=True, help="The practitioner's name.")
@click.option("--role", type=click.Choice(ROLES), default="practitioner", show_default=True)
@with_appcontext
def create_practitioner(email: str, slug: str, name: str, role: str) -> None:
    """Create a dashboard account; the password is asked for (or read from stdin)."""
    from .dashboard import operations
    from .dashboard.auth import normalise_email

    if "@" not in email or len(email) > 254:
        raise click.ClickException("give the practitioner's email address")
    clinic = _clinic(slug)
    if db.session.scalars(
        select(Practitioner).where(
            Practitioner.email == normalise_email(email), Practitioner.clinic_id == clinic.id
        )
    ).first():
        raise click.ClickException(f"an account for {email} exists already")
    password = read_password(user_inputs=(email, name, clinic.name, clinic.slug))
    try:
        operations.create_account(clinic, email, name, password, role)
    except operations.EmailTaken as exc:
        raise click.ClickException(f"an account for {email} exists already") from exc
    click.echo(f"{role.capitalize()} {normalise_email(email)} created for clinic {slug!r}.")


@click.command("set-password")
@click.argument("email")
@click.option("--clinic", "slug", help="The clinic's slug, when the email has accounts at several.")
@with_appcontext
def set_password_command(email: str, slug: str | None) -> None:
    """Set a practitioner's password (asked for, or read from stdin); ends their sessions."""
    from .dashboard import operations
    from .dashboard.auth import normalise_email

    query = select(Practitioner).where(Practitioner.email == normalise_email(email))
    if slug is not None:
        query = query.where(Practitioner.clinic_id == _clinic(slug).id)
    accounts = db.session.scalars(query).all()
    if not accounts:
        raise click.ClickException(f"no account for {email}")
    if len(accounts) > 1:
        raise click.ClickException(
            f"{email} has accounts at several clinics: name one with --clinic SLUG"
        )
    account = accounts[0]
    password = read_password(user_inputs=(account.email, account.name))
    operations.set_account_password(account, password)
    click.echo(f"Password of {account.email} changed.")


@click.command("purge")
@click.option("--dry-run", is_flag=True, help="Count what would be deleted; delete nothing.")
@with_appcontext
def purge_command(dry_run: bool) -> None:
    """Delete expired drafts and submissions older than their clinic's retention period."""
    from .dashboard import operations

    report = operations.purge_expired(utcnow(), dry_run=dry_run)
    verb = "Would delete" if dry_run else "Deleted"
    click.echo(
        f"{verb} {report.total_submissions} submission(s) and {report.drafts} draft(s)."
    )
    for slug, n in report.submissions.items():
        click.echo(f"  {slug}: {n} submission(s)")
    click.echo(f"{verb} {report.exports} prepared CSV file(s).")
    if report.batches:
        click.echo(
            f"In {report.batches} batch(es) of at most {report.longest_batch:.2f} s each."
        )


@click.command("export")
@click.option("--job", "job_id", type=int, help="Run only this job (if it is pending).")
@with_appcontext
def export_command(job_id: int | None) -> None:
    """Prepare the CSV files asked for on the dashboard (lists too large to download at once).
    Run it every minute, for example from cron."""
    from .exports import jobs

    for result in jobs.run_pending(only=job_id):
        if result.outcome == "skipped":
            click.echo(f"Export {result.job_id}: not pending.")
        elif result.outcome == "failed":
            click.echo(f"Export {result.job_id}: failed (see the log).", err=True)
        else:
            click.echo(
                f"Export {result.job_id}: {result.rows} row(s) in {result.seconds:.1f} s."
            )


@click.command("deliver")
@click.option("--once", is_flag=True, help="Deliver what is due now, then exit.")
@click.option(
    "--interval", default=2.0, show_default=True, type=click.FloatRange(0.1, 3600),
    help="Seconds between looks at the outbox when nothing is due.",
)
@with_appcontext
def deliver_command(once: bool, interval: float) -> None:
    """Deliver the outbox (emails, webhook events) in the foreground until stopped (SIGTERM or
    Ctrl+C end it after the message being sent). Run one or more beside the web servers."""
    from . import outbox

    logging.getLogger("screener").setLevel(logging.INFO)  # one line per message, to stderr
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if not once:
        click.echo(f"Delivering the outbox of {db.engine.url.render_as_string(hide_password=True)}")
    outbox.run(app, interval, once, stop)


@click.command("create-api-token")
@click.argument("slug")
@click.option("--name", required=True, help="What will use it, such as 'Records system'.")
@with_appcontext
def create_api_token(slug: str, name: str) -> None:
    """Create an API token of clinic SLUG for the FHIR API and print it (shown only now)."""
    from .dashboard import operations

    if not name.strip():
        raise click.ClickException("give the token a name")
    row, token = operations.create_api_token_cli(_clinic(slug), name)
    click.echo(token)
    click.echo(
        f"API token {row.name!r} of clinic {slug!r}: send it as 'Authorization: Bearer <token>'."
        " It is shown only this once.",
        err=True,
    )


@click.command("add-webhook")
@click.argument("slug")
@click.argument("url")
@click.option(
    "--answers", is_flag=True,
    help="Include the answers (health data) in each event: only for your own system.",
)
@with_appcontext
def add_webhook(slug: str, url: str, answers: bool) -> None:
    """Add a webhook endpoint (https://...) of clinic SLUG and print its signing secret
    (shown only now)."""
    from . import webhooks
    from .dashboard import operations

    clinic = _clinic(slug)
    if webhooks.url_problem(url, webhooks.allow_local_http(current_app)) is not None:
        raise click.ClickException(f"not an https:// address: {url!r}")
    endpoint = operations.add_webhook_cli(clinic, url, answers)
    click.echo(endpoint.secret)
    click.echo(
        f"Webhook endpoint {url} of clinic {slug!r} added; the line above is its signing"
        " secret (Standard Webhooks), shown only this once.",
        err=True,
    )


# Invitations -------------------------------------------------------------------------------------


@click.command("invite")
@click.argument("slug", metavar="CLINIC")
@click.option("--name", help="The client's full name (a known client's by default).")
@click.option("--email", help="The client's email address: the invitation is emailed to it.")
@click.option("--phone", help="The client's phone number.")
@click.option(
    "--appointment", "when", required=True, metavar='"YYYY-MM-DD HH:MM"',
    help="The appointment's date and time, in the clinic's time zone.",
)
@click.option("--client", "client_id", type=int, help="Invite this known client (its id).")
@click.option(
    "--new-client", is_flag=True,
    help="Make a new client even though the clinic has one with the same email, phone or a"
    " similar name.",
)
@with_appcontext
def invite_command(
    slug: str, name: str | None, email: str | None, phone: str | None, when: str,
    client_id: int | None, new_client: bool,
) -> None:
    """Invite a client to an appointment; prints the client's personal link."""
    from . import appointments, invitations
    from .dashboard import operations
    from .i18n import zone

    clinic = _clinic(slug)
    try:
        day, time = appointments.parse_appointment(when)
        starts_at = appointments.local_moment(day, time, zone(clinic.timezone), utcnow())
    except appointments.TimeProblem as exc:
        messages = {
            "past": f"{when} has passed in {clinic.timezone}",
            "far": f"{when} is more than five years ahead",
            "skipped": f"{when} does not exist in {clinic.timezone}: the clocks skip it that day",
        }
        raise click.ClickException(messages[exc.kind]) from exc
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    name = appointments.clean_text(name, appointments.NAME_MAX) if name is not None else None
    email = appointments.clean_text(email, appointments.EMAIL_MAX) or None
    phone = appointments.clean_text(phone, appointments.PHONE_MAX) or None
    if email is not None and not appointments.valid_email(email):
        raise click.ClickException(f"not an email address: {email!r}")
    if phone is not None and not appointments.valid_phone(phone):
        raise click.ClickException(
            f"not a phone number: {phone!r} (digits, spaces and + ( ) - only)"
        )
    if client_id is not None:
        client = appointments.clinic_client(db.session, clinic.id, client_id)
        if client is None:
            raise click.ClickException(f"clinic {slug!r} has no client {client_id}")
        if name or email or phone:
            click.echo(
                f"Client {client.id} is invited with the details the clinic has:"
                " --name, --email and --phone are not used with --client.", err=True,
            )
    else:
        if not name:
            raise click.ClickException("give the client's --name, or a known client's --client ID")
        found = appointments.matches(db.session, clinic.id, name, email, phone)
        if found and not new_client:
            lines = "\n".join(
                f"  --client {m.client.id}: {m.client.full_name}"
                f" ({', '.join(m.reasons)} alike)" for m in found
            )
            raise click.ClickException(
                "the clinic may know this client already:\n" + lines
                + "\ninvite one of them with --client ID, or add --new-client"
            )
        client = operations.create_client(None, clinic.id, name, email, phone)
    try:
        appointment = operations.invite(None, clinic, client, starts_at)
    except operations.AlreadyInvited as exc:
        raise click.ClickException(
            f"client {client.id} is invited to that appointment already:"
            f" {invitations.link(clinic, exc.appointment)}"
        ) from exc
    if invitations.email(None, clinic, client, appointment):
        click.echo(
            f"Invitation to {client.email} is in the outbox: the delivery worker"
            " (flask --app screener deliver) sends it.", err=True,
        )
    click.echo(invitations.link(clinic, appointment))
