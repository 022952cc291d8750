"""Where clients stop: of the questionnaires a clinic's clients started in a period, how many
reached each step, how many were sent, and the median time from start to sent; for clinic
admins (views.dropoff).

Counted from the drafts alone, with no cookie and no tracking: a draft holds when it was
started (created_at), its language, whether it was started from an embedded page (embedded),
the furthest position it reached in the questionnaire's order (furthest_step, raised by the
step save, never lowered) and when it was sent (submitted_at). "Reached" a step means got at
least that far: steps are conditional, so a draft that reached a later step counts for every
earlier one, shown to it or not. Positions are read against the questionnaire as it is now.

What is counted, and what is not (the page says so):
- Questionnaires started from the clinic's page, standalone (/c/<slug>/) or embedded
  (/embed/<slug>/). Not those opened from an appointment's invitation: their drafts are
  deleted after the appointment's day, so no period of them could be counted whole, and a
  pre-session check asks only some of the steps.
- Drafts are deleted DRAFT_DAYS after they are started (unsent) or sent (screener/retention.py),
  and a sent one earlier when the clinic deletes its submission. So a period is complete only
  from the day DRAFT_DAYS - 1 days before today (clinic time): `complete_from`. An earlier period
  shows what is left, with a warning. Keeping the numbers longer would mean keeping a row per
  abandoned questionnaire past its expiry, which the retention promise rules out.
- Drafts started before these columns existed (NULL furthest_step) are left out, and counted
  apart so the page can say how many.

The counts are one GROUP BY over the period's drafts (an index range on (clinic_id,
created_at)); the median is taken in Python from the sent drafts' two times, in whole
microseconds, so that SQLite and PostgreSQL give the same result.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..storage.models import Draft
from .queries import midnight

MICROSECOND = dt.timedelta(microseconds=1)


@dataclass(frozen=True)
class Period:
    """Days in the clinic's time zone, both included."""

    first: dt.date
    last: dt.date
    zone: dt.tzinfo

    def bounds(self) -> tuple[dt.datetime, dt.datetime | None]:
        """From the first day's midnight (UTC) to the midnight after the last (None: no end)."""
        end = None if self.last >= dt.date.max else midnight(self.last + dt.timedelta(1), self.zone)
        return midnight(self.first, self.zone), end


def complete_from(today: dt.date, draft_days: int) -> dt.date:
    """The first day whose drafts are all still kept: a draft started on it expires, unsent,
    after the end of today."""
    return today - dt.timedelta(days=max(draft_days, 1) - 1)


@dataclass
class Part:
    """The numbers of some of the period's questionnaires (a language, a kind of page, all)."""

    positions: int  # the questionnaire's steps and the review page
    started: int = 0
    reached: list[int] = field(default_factory=list)  # by position: got at least that far
    sent: int = 0
    durations: list[int] = field(default_factory=list)  # start to sent, in microseconds

    def __post_init__(self) -> None:
        self.reached = [0] * self.positions

    @property
    def median(self) -> dt.timedelta | None:
        """The median time from start to sent (of two middle values, their mean, rounded down to
        the microsecond); None when none was sent."""
        if not self.durations:
            return None
        ordered = sorted(self.durations)
        middle = len(ordered) // 2
        if len(ordered) % 2:
            return ordered[middle] * MICROSECOND
        return (ordered[middle - 1] + ordered[middle]) // 2 * MICROSECOND


@dataclass
class Counts:
    """The period's drafts, grouped: counts by (lang, embedded, furthest position), and the
    sent ones' times."""

    groups: list[tuple[str, bool, int, int, int]]  # lang, embedded, furthest, started, sent
    times: list[tuple[str, bool, int]]  # lang, embedded, microseconds from start to sent
    not_recorded: int  # drafts started before furthest_step was kept

    def part(self, positions: int, lang: str | None = None,
             embedded: bool | None = None) -> Part:
        """The numbers of the drafts in this language and kind of page (None: any)."""
        out = Part(positions)

        def wanted(row_lang: str, row_embedded: bool) -> bool:
            return (lang is None or row_lang == lang) and (
                embedded is None or row_embedded == embedded
            )

        for row_lang, row_embedded, furthest, started, sent in self.groups:
            if not wanted(row_lang, row_embedded):
                continue
            out.started += started
            out.sent += sent
            for position in range(min(furthest, positions - 1) + 1):
                out.reached[position] += started
        out.durations = [t for row_lang, row_embedded, t in self.times
                         if wanted(row_lang, row_embedded)]
        return out


def count(session: Session, clinic_id: int, period: Period) -> Counts:
    """The clinic's questionnaires started from its page in the period (module docstring)."""
    start, end = period.bounds()
    where = [
        Draft.clinic_id == clinic_id,
        Draft.created_at >= start,
        # `+ 0`: not a lookup in the unique index of appointment_id, which SQLite would
        # otherwise prefer, reading every draft that has none, of any clinic and time.
        (Draft.appointment_id + 0).is_(None),
    ]
    if end is not None:
        where.append(Draft.created_at < end)
    groups: list[tuple[str, bool, int, int, int]] = []
    not_recorded = 0
    rows = session.execute(
        select(Draft.lang, Draft.embedded, Draft.furthest_step, func.count(),
               func.count(Draft.submitted_at))
        .where(*where)
        .group_by(Draft.lang, Draft.embedded, Draft.furthest_step)
    ).all()
    for lang, embedded, furthest, started, sent in rows:
        if furthest is None:
            not_recorded += int(started)
        else:
            groups.append((str(lang), bool(embedded), int(furthest), int(started), int(sent)))
    times: list[tuple[str, bool, int]] = []
    for lang, embedded, created_at, submitted_at in session.execute(
        select(Draft.lang, Draft.embedded, Draft.created_at, Draft.submitted_at)
        .where(*where, Draft.furthest_step.is_not(None), Draft.submitted_at.is_not(None))
    ):
        if submitted_at is not None:
            times.append((str(lang), bool(embedded), (submitted_at - created_at) // MICROSECOND))
    return Counts(groups, times, not_recorded)


def duration_text(value: dt.timedelta) -> str:
    """A time to finish in words, to the second: "45 s", "12 min 5 s", "2 h 3 min",
    "1 day 4 h" (in the interface language)."""
    seconds = int(value.total_seconds())
    if seconds < 60:
        return str(_("%(seconds)d s", seconds=seconds))
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return str(_("%(minutes)d min %(seconds)d s", minutes=minutes, seconds=seconds))
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return str(_("%(hours)d h %(minutes)d min", hours=hours, minutes=minutes))
    days, hours = divmod(hours, 24)
    return str(ngettext("%(num)d day %(hours)d h", "%(num)d days %(hours)d h", days, hours=hours))


def iso_duration(value: dt.timedelta) -> str:
    """The same time as an ISO 8601 duration (a <time> element's datetime): "PT12M5S"."""
    seconds = int(value.total_seconds())
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"P{days}DT{hours}H{minutes}M{seconds}S"
