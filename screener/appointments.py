"""Clients, appointments and invitation links: the rules, without Flask or a request.

- An appointment's date and time are typed in the clinic's time zone: a time the clocks skip
  (a daylight-saving change) is refused, a time they pass twice is the first of the two.
- The invitation link works until the end of the appointment's day in the clinic's zone.
- The link's token is an HMAC of a random seed with the app's secret key: the database keeps
  the seed and the token's SHA-256 hash (the draft's token hash, wizard/drafts.py), never the
  token, so a copy of the database opens no questionnaire, and the dashboard can still show
  the link again. A new secret key ends every invitation link.
- Clients are the same person only when a practitioner says so: `matches` suggests records with
  the same email or phone, or a similar name.
"""
from __future__ import annotations

import base64
import datetime as dt
import difflib
import hashlib
import hmac
import re
import secrets
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import email_validator
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from .storage.models import Appointment, Client

SEED_BYTES = 24
TOKEN_DIGEST_BYTES = 24  # 192 bits: a 32-character token, like a draft's

# What a client's details may be (the questionnaire's own rules for its email and tel fields).
NAME_MAX, EMAIL_MAX, PHONE_MAX = 200, 254, 40
PHONE_RE = re.compile(r"^\+?[0-9 ().\-]{3,40}$")

# Statuses of an appointment's questionnaire, in the order a client moves through them.
INVITED, STARTED, SENT, REVIEWED = "invited", "started", "sent", "reviewed"
STATUSES = (INVITED, STARTED, SENT, REVIEWED)


# Invitation tokens ------------------------------------------------------------------------------


def new_seed() -> str:
    return secrets.token_hex(SEED_BYTES)


def token_for(secret: str | bytes, seed: str) -> str:
    """The invitation token of a seed: 32 URL-safe characters."""
    key = secret.encode() if isinstance(secret, str) else secret
    digest = hmac.new(key, f"invitation:{seed}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:TOKEN_DIGEST_BYTES]).decode()


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# Times -------------------------------------------------------------------------------------------


# How far ahead an appointment may be booked.
MAX_AHEAD = dt.timedelta(days=5 * 366)


class TimeProblem(ValueError):
    """An appointment time that cannot be used; `kind` is "past", "skipped" or "far"."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


def local_moment(day: dt.date, time: dt.time, zone: dt.tzinfo, now: dt.datetime) -> dt.datetime:
    """The UTC moment of a date and time on the clinic's clocks.

    Raises TimeProblem("skipped") for a time the clocks jump over, TimeProblem("past") for a
    moment before `now`, TimeProblem("far") for one more than MAX_AHEAD after it. Of a time
    the clocks show twice, the first.
    """
    if day < now.date() - dt.timedelta(days=2):
        raise TimeProblem("past")
    if day > now.date() + MAX_AHEAD:
        raise TimeProblem("far")
    local = dt.datetime.combine(day, time.replace(tzinfo=None, fold=0), tzinfo=zone)
    moment = local.astimezone(dt.UTC)
    if moment.astimezone(zone).replace(tzinfo=None) != local.replace(tzinfo=None):
        raise TimeProblem("skipped")
    if moment < now:
        raise TimeProblem("past")
    return moment


def link_expiry(starts_at: dt.datetime, zone: dt.tzinfo) -> dt.datetime:
    """When an invitation link stops working: the end of the appointment's day, clinic time."""
    day = starts_at.astimezone(zone).date() + dt.timedelta(days=1)
    return dt.datetime.combine(day, dt.time(), tzinfo=zone).astimezone(dt.UTC)


def local_day(moment: dt.datetime, zone: dt.tzinfo) -> dt.date:
    return moment.astimezone(zone).date()


def parse_appointment(text: str) -> tuple[dt.date, dt.time]:
    """"YYYY-MM-DD HH:MM" (the command line's form); ValueError otherwise."""
    try:
        parsed = dt.datetime.strptime(text.strip(), "%Y-%m-%d %H:%M")
    except ValueError as exc:
        raise ValueError("give the appointment as YYYY-MM-DD HH:MM") from exc
    return parsed.date(), parsed.time()


# Clients' details and the search for the same person ---------------------------------------


def clean_text(value: Any, limit: int) -> str:
    """Typed text without control characters or surrounding spaces, cut to `limit`."""
    text = "".join(c for c in str(value or "") if unicodedata.category(c) != "Cc" or c == " ")
    return text.strip()[:limit]


def email_key(email: str | None) -> str | None:
    return email.strip().lower() or None if email else None


def phone_key(phone: str | None) -> str | None:
    digits = re.sub(r"\D", "", phone or "")
    return digits or None


def name_key(name: str) -> str:
    """A name compared without case, punctuation or extra spaces ("Alice  CHAN" = "alice chan")."""
    folded = unicodedata.normalize("NFKC", name).casefold()
    return " ".join(re.sub(r"[^\w\s]", " ", folded).split())


def valid_email(email: str) -> bool:
    """An address the questionnaire's email question accepts (WTForms' Email validator)."""
    if len(email) > EMAIL_MAX:
        return False
    try:
        email_validator.validate_email(email, check_deliverability=False)
    except email_validator.EmailNotValidError:
        return False
    return True


def valid_phone(phone: str) -> bool:
    return PHONE_RE.match(phone) is not None


def set_details(client: Client, name: str, email: str | None, phone: str | None) -> None:
    client.full_name = name
    client.email = email or None
    client.phone = phone or None
    client.name_key = name_key(name)
    client.email_key = email_key(email)
    client.phone_key = phone_key(phone)


@dataclass(frozen=True)
class Match:
    """A client who may be the same person, and why."""

    client: Client
    reasons: tuple[str, ...]  # "email", "phone", "name"


SIMILAR_NAME = 0.8  # difflib ratio of two names' keys (word order aside)
MAX_MATCHES = 10


def similar_names(a: str, b: str) -> bool:
    """Two name keys that may be one person: equal, the same words in another order, or close
    (a typo, a missing letter)."""
    if not a or not b:
        return False
    if a == b or sorted(a.split()) == sorted(b.split()):
        return True
    return difflib.SequenceMatcher(None, a, b).ratio() >= SIMILAR_NAME


def matches(
    session: Session, clinic_id: int, name: str, email: str | None, phone: str | None,
    exclude: Iterable[int] = (),
) -> list[Match]:
    """The clinic's clients with the same email or phone, or a similar name; best first."""
    key, mail, tel = name_key(name), email_key(email), phone_key(phone)
    terms: list[Any] = []
    if mail:
        terms.append(Client.email_key == mail)
    if tel:
        terms.append(Client.phone_key == tel)
    words = [w for w in key.split() if len(w) >= 2] or ([key] if key else [])
    for word in words[:5]:
        escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        terms.append(Client.name_key.like(f"%{escaped}%", escape="\\"))
    if not terms:
        return []
    skip = set(exclude)
    found: list[Match] = []
    for client in session.scalars(
        select(Client).where(Client.clinic_id == clinic_id, or_(*terms))
        .order_by(Client.id.desc()).limit(200)
    ):
        if client.id in skip:
            continue
        reasons = tuple(
            reason for reason, hit in (
                ("email", mail is not None and client.email_key == mail),
                ("phone", tel is not None and client.phone_key == tel),
                ("name", similar_names(key, client.name_key)),
            ) if hit
        )
        if reasons:
            found.append(Match(client, reasons))
    found.sort(key=lambda m: (-len(m.reasons), "name" in m.reasons and len(m.reasons) == 1))
    return found[:MAX_MATCHES]


# Status ------------------------------------------------------------------------------------------


def status(draft_exists: bool, submitted: bool, reviewed: bool) -> str:
    if reviewed:
        return REVIEWED
    if submitted:
        return SENT
    return STARTED if draft_exists else INVITED


def clinic_appointment(session: Session, clinic_id: int, appointment_id: int) -> Appointment | None:
    return session.scalars(
        select(Appointment).where(
            Appointment.id == appointment_id, Appointment.clinic_id == clinic_id
        )
    ).first()


def clinic_client(session: Session, clinic_id: int, client_id: int) -> Client | None:
    return session.scalars(
        select(Client).where(Client.id == client_id, Client.clinic_id == clinic_id)
    ).first()


def appointment_by_token(session: Session, clinic_id: int, token: str) -> Appointment | None:
    """The clinic's appointment whose invitation token this is (expired ones too)."""
    wanted = token_hash(token)
    row = session.scalars(
        select(Appointment).where(
            Appointment.clinic_id == clinic_id, Appointment.token_hash == wanted
        )
    ).first()
    if row is None or not hmac.compare_digest(row.token_hash, wanted):
        return None
    return row
