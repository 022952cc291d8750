"""Screener: a consultation questionnaire for facial acupuncture clinics."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask, g, render_template, request
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter

from . import assets
from .config import ROOT, check_config, instance_dir, load_config
from .extensions import babel, csrf, db, limiter, login_manager
from .i18n import (
    LANGUAGE_NAMES,
    format_date,
    locale_selector,
    request_lang,
)
from .questionnaire import load_questionnaire
from .security import set_security_headers
from .storage.models import MAX_ID


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """The application factory."""
    app = Flask(__name__, instance_path=str(instance_dir()), template_folder=str(ROOT / "templates"))
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    app.config.update(load_config(Path(app.instance_path), config))
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
    app.after_request(set_security_headers)
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
    app.jinja_env.globals.update(
        language_names=LANGUAGE_NAMES, request_lang=request_lang, format_date=format_date
    )
    from . import cli

    cli.register(app)
    return app


class RowIdConverter(IntegerConverter):
    """`<id:name>` in a route: a row id, 1 to MAX_ID (anything else: 404, not a database error)."""

    def __init__(self, map: Any) -> None:  # noqa: A002  (Werkzeug's parameter name)
        super().__init__(map, min=1, max=MAX_ID)


def register_extensions(app: Flask) -> None:
    db.init_app(app)
    csrf.init_app(app)
    translations = Path(__file__).parent / "translations"
    babel.init_app(
        app, locale_selector=locale_selector, default_translation_directories=str(translations)
    )
    login_manager.init_app(app)
    limiter.init_app(app)
    from .dashboard.auth import SessionInterface

    app.session_interface = SessionInterface()
    assets.init_app(app)


def register_blueprints(app: Flask) -> None:
    from .dashboard.views import bp as dashboard_bp
    from .embed import bp as embed_bp
    from .health import bp as health_bp
    from .wizard.views import bp as wizard_bp

    app.register_blueprint(health_bp)
    app.register_blueprint(embed_bp)
    app.register_blueprint(dashboard_bp, url_prefix="/dashboard")
    app.register_blueprint(wizard_bp, url_prefix="/c", name="client")
    app.register_blueprint(wizard_bp, url_prefix="/embed", name="embed")
    # Client forms carry CSRF tokens bound to the draft (wizard/drafts.py), not to a cookie.
    for endpoint, view in app.view_functions.items():
        if endpoint.startswith(("client.", "embed.")):
            csrf.exempt(view)


def register_errorhandlers(app: Flask) -> None:
    def render_error(error: HTTPException) -> tuple[str, int]:
        g.setdefault("embedded", (request.blueprint or "") == "embed")
        code = error.code or 500
        return render_template("errors/error.html", error=error, code=code), code

    # Unhandled exceptions reach this too, as InternalServerError (outside testing).
    app.register_error_handler(HTTPException, render_error)
