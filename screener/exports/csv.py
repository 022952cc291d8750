"""The submission list as CSV: one row per submission, one column per question id.

Streamed: rows are read from the database in chunks and written out as they come, so memory
stays flat however many submissions there are. UTF-8 with a byte order mark, so that Excel reads
Chinese text correctly; cells that a spreadsheet would run as a formula are neutralised.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from ..questionnaire.model import Questionnaire

BOM = "\ufeff"
FIXED_COLUMNS = (
    "submission_id",
    "submitted_at",
    "lang",
    "questionnaire_version",
    "max_severity",
    "flags",
    "reviewed_at",
)
# A spreadsheet runs a cell starting with one of these as a formula (OWASP "CSV injection").
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
CHUNK_ROWS = 500

# Where a spreadsheet may start a new cell inside one of ours: after a separator that a reader
# might choose on import (comma, semicolon, tab, pipe), a line break or a quote, then any spaces.
# OWASP: "take care of the field separator and quotes, as attackers could use this to start a
# new cell and then have the dangerous character in the middle of the user input".
_INNER_FORMULA = re.compile(r"([,;\t|\r\n\"'][ \t]*)([=+\-@])")


def neutralise(cell: str) -> str:
    """A cell every spreadsheet shows as text (OWASP's CSV-injection guidance).

    A formula character at the start (after any spaces) gets a ' before it; so does one that
    follows a separator, a line break or a quote inside the cell, where a spreadsheet reading the
    file with another separator, or ignoring quotes, would start a cell. The writer also quotes
    every cell and doubles quotes inside (csv.QUOTE_ALL).
    """
    text = _INNER_FORMULA.sub(r"\1'\2", cell)
    if text.lstrip(" ").startswith(FORMULA_START):
        text = "'" + text
    return text


def cell_text(value: Any) -> str:
    """An answer as one CSV cell: lists joined by ';', booleans as true/false."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return ";".join(cell_text(v) for v in value)
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat()
    return str(value)


def columns(qn: Questionnaire) -> list[str]:
    """The header: fixed columns, then every question id in questionnaire order."""
    return [*FIXED_COLUMNS, *qn.questions]


def row_cells(row: Any, question_ids: Sequence[str]) -> list[str]:
    """One submission (id, submitted_at, lang, ...) as neutralised cells in header order."""
    answers = row.answers or {}
    fixed = [
        row.id,
        row.submitted_at,
        row.lang,
        row.questionnaire_version,
        row.max_severity,
        [f.get("rule", "") for f in row.flags or ()],
        row.reviewed_at,
    ]
    cells = [cell_text(v) for v in fixed] + [cell_text(answers.get(q)) for q in question_ids]
    return [neutralise(c) for c in cells]


def stream_csv(qn: Questionnaire, rows: Iterable[Any]) -> Iterator[str]:
    """The CSV text in pieces of about CHUNK_ROWS rows, BOM and header first."""
    question_ids = list(qn.questions)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n", quoting=csv.QUOTE_ALL)
    writer.writerow([neutralise(c) for c in columns(qn)])
    yield BOM + buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    pending = 0
    for row in rows:
        writer.writerow(row_cells(row, question_ids))
        pending += 1
        if pending >= CHUNK_ROWS:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
            pending = 0
    if pending:
        yield buffer.getvalue()
