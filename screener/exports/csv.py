"""The submission list as CSV: one row per submission, one column per question id.

Rows answered in different questionnaire versions share one header: the union of their
questions. First every question of the current questionnaire, in its order; then the questions
only older versions have, version by version in the order the versions were first used, each in
its version's order. Each answer is written as its own version's question stores it.

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

from sqlalchemy.orm import Session

from ..dashboard import queries
from ..dashboard.queries import Filters
from ..questionnaire.model import Questionnaire
from ..questionnaire.types import csv_cell
from ..storage import versions

BOM = "\ufeff"
FIXED_COLUMNS = (
    "submission_id",
    "submitted_at",
    "lang",
    "questionnaire_version",
    "max_severity",
    "flags",
    "reviewed_at",
    "client_id",
    "appointment_id",
    "consent_version",
    "consent_name",
    "consent_signed_at",
)
# A spreadsheet runs a cell starting with one of these as a formula (OWASP "CSV injection").
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
CHUNK_ROWS = 500

# Where a spreadsheet may start a new cell inside one of ours: after a separator that a reader
# might choose on import (comma, semicolon, tab, pipe), a line break or a quote, then any spaces.
# OWASP: "take care of the field separator and quotes, as attackers could use this to start a
# new cell and then have the dangerous character in the middle of the user input".
_INNER_FORMULA = re.compile(r"([,;\t|\r\n\"'][ \t]*)([=+\-@])")
_FORMULA_CHARS = frozenset("".join(FORMULA_START))  # a cell without any is left as it is


def neutralise(cell: str) -> str:
    """A cell every spreadsheet shows as text (OWASP's CSV-injection guidance).

    A formula character at the start (after any spaces) gets a ' before it; so does one that
    follows a separator, a line break or a quote inside the cell, where a spreadsheet reading the
    file with another separator, or ignoring quotes, would start a cell. The writer also quotes
    every cell and doubles quotes inside (csv.QUOTE_ALL).
    """
    if _FORMULA_CHARS.isdisjoint(cell):
        return cell
    text = _INNER_FORMULA.sub(r"\1'\2", cell)
    if text.lstrip(" ").startswith(FORMULA_START):
        text = "'" + text
    return text


def cell_text(value: Any) -> str:
    """A column of the submission itself as one CSV cell (times in UTC)."""
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat()
    return csv_cell(None, value)


def question_ids(qn: Questionnaire, older: Iterable[Questionnaire] = ()) -> list[str]:
    """The question columns: `qn`'s questions, then those only in `older` (in their order)."""
    ids = dict.fromkeys(qn.questions)
    for other in older:
        ids.update(dict.fromkeys(q for q in other.questions if q not in ids))
    return list(ids)


def columns(qn: Questionnaire, older: Iterable[Questionnaire] = ()) -> list[str]:
    """The header: fixed columns, then the question ids (question_ids)."""
    return [*FIXED_COLUMNS, *question_ids(qn, older)]


def row_cells(row: Any, ids: Sequence[str], qn: Questionnaire) -> list[str]:
    """One submission (id, submitted_at, lang, ...) as neutralised cells in header order; `qn`
    is the questionnaire the row was answered in."""
    answers = row.answers or {}
    fixed = [
        row.id,
        row.submitted_at,
        row.lang,
        row.questionnaire_version,
        row.max_severity,
        [f.get("rule", "") for f in row.flags or ()],
        row.reviewed_at,
        getattr(row, "client_id", None),
        getattr(row, "appointment_id", None),
        row.consent_version,
        row.consent_name,
        row.consent_signed_at,
    ]
    cells = [cell_text(v) for v in fixed] + [
        csv_cell(qn.questions.get(qid), answers.get(qid)) for qid in ids
    ]
    return [neutralise(c) for c in cells]


def stream_csv(
    qn: Questionnaire, rows: Iterable[Any], older: Sequence[Questionnaire] = ()
) -> Iterator[str]:
    """The CSV text in pieces of about CHUNK_ROWS rows, BOM and header first.

    `qn` is the current questionnaire, `older` the other versions the rows were answered in,
    in the order they were first used; a row of any other version is read with `qn`.
    """
    ids = question_ids(qn, older)
    by_version = {other.version: other for other in older}
    by_version[qn.version] = qn
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n", quoting=csv.QUOTE_ALL)
    writer.writerow([neutralise(c) for c in columns(qn, older)])
    yield BOM + buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    pending = 0
    for row in rows:
        writer.writerow(row_cells(row, ids, by_version.get(row.questionnaire_version, qn)))
        pending += 1
        if pending >= CHUNK_ROWS:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
            pending = 0
    if pending:
        yield buffer.getvalue()


class RowCount:
    """How many submissions a CSV has written so far."""

    rows = 0


def submissions_csv(
    session: Session,
    clinic_id: int,
    filters: Filters,
    yield_per: int = 200,
    count: RowCount | None = None,
) -> Iterator[str]:
    """The clinic's submissions matching the list filters as CSV text (stream_csv), read from
    the database in chunks of `yield_per` rows (a chunk of decoded answers is ~1.5 MB); each
    row written adds one to `count`. Nothing is read before the first piece is asked for (on
    PostgreSQL the rows come through a server-side cursor, which lives only as long as its
    transaction)."""
    qn = versions.current()
    used = versions.versions_by_first_use(
        session, queries.csv_versions(session, clinic_id, filters)
    )
    older = [versions.answered_in(v) for v in used]
    rows = session.execute(queries.csv_rows(session, clinic_id, filters, yield_per))
    try:
        yield from stream_csv(
            qn, _counted(rows, count), [o for o in older if o.version != qn.version]
        )
    finally:  # also when the download stops early: the server-side cursor is closed now
        rows.close()


def _counted(rows: Iterable[Any], count: RowCount | None) -> Iterator[Any]:
    for row in rows:
        if count is not None:
            count.rows += 1
        yield row
