"""The JSON API other sites embed: /api/search, /api/documents/<id>, /api/openapi.json."""

from __future__ import annotations

import hashlib

from flask import Blueprint, current_app, jsonify, request

from indexer.store import IndexMissingError
from searchapp.index_access import get_searcher, index_version
from searchapp.openapi import openapi_spec
from searchapp.results import error_dict, result_dict
from searchapp.search import BadParameter, SearchRequest, document, search

bp = Blueprint("api", __name__, url_prefix="/api")


@bp.get("/search")
def api_search():
    """Search; the parameters are the web page's."""
    searcher = get_searcher()
    version = index_version(searcher)
    cached = _not_modified(version)
    if cached:
        return cached
    result = search(searcher, SearchRequest.from_args(request.args), index_version=version)
    return _cacheable(jsonify(result_dict(result)), version)


@bp.get("/documents/<doc_id>")
def api_document(doc_id: str):
    """One document with its full text and similar documents."""
    searcher = get_searcher()
    version = index_version(searcher)
    cached = _not_modified(version)
    if cached:
        return cached
    found = document(searcher, doc_id)
    if found is None:
        return jsonify(error_dict(404, f"No document with id {doc_id!r}")), 404
    return _cacheable(jsonify({"ok": True, "status": 200, "document": found, "index_version": version}), version)


@bp.get("/openapi.json")
def api_openapi():
    """The OpenAPI description of this API."""
    return jsonify(openapi_spec())


def _etag(version: str) -> str:
    """Return the ETag of this request's response: the index version and the exact query string."""
    return hashlib.sha1(f"{version}?{request.query_string.decode('latin-1')}".encode()).hexdigest()[:20]


def _not_modified(version: str):
    """Return a 304 when the client holds the response for this index version already."""
    if request.if_none_match and request.if_none_match.contains(_etag(version)):
        response = current_app.response_class(status=304)
        return _cacheable(response, version)
    return None


def _cacheable(response, version: str):
    """Mark a response cacheable until the next reindex: ETag tied to the index version."""
    response.set_etag(_etag(version))
    response.headers["Cache-Control"] = f"public, max-age={current_app.config['CACHE_SECONDS']}"
    response.headers["X-Index-Version"] = version
    return response


@bp.after_request
def cors(response):
    """Let other sites' pages call the API from the browser; never with credentials."""
    allowed = current_app.config["CORS_ORIGINS"]
    origin = request.headers.get("Origin")
    if allowed == "*":
        response.headers["Access-Control-Allow-Origin"] = "*"
    elif origin and origin in [o.strip() for o in allowed.split(",")]:
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers.add("Vary", "Origin")
    response.headers["Access-Control-Expose-Headers"] = "ETag, X-Index-Version"
    return response


@bp.errorhandler(BadParameter)
def bad_parameter(error: BadParameter):
    """A parameter that cannot be used: 400, naming it."""
    return jsonify(error_dict(400, str(error), error.name)), 400


@bp.errorhandler(IndexMissingError)
def no_index(error: IndexMissingError):
    """No index yet: 503 with the command that builds one."""
    return jsonify(error_dict(503, str(error))), 503


@bp.errorhandler(404)
@bp.errorhandler(405)
def not_found(error):
    """Unknown API paths and methods get the JSON envelope too."""
    return jsonify(error_dict(error.code, error.description)), error.code


@bp.errorhandler(Exception)
def unexpected(error):
    """Anything else: a 500 in the same envelope, logged."""
    current_app.logger.exception("API error")
    return jsonify(error_dict(500, "Internal error: the search failed; try again or report it")), 500
