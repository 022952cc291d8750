"""Flask CLI commands: `flask --app screener <command>`."""
from __future__ import annotations

import json
import secrets
import sys
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import ScriptInfo, with_appcontext
from sqlalchemy import select

from .config import ROOT, instance_dir
from .extensions import db
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
        create_clinic, create_practitioner, set_password_command, purge_command, export_command
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
@with_appcontext
def create_clinic(
    slug: str,
    name: str,
    contact_email: str | None,
    contact_phone: str | None,
    origins: tuple[str, ...],
    retention_days: int,
) -> None:
    """Create a clinic; its questionnaire is then at /c/SLUG/."""
    from .dashboard.forms import origins_of

    if not valid_slug(slug):
        raise click.ClickException("the slug takes lower-case letters, digits and '-'")
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
            )
        )
    click.echo(f"Clinic {slug!r} created: /c/{slug}/")


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
