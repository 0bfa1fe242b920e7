"""One JSON shape for a result page, used by the API, the CLI's --json and the web page."""

from __future__ import annotations

from searchapp.search import SearchResult


def result_dict(result: SearchResult) -> dict:
    """Return a result page as the API sends it."""
    r = result.request
    return {
        "ok": True,
        "status": 200,
        "query": {
            "q": r.q,
            "source": list(r.sources),
            "language": list(r.languages),
            "year": "unknown" if r.undated else r.year,
            "month": r.month,
            "from": r.date_from.isoformat() if r.date_from else None,
            "to": r.date_to.isoformat() if r.date_to else None,
            "sort": r.sort,
            "page": r.page,
            "per_page": r.per_page,
        },
        "total": result.total,
        "total_all_words": result.total_all_words,
        "pages": result.pages,
        "results": result.hits,
        "facets": {
            "source": result.facets["source"],
            "language": result.facets["language"],
            "year": result.facets["year"],
            "month": result.facets.get("month", []),
            "undated": {"count": result.undated, "selected": r.undated},
        },
        "suggestion": result.suggestion,
        "showing_results_for": result.showing_for,
        "search_instead_for": result.search_instead,
        "notice": result.notice,
        "index_version": result.index_version,
    }


def error_dict(status: int, message: str, parameter: str | None = None) -> dict:
    """Return the error envelope: the same keys for every error."""
    return {"ok": False, "status": status, "error": message, "parameter": parameter}
