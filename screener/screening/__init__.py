"""Screening: rules over answers -> flags, and the data of the client and practitioner summaries.

`rules`, `summary` and `submission` are pure Python (no Flask). `render` is the one module that
renders the summaries' templates with Flask; it is not imported here.
"""
from __future__ import annotations

from .rules import Flag, Timing, flags_from_json, screen
from .submission import submission_json
from .summary import (
    ClientSummary,
    PractitionerSummary,
    client_summary,
    outcome,
    practitioner_summary,
)

__all__ = [
    "ClientSummary",
    "Flag",
    "PractitionerSummary",
    "Timing",
    "client_summary",
    "flags_from_json",
    "outcome",
    "practitioner_summary",
    "screen",
    "submission_json",
]
