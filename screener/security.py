"""Security headers for every response, from one place."""
from __future__ import annotations

import re
from collections.abc import Iterable

from flask import Response, g, request

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; "
    "object-src 'none'"
)


# One DNS label (IDNs arrive as punycode); IPv4 addresses fit too. CSP host-sources take no
# IPv6 literals, so neither do we.
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_ORIGIN_RE = re.compile(rf"(https?)://((?:{_LABEL}\.)*{_LABEL})(?::(\d{{1,5}}))?/?")
_DEFAULT_PORTS = {"http": 80, "https": 443}


def normalise_origin(value: object) -> str | None:
    """'HTTPS://Clinic.Example:443/' -> 'https://clinic.example'; None unless an http(s) origin.

    Whatever this returns can go into a CSP header as it is: no spaces, semicolons, commas,
    paths, wildcards or quotes.
    """
    if not isinstance(value, str) or len(value) > 300:
        return None
    text = value.strip()
    scheme, sep, rest = text.partition("://")
    if not sep:
        return None
    host, slash, tail = rest.partition("/")
    if tail:
        return None
    name, colon, port = host.partition(":")
    try:
        # Browsers report an international domain name in its ASCII (punycode) form.
        name = name.encode("idna").decode("ascii") if not name.isascii() else name
    except UnicodeError:
        return None
    m = _ORIGIN_RE.fullmatch(f"{scheme}://{name}{colon}{port}{slash}".lower())
    if m is None or len(m.group(2)) > 253:
        return None
    scheme, name, port = m.group(1), m.group(2), m.group(3)
    if port is not None:
        number = int(port)
        if not 0 < number < 65536:
            return None
        if number != _DEFAULT_PORTS[scheme]:
            return f"{scheme}://{name}:{number}"
    return f"{scheme}://{name}"


def frame_origins(values: Iterable[object] | None) -> list[str]:
    """The valid origins of a clinic's allowed_origins, normalised, in order, without repeats."""
    seen: dict[str, None] = {}
    for value in values or ():
        origin = normalise_origin(value)
        if origin is not None:
            seen.setdefault(origin, None)
    return list(seen)


def set_security_headers(response: Response) -> Response:
    """CSP with frame-ancestors per page, no-store on health data, no referrer leaks."""
    # g.frame_ancestors holds frame_origins() of the clinic's list (wizard/views.py): only
    # normalised origins reach the header, so a stored "https://a.example; script-src *" adds
    # no directive, and a clinic whose origins are all invalid is not embeddable.
    ctx = g._get_current_object()
    origins: list[str] = ctx.get("frame_ancestors") or []
    ancestors = " ".join(origins) if origins else "'none'"
    headers = response.headers
    headers["Content-Security-Policy"] = f"{CSP}; frame-ancestors {ancestors}"
    if not origins:
        headers["X-Frame-Options"] = "DENY"
    headers["X-Content-Type-Options"] = "nosniff"
    # Draft tokens live in URL paths: never send them to another site (a page may relax this
    # for its own site, as the dashboard does, through g.referrer_policy).
    headers["Referrer-Policy"] = ctx.get("referrer_policy", "no-referrer")
    headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=(), payment=()"
    headers["Cross-Origin-Opener-Policy"] = "same-origin"
    if ctx.get("private_page"):
        headers["Cache-Control"] = "no-store"
    if request.is_secure:
        headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
    return response
