"""No draft or invitation token in any log line: `/d/<token>/` is written `/d/…/`, and an
invitation link's `/i/<token>` `/i/…`.

A draft token is the only key to a client's answers (and, for SCREENER_DRAFT_DAYS after sending,
to the health summary), and it travels in URL paths: request lines, Referer headers, Flask's
"Exception on /c/demo/d/<token>/..." lines and gunicorn's "Error handling request ..." lines.
`install(app)` redacts the app's and Werkzeug's loggers; `GunicornLogger` (named by
gunicorn.conf.py at the repository root) redacts gunicorn's access and error logs.
"""
from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any

from flask import Flask
from gunicorn.glogging import Logger as _GunicornBaseLogger  # type: ignore[import-untyped]

REDACTED = "/d/…"
# A token after /d/ (a draft) or /i/ (an invitation) in a path, written plainly or
# percent-encoded (in a query string: ?next=...).
_TOKEN_RE = re.compile(r"/([di])/[^/?#\s\"'&;]+")
_ENCODED_RE = re.compile(r"%2F([di])%2F[^%/?#\s\"'&;]+", re.IGNORECASE)


def redact(text: str) -> str:
    """The text with every draft and invitation token in a URL replaced by `…`."""
    if "/d/" not in text and "/i/" not in text and "%2f" not in text.lower():
        return text
    return _ENCODED_RE.sub(r"%2F\1%2F…", _TOKEN_RE.sub(r"/\1/…", text))


class RedactTokens(logging.Filter):
    """A logging filter that redacts the message, its traceback and its stack of a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


FILTER = RedactTokens()


def _protect(logger: logging.Logger) -> None:
    """Filter what is logged on this logger and what its handlers write (also for records of
    child loggers, such as screener.notify, that reach them)."""
    if FILTER not in logger.filters:
        logger.addFilter(FILTER)
    for handler in logger.handlers:
        if FILTER not in handler.filters:
            handler.addFilter(FILTER)


def install(app: Flask) -> None:
    """Redact the app's logger (Flask's exception log) and Werkzeug's request log."""
    _protect(app.logger)  # creates Flask's default handler when logging is not configured
    _protect(logging.getLogger("werkzeug"))


class GunicornLogger(_GunicornBaseLogger):  # type: ignore[misc]
    """gunicorn's logger with draft tokens redacted from every access-log atom (request line,
    path, query, Referer and any other header or environ value) and from its error log."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        _protect(self.error_log)
        _protect(self.access_log)

    def atoms(
        self, resp: Any, req: Any, environ: Mapping[str, Any], request_time: Any
    ) -> dict[str, Any]:
        atoms: dict[str, Any] = super().atoms(resp, req, environ, request_time)
        return {k: redact(v) if isinstance(v, str) else v for k, v in atoms.items()}
