"""Screener: a consultation questionnaire for facial acupuncture clinics."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from flask import Flask, Response, g, render_template, request
from flask_babel import force_locale
from flask_babel import gettext as _
from markupsafe import escape
from werkzeug.exceptions import BadRequest, HTTPException, SecurityError
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter

from . import assets, logs, plaintext
from .config import ROOT, check_config, instance_dir, load_config
from .extensions import babel, csrf, db, limiter, login_manager
from .i18n import (
    LANGUAGE_NAMES,
    format_date,
    format_time,
    language_name,
    locale_selector,
    offered_language_names,
    request_lang,
)
from .languages import DEFAULT_LANG, LANGS
from .questionnaire import load_questionnaire
from .security import set_security_headers
from .storage.models import MAX_ID


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """The application factory."""
    app = Flask(
        __name__, instance_path=str(instance_dir()), template_folder=str(ROOT / "templates")
    )
    # Files the app creates (the SQLite database's -wal and -shm files, the secret key) are
    # readable by their owner only, and so is the instance folder, new or existing.
    os.umask(0o077)
    app.config.update(load_config(Path(app.instance_path), config))
    protect_files(Path(app.instance_path), app.config["DATABASE_URL"])
    logs.install(app)
    if app.config["PROXIES"]:  # behind N reverse proxies: trust their X-Forwarded-* headers
        n = app.config["PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)  # type: ignore[method-assign]
    check_config(app.config, app.debug)
    # A broken questionnaire stops start-up here, with the YAML path in the message.
    app.extensions["questionnaire"] = load_questionnaire(app.config["QUESTIONS_FILE"])

    app.url_map.converters["id"] = RowIdConverter
    register_extensions(app)
    register_blueprints(app)
    register_errorhandlers(app)
    app.before_request(refuse_bad_host)
    app.after_request(set_security_headers)
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
    app.jinja_env.globals.update(
        language_names=LANGUAGE_NAMES, language_name=language_name, request_lang=request_lang,
        offered_language_names=offered_language_names,
        format_date=format_date, format_time=format_time,
    )
    app.jinja_env.filters["plaintext"] = plaintext.render
    from . import cli

    cli.register(app)
    return app


def sqlite_files(database_url: str) -> list[Path]:
    """The SQLite database file of a URL and its -wal and -shm files ([] for a server)."""
    prefix = "sqlite:///"
    if not database_url.startswith(prefix) or database_url == prefix + ":memory:":
        return []
    path = Path(database_url.removeprefix(prefix).partition("?")[0])
    return [path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")]


def protect_files(instance: Path, database_url: str) -> None:
    """The instance folder 0700; the SQLite files and the files in the instance folder (secret
    key, demo password) 0600. At every start-up, init-db's included.

    A folder or file of another owner is left as it is (chmod would fail): the app still runs.
    """
    instance.mkdir(mode=0o700, parents=True, exist_ok=True)
    files = {*sqlite_files(database_url), *(p for p in instance.iterdir() if p.is_file())}
    for path, mode in [(instance, 0o700), *((f, 0o600) for f in files)]:
        try:
            if path.exists() and path.stat().st_mode & 0o777 != mode:
                path.chmod(mode)
        except OSError:
            pass


class RowIdConverter(IntegerConverter):
    """`<id:name>` in a route: a row id, 1 to MAX_ID (anything else: 404, not a database error)."""

    def __init__(self, map: Any) -> None:
        super().__init__(map, min=1, max=MAX_ID)


def register_extensions(app: Flask) -> None:
    db.init_app(app)
    csrf.init_app(app)
    # The package's catalogs, then those a languages file names (screener/languages.py).
    translations = [Path(__file__).parent / "translations", *LANGS.translation_dirs]
    babel.init_app(
        app, locale_selector=locale_selector,
        default_translation_directories=";".join(str(d) for d in translations),
    )
    login_manager.init_app(app)
    limiter.init_app(app)
    from .dashboard.auth import SessionInterface

    app.session_interface = SessionInterface()
    assets.init_app(app)


def register_blueprints(app: Flask) -> None:
    from .api import bp as fhir_bp
    from .dashboard.views import bp as dashboard_bp
    from .embed import bp as embed_bp
    from .health import bp as health_bp
    from .look import bp as look_bp
    from .wizard.views import bp as wizard_bp

    app.register_blueprint(health_bp)
    app.register_blueprint(embed_bp)
    app.register_blueprint(look_bp)
    app.register_blueprint(dashboard_bp, url_prefix="/dashboard")
    app.register_blueprint(fhir_bp, url_prefix="/fhir")
    app.register_blueprint(wizard_bp, url_prefix="/c", name="client")
    app.register_blueprint(wizard_bp, url_prefix="/embed", name="embed")
    # Client forms carry CSRF tokens bound to the draft (wizard/drafts.py), not to a cookie.
    for endpoint, view in app.view_functions.items():
        if endpoint.startswith(("client.", "embed.")):
            csrf.exempt(view)


def bad_host_page() -> str:
    """The page for a bad Host header: plain, without links, styles or script; its message in
    every interface language (the request's own cannot be trusted to pick one)."""
    lines = []
    for lang in LANGS.languages:
        with force_locale(lang.locale):
            message = str(escape(
                _("This request named a host (its Host header) that this site does not answer to.")
            ))
        attr = "" if lang.code == DEFAULT_LANG else f' lang="{lang.code}"'
        lines.append(f"<p{attr}>{message}</p>")
    return (
        f'<!doctype html>\n<html lang="{DEFAULT_LANG}"><head><meta charset="utf-8">'
        "<title>Bad request</title></head>\n<body><h1>Bad request</h1>\n"
        + "\n".join(lines) + "</body></html>\n"
    )


def host_is_bad() -> bool:
    """Whether the request's Host header is malformed, or not in TRUSTED_HOSTS."""
    raw = request.environ.get("HTTP_HOST")
    try:
        host = request.host  # SecurityError for a host outside TRUSTED_HOSTS
    except SecurityError:
        return True
    return raw is not None and not host  # Werkzeug reads malformed hosts as ""


def refuse_bad_host() -> None:
    """A malformed or untrusted Host header: 400, before anything else runs."""
    if host_is_bad():
        raise BadRequest("bad host")


def register_errorhandlers(app: Flask) -> None:
    def render_error(error: HTTPException) -> Response | tuple[str, int]:
        if host_is_bad():
            # No URL can be built for such a host: a plain page without links, styles or script.
            return Response(bad_host_page(), status=400, mimetype="text/html")
        if request.path == "/fhir" or request.path.startswith("/fhir/"):
            from .api import error_response

            return error_response(error)  # an OperationOutcome, also for unknown paths
        g.setdefault("embedded", (request.blueprint or "") == "embed")
        code = error.code or 500
        return render_template("errors/error.html", error=error, code=code), code

    # Unhandled exceptions reach this too, as InternalServerError (outside testing).
    app.register_error_handler(HTTPException, render_error)
