"""The one search function behind the web page, the JSON API and `searchapp search`.

It validates a request, asks the index view (indexer.engine) for the matched set and the top
hits, counts facets from columns read once per view, and makes snippets only for the hits shown.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field, replace
from datetime import date as Date

from indexer.engine.interface import ParsedQuery, SearchIndex
from indexer.engine.schema import UNKNOWN_LANGUAGE, UNKNOWN_SOURCE, UNKNOWN_YEAR, known_source
from searchapp.facets import FacetColumns, facet_columns
from searchapp.languages import UNKNOWN_NAME, english_name, own_name
from searchapp.matching import Partial, partial_matches, partial_notice, ranked_partial
from searchapp.snippets import snippet

SORTS = ("relevance", "newest", "oldest")
PER_PAGE = 10
MAX_PER_PAGE = 100
MAX_PAGE = 1000
# Results by relevance a client can page through: ranking deeper costs more than anyone reads (a date
# order costs little, and pages on to MAX_PAGE).
MAX_RESULT_WINDOW = 1000
MAX_QUERY_CHARS = 500
MAX_SOURCES = 50
MAX_LANGUAGES = 50
# Source names a source parameter that names several sources, or none, offers to pick from.
SOURCE_HINTS = 5
# How alike (difflib's ratio) a misspelt source must be to a word of a name for the name to be offered.
WORD_LIKENESS = 0.75
FIRST_YEAR, LAST_YEAR = 1900, 2100
# A language typed in the query (`language:uk`, `-language:Ukrainian`, `language:"Nederlands"`).
LANGUAGE_TERM = re.compile(r'(?<![^\s(+-])language:("[^"]*"|[^\s()"]+)')


class BadParameter(ValueError):
    """A search parameter a client sent that cannot be used; names the parameter."""

    def __init__(self, name: str, message: str):
        super().__init__(f"{name}: {message}")
        self.name = name
        self.message = message


@dataclass(frozen=True)
class SearchRequest:
    """Everything that defines a result page; all of it travels in the URL."""

    q: str = ""
    sources: tuple[str, ...] = ()
    # ISO 639-1 codes, "und" for an unknown language.
    languages: tuple[str, ...] = ()
    year: int | None = None
    month: int | None = None
    date_from: Date | None = None
    date_to: Date | None = None
    undated: bool = False
    sort: str = "relevance"
    page: int = 1
    per_page: int = PER_PAGE

    @classmethod
    def from_args(cls, args) -> SearchRequest:
        """Build a request from URL parameters (a MultiDict or a dict of lists); raise BadParameter."""

        def one(name):
            values = args.getlist(name) if hasattr(args, "getlist") else args.get(name, [])
            values = [values] if isinstance(values, str) else list(values)
            return values[-1].strip() if values and values[-1] is not None else ""

        def every(name):
            values = args.getlist(name) if hasattr(args, "getlist") else args.get(name, [])
            values = [values] if isinstance(values, str) else values
            return tuple(dict.fromkeys(v.strip() for v in values if v and v.strip()))

        sources = every("source")
        if len(sources) > MAX_SOURCES:
            raise BadParameter("source", f"at most {MAX_SOURCES} sources at once")
        languages = every("language")
        if len(languages) > MAX_LANGUAGES:
            raise BadParameter("language", f"at most {MAX_LANGUAGES} languages at once")
        q = one("q")
        if len(q) > MAX_QUERY_CHARS:
            raise BadParameter("q", f"the query is longer than {MAX_QUERY_CHARS} characters")
        sort = one("sort") or "relevance"
        if sort not in SORTS:
            raise BadParameter("sort", f"must be one of {', '.join(SORTS)}")
        year_text = one("year")
        undated = year_text == "unknown"
        year = None if undated else _int(year_text, "year", FIRST_YEAR, LAST_YEAR)
        month = _int(one("month"), "month", 1, 12)
        if month is not None and year is None:
            raise BadParameter("month", "needs a year: pass year as well")
        date_from = _date(one("from"), "from")
        date_to = _date(one("to"), "to")
        if date_from and date_to and date_from > date_to:
            raise BadParameter("from", "must not be after to")
        return cls(
            q=q,
            sources=sources,
            languages=languages,
            year=year,
            month=month,
            date_from=date_from,
            date_to=date_to,
            undated=undated,
            sort=sort,
            page=_int(one("page"), "page", 1, MAX_PAGE) or 1,
            per_page=_int(one("per_page"), "per_page", 1, MAX_PER_PAGE) or PER_PAGE,
        )

    @property
    def order(self) -> str:
        """Return the order results come in: without words there is nothing to rank, so newest first."""
        return "newest" if self.sort == "relevance" and not self.q.strip() else self.sort

    def to_args(self, **changes) -> list[tuple[str, str]]:
        """Return the URL parameters of this request with some changed, for links (facets, pages)."""
        values = {**self.__dict__, **changes}
        args = []
        if values["q"]:
            args.append(("q", values["q"]))
        args += [("source", s) for s in values["sources"]]
        args += [("language", code) for code in values["languages"]]
        if values["undated"]:
            args.append(("year", "unknown"))
        elif values["year"] is not None:
            args.append(("year", str(values["year"])))
            if values["month"] is not None:
                args.append(("month", str(values["month"])))
        if values["date_from"]:
            args.append(("from", values["date_from"].isoformat()))
        if values["date_to"]:
            args.append(("to", values["date_to"].isoformat()))
        # Without words newest first is the default order: one URL for it, and words typed later rank by relevance.
        if values["sort"] != "relevance" and not (values["sort"] == "newest" and not values["q"]):
            args.append(("sort", values["sort"]))
        if values["page"] != 1:
            args.append(("page", str(values["page"])))
        if values["per_page"] != PER_PAGE:
            args.append(("per_page", str(values["per_page"])))
        return args


def _int(text: str, name: str, low: int, high: int) -> int | None:
    """Return an integer parameter in [low, high], None when absent; raise BadParameter otherwise."""
    if not text:
        return None
    # ASCII digits only: str.isdigit() also accepts "²", which int() refuses; and at most 9 of them.
    if not re.fullmatch(r"[0-9]{1,9}", text) or not low <= int(text) <= high:
        raise BadParameter(name, f"must be a whole number from {low} to {high}")
    return int(text)


def _date(text: str, name: str) -> Date | None:
    """Return a date parameter (YYYY-MM-DD, YYYY-MM or YYYY), None when absent."""
    if not text:
        return None
    match = re.fullmatch(r"([0-9]{4})(?:-([0-9]{1,2})(?:-([0-9]{1,2}))?)?", text)
    try:
        if not match:
            raise ValueError
        year, month, day = int(match[1]), int(match[2] or 1), int(match[3] or 1)
        if not FIRST_YEAR <= year <= LAST_YEAR:
            raise ValueError
        return Date(year, month, day)
    except ValueError:
        raise BadParameter(name, "must be a date like 2023-02-01 (or 2023-02, 2023)") from None


@dataclass
class SearchResult:
    """A result page: hits, total, facets and what the search made of the query."""

    # The request as run: sources by their full names, languages by their codes, and the sort the results are in.
    request: SearchRequest
    total: int
    hits: list[dict]
    facets: dict[str, list[dict]]
    undated: int
    suggestion: str | None = None
    notice: str | None = None
    index_version: str = ""
    timings: dict[str, float] = field(default_factory=dict)
    # False when the time budget cut the work short: the same search later may find more.
    complete: bool = True
    # Of the total, the releases with every word of the query; the others lack some (matching.py).
    total_all_words: int = 0
    # Results that came from spelling variants: the query they answer, and the query as typed, made exact.
    showing_for: str | None = None
    search_instead: str | None = None

    @property
    def pages(self) -> int:
        """Return the number of result pages."""
        return max(1, -(-self.total // self.request.per_page))


def search(view: SearchIndex, request: SearchRequest) -> SearchResult:
    """Run one search on an index view: matched set, filters, honest facets, a sorted page of hits with snippets."""
    columns = facet_columns(view)
    request = replace(
        request,
        sources=_resolve_sources(view, columns, request.sources),
        languages=_resolve_languages(columns, request.languages),
        sort=request.order,
    )
    # The index holds languages by code; a query may name one as the language parameter may.
    q = _with_language_codes(request.q, columns)
    parsed = view.parse(q)
    every_word = view.matched(parsed)

    by_source = columns.source_filter(request.sources)
    by_language = columns.language_filter(request.languages)
    by_date = columns.date_filter(request.year, request.month, request.date_from, request.date_to, request.undated)
    by_range = columns.date_filter(None, None, request.date_from, request.date_to, False)
    full = intersect(every_word, by_source, by_language, by_date)
    partial = None
    if request.sort == "relevance" and not parsed.everything and full.bit_count() < request.per_page:
        # Fewer than a page with every word: releases with most of them follow (matching.py).
        partial = partial_matches(view, parsed, q)
    # What the page lists, and its facets count: full matches, then any partial ones.
    matched = every_word | partial.documents if partial else every_word
    selected = intersect(matched, by_source, by_language, by_date)

    facets = {
        # Each facet counted with every other filter but its own: picking a source still shows the others.
        "source": columns.source_facet(intersect(matched, by_language, by_date), request.sources),
        "language": columns.language_facet(intersect(matched, by_source, by_date), request.languages),
        "year": columns.year_facet(intersect(matched, by_source, by_language, by_range), request.year, request.undated),
    }
    if request.year is not None:
        in_year = columns.date_filter(request.year, None, request.date_from, request.date_to, False)
        facets["month"] = columns.month_facet(intersect(matched, by_source, by_language, in_year), request.month)
    undated = columns.count_undated(intersect(matched, by_source, by_language))

    start = (request.page - 1) * request.per_page
    notices = [parsed.notice]
    by_relevance = request.sort == "relevance" and not parsed.everything
    if by_relevance and start + request.per_page > MAX_RESULT_WINDOW:
        hits = []
        notices.append(
            f"Only the first {MAX_RESULT_WINDOW:,} results by relevance can be paged through: "
            "narrow the search (a source, a language, a year, another word), or sort by date."
        )
    else:
        terms = view.highlight_terms(parsed)
        hits = _page_of_hits(view, parsed, full, request, start, columns, terms)
        if partial is not None and len(hits) < request.per_page:
            hits += _partial_hits(view, partial, selected & ~full, start - full.bit_count(), request, terms)
    if partial is not None:
        listed = selected.bit_count() - full.bit_count()
        notices.append(partial_notice(partial, full.bit_count(), listed, read=parsed.budget.left_out_words()))
    notices.append(parsed.budget.notice())
    notice = " ".join(n for n in notices if n) or None
    # Offered whenever a word is unknown, even if its spelling variants found something.
    suggestion = view.suggest(q) if q.strip() else None
    showing_for = search_instead = None
    if parsed.fuzzed and suggestion and selected:
        # What was found came from spelling variants of unknown words: say so, and offer the words as typed.
        showing_for, search_instead = suggestion, _quoted(q, parsed.fuzzed)
    return SearchResult(
        request=request,
        total=selected.bit_count(),
        total_all_words=full.bit_count(),
        hits=hits,
        facets=facets,
        undated=undated,
        suggestion=suggestion,
        showing_for=showing_for,
        search_instead=search_instead,
        notice=notice,
        index_version=view.version,
        complete=not parsed.budget.was_cut,
    )


def _quoted(text: str, words: tuple[str, ...]) -> str:
    """Return a query with some of its words in quotes, which searches them as typed, without variants."""
    wanted = set(words)
    return re.sub(r"(?<![\w\"])\w+(?![\w\"])", lambda m: f'"{m.group()}"' if m.group() in wanted else m.group(), text)


def _resolve_sources(view: SearchIndex, columns: FacetColumns, wanted: tuple[str, ...]) -> tuple[str, ...]:
    """Return the full names of the sources the source parameters mean, as `source:` in a query finds them."""
    names = list(columns.source_docs)
    return tuple(dict.fromkeys(_resolve_source(view, names, text) for text in wanted))


def _resolve_source(view: SearchIndex, names: list[str], text: str) -> str:
    """Return the one source a name, any case, or a part of one means; raise BadParameter naming the choices."""
    if text in names:
        return text
    if text.lower() == UNKNOWN_SOURCE.lower():
        # Selectable by name even when the index holds no release of unknown source.
        return UNKNOWN_SOURCE
    found = view.resolve_sources(text)
    if len(found) == 1:
        return found[0]
    if found:
        raise BadParameter(
            "source", f"{_quote(text)} matches {len(found)} sources: {_listed(found)}: give the full name"
        )
    close = _close_sources(text, names if UNKNOWN_SOURCE in names else [*names, UNKNOWN_SOURCE])
    if close:
        raise BadParameter("source", f"{_quote(text)} matches no source; did you mean {_listed(close, 'or')}?")
    raise BadParameter(
        "source",
        f"{_quote(text)} matches no source: the source facet of a search without it "
        "(or `searchapp stats`) lists the names",
    )


def _resolve_languages(columns: FacetColumns, wanted: tuple[str, ...]) -> tuple[str, ...]:
    """Return the codes of the languages the language parameters mean, as `language:` in a query finds them."""
    return tuple(dict.fromkeys(_resolve_language(sorted(columns.language_docs), text) for text in wanted))


def _with_language_codes(q: str, columns: FacetColumns) -> str:
    """Return the query with each `language:` term naming its language by code; raise BadParameter if none."""
    if "language:" not in q:
        return q
    codes = sorted(columns.language_docs)

    def by_code(match: re.Match) -> str:
        try:
            return "language:" + _resolve_language(codes, match.group(1).strip('"'))
        except BadParameter as exc:
            raise BadParameter("q", f"language:{exc.message}") from None

    return LANGUAGE_TERM.sub(by_code, q)


def _resolve_language(codes: list[str], text: str) -> str:
    """Return the code a language's code or name (its own or English, any case) means; raise BadParameter if none."""
    wanted = text.lower()
    if wanted in codes:
        return wanted
    if wanted in (UNKNOWN_LANGUAGE, UNKNOWN_NAME.lower()):
        # Selectable even when the index holds no release of unknown language.
        return UNKNOWN_LANGUAGE
    for code in codes:
        if wanted in (own_name(code).lower(), english_name(code).lower()):
            return code
    known = [code for code in codes if code != UNKNOWN_LANGUAGE]
    has = ", ".join(f"{code} ({own_name(code)})" for code in known) if known else "none yet"
    raise BadParameter("language", f"{_quote(text)} is not a language of the index; it has {has}")


def _close_sources(text: str, names: list[str]) -> list[str]:
    """Return up to SOURCE_HINTS names spelt like `text`: the whole name, else one of its words."""
    by_name = {name.lower(): name for name in names}
    close = [by_name[n] for n in difflib.get_close_matches(text.lower(), by_name, n=SOURCE_HINTS)]
    if not close:
        by_word: dict[str, list[str]] = {}
        for name in names:
            for word in re.findall(r"\w+", name.lower()):
                by_word.setdefault(word, []).append(name)
        # Stricter than for whole names: short words are alike by chance ("krmlin" and "ukraine").
        words = difflib.get_close_matches(text.lower(), by_word, n=SOURCE_HINTS, cutoff=WORD_LIKENESS)
        close = [name for word in words for name in by_word[word]]
    return list(dict.fromkeys(close))[:SOURCE_HINTS]


def _quote(name: str) -> str:
    """Return a source name in double quotes, for a message."""
    return f'"{name}"'


def _listed(names: list[str], last: str = "and") -> str:
    """Return up to SOURCE_HINTS names quoted and joined: "A", "B" and 3 more."""
    shown = [_quote(n) for n in names[:SOURCE_HINTS]]
    if len(names) > SOURCE_HINTS:
        return ", ".join(shown) + f" and {len(names) - SOURCE_HINTS} more"
    return shown[0] if len(shown) == 1 else ", ".join(shown[:-1]) + f" {last} {shown[-1]}"


def intersect(docs: int, *filters) -> int:
    """Return the bitmap docs narrowed by each filter bitmap; a None filter narrows nothing."""
    for f in filters:
        if f is not None:
            docs &= f
    return docs


def _page_of_hits(
    view: SearchIndex,
    parsed: ParsedQuery,
    selected: int,
    request: SearchRequest,
    start: int,
    columns: FacetColumns,
    terms: set[str],
) -> list[dict]:
    """Return the hits of the requested page, with fields and snippets."""
    if not selected or start >= selected.bit_count():
        return []
    end = start + request.per_page
    if request.sort == "relevance" and not parsed.everything:
        docnums = view.top(parsed, selected, end)[start:end]
    else:
        # Newest first by the date column; undated documents last either way.
        docnums = columns.sorted_by_date(selected, newest=request.sort != "oldest", limit=end)[start:end]
    return [_hit(stored, terms) for stored in view.stored_many(docnums)]


def _partial_hits(
    view: SearchIndex, partial: Partial, selected: int, start: int, request: SearchRequest, terms: set[str]
) -> list[dict]:
    """Return the partial matches that fill the page after the full ones, each with the words it lacks."""
    end = start + request.per_page
    docnums = ranked_partial(view, partial, selected, max(0, start), end)
    return [
        {**_hit(stored, terms), "missing": partial.missing(docnum)}
        for docnum, stored in zip(docnums, view.stored_many(docnums))
    ]


def _hit(stored: dict, terms: set) -> dict:
    """Return one hit, from a document's stored fields, as the API shows it."""
    html, text = snippet(stored.get("body", ""), terms)
    title_html, _ = snippet(stored.get("title", ""), terms, whole=True)
    return {
        "id": stored["id"],
        "title": stored.get("title", ""),
        "title_html": title_html,
        "url": stored.get("url"),
        "source": known_source(stored.get("source")),
        "date": stored.get("date_iso"),
        "date_precision": stored.get("date_precision"),
        "year": stored.get("year") if stored.get("year") != UNKNOWN_YEAR else None,
        "language": stored.get("language"),
        "snippet_html": html,
        "snippet": text,
        # The words of the query this release lacks: none, unless it follows the full matches.
        "missing": [],
    }


def document(view: SearchIndex, doc_id: str, *, similar: int = 5) -> dict | None:
    """Return a document by id with its full text and "more like this", or None."""
    docnum = view.docnum(doc_id)
    if docnum is None:
        return None
    stored = view.stored(docnum)
    more = [
        {
            "id": hit["id"],
            "title": hit.get("title", ""),
            "source": known_source(hit.get("source")),
            "date": hit.get("date_iso"),
        }
        for hit in view.similar(docnum, similar)
    ]
    return {
        "id": stored["id"],
        "title": stored.get("title", ""),
        "url": stored.get("url"),
        "source": known_source(stored.get("source")),
        "date": stored.get("date_iso"),
        "date_precision": stored.get("date_precision"),
        "language": stored.get("language"),
        "body": stored.get("body", ""),
        "more_like_this": more,
    }
