"""Atom feeds of the newest releases matching a search, so users can follow a query in a feed reader."""

from __future__ import annotations

from datetime import datetime, timezone
from xml.sax.saxutils import escape, quoteattr

from flask import Blueprint, Response, request, url_for

from searchapp.headers import cross_origin
from searchapp.index_access import get_searcher, index_version
from searchapp.search import SearchRequest, search

bp = Blueprint("feeds", __name__)
bp.after_request(cross_origin)
FEED_ENTRIES = 50
UNKNOWN_TIME = "1970-01-01T00:00:00Z"


@bp.get("/feed.atom")
def atom():
    """The newest releases matching the search in the query string, as Atom."""
    searcher = get_searcher()
    req = SearchRequest.from_args(request.args)
    req = SearchRequest(**{**req.__dict__, "sort": "newest", "page": 1, "per_page": FEED_ENTRIES})
    result = search(searcher, req, index_version=index_version(searcher))
    self_url = request.url
    title = "Press releases" + (f": {req.q}" if req.q else "") + (f" ({', '.join(req.sources)})" if req.sources else "")
    updated = _now()
    entries = "".join(_entry(hit) for hit in result.hits)
    body = (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<feed xmlns="http://www.w3.org/2005/Atom">'
        f"<title>{escape(title)}</title><id>{escape(self_url)}</id>"
        f"<link rel=\"self\" href={quoteattr(self_url)}/><updated>{updated}</updated>"
        f"<generator>searchapp</generator>{entries}</feed>"
    )
    return Response(body, mimetype="application/atom+xml")


def _entry(hit: dict) -> str:
    """Return one Atom entry for a hit."""
    link = hit["url"] or url_for("api.api_document", doc_id=hit["id"], _external=True)
    when = _timestamp(hit["date"])
    return (
        f"<entry><title>{escape(hit['title'])}</title><id>urn:searchapp:{escape(hit['id'])}</id>"
        f"<link href={quoteattr(link)}/><updated>{when}</updated>"
        f"<author><name>{escape(hit['source'] or 'Unknown source')}</name></author>"
        f"<summary>{escape(hit['snippet'])}</summary></entry>"
    )


def _timestamp(iso: str | None) -> str:
    """Return an Atom timestamp for an ISO date that may lack its day or month ("2023-02", "--02-01")."""
    if not iso or iso.startswith("--"):
        # Atom needs a timestamp; an unknown year is shown as the epoch rather than a guessed one.
        return UNKNOWN_TIME
    parts = (iso.split("-") + ["01", "01"])[:3]
    return f"{parts[0]}-{parts[1]}-{parts[2]}T00:00:00Z"


def _now() -> str:
    """Return the current time as an Atom timestamp."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
