"""Security headers: HTML pages run only our own scripts and styles, and no response is sniffed."""

from __future__ import annotations

# No inline script or style anywhere: untrusted text that slipped through escaping still could not run.
CONTENT_SECURITY_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                           "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'self'")
# Searches for sensitive subjects stay private: other sites learn only that a visitor came from here.
REFERRER_POLICY = "strict-origin-when-cross-origin"


def security_headers(response):
    """Add the headers every response gets, and the page policy to HTML responses."""
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    if response.mimetype == "text/html":
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.headers.setdefault("Referrer-Policy", REFERRER_POLICY)
    return response


def init_app(app) -> None:
    """Register the headers with the app."""
    app.after_request(security_headers)
