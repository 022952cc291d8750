"""Security headers for every response, from one place."""
from __future__ import annotations

from flask import Response, g, request

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; "
    "object-src 'none'"
)


def set_security_headers(response: Response) -> Response:
    """CSP with frame-ancestors per page, no-store on health data, no referrer leaks."""
    origins: list[str] = g.get("frame_ancestors") or []
    ancestors = " ".join(origins) if origins else "'none'"
    response.headers["Content-Security-Policy"] = f"{CSP}; frame-ancestors {ancestors}"
    if not origins:
        response.headers["X-Frame-Options"] = "DENY"
    response.headers["X-Content-Type-Options"] = "nosniff"
    # Draft tokens live in URL paths: never send them to another site.
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=(), payment=()"
    response.headers["Cross-Origin-Opener-Policy"] = "same-origin"
    if g.get("private_page"):
        response.headers["Cache-Control"] = "no-store"
    if request.is_secure:
        response.headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
    return response
