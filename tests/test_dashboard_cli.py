"""CLI for clinics and accounts: create-clinic, create-practitioner and set-password (password
from a prompt or stdin, never an argument), and seed-demo's printed demo login that works."""


from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask import Flask

from screener import create_app
from screener.storage.models import Clinic, Practitioner

from .conftest import TEST_SECRET
from .dashboard_support import PASSWORD, fast_hashing, fetch, login  # noqa: F401


def invoke(app: Flask, args: list[str], stdin: str | None = None) -> tuple[int, str]:
    result = app.test_cli_runner().invoke(args=args, input=stdin)
    return result.exit_code, result.output


def test_create_clinic(app: Flask) -> None:
    code, out = invoke(
        app,
        [
            "create-clinic",
            "harbour",
            "--name",
            "Harbour Clinic",
            "--email",
            "hi@harbour.example",
            "--origin",
            "HTTPS://www.Harbour.example/",
            "--retention-days",
            "730",
        ],
    )
    assert code == 0, out
    [clinic] = fetch(app, Clinic, Clinic.slug == "harbour")
    assert clinic.allowed_origins == ["https://www.harbour.example"]
    assert clinic.retention_days == 730 and clinic.contact_email == "hi@harbour.example"
    assert app.test_client().get("/c/harbour/").status_code == 200
    code, out = invoke(app, ["create-clinic", "harbour", "--name", "Again"])
    assert code == 1 and "exists already" in out


@pytest.mark.parametrize(
    "args",
    [
        ["create-clinic", "Bad Slug!", "--name", "x"],
        ["create-clinic", "ok-slug", "--name", "x", "--origin", "https://a.example; script-src *"],
        ["create-clinic", "ok-slug", "--name", "x", "--retention-days", "0"],
    ],
)
def test_create_clinic_refuses_bad_input(app: Flask, args: list[str]) -> None:
    code, _ = invoke(app, args)
    assert code != 0
    assert fetch(app, Clinic, Clinic.slug == "ok-slug") == []


def test_create_practitioner_reads_the_password_from_stdin(app: Flask) -> None:
    code, out = invoke(
        app,
        [
            "create-practitioner",
            "Lee@Example.com",
            "--clinic",
            "demo",
            "--name",
            "Dr Lee",
            "--role",
            "admin",
        ],
        stdin=PASSWORD + "\n",
    )
    assert code == 0, out
    assert PASSWORD not in out
    [account] = fetch(app, Practitioner)
    assert account.email == "lee@example.com" and account.role == "admin"
    assert login(app.test_client(), "lee@example.com").status_code == 302
    code, out = invoke(
        app,
        ["create-practitioner", "lee@example.com", "--clinic", "demo", "--name", "Again"],
        stdin=PASSWORD + "\n",
    )
    assert code == 1 and "exists already" in out


def test_no_password_argument_and_no_short_password(app: Flask) -> None:
    code, out = invoke(
        app,
        [
            "create-practitioner",
            "x@example.com",
            "--clinic",
            "demo",
            "--name",
            "X",
            "--password",
            PASSWORD,
        ],
    )
    assert code == 2 and "No such option" in out
    code, out = invoke(
        app,
        ["create-practitioner", "x@example.com", "--clinic", "demo", "--name", "X"],
        stdin="short\n",
    )
    assert code == 1 and "at least 12 characters" in out
    code, out = invoke(
        app,
        ["create-practitioner", "x@example.com", "--clinic", "nowhere", "--name", "X"],
        stdin=PASSWORD + "\n",
    )
    assert code == 1 and "no clinic" in out
    assert fetch(app, Practitioner) == []


def test_set_password(app: Flask) -> None:
    invoke(
        app,
        ["create-practitioner", "lee@example.com", "--clinic", "demo", "--name", "Lee"],
        stdin=PASSWORD + "\n",
    )
    new = "a completely new passphrase"
    code, out = invoke(app, ["set-password", "LEE@example.com"], stdin=new + "\n")
    assert code == 0 and new not in out
    assert login(app.test_client(), "lee@example.com", new).status_code == 302
    assert login(app.test_client(), "lee@example.com", PASSWORD).status_code == 401
    code, out = invoke(app, ["set-password", "ghost@example.com"], stdin=new + "\n")
    assert code == 1 and "no account" in out


def test_seed_demo_prints_a_login_that_works(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, app: Flask
) -> None:
    monkeypatch.setenv("SCREENER_INSTANCE", str(tmp_path))
    from screener.extensions import db

    demo = create_app({"TESTING": True, "SECRET_KEY": TEST_SECRET, "DATABASE_URL": database_url})
    with demo.app_context():
        db.session.query(Clinic).delete()
        db.session.commit()
    code, first = invoke(demo, ["seed-demo"])
    assert code == 0, first
    found = re.search(r"Demo dashboard login: (\S+) / (\S+)", first)
    assert found
    email, password = found.groups()
    assert (tmp_path / "demo_password").stat().st_mode & 0o777 == 0o600
    assert login(demo.test_client(), email, password).status_code == 302
    # Every run prints the same working login, and creates nothing twice.
    code, second = invoke(demo, ["seed-demo"])
    assert f"Demo dashboard login: {email} / {password}" in second
    assert len(fetch(demo, Practitioner)) == 1
    # A password changed since is not printed as if it still worked.
    invoke(demo, ["set-password", email], stdin="changed by the clinic!\n")
    code, third = invoke(demo, ["seed-demo"])
    assert password not in third and "set-password" in third
    db.of(demo).engine.dispose()
