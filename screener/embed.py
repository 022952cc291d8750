"""Embedding the client wizard in a clinic's website.

The host page loads `/embed.js`, which creates an iframe on `/embed/<slug>/?host=<its origin>`.
The wizard pages keep that `host` on every link, form and redirect, but only when it is one of
the clinic's allowed origins; then the page names it in `data-embed-host` and `frame.js` posts
its height (and, once, the completion) to exactly that origin. Nothing here uses a cookie.

`create_demo_host()` is a separate, tiny app: a stand-in for a clinic's website on another
origin, served by `scripts/serve`.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import quote

from flask import Blueprint, Flask, g, render_template, request, send_from_directory
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from markupsafe import escape

from .assets import static_version
from .config import ROOT
from .security import normalise_origin

bp = Blueprint("embedding", __name__)

STATIC = Path(__file__).parent / "static"
# /embed.js has a fixed address (clinics paste it once), so it cannot be fingerprinted like
# /static files: a short lifetime, then a cheap revalidation (ETag), spreads a fix within minutes.
EMBED_JS_MAX_AGE = 300
DEFAULT_FRAME_HEIGHT = 900
DEMO_PRODUCT_URL = "http://127.0.0.1:5000"


class EmbeddableClinic(Protocol):
    """What a snippet needs of a clinic (a storage Clinic has it)."""

    @property
    def slug(self) -> str: ...

    @property
    def name(self) -> str: ...


@bp.get("/embed.js")
def embed_js() -> ResponseReturnValue:
    """The host-page script: creates the iframe, resizes it, re-dispatches completion."""
    # Public, cached for EMBED_JS_MAX_AGE, 304s on the file's content hash (the same on every
    # server of an installation); assets.py buffers the file.
    response = send_from_directory(
        STATIC, "embed.js", max_age=EMBED_JS_MAX_AGE, etag=static_version("embed.js") or True
    )
    # A classic <script src> needs no CORS; this only lets pages with COEP load it too.
    response.headers["Cross-Origin-Resource-Policy"] = "cross-origin"
    return response


@bp.before_app_request
def _embed_host() -> None:
    """On embed pages, accept `?host=` only when it is one of the clinic's allowed origins."""
    if request.blueprint != "embed" or g.get("clinic") is None:
        return
    host = normalise_origin(request.args.get("host"))
    if host is None or host not in g.frame_ancestors:  # the clinic's, normalised (wizard views)
        return
    g.embed_host = host
    # Set only on the redirect that follows the submitting POST (wizard/views.py: submit);
    # frame.js announces the completion, then removes the mark so a reload stays silent.
    g.embed_completed = request.endpoint == "embed.summary" and request.args.get("done") == "1"


@bp.app_url_defaults
def _keep_host(endpoint: str, values: dict[str, Any]) -> None:
    host = g.get("embed_host")
    if host is not None and endpoint.startswith("embed."):
        values.setdefault("host", host)


def _base(base_url: str) -> str:
    return base_url if base_url.endswith("/") else base_url + "/"


def default_title(clinic: EmbeddableClinic) -> str:
    """The iframe's accessible name, in the language of the current request."""
    return str(gettext("Consultation questionnaire: %(clinic)s", clinic=clinic.name))


def embed_snippets(
    clinic: EmbeddableClinic, base_url: str, *, title: str | None = None
) -> dict[str, str]:
    """The HTML a clinic pastes into its site: {"script": ..., "iframe": ...}.

    `base_url` is where the product is served (e.g. "https://screener.example/"). "script" is
    the recommended one-line snippet (resizes itself, tells the page when the client is done);
    "iframe" works on pages without JavaScript. Both are plain text, to be shown escaped.
    """
    base = _base(base_url)
    label = escape(title if title is not None else default_title(clinic))
    slug = quote(clinic.slug, safe="")
    script = (
        f'<div data-screener-clinic="{escape(clinic.slug)}" data-title="{label}">'
        f'<a href="{escape(base)}c/{slug}/">{label}</a></div>'
        f'<script src="{escape(base)}embed.js" async></script>'
    )
    iframe = (
        f'<iframe src="{escape(base)}embed/{slug}/" title="{label}" width="100%"'
        f' height="{DEFAULT_FRAME_HEIGHT}" style="border:0"></iframe>'
    )
    return {"script": script, "iframe": iframe}


# The demo host: a clinic's website on another origin --------------------------------------


class _DemoClinic:
    slug = "demo"
    name = "Demo Facial Acupuncture Clinic"


def create_demo_host(product_url: str | None = None) -> Flask:
    """A stand-in clinic website embedding the demo clinic's form (run by scripts/serve)."""
    product = product_url or os.environ.get("SCREENER_DEMO_PRODUCT_URL") or DEMO_PRODUCT_URL
    app = Flask(__name__, template_folder=str(ROOT / "templates"), static_folder=None)
    clinic = _DemoClinic()
    # This page plays the clinic's own site, which is not translated by the product.
    title = f"Consultation questionnaire: {clinic.name}"
    # The page runs the very snippets it shows: embed_snippets() escapes every value in them.
    context = {
        "snippets": embed_snippets(clinic, product, title=title),
        "base": _base(product),
    }

    @app.get("/")
    def demo_page() -> ResponseReturnValue:
        return render_template("embed/demo_host.html", plain=False, **context)

    @app.get("/plain")
    def demo_plain() -> ResponseReturnValue:
        return render_template("embed/demo_host.html", plain=True, **context)

    return app
