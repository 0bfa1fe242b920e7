"""Response headers: security for every response, CORS for what other sites load, caching tied to the index."""

from __future__ import annotations

import hashlib

from flask import current_app, request

# No inline script or style anywhere: untrusted text that slipped through escaping still could not run.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'self'"
)
# Searches for sensitive subjects stay private: other sites learn only that a visitor came from here.
REFERRER_POLICY = "strict-origin-when-cross-origin"
# What a partner's script may read besides the body: enough to revalidate and to notice a reindex.
EXPOSED_HEADERS = "ETag, X-Index-Version"


def security_headers(response):
    """Add the headers every response gets, and the page policy to HTML responses."""
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    if response.mimetype == "text/html":
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.headers.setdefault("Referrer-Policy", REFERRER_POLICY)
    return response


def allowed_origins(setting) -> list[str]:
    """Return the origins CORS_ORIGINS allows: "*", a comma-separated string, or a list."""
    items = setting.split(",") if isinstance(setting, str) else list(setting or [])
    return [origin.strip().rstrip("/") for origin in items if origin.strip()]


def cross_origin(response):
    """Let other sites' pages read this response as CORS_ORIGINS allows; never with credentials."""
    allowed = allowed_origins(current_app.config["CORS_ORIGINS"])
    if "*" in allowed:
        response.headers["Access-Control-Allow-Origin"] = "*"
    else:
        # The answer depends on the Origin, so caches must keep one copy per origin, allowed or not.
        response.vary.add("Origin")
        origin = request.headers.get("Origin")
        if origin and origin in allowed:
            response.headers["Access-Control-Allow-Origin"] = origin
    response.headers["Access-Control-Expose-Headers"] = EXPOSED_HEADERS
    return response


def etag(version: str) -> str:
    """Return the ETag of this request's response: the index version and the exact query string."""
    return hashlib.sha1(f"{version}?{request.query_string.decode('latin-1')}".encode()).hexdigest()[:20]


def not_modified(version: str):
    """Return a 304 when the client holds the response for this index version already, else None."""
    if request.if_none_match and request.if_none_match.contains(etag(version)):
        return cacheable(current_app.response_class(status=304), version)
    return None


def cacheable(response, version: str):
    """Mark a response cacheable until the next reindex: ETag tied to the index version."""
    response.set_etag(etag(version))
    response.headers["Cache-Control"] = f"public, max-age={current_app.config['CACHE_SECONDS']}"
    response.headers["X-Index-Version"] = version
    return response


def init_app(app) -> None:
    """Register the headers with the app."""
    app.after_request(security_headers)
