"""The one search function behind the web page, the JSON API and `searchapp search`.

Speed comes from doing in Python only what a query needs (see PERFORMANCE notes in the README):
each term's postings are read once per searcher and kept, so the matched set is arithmetic on
bitmaps of document numbers; facets are counted from columns read once per searcher; filters are
cached bitmaps; Whoosh scores only the few documents that can reach the page, and only the hits
shown get snippets.
"""

from __future__ import annotations

import bisect
import heapq
import logging
import pickle
import re
from array import array
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import date as Date
from functools import lru_cache
from itertools import accumulate, compress

from whoosh import query as Q
from whoosh.automata.lev import levenshtein_automaton
from whoosh.codec.whoosh3 import W3LeafMatcher
from whoosh.formats import Positions
from whoosh.matching.wrappers import FilterMatcher
from whoosh.qparser import AndGroup, MultifieldParser, PlusMinusPlugin
from whoosh.scoring import BM25FScorer, WeightScorer
from whoosh.system import _INT_SIZE

from indexer.analysis import index_term
from indexer.schema import UNKNOWN_YEAR, known_source
from searchapp.facets import FacetColumns, facet_columns, from_bits, membership, to_bits
from searchapp.snippets import snippet

SORTS = ("relevance", "newest", "oldest")
PER_PAGE = 10
MAX_PER_PAGE = 100
MAX_PAGE = 1000
MAX_QUERY_CHARS = 500
MAX_SOURCES = 50
# Title words count double: a release about sanctions says so in its headline.
FIELD_BOOSTS = {"title": 2.0, "body": 1.0}
# A word that few documents contain may be misspelt: also look for words one or two edits away,
# ranked below the exact word.
FUZZY_MAX_DOCFREQ = 2
FUZZY_BOOST = 0.3
FUZZY_MIN_CHARS = 4
FIRST_YEAR, LAST_YEAR = 1900, 2100
MAX_PATTERN_TERMS = 200
SYNTAX = re.compile(r'["()*?:\\^~+\-]')
WORD = re.compile(r"\w+")
# Fielded terms and excluded words are not spell-checked.
FIELDED = re.compile(r'\w+:(?:"[^"]*"|\S+)|(?:^|\s)-\S+|\bNOT\s+\S+')
SUGGEST_MIN_DOCFREQ = 2
log = logging.getLogger(__name__)


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
    year: int | None = None
    month: int | None = None
    date_from: Date | None = None
    date_to: Date | None = None
    undated: bool = False
    sort: str = "relevance"
    page: int = 1
    per_page: int = PER_PAGE

    @classmethod
    def from_args(cls, args) -> "SearchRequest":
        """Build a request from URL parameters (a MultiDict or a dict of lists); raise BadParameter."""
        def one(name):
            values = args.getlist(name) if hasattr(args, "getlist") else args.get(name, [])
            values = [values] if isinstance(values, str) else list(values)
            return values[-1].strip() if values and values[-1] is not None else ""

        sources_raw = args.getlist("source") if hasattr(args, "getlist") else args.get("source", [])
        sources = tuple(dict.fromkeys(s.strip() for s in ([sources_raw] if isinstance(sources_raw, str)
                                                            else sources_raw) if s and s.strip()))
        if len(sources) > MAX_SOURCES:
            raise BadParameter("source", f"at most {MAX_SOURCES} sources at once")
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
        return cls(q=q, sources=sources, year=year, month=month, date_from=date_from, date_to=date_to,
                   undated=undated, sort=sort, page=_int(one("page"), "page", 1, MAX_PAGE) or 1,
                   per_page=_int(one("per_page"), "per_page", 1, MAX_PER_PAGE) or PER_PAGE)

    def to_args(self, **changes) -> list[tuple[str, str]]:
        """Return the URL parameters of this request with some changed, for links (facets, pages)."""
        values = {**self.__dict__, **changes}
        args = []
        if values["q"]:
            args.append(("q", values["q"]))
        args += [("source", s) for s in values["sources"]]
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
        if values["sort"] != "relevance":
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
    if not text.isdigit() or not low <= int(text) <= high:
        raise BadParameter(name, f"must be a whole number from {low} to {high}")
    return int(text)


def _date(text: str, name: str) -> Date | None:
    """Return a date parameter (YYYY-MM-DD, YYYY-MM or YYYY), None when absent."""
    if not text:
        return None
    match = re.fullmatch(r"(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?", text)
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

    request: SearchRequest
    total: int
    hits: list[dict]
    facets: dict[str, list[dict]]
    undated: int
    suggestion: str | None = None
    notice: str | None = None
    index_version: str = ""
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def pages(self) -> int:
        """Return the number of result pages."""
        return max(1, -(-self.total // self.request.per_page))


def parse_query(text: str, searcher, columns: FacetColumns) -> tuple[Q.Query, str | None]:
    """Parse the user's query; a query the parser cannot read falls back to its plain words."""
    if not text.strip():
        return Q.Every(), None
    notice = None
    if text.count('"') % 2 or text.count("(") != text.count(")"):
        words = " ".join(SYNTAX.sub(" ", text).split())
        notice = f'Could not read the query syntax; searched for the words: {words}'
        text = words
        if not text:
            return Q.NullQuery, notice
    parser = MultifieldParser(["title", "body"], searcher.schema, fieldboosts=FIELD_BOOSTS, group=AndGroup)
    parser.add_plugin(PlusMinusPlugin())
    parsed = parser.parse(text)
    return _rewrite(parsed, searcher, columns), notice


def _rewrite(node: Q.Query, searcher, columns: FacetColumns) -> Q.Query:
    """Resolve `source:` against the real source names, and add spelling variants of rare words."""
    if node.is_leaf():
        field = getattr(node, "fieldname", None)
        if field == "source":
            return _source_query(node, columns)
        if isinstance(node, Q.Term) and field in FIELD_BOOSTS:
            return _with_variants(node, searcher)
        return node
    if isinstance(node, Q.Not):
        # Excluded words are excluded exactly: no spelling variants.
        return node
    return node.apply(lambda child: _rewrite(child, searcher, columns))


def _source_query(node: Q.Query, columns: FacetColumns) -> Q.Query:
    """Return a query for the sources a `source:` term names, ignoring case; exact names first."""
    wanted = " ".join(getattr(node, "words", None) or [str(getattr(node, "text", ""))]).strip().lower()
    names = columns.match_sources(wanted)
    if not names:
        return Q.NullQuery
    return Q.Or([Q.Term("source", name) for name in names])


def _with_variants(term: Q.Term, searcher) -> Q.Query:
    """Return the term, or it OR its close spellings (ranked lower) when few documents contain it."""
    text = term.text
    if not isinstance(text, str) or len(text) < FUZZY_MIN_CHARS or not text.isalpha():
        return term
    # Rarity is judged on the body, so a word absent from titles only is not "misspelt".
    if searcher.doc_frequency("body", text) > FUZZY_MAX_DOCFREQ:
        return term
    variants = close_terms(searcher, term.fieldname, text)
    if not variants:
        return term
    return Q.Or([term] + [Q.Term(term.fieldname, v, boost=term.boost * FUZZY_BOOST) for v in variants])


def close_terms(searcher, fieldname: str, text: str) -> list[str]:
    """Return the index words one or two edits from text (two for long words), cached per searcher."""
    cache = searcher.__dict__.setdefault("_close_terms", {})
    key = (fieldname, text)
    if key not in cache:
        maxdist = 1 if len(text) < 7 else 2
        found = [t for t in _terms_within(searcher, fieldname, text, maxdist) if t != text]
        cache[key] = found[:MAX_PATTERN_TERMS]
    return cache[key]


def _terms_within(searcher, fieldname: str, text: str, maxdist: int):
    """Yield the words of a field within maxdist edits of text (same first letter), as `terms_within` finds them.

    Whoosh walks a Levenshtein automaton along the field's term cursor, and each seek in the
    cursor reads the index: over a sorted list of the field's words, kept per searcher, the
    same walk is about five times faster.
    """
    reader = searcher.reader()
    fieldobj = searcher.schema[fieldname]
    if not reader.is_atomic():
        yield from reader.terms_within(fieldname, text, maxdist, prefix=1)
        return
    lexicons = searcher.__dict__.setdefault("_lexicons", {})
    spellfield = fieldobj.spelling_fieldname(fieldname)
    if spellfield not in lexicons:
        lexicons[spellfield] = [fieldobj.from_bytes(t) for t in reader.lexicon(spellfield)]
    words = lexicons[spellfield]
    dfa = levenshtein_automaton(text, maxdist, 1).to_dfa()
    # Whoosh's find_matches, with a bisect for the cursor's seek.
    i = 0
    while i < len(words):
        match = dfa.next_valid_string(words[i])
        if not match:
            return
        i = bisect.bisect_left(words, match, i)
        if i < len(words) and words[i] == match:
            yield match
            i += 1


def suggest(text: str, searcher) -> str | None:
    """Return the query with each unknown word replaced by the commonest close word in the index, or None."""
    plain = FIELDED.sub(" ", text)
    changed, out = False, []
    for word in WORD.findall(plain):
        term = index_term(word)
        if not word.isalpha() or len(term) < FUZZY_MIN_CHARS or searcher.doc_frequency("body", term) > 1:
            out.append(word)
            continue
        # Not a shorter word that happens to be close ("forc" -> "for"): the same length, give or take one.
        candidates = [c for c in close_terms(searcher, "body", term) if len(c) >= len(term) - 1]
        best = max(candidates, key=lambda c: searcher.doc_frequency("body", c), default=None)
        if best and searcher.doc_frequency("body", best) >= SUGGEST_MIN_DOCFREQ:
            out.append(_surface(best, searcher, word))
            changed = True
        else:
            out.append(word)
    return " ".join(out) if changed else None


def _surface(term: str, searcher, typed: str) -> str:
    """Return a word as written in a document for an index term (a stem), cased like the typed word."""
    docnum = next(iter(searcher.docs_for_query(Q.Term("body", term))), None)
    if docnum is not None:
        for word in WORD.findall(searcher.stored_fields(docnum).get("body", "")):
            if index_term(word) == term:
                return word if typed[:1].isupper() else word.lower()
    return term


def search(searcher, request: SearchRequest, *, index_version: str = "") -> SearchResult:
    """Run one search: matched set, filters, honest facets, a sorted page of hits with snippets."""
    columns = facet_columns(searcher)
    query, notice = parse_query(request.q, searcher, columns)
    postings = cached_postings(searcher)
    matched = _matched(searcher, postings, query)

    by_source = columns.source_filter(request.sources)
    by_date = columns.date_filter(request.year, request.month, request.date_from, request.date_to, request.undated)
    by_range = columns.date_filter(None, None, request.date_from, request.date_to, False)
    selected = intersect(matched, by_source, by_date)

    facets = {
        # Each facet counted with every other filter but its own: picking a source still shows the others.
        "source": columns.source_facet(intersect(matched, by_date), request.sources),
        "year": columns.year_facet(intersect(matched, by_source, by_range), request.year, request.undated),
    }
    if request.year is not None:
        in_year = columns.date_filter(request.year, None, request.date_from, request.date_to, False)
        facets["month"] = columns.month_facet(intersect(matched, by_source, in_year), request.month)
    undated = columns.count_undated(intersect(matched, by_source))

    start = (request.page - 1) * request.per_page
    hits = _page_of_hits(searcher, postings, query, selected, request, start, columns)
    # Offered whenever a word is unknown, even if its spelling variants found something.
    suggestion = suggest(request.q, searcher) if request.q.strip() else None
    return SearchResult(request=request, total=selected.bit_count(), hits=hits, facets=facets, undated=undated,
                        suggestion=suggestion, notice=notice, index_version=index_version)


def intersect(docs: int, *filters) -> int:
    """Return the bitmap docs narrowed by each filter bitmap; a None filter narrows nothing."""
    for f in filters:
        if f is not None:
            docs &= f
    return docs


def _page_of_hits(searcher, postings: "CachedPostings", query, selected: int, request: SearchRequest, start: int,
                  columns: FacetColumns) -> list[dict]:
    """Return the hits of the requested page, with fields and snippets."""
    if not selected or start >= selected.bit_count():
        return []
    end = start + request.per_page
    if request.sort == "relevance" and not isinstance(query, Q.Every):
        docnums = _best(postings, query, selected, end)
        if docnums is None:
            # A query part whose scores cannot be bounded (a prefix, a range): let Whoosh score every
            # match. Whoosh takes a set, and an empty one would mean "no filter" (handled above).
            # limit=None: with a limit, Whoosh's collector can lose the best document of an OR under an
            # exclusion (seen with a prefix: "sanc* OR minsk -zebra").
            hits = searcher.search(query, filter=set(from_bits(selected)), limit=None)
            docnums = [d for _, d in sorted((-hit.score, hit.docnum) for hit in hits)[:end]]
        docnums = docnums[start:end]
    else:
        # Newest first by the date column; undated documents last either way.
        docnums = columns.sorted_by_date(selected, newest=request.sort != "oldest", limit=end)[start:end]
    terms = positive_terms(query, searcher.reader())
    return [_hit(searcher, docnum, terms) for docnum in docnums]


def _matched(searcher, postings: "CachedPostings", query) -> int:
    """Return the live documents a query matches: from the postings cache, else as Whoosh finds them."""
    try:
        return postings.matched(query)
    except Exception:  # the cache reads Whoosh internals; Whoosh's own path must still answer
        log.exception("The postings cache could not match %r; matching with Whoosh", query)
        return to_bits(searcher.docs_for_query(query)) & postings.columns.all_docs


def _best(postings: "CachedPostings", query, selected: int, limit: int) -> list[int] | None:
    """Return the top documents from the postings cache, or None to let Whoosh rank them."""
    try:
        return postings.best(query, selected, limit)
    except Exception:  # as in _matched: Whoosh's ranking is the fallback, never an error page
        log.exception("The postings cache could not rank %r; ranking with Whoosh", query)
        return None


# -- matching and ranking from postings kept per searcher --
#
# Whoosh walks every posting of a query in Python, twice when the matched set and the top hits
# are asked for separately: at 100,000 documents a common word costs hundreds of milliseconds.
# Here each term's postings are read once per searcher, with Whoosh's own score for each, and
# kept (up to a budget): the matched set is then bitmap arithmetic, and the top hits come from
# the best-scoring postings first. Whoosh still scores the few documents that can reach the top,
# with its own matchers, so the order is exactly the one `searcher.search` gives.

# Postings held per searcher (about 12 bytes each, plus a bitmap of documents / 8 bytes per term):
# 6 million is about 75 MB. Least recently used terms are dropped beyond it.
MAX_CACHED_POSTINGS = 6_000_000
MAX_CACHED_PHRASES = 256
# Floating-point slack between a sum of cached scores and Whoosh's sum of the same scores.
SCORE_SLACK = 1e-9
# Postings read per term and round before checking whether the top hits are settled.
RANKING_STEP = 32


class _TermPostings:
    """The documents (ascending) and Whoosh scores of one term, and the bitmap of its documents."""

    __slots__ = ("docs", "scores", "bits", "_by_score")

    def __init__(self, docs: array, scores: array):
        self.docs, self.scores = docs, scores
        self.bits = to_bits(docs)
        self._by_score = None

    def best_first(self, count: int) -> array:
        """Return positions of postings, best score first, in order at least as far as the first `count`."""
        n = len(self.docs)
        if self._by_score is None or len(self._by_score) < min(count, n):
            order = None
            # Asked for more than sorted so far: sort well beyond it, not one step at a time.
            if self._by_score is not None:
                count = max(count, 4 * len(self._by_score))
            if count * 16 < n:
                # Sorting a common word's postings costs more than ranking: sort only those above
                # a cutoff estimated from every 16th score, when that gives enough.
                sample = sorted(self.scores[::16], reverse=True)
                cutoff = sample[min(len(sample) - 1, count // 16 + 1)]
                order = list(compress(range(n), map(cutoff.__le__, self.scores)))
                if len(order) < count:
                    order = None
            if order is None:
                order = range(n)
            self._by_score = array("i", sorted(order, key=self.scores.__getitem__, reverse=True))
        return self._by_score

    def score(self, docnum: int) -> float:
        """Return the term's score in a document, 0.0 when the document does not contain it."""
        i = bisect.bisect_left(self.docs, docnum)
        return self.scores[i] if i < len(self.docs) and self.docs[i] == docnum else 0.0


EMPTY_POSTINGS = _TermPostings(array("i"), array("d"))


class CachedPostings:
    """Matched sets and top hits of queries, from term postings read once per searcher."""

    def __init__(self, searcher, columns: FacetColumns):
        self.searcher = searcher
        self.columns = columns
        self._terms: OrderedDict[tuple, _TermPostings] = OrderedDict()
        self._phrases: OrderedDict[tuple, _TermPostings] = OrderedDict()
        self._field_lengths: dict[tuple, list] = {}
        self._held = 0

    def term(self, fieldname: str, text, values: list | None = None) -> _TermPostings:
        """Return the postings of a term as `Term(fieldname, text)` matches them (none when absent).

        When the postings are read now (not kept from before) and `values` is a list, it receives
        the raw posting values (positions), one per document.
        """
        schema = self.searcher.schema
        if fieldname not in schema:
            return EMPTY_POSTINGS
        try:
            btext = schema[fieldname].to_bytes(text)
        except ValueError:
            return EMPTY_POSTINGS
        key = (fieldname, btext)
        found = self._terms.get(key)
        if found is not None:
            self._terms.move_to_end(key)
            return found
        docs, scores = array("i"), array("d")
        # Per segment, as a search scores them: each segment's scorer reads the index-wide statistics.
        for sub, offset in self.searcher.leaf_searchers():
            if (fieldname, btext) in sub.reader():
                self._read_postings(sub, offset, fieldname, btext, docs, scores, values)
        found = self._terms[key] = _TermPostings(docs, scores)
        self._held += len(docs)
        while self._held > MAX_CACHED_POSTINGS and len(self._terms) > 1:
            self._held -= len(self._terms.popitem(last=False)[1].docs)
        return found

    def _read_postings(self, sub, offset: int, fieldname: str, btext: bytes, docs: array, scores: array,
                       values: list | None) -> None:
        """Append a segment's postings of a term and Whoosh's score for each (and their values, if asked)."""
        m = _unfiltered(sub.postings(fieldname, btext))
        scorer = getattr(m, "scorer", None)
        if isinstance(m, W3LeafMatcher) and type(scorer) in (BM25FScorer, WeightScorer):
            # Block by block: decoding a block costs less than stepping the matcher posting by
            # posting, and a score from (weight, length) is what `scorer.score(matcher)` computes.
            # (This reads the matcher's decoded blocks: whoosh3 3.54 names them _ids, _weights.)
            lengths = self._lengths(sub, offset, fieldname) if type(scorer) is BM25FScorer else None
            # Few (weight, length) pairs recur: score each once.
            score = lru_cache(maxsize=None)(scorer._score) if lengths is not None else None
            while m.is_active():
                if m._ids is None:
                    m._read_ids()
                if m._weights is None:
                    m._read_weights()
                ids = m._ids
                docs.extend([d + offset for d in ids] if offset else ids)
                if lengths is None:
                    scores.extend(map(float, m._weights))
                else:
                    scores.extend(map(score, m._weights, map(lengths.__getitem__, ids)))
                if values is not None:
                    if m._values is None:
                        m._read_values()
                    values.extend(m._values)
                m._next_block()
            return
        while m.is_active():
            docs.append(m.id() + offset)
            scores.append(m.score())
            if values is not None:
                values.append(m.value())
            m.next()

    def _lengths(self, sub, offset: int, fieldname: str) -> list:
        """Return a segment's field length per document, as its scorer reads them (read once)."""
        key = (offset, fieldname)
        if key not in self._field_lengths:
            self._field_lengths[key] = [sub.doc_field_length(d, fieldname, 1) for d in range(sub.doc_count_all())]
        return self._field_lengths[key]

    # -- the matched set --

    def matched(self, query: Q.Query) -> int:
        """Return the bitmap of the live documents a query matches, as `docs_for_query` finds them."""
        return self._bits(query) & self.columns.all_docs

    def _bits(self, q: Q.Query) -> int:
        """Return the bitmap of the documents a query node matches (deleted ones possibly included)."""
        kind = type(q)
        if kind is Q.Term:
            return self.term(q.fieldname, q.text).bits
        if kind is Q.And or kind is Q.Require:
            children = list(q.children())
            bits = self.columns.all_docs if children else 0
            for child in children:
                bits &= self._bits(child)
            return bits
        if kind is Q.Or and not q.minmatch and q.scale is None:
            bits = 0
            for child in q.children():
                bits |= self._bits(child)
            return bits
        if kind is Q.AndNot:
            return self._bits(q.a) & ~self._bits(q.b)
        if kind is Q.AndMaybe:
            return self._bits(q.a)
        if kind is Q.Not:
            return self.columns.all_docs & ~self._bits(q.query)
        if kind is Q.Every and not q.fieldname:
            return self.columns.all_docs
        if q is Q.NullQuery:
            return 0
        if kind is Q.Phrase:
            return self.phrase(q).bits
        # Anything else (prefixes, ranges, fielded numbers): Whoosh finds its documents.
        return to_bits(self.searcher.docs_for_query(q))

    def phrase(self, q: Q.Phrase) -> _TermPostings:
        """Return a phrase's documents and scores (the sum of its words' scores), kept per searcher.

        Positions are checked only in documents that contain every word.
        """
        key = (q.fieldname, tuple(q.words), q.slop)
        if key not in self._phrases:
            words, fresh = [], {}
            for word in q.words:
                # A word read now brings its positions along: no second pass over its postings.
                values: list = []
                words.append(self.term(q.fieldname, word, values))
                if values:
                    fresh[word] = (words[-1].docs, values)
            every_word = self.columns.all_docs
            for word in words:
                every_word &= word.bits
            if not every_word:
                found = 0
            elif q.slop == 1 and type(self.searcher.schema[q.fieldname].format) is Positions:
                found = self._adjacent(q.fieldname, q.words, every_word, fresh)
            else:
                found = to_bits(self.searcher.docs_for_query(q))
            docs = array("i", from_bits(found))
            self._phrases[key] = _TermPostings(docs, array("d", (sum(w.score(d) for w in words) for d in docs)))
            if len(self._phrases) > MAX_CACHED_PHRASES:
                self._phrases.popitem(last=False)
        self._phrases.move_to_end(key)
        return self._phrases[key]

    def _adjacent(self, fieldname: str, words: list, candidates: int, fresh: dict) -> int:
        """Return the candidates in which the words occur one after the other, as Whoosh's phrase matches them.

        `fresh` holds (documents, raw values) of words just read.
        """
        docnums = from_bits(candidates)
        positions = []
        for word in words:
            if word in fresh:
                docs, values = fresh[word]
                positions.append({d: _decode_positions(values[bisect.bisect_left(docs, d)]) for d in docnums})
            else:
                positions.append(self._positions(fieldname, word, docnums))
        found = []
        for d in docnums:
            # Where the phrase could start: word i must be at start + i.
            starts = set(positions[0].get(d, ()))
            for i, word_positions in enumerate(positions[1:], 1):
                starts &= {p - i for p in word_positions.get(d, ())}
                if not starts:
                    break
            if starts:
                found.append(d)
        return to_bits(found)

    def _positions(self, fieldname: str, word: str, docnums: list[int]) -> dict[int, list[int]]:
        """Return the positions of a word in some documents (ascending), reading its postings again."""
        btext = self.searcher.schema[fieldname].to_bytes(word)
        found = {}
        for sub, offset in self.searcher.leaf_searchers():
            end = offset + sub.doc_count_all()
            local = [d - offset for d in docnums if offset <= d < end]
            if local and (fieldname, btext) in sub.reader():
                found.update((d + offset, p) for d, p in self._segment_positions(sub, fieldname, btext, local).items())
        return found

    @staticmethod
    def _segment_positions(sub, fieldname: str, btext: bytes, docnums: list[int]) -> dict[int, list[int]]:
        """Return the positions of a term in some documents (ascending) of a segment."""
        m = _unfiltered(sub.reader().postings(fieldname, btext))
        decode = m.format.decoder("positions")
        wanted = membership(to_bits(docnums), sub.doc_count_all())
        found = {}
        if isinstance(m, W3LeafMatcher):
            # Block by block (see _read_postings), skipping blocks that hold none of the documents.
            first = 0
            while m.is_active():
                last = m.block_max_id()
                i = bisect.bisect_left(docnums, first)
                if i < len(docnums) and docnums[i] <= last:
                    if m._ids is None:
                        m._read_ids()
                    ids = m._ids
                    hits = [j for j, d in enumerate(ids) if wanted[d >> 3] >> (d & 7) & 1]
                    if hits:
                        if m._values is None:
                            m._read_values()
                        for j in hits:
                            found[ids[j]] = _decode_positions(m._values[j])
                first = last + 1
                m._next_block()
            return found
        while m.is_active():
            d = m.id()
            if wanted[d >> 3] >> (d & 7) & 1:
                found[d] = decode(m.value())
            m.next()
        return found

    # -- the top hits --

    def best(self, query: Q.Query, selected: int, limit: int) -> list[int] | None:
        """Return the `limit` best documents of `selected` in the order of Whoosh's scores (ties: lower number first).

        Returns None when a part of the query has scores that cannot be summed from term postings.
        """
        if getattr(self.searcher.weighting, "use_final", False):
            return None
        parts: list[tuple[_TermPostings, float]] = []
        summed = self._score_parts(query, 1.0, parts, required=True)
        parts = [(p, factor) for p, factor in parts if len(p.docs)]
        if summed is None or not parts:
            return None
        constant, exact = summed
        stream = self._by_bound(parts, constant, selected)
        if exact:
            # The sums are Whoosh's scores but for rounding: only documents whose sums are that
            # close to another's may be ordered differently, so Whoosh scores just those.
            top: list[tuple[float, int]] = []
            for bound, docnum in stream:
                if len(top) >= limit and bound < top[limit - 1][0] * (1 - SCORE_SLACK):
                    break
                top.append((bound, docnum))
            close = {d for (b1, d), (b2, _) in zip(top, top[1:]) if b2 >= b1 * (1 - SCORE_SLACK)}
            close |= {d for (b1, _), (b2, d) in zip(top, top[1:]) if b2 >= b1 * (1 - SCORE_SLACK)}
            scores = {d: bound for bound, d in top if d not in close}
            scores.update(self._whoosh_scores(query, close))
            return sorted(scores, key=lambda d: (-scores[d], d))[:limit]
        # A sum that only bounds the score: Whoosh scores documents in order of their bounds until
        # no bound left can reach the last of the top hits.
        ranked: list[tuple[float, int]] = []  # (-score, docnum), best first
        batch: list[int] = []
        for bound, docnum in stream:
            if len(ranked) >= limit and -ranked[limit - 1][0] > bound * (1 + SCORE_SLACK):
                break
            batch.append(docnum)
            if len(batch) >= max(limit, RANKING_STEP):
                ranked = sorted(ranked + [(-v, d) for d, v in self._whoosh_scores(query, batch).items()])[:limit]
                batch = []
        ranked = sorted(ranked + [(-v, d) for d, v in self._whoosh_scores(query, batch).items()])[:limit]
        return [docnum for _, docnum in ranked]

    def _score_parts(self, q: Q.Query, factor: float, parts: list, required: bool) -> tuple[float, bool] | None:
        """Add the (postings, factor) whose sum makes a query's score; return (constant part, exact).

        `required`: every selected document matches this part; otherwise the part is under an Or
        and counts where it matches. A term or phrase counts exactly where it occurs; a part
        such as an And under an Or may not count where some of its terms occur, which makes the
        sum only a bound (exact False). Returns None for queries whose score is not such a sum.
        """
        kind = type(q)
        if kind is Q.Term:
            # Term's matcher multiplies its score by the boost.
            parts.append((self.term(q.fieldname, q.text), factor * q.boost))
            return 0.0, True
        if kind is Q.Phrase:
            # A phrase scores as the sum of its words' scores, times its boost.
            parts.append((self.phrase(q), factor * q.boost))
            return 0.0, True
        if kind is Q.Not:
            # Whoosh scores 1 for a document a Not matches.
            return factor, required
        if q is Q.NullQuery:
            return 0.0, True
        if kind is Q.Or and not q.minmatch and q.scale is None:
            children = [(child, False) for child in q.children()]
        elif kind is Q.And:
            children = [(child, True) for child in q.children()]
        elif kind is Q.AndMaybe:
            children = [(q.a, True), (q.b, False)]
        elif kind is Q.AndNot or kind is Q.Require:
            # Only the first part scores.
            children = [(q.a, True)]
        else:
            return None
        if kind in (Q.And, Q.Or) and len(children) > 1:
            # A compound query of one part is that part's matcher: its own boost applies only to more.
            factor *= q.boost
        total, exact = 0.0, True
        for child, child_required in children:
            summed = self._score_parts(child, factor, parts, required and child_required)
            if summed is None:
                return None
            total += summed[0]
            # A part that must match where its parent matches, under a parent that may not.
            exact = exact and summed[1] and (required or not child_required)
        return total, exact

    def _by_bound(self, parts, constant: float, selected: int):
        """Yield (bound, docnum) for the selected documents, highest bound first.

        A document's bound is the sum of its parts' scores, at least Whoosh's score for it. When
        the selection is small every bound is computed; otherwise the parts are read best score
        first, round by round, until no unread document could have a higher bound than those left.
        """
        columns = self.columns
        postings = sum(len(p.docs) for p, _ in parts)
        if selected.bit_count() * len(parts) * 4 <= postings or not parts:
            bounds = [(-(constant + sum(f * p.score(d) for p, f in parts)), d) for d in from_bits(selected)]
            bounds.sort()
            for negative, d in bounds:
                yield -negative, d
            return
        wanted = membership(selected, columns.size)
        seen: set[int] = set()
        heap: list[tuple[float, int]] = []
        depth = 0
        while True:
            orders = [(p.docs, p.scores, p.best_first(depth + RANKING_STEP + 1), f) for p, f in parts]
            # No document first met deeper in every list can score more than this.
            ceiling = constant + sum(f * scores[order[depth]] for docs, scores, order, f in orders if depth < len(docs))
            while heap and -heap[0][0] >= ceiling:
                negative, d = heapq.heappop(heap)
                yield -negative, d
            if all(depth >= len(docs) for docs, _, _, _ in orders):
                while heap:
                    negative, d = heapq.heappop(heap)
                    yield -negative, d
                return
            for docs, _, order, _ in orders:
                for i in order[depth:depth + RANKING_STEP]:
                    d = docs[i]
                    if d not in seen and wanted[d >> 3] >> (d & 7) & 1:
                        seen.add(d)
                        heapq.heappush(heap, (-(constant + sum(f * p.score(d) for p, f in parts)), d))
            depth += RANKING_STEP

    def _whoosh_scores(self, query: Q.Query, docnums) -> dict[int, float]:
        """Return Whoosh's score of each document, from the matchers `searcher.search` would use."""
        scores: dict[int, float] = {}
        if not docnums:
            return scores
        context = self.searcher.context()
        docnums = sorted(docnums)
        for sub, offset in self.searcher.leaf_searchers():
            end = offset + sub.doc_count_all()
            m = query.matcher(sub, context)
            for d in docnums:
                if not offset <= d < end or not m.is_active():
                    continue
                m.skip_to(d - offset)
                if m.is_active() and m.id() == d - offset:
                    scores[d] = m.score()
        return scores


def _unfiltered(m):
    """Return a segment's postings without the filter Whoosh wraps them in when the segment has deletions.

    A reader filters postings only to leave out its deleted documents. Those are dropped by the
    live-documents bitmap instead: every matched set is intersected with it, and only selected
    (live) documents are ranked.
    """
    while isinstance(m, FilterMatcher):
        m = m.child
    return m


def _decode_positions(value: bytes) -> list[int]:
    """Return the positions in a Positions posting, as Positions.decode_positions does, with C loops.

    The value is the count (an unsigned int) then the pickled position deltas.
    """
    return list(accumulate(pickle.loads(value[_INT_SIZE:] if value.endswith(b".") else value[_INT_SIZE:] + b".")))


def cached_postings(searcher) -> CachedPostings:
    """Return the postings cache of a searcher, created on first use and kept with it."""
    postings = getattr(searcher, "_cached_postings", None)
    if postings is None:
        postings = searcher._cached_postings = CachedPostings(searcher, facet_columns(searcher))
    return postings


def positive_terms(query: Q.Query, reader) -> set[str]:
    """Return the index terms a query looks for (not those it excludes), to highlight."""
    terms: set[str] = set()

    def walk(node):
        if isinstance(node, Q.Not):
            return
        if node.is_leaf():
            if getattr(node, "fieldname", None) not in FIELD_BOOSTS:
                return
            if isinstance(node, Q.Phrase):
                terms.update(node.words)
            elif isinstance(node, Q.Term):
                terms.add(node.text)
            elif isinstance(node, (Q.Prefix, Q.Wildcard, Q.FuzzyTerm)):
                # The words of the index a pattern stands for, bounded: "a*" must not list the vocabulary.
                for i, (_, text) in enumerate(node.expanded_terms(reader)):
                    if i >= MAX_PATTERN_TERMS:
                        break
                    terms.add(text.decode("utf-8") if isinstance(text, bytes) else text)
            return
        for child in node.children():
            walk(child)

    walk(query)
    return terms


def _hit(searcher, docnum: int, terms: set) -> dict:
    """Return one hit as the API shows it."""
    stored = searcher.stored_fields(docnum)
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
    }


def document(searcher, doc_id: str, *, similar: int = 5) -> dict | None:
    """Return a document by id with its full text and "more like this", or None."""
    docnum = searcher.document_number(id=doc_id)
    if docnum is None:
        return None
    stored = searcher.stored_fields(docnum)
    more = []
    try:
        for hit in searcher.more_like(docnum, "body", top=similar):
            more.append({"id": hit["id"], "title": hit.get("title", ""), "source": known_source(hit.get("source")),
                         "date": hit.get("date_iso")})
    except Exception:  # a document too short to have key terms has no similar ones
        more = []
    return {
        "id": stored["id"], "title": stored.get("title", ""), "url": stored.get("url"),
        "source": known_source(stored.get("source")), "date": stored.get("date_iso"),
        "date_precision": stored.get("date_precision"), "language": stored.get("language"),
        "body": stored.get("body", ""), "more_like_this": more,
    }
