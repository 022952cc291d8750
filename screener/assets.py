"""Light pages: compressed responses, and static files with fingerprinted URLs cached for a year.

Stylesheets and scripts are served minified (rcssmin, rjsmin: comments and spaces out), from the
readable files in the static folder; the URL's hash is the readable file's.

`url_for('static', filename=...)` adds the hash of the file's bytes, so a changed file gets a
new URL and an unchanged one is never fetched twice. Only a request carrying the current hash
is marked immutable; any other (an old page asking for an old version) must revalidate.
"""

from __future__ import annotations

import hashlib
import os
from functools import lru_cache
from typing import Any

from flask import Flask, Response, current_app, request
from flask_compress import Compress
from rcssmin import cssmin
from rjsmin import jsmin
from werkzeug.security import safe_join

YEAR = 365 * 24 * 3600
HASH_CHARS = 12

compress = Compress()
# Brotli where the browser offers it (HTTPS), else gzip.
COMPRESS_DEFAULTS: dict[str, Any] = {"COMPRESS_ALGORITHM": ["br", "gzip"], "COMPRESS_BR_LEVEL": 5}


MINIFIERS = {".css": cssmin, ".js": jsmin}


@lru_cache(maxsize=32)
def minified(suffix: str, body: bytes) -> bytes:
    """A stylesheet's or script's text without its comments and spaces."""
    return str(MINIFIERS[suffix](body.decode())).encode()


@lru_cache(maxsize=64)
def _file_hash(path: str, mtime_ns: int, size: int) -> str:
    # mtime and size are part of the cache key so an edited file (debug server) gets a new hash.
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()[:HASH_CHARS]


def static_version(filename: str) -> str | None:
    """The content hash of a file in the static folder, or None when there is no such file."""
    folder = current_app.static_folder
    path = safe_join(folder, filename) if folder else None
    if path is None:
        return None
    try:
        st = os.stat(path)
    except OSError:
        return None
    return _file_hash(path, st.st_mtime_ns, st.st_size)


def _add_version(endpoint: str, values: dict[str, Any]) -> None:
    if endpoint == "static" and "filename" in values and "v" not in values:
        version = static_version(str(values["filename"]))
        if version:
            values["v"] = version


def _buffer_file(response: Response) -> Response:
    """Any file response (static files, embed.js): read the (small) file into memory and close
    it now. Flask-Compress's streaming path never closes the file it streams from, and an
    in-memory body is gzipped too."""
    if response.direct_passthrough:
        response.direct_passthrough = False
        source = response.response
        try:
            body = b"".join(response.iter_encoded())
        finally:
            close = getattr(source, "close", None)
            if close is not None:
                close()
        response.set_data(body)
    return response


def _static_response(response: Response) -> Response:
    if request.endpoint != "static":
        return response
    filename = (request.view_args or {}).get("filename")
    suffix = os.path.splitext(str(filename))[1]
    if response.status_code == 200 and suffix in MINIFIERS and not response.direct_passthrough:
        response.set_data(minified(suffix, response.get_data()))
    wanted = request.args.get("v")
    current = static_version(str(filename)) if filename and wanted else None
    if response.status_code in (200, 304) and current and wanted == current:
        response.cache_control.no_cache = None
        response.cache_control.public = True
        response.cache_control.max_age = YEAR
        response.cache_control.immutable = True
    return response


def init_app(app: Flask) -> None:
    """Compress responses; fingerprint static URLs and cache fingerprinted files for a year."""
    for key, value in COMPRESS_DEFAULTS.items():
        app.config.setdefault(key, value)
    # Compression only rewrites the body and adds Content-Encoding and Vary: the security
    # headers and Cache-Control set by other after_request hooks are kept as they are.
    compress.init_app(app)
    app.url_defaults(_add_version)
    app.after_request(_static_response)
    app.after_request(_buffer_file)  # runs first (hooks run last-registered first)
