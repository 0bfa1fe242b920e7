"""Atom feeds of the newest releases matching a search, so users can follow a query in a feed reader."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from xml.sax.saxutils import escape, quoteattr

from flask import Blueprint, Response, request, url_for

from indexer.index.state import load_live_state
from searchapp.display import web_url
from searchapp.headers import cacheable, cross_origin, not_modified
from searchapp.index_access import cached_page, get_view
from searchapp.languages import own_name
from searchapp.search import SearchRequest

bp = Blueprint("feeds", __name__)
bp.after_request(cross_origin)
FEED_ENTRIES = 50
ATOM_TIME = "%Y-%m-%dT%H:%M:%SZ"
# Characters XML 1.0 forbids even escaped; a control character in a page must not break the whole feed.
NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


@bp.get("/feed.atom")
def atom():
    """The newest releases matching the search in the query string, as Atom."""
    view = get_view()
    version = view.version
    # Validated first: a bad request is a 400 whatever the client holds.
    req = SearchRequest.from_args(request.args)
    cached = not_modified(version)
    if cached:
        return cached
    req = SearchRequest(**{**req.__dict__, "sort": "newest", "page": 1, "per_page": FEED_ENTRIES})
    result = cached_page(view, req)
    req = result.request  # sources by their full names, languages by their codes
    title = "Press releases" + (f": {req.q}" if req.q else "") + (f" ({', '.join(req.sources)})" if req.sources else "")
    if req.languages:
        title += f" in {', '.join(own_name(code) for code in req.languages)}"
    entries = [_entry(view, hit) for hit in result.hits]
    # The feed changed when its newest entry did; a feed with no entries, when the index was built.
    updated = max((when for _, when in entries), default=None) or _index_built(view)
    query = request.query_string.decode("utf-8", "replace")
    page_url = url_for("pages.search_page", _external=True) + (f"?{query}" if query else "")
    body = (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<feed xmlns="http://www.w3.org/2005/Atom">'
        f"<title>{_text(title)}</title><id>{_text(request.url)}</id>"
        f'<link rel="self" href={_attribute(request.url)}/>'
        f'<link rel="alternate" type="text/html" href={_attribute(page_url)}/>'
        f"<updated>{_atom_time(updated)}</updated>"
        f"<generator>searchapp</generator>{''.join(xml for xml, _ in entries)}</feed>"
    )
    return cacheable(Response(body, mimetype="application/atom+xml"), version)


def _entry(view, hit: dict) -> tuple[str, datetime]:
    """Return one Atom entry for a hit, and the time it was last updated."""
    # The original release when it has a web address; else its page here, which also shows the text.
    link = web_url(hit["url"]) or url_for("pages.document_page", doc_id=hit["id"], _external=True)
    published = _release_time(hit["date"])
    # An undated release is not given a made-up date: it changed when its page file last did.
    updated = published or _file_time(view, hit["id"])
    return (
        f"<entry><title>{_text(hit['title'])}</title><id>urn:searchapp:{_text(hit['id'])}</id>"
        f"<link href={_attribute(link)}/>"
        + (f"<published>{_atom_time(published)}</published>" if published else "")
        + f"<updated>{_atom_time(updated)}</updated>"
        f"<author><name>{_text(hit['source'] or 'Unknown source')}</name></author>"
        f"<summary>{_text(hit['snippet'])}</summary></entry>"
    ), updated


def _release_time(iso: str | None) -> datetime | None:
    """Return the time of an ISO date that may lack its day or month ("2023-02"); None without a year."""
    if not iso or iso.startswith("--"):
        return None
    parts = (iso.split("-") + ["1", "1"])[:3]
    try:
        return datetime(int(parts[0]), int(parts[1]), int(parts[2]), tzinfo=timezone.utc)
    except ValueError:
        return None


def _file_time(view, doc_id: str) -> datetime:
    """Return when the page file of a document last changed, else when the index was built."""
    docnum = view.docnum(doc_id)
    mtime_ns = view.stored(docnum).get("file_mtime_ns") if docnum is not None else None
    if mtime_ns is None:
        return _index_built(view)
    return datetime.fromtimestamp(mtime_ns // 1_000_000_000, timezone.utc)


def _index_built(view) -> datetime:
    """Return when the state a view reads went live (else when it was built, else its folder's time)."""
    if view.published_at is not None:
        return datetime.fromtimestamp(view.published_at, timezone.utc)
    state = load_live_state(view.generation)
    if state and state.built_at:
        return datetime.fromisoformat(state.built_at).astimezone(timezone.utc)
    return datetime.fromtimestamp(view.generation.stat().st_mtime, timezone.utc)


def _atom_time(when: datetime) -> str:
    """Return a time as Atom writes it, in UTC to the second."""
    return when.astimezone(timezone.utc).strftime(ATOM_TIME)


def _text(value: str) -> str:
    """Return text escaped for XML, without the characters XML cannot carry."""
    return escape(NOT_XML.sub("", value))


def _attribute(value: str) -> str:
    """Return a quoted XML attribute value, without the characters XML cannot carry."""
    return quoteattr(NOT_XML.sub("", value))
