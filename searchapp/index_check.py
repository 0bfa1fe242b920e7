"""What a reindex checks before it publishes a new index state: the product's own search, run on it."""

from __future__ import annotations

import re

from indexer.engine.backends import view_of
from indexer.index.reindex import Expected
from searchapp.search import SearchRequest, document, search

# Pages whose documents are looked up and searched for by their words, at most.
CHECKED_PAGES = 20
WORD = re.compile(r"[^\W_]{3,}")
# Words the query parser reads as operators, not as words to find.
OPERATORS = {"AND", "OR", "NOT", "ANDNOT", "ANDMAYBE", "TO"}


# Seconds browsing may take, whose count and facets are checked: as long as it needs.
CHECK_SECONDS = 3600.0
# Seconds each other checking search may take. Those must answer, not be whole (a search out of time reads
# one word at least): unbounded, a phrase or a pattern of common words took minutes at 1,000,000 releases.
PROBE_SECONDS = 1.0


class CheckFailed(Exception):
    """The new state answered a search wrongly, or not at all; the message says which search."""


def check_index_state(target, expected: Expected) -> None:
    """Raise CheckFailed unless every kind of search answers on a new state (a generation folder or a database's)."""
    # No time budget for browsing: its count cut short on a busy machine would fail the check of a sound index.
    with view_of(target, time_budget=CHECK_SECONDS) as view:
        everything = _search(view, SearchRequest(), "browsing every release")
        if everything.total != expected.documents:
            raise CheckFailed(f"browsing finds {everything.total} releases where {expected.documents} were indexed")
        _check_facets(everything)
        view.time_budget = PROBE_SECONDS
        for kind, args in _probes(everything):
            _search(view, SearchRequest(**args), kind)
        pages = sorted(expected.written.items(), key=lambda item: item[1])
        for doc_id, page in pages[:: max(1, len(pages) // CHECKED_PAGES)]:
            _check_page(view, doc_id, page)
        for doc_id in sorted(expected.removed - expected.written.keys())[:CHECKED_PAGES]:
            if document(view, doc_id) is not None:
                raise CheckFailed(f"the removed document {doc_id} is still found")


def _search(view, request: SearchRequest, what: str):
    """Run one search through the product's search function; raise CheckFailed naming it when it fails."""
    try:
        return search(view, request)
    except Exception as exc:
        raise CheckFailed(f"{what} (q={request.q!r}) raised {type(exc).__name__}: {exc}") from exc


def _check_facets(result) -> None:
    """Raise CheckFailed when the facets do not account for every release exactly once."""
    sources = sum(v["count"] for v in result.facets["source"])
    languages = sum(v["count"] for v in result.facets["language"])
    years = sum(v["count"] for v in result.facets["year"]) + result.undated
    if not sources == languages == years == result.total:
        raise CheckFailed(
            f"the facets count {sources} releases by source, {languages} by language and {years} by year, "
            f"where there are {result.total}"
        )


def _probes(everything) -> list[tuple[str, dict]]:
    """Return a search of each kind the query language and the filters offer, built from the index's own words."""
    probes = [
        ("the newest releases", {"sort": "newest", "page": 2, "per_page": 5}),
        ("the oldest releases", {"sort": "oldest"}),
        ("the releases without a known year", {"undated": True}),
    ]
    hits = everything.hits
    words = [w for hit in hits for w in _words(hit["title"])]
    if len(words) >= 2:
        a, b = words[0], words[1]
        probes += [
            ("a word", {"q": a}),
            ("two words", {"q": f"{a} {b}"}),
            ("a phrase", {"q": f'"{a} {b}"'}),
            ("either word", {"q": f"{a} OR {b}"}),
            ("a word without another", {"q": f"{a} -{b}"}),
            ("a prefix", {"q": f"{a[:3]}*"}),
            ("a title word", {"q": f"title:{a}"}),
            ("a word, newest first", {"q": a, "sort": "newest"}),
        ]
    for facet in everything.facets["source"][:2]:
        probes.append((f"the releases of {facet['value']}", {"sources": (facet["value"],)}))
        probes.append(("a source in the query", {"q": f'source:"{facet["value"]}"'}))
    for facet in everything.facets["language"][:2]:
        probes.append((f"the releases in {facet['value']}", {"languages": (facet["value"],)}))
        probes.append(("a language in the query", {"q": f"language:{facet['value']}"}))
    for facet in everything.facets["year"][:2]:
        probes.append((f"the releases of {facet['value']}", {"year": facet["value"]}))
    return probes


def _check_page(view, doc_id: str, page: str) -> None:
    """Raise CheckFailed unless a page just indexed can be opened and found by the words of its title."""
    try:
        found = document(view, doc_id)
    except Exception as exc:
        raise CheckFailed(f"opening the document of {page} raised {type(exc).__name__}: {exc}") from exc
    if found is None:
        raise CheckFailed(f"the document of {page} (id {doc_id}) is missing")
    words = _words(found["title"])[:3] or _words(found["body"])[:3]
    if not words:
        return
    result = _search(view, SearchRequest(q=" ".join(words), per_page=1), f"searching for the words of {page}")
    if result.total == 0:
        raise CheckFailed(f"searching for {' '.join(words)!r}, words of {page}, finds nothing")


def _words(text: str) -> list[str]:
    """Return the words of a text that a query can carry as plain words."""
    return [w for w in WORD.findall(text) if w not in OPERATORS]
