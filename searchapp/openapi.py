"""The OpenAPI 3.1 description of the JSON API, written once; a test checks real responses against it."""

from __future__ import annotations

from searchapp.search import MAX_PER_PAGE, MAX_QUERY_CHARS, PER_PAGE, SORTS

NULLABLE_STRING = {"type": ["string", "null"]}
FACET_VALUE = {
    "type": "object",
    "required": ["value", "count", "selected"],
    "properties": {
        "value": {},
        "count": {"type": "integer", "minimum": 0},
        "selected": {"type": "boolean"},
        "name": {"type": "string"},
        "unknown": {"type": "boolean", "description": "Source facet: true for the releases whose source is not known"},
    },
}
HIT = {
    "type": "object",
    "required": [
        "id",
        "title",
        "title_html",
        "url",
        "source",
        "date",
        "date_precision",
        "year",
        "language",
        "snippet_html",
        "snippet",
    ],
    "properties": {
        "id": {"type": "string"},
        "title": {"type": "string"},
        "title_html": {"type": "string", "description": "Title, HTML-escaped, matched words in <mark>."},
        "url": NULLABLE_STRING,
        "source": NULLABLE_STRING,
        "date": {
            "type": ["string", "null"],
            "description": "ISO 8601: YYYY-MM-DD, YYYY-MM, YYYY or --MM-DD (year unknown).",
        },
        "date_precision": {"enum": ["day", "month", "year", "no-year", "none", None]},
        "year": {"type": ["integer", "null"]},
        "language": NULLABLE_STRING,
        "snippet_html": {"type": "string", "description": "HTML-escaped text with matched words in <mark>."},
        "snippet": {"type": "string"},
    },
}
ERROR = {
    "type": "object",
    "required": ["ok", "status", "error", "parameter"],
    "properties": {
        "ok": {"const": False},
        "status": {"type": "integer"},
        "error": {"type": "string"},
        "parameter": NULLABLE_STRING,
    },
}
SEARCH_RESULT = {
    "type": "object",
    "required": [
        "ok",
        "status",
        "query",
        "total",
        "pages",
        "results",
        "facets",
        "suggestion",
        "notice",
        "index_version",
    ],
    "properties": {
        "ok": {"const": True},
        "status": {"const": 200},
        "query": {"type": "object"},
        "total": {"type": "integer", "minimum": 0},
        "pages": {"type": "integer", "minimum": 1},
        "results": {"type": "array", "items": {"$ref": "#/components/schemas/Hit"}},
        "facets": {
            "type": "object",
            "required": ["source", "year", "month", "undated"],
            "properties": {
                "source": {"type": "array", "items": {"$ref": "#/components/schemas/FacetValue"}},
                "year": {"type": "array", "items": {"$ref": "#/components/schemas/FacetValue"}},
                "month": {"type": "array", "items": {"$ref": "#/components/schemas/FacetValue"}},
                "undated": {"type": "object", "required": ["count", "selected"]},
            },
        },
        "suggestion": NULLABLE_STRING,
        "notice": NULLABLE_STRING,
        "index_version": {"type": "string"},
    },
}
DOCUMENT = {
    "type": "object",
    "required": ["ok", "status", "document", "index_version"],
    "properties": {
        "ok": {"const": True},
        "status": {"const": 200},
        "index_version": {"type": "string"},
        "document": {
            "type": "object",
            "required": [
                "id",
                "title",
                "url",
                "source",
                "date",
                "date_precision",
                "language",
                "body",
                "more_like_this",
            ],
            "properties": {
                "id": {"type": "string"},
                "title": {"type": "string"},
                "url": NULLABLE_STRING,
                "source": NULLABLE_STRING,
                "date": NULLABLE_STRING,
                "date_precision": NULLABLE_STRING,
                "language": NULLABLE_STRING,
                "body": {"type": "string"},
                "more_like_this": {"type": "array", "items": {"type": "object", "required": ["id", "title"]}},
            },
        },
    },
}


def _param(name: str, description: str, schema: dict, **extra) -> dict:
    """Return one query parameter."""
    return {"name": name, "in": "query", "required": False, "description": description, "schema": schema, **extra}


SEARCH_PARAMETERS = [
    _param(
        "q",
        'Words (all must match), "phrases", OR, -exclude, NOT, title:, source:, word*.',
        {"type": "string", "maxLength": MAX_QUERY_CHARS},
    ),
    _param(
        "source",
        "Only these sources (repeat for several; any of them).",
        {"type": "array", "items": {"type": "string"}},
        style="form",
        explode=True,
    ),
    _param(
        "year",
        'A year, or "unknown" for documents without a known year.',
        {"oneOf": [{"type": "integer"}, {"const": "unknown"}]},
    ),
    _param("month", "A month of the selected year (1-12).", {"type": "integer", "minimum": 1, "maximum": 12}),
    _param("from", "Earliest date, YYYY-MM-DD (or YYYY-MM, YYYY).", {"type": "string"}),
    _param("to", "Latest date, YYYY-MM-DD (or YYYY-MM, YYYY).", {"type": "string"}),
    _param("sort", "Order of results.", {"enum": list(SORTS), "default": "relevance"}),
    _param("page", "Page number, from 1.", {"type": "integer", "minimum": 1, "default": 1}),
    _param(
        "per_page", "Results per page.", {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE, "default": PER_PAGE}
    ),
]


def _responses(ok_schema: str, *errors: int) -> dict:
    """Return the responses of an operation: its result and the error envelope."""
    responses = {
        "200": {
            "description": "OK",
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{ok_schema}"}}},
        }
    }
    for status in errors:
        responses[str(status)] = {
            "description": "Error",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        }
    return responses


def openapi_spec() -> dict:
    """Return the OpenAPI document."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Press release search API",
            "version": "1",
            "description": "Search press releases across organisations, with facets by source and date. "
            "Responses carry an ETag tied to the index version; CORS is open to read.",
        },
        "paths": {
            "/api/search": {
                "get": {
                    "summary": "Search press releases",
                    "operationId": "search",
                    "parameters": SEARCH_PARAMETERS,
                    "responses": _responses("SearchResult", 400, 503),
                }
            },
            "/api/documents/{id}": {
                "get": {
                    "summary": "One document with its full text and similar documents",
                    "operationId": "document",
                    "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}],
                    "responses": _responses("Document", 404, 503),
                }
            },
        },
        "components": {
            "schemas": {
                "SearchResult": SEARCH_RESULT,
                "Document": DOCUMENT,
                "Hit": HIT,
                "FacetValue": FACET_VALUE,
                "Error": ERROR,
            }
        },
    }
