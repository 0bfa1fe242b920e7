"""The JSON API other sites embed: /api/search, /api/documents/<id>, /api/openapi.json."""

from __future__ import annotations

from flask import Blueprint, abort, jsonify, request

from searchapp.headers import cacheable, cross_origin, not_modified
from searchapp.index_access import cached_page, get_view, remember
from searchapp.openapi import openapi_spec
from searchapp.results import result_dict
from searchapp.search import SearchRequest, document

# Its errors get the JSON envelope from searchapp.errors, as every error under /api/ does.
bp = Blueprint("api", __name__, url_prefix="/api")
bp.after_request(cross_origin)


@bp.get("/search")
def api_search():
    """Search; the parameters are the web page's."""
    view = get_view()
    version = view.version
    # Validated first: a bad request is a 400 whatever the client holds (If-None-Match: * included).
    wanted = SearchRequest.from_args(request.args)
    cached = not_modified(version)
    if cached:
        return cached
    result = cached_page(view, wanted)
    remember(result.request)
    response = jsonify(result_dict(result))
    if not result.complete:
        # Cut short by the time budget: a cache must not keep it, since asking again gives more.
        response.headers["Cache-Control"] = "no-store"
        response.headers["X-Index-Version"] = version
        return response
    return cacheable(response, version)


@bp.get("/documents/<doc_id>")
def api_document(doc_id: str):
    """One document with its full text and similar documents."""
    view = get_view()
    version = view.version
    # A missing document is a 404 whatever the client holds (If-None-Match: * included).
    if view.docnum(doc_id) is None:
        abort(404, f"No document with id {doc_id!r}")
    cached = not_modified(version)
    if cached:
        return cached
    found = document(view, doc_id)
    if found is None:
        abort(404, f"No document with id {doc_id!r}")
    return cacheable(jsonify({"ok": True, "status": 200, "document": found, "index_version": version}), version)


@bp.get("/openapi.json")
def api_openapi():
    """The OpenAPI description of this API."""
    return jsonify(openapi_spec())
