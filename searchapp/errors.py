"""Every error of the app, in one place: the JSON envelope under /api/, a page in the site's layout elsewhere."""

from __future__ import annotations

from urllib.parse import urlencode

from flask import jsonify, render_template, request
from werkzeug.exceptions import HTTPException

from indexer.engine.backends import unavailable_errors
from indexer.engine.storage import IndexMissingError
from searchapp.results import error_dict
from searchapp.search import BadParameter

API_PREFIX = "/api/"
TITLES = {
    400: "That search cannot be run",
    404: "Page not found",
    405: "Method not allowed",
    500: "Something went wrong",
    503: "The search is not ready yet",
}


def respond(status: int, message: str, parameter: str | None = None, headers: dict | None = None):
    """Return an error as JSON for API paths and as an HTML page otherwise."""
    headers = headers or {}
    if request.path.startswith(API_PREFIX):
        return jsonify(error_dict(status, message, parameter)), status, headers
    without = None
    if parameter:
        # The way out of a bad parameter: the same search without it.
        dropped = {parameter, "page"} | ({"month"} if parameter == "year" else set())
        kept = [(k, v) for k, v in request.args.items(multi=True) if k not in dropped]
        without = request.path + ("?" + urlencode(kept) if kept else "")
    return (
        render_template(
            "error.html",
            status=status,
            title=TITLES.get(status, "Error"),
            message=message,
            parameter=parameter,
            without=without,
        ),
        status,
        headers,
    )


def bad_parameter(error: BadParameter):
    """A parameter that cannot be used: 400, naming it."""
    return respond(400, str(error), error.name)


def no_index(error: IndexMissingError):
    """No index yet: 503 with the command that builds one."""
    return respond(503, str(error))


def http_error(error: HTTPException):
    """404, 405 and other HTTP errors, and unhandled exceptions (500)."""
    if error.code == 500:
        message = "Internal error: the search failed; try again or report it"
    else:
        message = error.description
    # Werkzeug's own page is replaced, not its Allow header: a 405 names the methods that work (RFC 9110).
    allow = {"Allow": ", ".join(error.valid_methods)} if getattr(error, "valid_methods", None) else None
    return respond(error.code or 500, message, headers=allow)


def init_app(app) -> None:
    """Register the handlers with the app."""
    app.register_error_handler(BadParameter, bad_parameter)
    app.register_error_handler(IndexMissingError, no_index)
    # The database's servers do not answer: the same 503, with what the operator is to do.
    for unavailable in unavailable_errors():
        app.register_error_handler(unavailable, no_index)
    app.register_error_handler(HTTPException, http_error)
