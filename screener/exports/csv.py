"""The submission list as CSV: one row per submission, one column per question id.

Streamed: rows are read from the database in chunks and written out as they come, so memory
stays flat however many submissions there are. UTF-8 with a byte order mark, so that Excel reads
Chinese text correctly; cells that a spreadsheet would run as a formula are neutralised.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from ..questionnaire.model import Question, Questionnaire
from ..questionnaire.types import csv_cell

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
# A spreadsheet treats a cell starting with one of these as a formula (OWASP "CSV injection").
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
CHUNK_ROWS = 500


def neutralise(cell: str) -> str:
    """A cell a spreadsheet shows as text: a leading formula character gets a ' before it."""
    return "'" + cell if cell.startswith(FORMULA_START) else cell


def cell_text(value: Any) -> str:
    """A column of the submission itself as one CSV cell (times in UTC)."""
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat()
    return csv_cell(None, value)


def columns(qn: Questionnaire) -> list[str]:
    """The header: fixed columns, then every question id in questionnaire order."""
    return [*FIXED_COLUMNS, *qn.questions]


def row_cells(row: Any, questions: Sequence[Question]) -> list[str]:
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
    cells = [cell_text(v) for v in fixed] + [csv_cell(q, answers.get(q.id)) for q in questions]
    return [neutralise(c) for c in cells]


def stream_csv(qn: Questionnaire, rows: Iterable[Any]) -> Iterator[str]:
    """The CSV text in pieces of about CHUNK_ROWS rows, BOM and header first."""
    questions = list(qn.questions.values())
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([neutralise(c) for c in columns(qn)])
    yield BOM + buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    pending = 0
    for row in rows:
        writer.writerow(row_cells(row, questions))
        pending += 1
        if pending >= CHUNK_ROWS:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
            pending = 0
    if pending:
        yield buffer.getvalue()
