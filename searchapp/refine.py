"""Links that change a search: a facet value, remove one filter, clear all, sort, page, and what to drop when nothing
matched."""

from __future__ import annotations

from dataclasses import dataclass, replace
from urllib.parse import urlencode

from flask import url_for

from searchapp.display import date_text
from searchapp.facets import MONTH_NAMES
from searchapp.languages import english_name, own_name
from searchapp.search import SORTS, SearchRequest, search

SORT_LABELS = {"relevance": "Relevance", "newest": "Newest first", "oldest": "Oldest first"}
# Page links either side of the current one; the first and last are always offered.
PAGE_WINDOW = 2
# Counting what dropping a filter would find runs one search per filter: a few at most.
MAX_ALTERNATIVES = 6
NO_FILTERS = {
    "sources": (),
    "languages": (),
    "year": None,
    "month": None,
    "date_from": None,
    "date_to": None,
    "undated": False,
}


def search_url(args: list[tuple[str, str]], endpoint: str = "pages.search_page") -> str:
    """Return the URL of a search page (or the API, the feed) with these parameters."""
    query = urlencode(args)
    return url_for(endpoint) + (f"?{query}" if query else "")


def linker(request: SearchRequest, endpoint: str = "pages.search_page"):
    """Return link(**changes): the URL of this search with some parameters changed."""
    return lambda **changes: search_url(request.to_args(**changes), endpoint)


@dataclass(frozen=True)
class Filter:
    """An active filter: what it is, the request without it, and the link that removes it."""

    kind: str
    label: str
    without: SearchRequest
    href: str


def active_filters(request: SearchRequest) -> list[Filter]:
    """Return each filter the request applies, with the link that removes just that one."""
    found = []

    def add(kind, label, **changes):
        without = replace(request, page=1, **changes)
        found.append(Filter(kind, label, without, search_url(without.to_args())))

    for source in request.sources:
        add("source", f"Source: {source}", sources=tuple(s for s in request.sources if s != source))
    for code in request.languages:
        add("language", f"Language: {own_name(code)}", languages=tuple(c for c in request.languages if c != code))
    if request.undated:
        add("undated", "Date unknown", undated=False)
    if request.year is not None:
        add("year", f"Year: {request.year}", year=None, month=None)
    if request.month is not None:
        add("month", f"Month: {MONTH_NAMES[request.month - 1]} {request.year}", month=None)
    if request.date_from:
        add("from", f"From {date_text(request.date_from.isoformat())}", date_from=None)
    if request.date_to:
        add("to", f"To {date_text(request.date_to.isoformat())}", date_to=None)
    return found


def clear_all(request: SearchRequest) -> str:
    """Return the link to the same words and sort with no filter."""
    return search_url(replace(request, page=1, **NO_FILTERS).to_args())


@dataclass(frozen=True)
class FacetLink:
    """A facet value as a plain link: following it selects the value, or lets go of it when selected."""

    value: str
    label: str
    count: int
    href: str
    selected: bool
    unknown: bool
    # For the name's `lang` attribute (None when unknown) and, where it differs, its English name.
    lang: str | None
    english: str | None


def language_links(request: SearchRequest, values: list[dict]) -> list[FacetLink]:
    """Return the language facet as links that add a language to the selection or take it out, back to page 1."""
    links = []
    for v in values:
        code = v["value"]
        chosen = tuple(c for c in request.languages if c != code) if v["selected"] else (*request.languages, code)
        english = english_name(code)
        links.append(
            FacetLink(
                value=code,
                label=v["name"],
                count=v["count"],
                href=search_url(request.to_args(languages=chosen, page=1)),
                selected=v["selected"],
                unknown=v["unknown"],
                lang=None if v["unknown"] else code,
                english=None if english == v["name"] else english,
            )
        )
    return links


@dataclass(frozen=True)
class Alternative:
    """A search that drops filters from one that found nothing, and how many it finds."""

    label: str
    href: str
    count: int


def alternatives(view, request: SearchRequest, filters: list[Filter]) -> list[Alternative]:
    """Return, for a search with no results, the searches without each filter (and without all) that find some."""
    options = [(f"Remove “{f.label}”", f.without) for f in filters[:MAX_ALTERNATIVES]]
    if len(filters) > 1:
        options.append(("Remove all filters", replace(request, page=1, **NO_FILTERS)))
    found = []
    for label, without in options:
        total = search(view, replace(without, per_page=1)).total
        if total:
            found.append(Alternative(label, search_url(without.to_args()), total))
    return found


@dataclass(frozen=True)
class Choice:
    """A link among siblings (a sort order, a page number), marked when it is the current one."""

    label: str
    href: str | None
    current: bool = False


def sort_choices(request: SearchRequest) -> list[Choice]:
    """Return the sort orders as links; changing the order goes back to the first page."""
    # Without words there is nothing to rank: relevance is not offered, and newest first is the default.
    sorts = SORTS if request.q.strip() else tuple(s for s in SORTS if s != "relevance")
    return [Choice(SORT_LABELS[s], search_url(request.to_args(sort=s, page=1)), s == request.order) for s in sorts]


def page_choices(request: SearchRequest, pages: int) -> list[Choice]:
    """Return page links around the current page, the first and the last; None hrefs are gaps (…)."""
    if pages <= 1:
        return []
    shown = {1, pages} | set(range(max(1, request.page - PAGE_WINDOW), min(pages, request.page + PAGE_WINDOW) + 1))
    choices, previous = [], 0
    for n in sorted(shown):
        if n - previous > 1:
            choices.append(Choice("…", None))
        choices.append(Choice(str(n), search_url(request.to_args(page=n)), n == request.page))
        previous = n
    return choices
