"""The OpenAPI 3.1 description of the JSON API, written once; a test fuzzes a real server against it."""

from __future__ import annotations

from searchapp.search import (
    FIRST_YEAR,
    LAST_YEAR,
    MAX_LANGUAGES,
    MAX_PAGE,
    MAX_PER_PAGE,
    MAX_QUERY_CHARS,
    MAX_SOURCES,
    PER_PAGE,
    SORTS,
)

NULLABLE_STRING = {"type": ["string", "null"]}
COUNT = {"type": "integer", "minimum": 0}
DATE_PRECISION = {
    "enum": ["day", "month", "year", "no-year", "none", None],
    "description": "How much of the date is known; no-year: the day and month but not the year.",
}
# What from and to accept, empty as a form sends it; a date that does not exist (2023-02-30) is still a 400.
DATE_PARAMETER = {"type": "string", "pattern": "^([0-9]{4}(-[0-9]{1,2}(-[0-9]{1,2})?)?)?$"}


def _object(properties: dict, description: str | None = None) -> dict:
    """Return an object schema with exactly these properties, all of them always present."""
    schema = {"type": "object", "required": list(properties), "properties": properties, "additionalProperties": False}
    return {"description": description, **schema} if description else schema


SOURCE_FACET_VALUE = _object(
    {
        "value": {"type": "string", "description": "The source's full name, as source= selects it."},
        "count": COUNT,
        "selected": {"type": "boolean"},
        "unknown": {"type": "boolean", "description": "True for the releases whose source is not known."},
    }
)
LANGUAGE_FACET_VALUE = _object(
    {
        "value": {"type": "string", "description": 'The ISO 639-1 code, as language= selects it; "und" if unknown.'},
        "name": {"type": "string", "description": "The language's name in that language (CLDR), as the page shows it."},
        "count": COUNT,
        "selected": {"type": "boolean"},
        "unknown": {"type": "boolean", "description": "True for the releases whose language is not known."},
    }
)
YEAR_FACET_VALUE = _object({"value": {"type": "integer"}, "count": COUNT, "selected": {"type": "boolean"}})
MONTH_FACET_VALUE = _object(
    {
        "value": {"type": "integer", "minimum": 1, "maximum": 12},
        "name": {"type": "string", "description": "The month's English name."},
        "count": COUNT,
        "selected": {"type": "boolean"},
    }
)
HIT = _object(
    {
        "id": {"type": "string"},
        "title": {"type": "string"},
        "title_html": {"type": "string", "description": "Title, HTML-escaped, matched words in <mark>."},
        "url": NULLABLE_STRING,
        "source": {"type": ["string", "null"], "description": "Null when the source is not known."},
        "date": {
            "type": ["string", "null"],
            "description": "ISO 8601: YYYY-MM-DD, YYYY-MM, YYYY or --MM-DD (year unknown).",
        },
        "date_precision": DATE_PRECISION,
        "year": {"type": ["integer", "null"]},
        "language": NULLABLE_STRING,
        "snippet_html": {"type": "string", "description": "HTML-escaped text with matched words in <mark>."},
        "snippet": {"type": "string"},
        "missing": {
            "type": "array",
            "items": {"type": "string"},
            "description": "Words (or quoted phrases) of the query this release lacks, as typed: empty for a release "
            "with every word. Releases lacking some follow every release that has them all.",
        },
    }
)
ERROR = _object(
    {
        "ok": {"const": False},
        "status": {"type": "integer", "description": "The HTTP status of the response."},
        "error": {"type": "string"},
        "parameter": {"type": ["string", "null"], "description": "The query parameter at fault, if one is."},
    }
)
SEARCH_QUERY = _object(
    {
        "q": {"type": "string"},
        "source": {"type": "array", "items": {"type": "string"}, "description": "Full names of the sources."},
        "language": {"type": "array", "items": {"type": "string"}, "description": "Codes of the languages."},
        "year": {"oneOf": [{"type": "integer"}, {"const": "unknown"}, {"type": "null"}]},
        "month": {"type": ["integer", "null"], "minimum": 1, "maximum": 12},
        "from": {"type": ["string", "null"], "description": "YYYY-MM-DD"},
        "to": {"type": ["string", "null"], "description": "YYYY-MM-DD"},
        "sort": {"enum": list(SORTS), "description": "The order the results are in: newest when there are no words."},
        "page": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE},
        "per_page": {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE},
    },
    "The request as run: sources by their full names, languages by their codes, dates in full, the sort the results "
    "are in.",
)
SEARCH_RESULT = _object(
    {
        "ok": {"const": True},
        "status": {"const": 200},
        "query": {"$ref": "#/components/schemas/SearchQuery"},
        "total": {
            "type": "integer",
            "minimum": 0,
            "description": "Releases listed: those with every word of the query, then, when they are fewer than a "
            "page, those with most of the words (total_all_words tells them apart).",
        },
        "total_all_words": {
            "type": "integer",
            "minimum": 0,
            "description": "Of the total, the releases with every word of the query. Equal to total unless releases "
            "with only most of the words follow; each of those names what it lacks in `missing`.",
        },
        "pages": {"type": "integer", "minimum": 1},
        "results": {"type": "array", "items": {"$ref": "#/components/schemas/Hit"}},
        "facets": _object(
            {
                "source": {"type": "array", "items": {"$ref": "#/components/schemas/SourceFacetValue"}},
                "language": {"type": "array", "items": {"$ref": "#/components/schemas/LanguageFacetValue"}},
                "year": {"type": "array", "items": {"$ref": "#/components/schemas/YearFacetValue"}},
                "month": {
                    "type": "array",
                    "items": {"$ref": "#/components/schemas/MonthFacetValue"},
                    "description": "Months of the selected year; empty without one.",
                },
                "undated": _object({"count": COUNT, "selected": {"type": "boolean"}}),
            }
        ),
        "suggestion": NULLABLE_STRING,
        "showing_results_for": {
            "type": ["string", "null"],
            "description": "When the results come from spelling variants of words no release has: the query they "
            "answer. Null otherwise.",
        },
        "search_instead_for": {
            "type": ["string", "null"],
            "description": "With showing_results_for: the query as typed, its unknown words in quotes (searched "
            "exactly, without variants).",
        },
        "notice": NULLABLE_STRING,
        "index_version": {"type": "string"},
    }
)
SIMILAR = _object(
    {"id": {"type": "string"}, "title": {"type": "string"}, "source": NULLABLE_STRING, "date": NULLABLE_STRING}
)
DOCUMENT = _object(
    {
        "ok": {"const": True},
        "status": {"const": 200},
        "index_version": {"type": "string"},
        "document": _object(
            {
                "id": {"type": "string"},
                "title": {"type": "string"},
                "url": NULLABLE_STRING,
                "source": NULLABLE_STRING,
                "date": NULLABLE_STRING,
                "date_precision": DATE_PRECISION,
                "language": NULLABLE_STRING,
                "body": {"type": "string"},
                "more_like_this": {"type": "array", "items": {"$ref": "#/components/schemas/Similar"}},
            }
        ),
    }
)
HEALTH = _object(
    {
        "ok": {"const": True},
        "status": {"const": 200},
        "index_version": {"type": "string"},
        "documents": COUNT,
        "generation": {"type": "string", "description": "The index generation this process serves."},
        "generation_age_seconds": {
            "type": ["number", "null"],
            "description": "Seconds since that generation went live.",
        },
        "switches": {**COUNT, "description": "How often this process has moved to a new generation."},
        "pid": {"type": "integer", "description": "The worker process that answered."},
        "nodes": {
            "type": ["array", "null"],
            "description": "PostgreSQL: each server searches are read from, as last checked; null for an index folder.",
            "items": _object(
                {
                    "node": {"type": "string", "description": "host:port"},
                    "role": {"enum": ["primary", "replica"]},
                    "up": {"type": "boolean"},
                    "in_recovery": {"type": ["boolean", "null"]},
                    "lag_seconds": {"type": ["number", "null"], "description": "Replay lag behind the primary."},
                    "state": {"type": ["integer", "null"], "description": "The published index state it has."},
                    "serves_reads": {"type": "boolean", "description": "Up, and a replica within the allowed lag."},
                    "checked_seconds_ago": {"type": ["number", "null"]},
                    "error": {"type": ["string", "null"], "description": "Why it was last found down."},
                }
            ),
        },
    }
)


def _param(name: str, description: str, schema: dict, **extra) -> dict:
    """Return one query parameter."""
    return {"name": name, "in": "query", "required": False, "description": description, "schema": schema, **extra}


IF_NONE_MATCH = {
    "name": "If-None-Match",
    "in": "header",
    "required": False,
    "description": "The ETag of a response already held: 304 while the index and the query are the same.",
    "schema": {"type": "string"},
}
SEARCH_PARAMETERS = [
    _param(
        "q",
        'Words (all must match), "phrases", OR, -exclude, NOT, title:, source:, language:, word*.',
        {"type": "string", "maxLength": MAX_QUERY_CHARS},
    ),
    _param(
        "source",
        "Only these sources (repeat for several; any of them): a full name in any case, or the start or a part of "
        "one name; one naming several sources or none is a 400.",
        {"type": "array", "items": {"type": "string"}, "maxItems": MAX_SOURCES},
        style="form",
        explode=True,
    ),
    _param(
        "language",
        'Only these languages (repeat for several; any of them): an ISO 639-1 code ("und" for unknown) or the '
        "language's own or English name, in any case; one the index does not have is a 400.",
        {"type": "array", "items": {"type": "string"}, "maxItems": MAX_LANGUAGES},
        style="form",
        explode=True,
    ),
    _param(
        "year",
        'A year, or "unknown" for documents without a known year.',
        {"oneOf": [{"type": "integer", "minimum": FIRST_YEAR, "maximum": LAST_YEAR}, {"const": "unknown"}]},
    ),
    _param(
        "month",
        "A month of the selected year (1-12); without a year it is a 400.",
        {"type": "integer", "minimum": 1, "maximum": 12},
    ),
    _param("from", "Earliest date, YYYY-MM-DD (or YYYY-MM, YYYY).", DATE_PARAMETER),
    _param("to", "Latest date, YYYY-MM-DD (or YYYY-MM, YYYY); before from it is a 400.", DATE_PARAMETER),
    _param("sort", "Order of results.", {"enum": list(SORTS), "default": "relevance"}),
    _param("page", "Page number, from 1.", {"type": "integer", "minimum": 1, "maximum": MAX_PAGE, "default": 1}),
    _param(
        "per_page", "Results per page.", {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE, "default": PER_PAGE}
    ),
    IF_NONE_MATCH,
]

CACHE_HEADERS = {
    "ETag": {"description": "Tied to the index version and the query string.", "schema": {"type": "string"}},
    "X-Index-Version": {"description": "The index version that answered.", "schema": {"type": "string"}},
    "Cache-Control": {"schema": {"type": "string"}},
}
ERROR_CONTENT = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
ERROR_DESCRIPTIONS = {
    400: "A parameter that cannot be used; `parameter` names it.",
    404: "No document with that id.",
    503: "No index yet.",
}
# The HTTP server's own answers, before the app sees the request: text, not the JSON envelope.
SERVER_LIMITS = {
    "414": {
        "description": "The request line is longer than the HTTP server reads (4094 bytes under `searchapp serve`).",
        "content": {"text/html": {"schema": {"type": "string"}}},
    },
    "431": {
        "description": "A header is longer than the HTTP server reads (8190 bytes under `searchapp serve`).",
        "content": {"text/html": {"schema": {"type": "string"}}},
    },
}


def _responses(ok_schema: str, *errors: int, cached: bool = False, limits: bool = False) -> dict:
    """Return the responses of an operation: its result, the error envelope, and 304 for one tied to the index."""
    responses = {
        "200": {
            "description": "OK",
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{ok_schema}"}}},
            **({"headers": CACHE_HEADERS} if cached else {}),
        }
    }
    if cached:
        responses["304"] = {
            "description": "Not modified: the ETag sent is still this response's.",
            "headers": CACHE_HEADERS,
        }
    for status in errors:
        responses[str(status)] = {"description": ERROR_DESCRIPTIONS[status], "content": ERROR_CONTENT}
    return {**responses, **(SERVER_LIMITS if limits else {})}


def openapi_spec() -> dict:
    """Return the OpenAPI document."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Press release search API",
            "version": "1",
            "description": "Search press releases across organisations, with facets by source, language and date. "
            "A parameter given empty is one not given. Responses carry an ETag tied to the index version, "
            "except a search its time budget cut short (no-store: asking again may find more); CORS is open to read.",
        },
        "paths": {
            "/api/search": {
                "get": {
                    "summary": "Search press releases",
                    "operationId": "search",
                    "parameters": SEARCH_PARAMETERS,
                    "responses": _responses("SearchResult", 400, 503, cached=True, limits=True),
                }
            },
            "/api/documents/{id}": {
                "get": {
                    "summary": "One document with its full text and similar documents",
                    "operationId": "document",
                    "parameters": [
                        {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}},
                        IF_NONE_MATCH,
                    ],
                    "responses": _responses("Document", 404, 503, cached=True, limits=True),
                }
            },
            "/api/openapi.json": {
                "get": {
                    "summary": "This description",
                    "operationId": "openapi",
                    "responses": {
                        "200": {
                            "description": "The OpenAPI 3.1 document",
                            "content": {
                                "application/json": {
                                    "schema": {"type": "object", "required": ["openapi", "info", "paths"]}
                                }
                            },
                        }
                    },
                }
            },
            "/healthz": {
                "get": {
                    "summary": "Whether the answering process can search, and which index state it serves",
                    "operationId": "health",
                    "responses": {
                        "200": {
                            "description": "Searching; never cached.",
                            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Health"}}},
                        },
                        "503": {"description": "No index yet: not ready to search.", "content": ERROR_CONTENT},
                    },
                }
            },
        },
        "components": {
            "schemas": {
                "SearchResult": SEARCH_RESULT,
                "SearchQuery": SEARCH_QUERY,
                "Document": DOCUMENT,
                "Similar": SIMILAR,
                "Hit": HIT,
                "SourceFacetValue": SOURCE_FACET_VALUE,
                "LanguageFacetValue": LANGUAGE_FACET_VALUE,
                "YearFacetValue": YEAR_FACET_VALUE,
                "MonthFacetValue": MONTH_FACET_VALUE,
                "Health": HEALTH,
                "Error": ERROR,
            }
        },
    }
