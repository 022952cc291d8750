"""Flask CLI commands: `flask --app screener <command>`."""
from __future__ import annotations

import json
import secrets
import sys
from pathlib import Path

import click
from flask import Flask
from flask.cli import ScriptInfo, with_appcontext
from sqlalchemy import select

from .config import ROOT, instance_dir
from .extensions import db
from .questionnaire import QuestionnaireError, load_questionnaire
from .questionnaire.model import QuestionnaireDoc
from .storage.migrate import upgrade
from .storage.models import Clinic

DEMO_SLUG = "demo"


def register(app: Flask) -> None:
    """Commands that need a running app. init-db, check-questions and questions-schema are
    plugins (pyproject.toml): they work before the app can start."""
    app.cli.add_command(seed_demo)


def write_secret_key(instance_path: Path) -> bool:
    """Create instance/secret_key once; True when a new key was written."""
    path = instance_path / "secret_key"
    if path.exists():
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(secrets.token_hex(32) + "\n")
    path.chmod(0o600)
    return True


@click.command("init-db")
@click.pass_context
def init_db(ctx: click.Context) -> None:
    """Create instance/secret_key if there is none, then create or upgrade the database."""
    if write_secret_key(instance_dir()):
        click.echo(f"Secret key written to {instance_dir() / 'secret_key'}")
    app = ctx.ensure_object(ScriptInfo).load_app()
    with app.app_context():
        assert db.engine is not None
        upgrade(db.engine)
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
