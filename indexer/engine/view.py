"""One state of the index opened for searching, and what its searches share: postings, columns, spelling."""

from __future__ import annotations

import functools
import logging
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

from whoosh.classify import Expander
from whoosh.query import Or, Term

from indexer.engine.bitmaps import from_bits, to_bits
from indexer.engine.postings import BYTES_PER_POSTING, CachedPostings
from indexer.engine.query import (
    FIELD_BOOSTS,
    PROXIMITY_MAX_CANDIDATES,
    any_of,
    highlight_terms,
    is_everything,
    match_sources,
    parse_query,
    part_label,
    proximity_words,
    required_parts,
    typed_words,
    with_proximity,
)
from indexer.engine.schema import COLUMN_DEFAULTS
from indexer.engine.spelling import Spelling
from indexer.engine.vocabulary import Vocabulary

log = logging.getLogger(__name__)
# The postings a view keeps, unless told otherwise (see CachedPostings).
DEFAULT_CACHE_BYTES = 256 * 1024 * 1024
# Seconds one search may spend matching and ranking before it answers with what it has: with
# facets and snippets after, a response within half a second.
DEFAULT_TIME_BUDGET = 0.3
# Words per field whose postings a new view reads before it serves, at most: only long lists cost much to read.
PREFETCH_WORDS = 64
# Key words of a release that "more like this" searches for, as Whoosh's more_like takes them.
MORE_LIKE_TERMS = 5


def _serialised(method):
    """Run a view method under the view's lock: the threads of a server share one view and its caches."""

    @functools.wraps(method)
    def locked(self, *args, **kwargs):
        with self._lock:
            return method(self, *args, **kwargs)

    return locked


class Budget:
    """The time one search may take, and what was cut short to keep to it."""

    def __init__(self, seconds: float):
        self.deadline = time.monotonic() + seconds
        self.notes: list[str] = []
        self._skipped: dict[object, set[str]] = {}
        self.words_read: set = set()

    def expired(self) -> bool:
        """Return True once the time is up."""
        return time.monotonic() > self.deadline

    def cut(self, note: str) -> None:
        """Record what was cut short, once."""
        if note not in self.notes:
            self.notes.append(note)

    def skip(self, fieldname: str, text) -> None:
        """Record a word left out of the search because the time ran out before it was read."""
        if not self._skipped:
            self.notes.append("")  # the place of the note naming the words, filled in by notice()
        self._skipped.setdefault(text, set()).add(fieldname)

    def skipped(self, fieldname: str, text) -> bool:
        """Return True when a word was left out of this search for time."""
        return fieldname in self._skipped.get(text, ())

    def left_out_words(self) -> bool:
        """Return True when any word was left out of this search for time."""
        return bool(self._skipped)

    @property
    def was_cut(self) -> bool:
        """Return True when the search did less than all its work (its answer is not to be kept)."""
        return bool(self.notes)

    def notice(self) -> str | None:
        """Return what to tell the user about the work cut short, or None."""
        words = " ".join(str(text) for text in self._skipped)
        skipped = f"Some words were left out for lack of time (searching again includes them): {words}."
        return " ".join(note or skipped for note in self.notes) or None


@dataclass(frozen=True)
class ParsedQuery:
    """A user's query as the engine will run it (opaque to callers), and what to tell the user about it."""

    query: object
    notice: str | None
    # An empty search: every document, in no order of relevance.
    everything: bool
    # Started when the query is parsed; matching and ranking keep to it and say what they cut.
    budget: Budget = field(default_factory=lambda: Budget(DEFAULT_TIME_BUDGET))
    # Words no release has, as typed, searched through their spelling variants instead.
    fuzzed: tuple[str, ...] = ()


@dataclass(frozen=True)
class QueryParts:
    """The parts a query requires, as typed, and the documents each matches; a query ranking any of them."""

    labels: list[str]
    matched: list[int]
    # Each required part OR-ed, the exclusions kept: ranks the documents that match some parts.
    any_part: ParsedQuery


class IndexView:
    """A searcher on one generation of the index, with the caches every search on it shares.

    Documents are numbered 0..size-1 (deleted ones included); sets of them are bitmaps (bitmaps.py).
    Safe to share between threads: the searcher's files and the caches are used under one lock,
    which costs nothing a Python process could otherwise run in parallel (the GIL).
    `on_close` runs once the view is closed (it releases the generation's reader lock).
    """

    def __init__(
        self,
        searcher,
        generation: Path,
        *,
        cache_bytes: int = DEFAULT_CACHE_BYTES,
        time_budget: float | None = None,
        on_close=None,
    ):
        self._searcher = searcher
        self._lock = threading.RLock()
        self._on_close = on_close
        self.time_budget = DEFAULT_TIME_BUDGET if time_budget is None else time_budget
        self.closed = False
        self.generation = generation
        # When the state it reads went live (seconds since the epoch), as its opener knows it.
        self.published_at: float | None = None
        reader = searcher.reader()
        # Changes with every reindex that commits: ETags and caches key on it.
        self.version = f"{generation.name}.{reader.generation()}"
        self.size = reader.doc_count_all()
        self._docnums = list(reader.all_doc_ids())
        self.live = to_bits(self._docnums)
        self.postings = CachedPostings(searcher, self.live, self.size, budget_bytes=cache_bytes)
        # Among equally good matches, newer first (dates sort as YYYYMMDD; undated last), then by number.
        self.postings.tie_key = lambda docnum: -self.column("date").get(docnum, 0)
        self.vocabulary = Vocabulary(searcher)
        self.spelling = Spelling(searcher, self.vocabulary)
        self._columns: dict[str, dict] = {}
        # What callers derive from this view and keep as long as it lives (facet columns, say).
        self.memo: dict = {}

    def __enter__(self) -> IndexView:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @_serialised
    def close(self) -> None:
        """Close the searcher; the view cannot be used after."""
        if self.closed:
            return
        self.closed = True
        try:
            self._searcher.close()
        finally:
            if self._on_close is not None:
                self._on_close()

    @_serialised
    def is_current(self) -> bool:
        """Return False when a commit has changed the generation this view reads."""
        return self._searcher.up_to_date()

    # -- documents and columns --

    @_serialised
    def copies(self, doc_ids) -> dict[str, int]:
        """Return how many live documents have each of some ids: more than one means a broken reindex."""
        return copies_in(self._searcher, doc_ids)

    def doc_count(self) -> int:
        """Return how many live documents the view holds."""
        return len(self._docnums)

    @_serialised
    def column(self, name: str) -> dict:
        """Return a sortable field's value for each live document (read once per view)."""
        if name not in self._columns:
            self._columns[name] = _column_values(self._searcher.reader(), name, self._docnums, COLUMN_DEFAULTS[name])
        return self._columns[name]

    @_serialised
    def stored(self, docnum: int) -> dict:
        """Return a document's stored fields."""
        return self._searcher.stored_fields(docnum)

    def stored_many(self, docnums: list[int]) -> list[dict]:
        """Return the stored fields of several documents, read together where the engine can."""
        prefetch = getattr(self._searcher.reader(), "prefetch_stored", None)
        if prefetch is not None:
            prefetch(docnums)
        return [self.stored(docnum) for docnum in docnums]

    @_serialised
    def docnum(self, doc_id: str) -> int | None:
        """Return the number of the live document with an id, or None."""
        return self._searcher.document_number(id=doc_id)

    @_serialised
    def similar(self, docnum: int, count: int) -> list[dict]:
        """Return the stored fields of up to `count` documents most like one, by the key words of its body.

        The key words are those Whoosh's `more_like` picks, and the documents are in the order it
        gives them (ties: newer first), but ranked by the postings cache: Whoosh's own search of
        them stepped through every posting, seconds a release at 1,000,000.
        """
        reader = self._searcher.reader()
        try:
            # Searcher.key_terms, in its steps: the body is analysed once, and its words are known before
            # Whoosh looks each one up (on the database, one query for them all).
            expander = Expander(reader, "body")
            expander.add_document(docnum)
            if hasattr(reader, "prefetch_infos"):
                to_bytes = self._searcher.schema["body"].to_bytes
                reader.prefetch_infos("body", [to_bytes(word) for word in expander.topN_weight])
            key_terms = expander.expanded_terms(MORE_LIKE_TERMS, normalize=False)
        except Exception:  # a document too short to have key terms has no similar ones
            return []
        if not key_terms:
            return []
        query = Or([Term("body", word, boost=weight) for word, weight in key_terms])
        budget = Budget(self.time_budget)
        selected = self.postings.matched(query, budget) & ~(1 << docnum)
        best = self.postings.best(query, selected, count, budget)
        if best is None:
            best = [hit.docnum for hit in self._searcher.search(query, limit=count, mask={docnum})]
        return self.stored_many(best)

    # -- queries --

    @_serialised
    def resolve_sources(self, wanted: str) -> list[str]:
        """Return the source names a user means by `wanted` (any case; a prefix or a part of a name)."""
        names = self.memo.get("_source_names")
        if names is None:
            names = self.memo["_source_names"] = sorted(set(self.column("source").values()))
        return match_sources(names, wanted)

    @_serialised
    def parse(self, text: str) -> ParsedQuery:
        """Parse a query as the user typed it; syntax it cannot read is searched as plain words."""
        query, notice, fuzzed = parse_query(text, self._searcher, self.spelling, self.vocabulary, self.resolve_sources)
        return ParsedQuery(query, notice, is_everything(query), Budget(self.time_budget), fuzzed)

    @_serialised
    def parts(self, parsed: ParsedQuery, text: str) -> QueryParts | None:
        """Return the required parts of a query and what each matches, or None when it has fewer than two."""
        parts, others, excluded = required_parts(parsed.query)
        if len(parts) < 2 or parsed.everything:
            return None
        allowed = self.live
        for other in others:
            allowed &= self.postings.matched(other, parsed.budget)
        if excluded is not None:
            allowed &= ~self.postings.matched(excluded, parsed.budget)
        matched = [self.postings.matched(part, parsed.budget) & allowed for part in parts]
        budget = parsed.budget
        if budget.left_out_words():
            # A part with a word left out for time is not a part no release has: the releases with most of
            # the words are told apart by the parts read whole alone (searching again reads more).
            read = [
                i
                for i, part in enumerate(parts)
                if not any(isinstance(t, Term) and budget.skipped(t.fieldname, t.text) for t in part.leaves())
            ]
            if len(read) < 2:
                return None
            parts, matched = [parts[i] for i in read], [matched[i] for i in read]
        any_part = replace(parsed, query=any_of(parts, others, excluded), everything=False)
        typed = typed_words(text)
        return QueryParts([part_label(part, typed) for part in parts], matched, any_part)

    @_serialised
    def matched(self, parsed: ParsedQuery) -> int:
        """Return the bitmap of the live documents a query matches."""
        try:
            return self.postings.matched(parsed.query, parsed.budget)
        except Exception:  # the cache reads Whoosh internals; Whoosh's own path must still answer
            log.exception("The postings cache could not match %r; matching with Whoosh", parsed.query)
            return to_bits(self._searcher.docs_for_query(parsed.query)) & self.live

    @_serialised
    def ranking(self, parsed: ParsedQuery) -> object:
        """Return the query that ranks a search: its words side by side count more, when that is cheap to check."""
        words = proximity_words(parsed.query)
        if not words:
            return parsed.query
        together = self.live
        for word in words:
            together &= self.postings.term("body", word).bits
        if not together or together.bit_count() > PROXIMITY_MAX_CANDIDATES:
            return parsed.query
        return with_proximity(parsed.query, words)

    @_serialised
    def top(self, parsed: ParsedQuery, selected: int, limit: int, *, approximate: bool = False) -> list[int]:
        """Return the `limit` best of the selected documents by relevance (ties: newer first, then lower number).

        `approximate`: by summed scores alone, which is cheaper and exact for sums of words (see postings.best).
        """
        parsed = replace(parsed, query=self.ranking(parsed))
        try:
            best = self.postings.best(parsed.query, selected, limit, parsed.budget, approximate=approximate)
        except Exception:  # as in matched: Whoosh's ranking is the fallback, never an error page
            log.exception("The postings cache could not rank %r; ranking with Whoosh", parsed.query)
            best = None
        if best is not None:
            return best
        # A query part whose scores cannot be bounded (a prefix, a range): Whoosh scores every match.
        # It takes a set, and an empty one would mean "no filter". limit=None: with a limit, Whoosh's
        # collector can lose the best document of an OR under an exclusion ("sanc* OR minsk -zebra").
        if not selected:
            return []
        hits = self._searcher.search(parsed.query, filter=set(from_bits(selected)), limit=None)
        tie = self.postings.tie_key
        return [d for _, _, d in sorted((-hit.score, tie(hit.docnum), hit.docnum) for hit in hits)[:limit]]

    @_serialised
    def highlight_terms(self, parsed: ParsedQuery) -> set[str]:
        """Return the index terms a query looks for (not those it excludes), for snippets to mark."""
        return highlight_terms(parsed.query, self._searcher.reader())

    @_serialised
    def suggest(self, text: str) -> str | None:
        """Return the query with unknown words replaced by the commonest close words of the index, or None."""
        return self.spelling.suggest(text)

    @_serialised
    def prefetch(self, max_bytes: int) -> int:
        """Read the commonest words' postings into the cache (up to max_bytes) and the names; return how many words.

        Those are the words whose first read costs most, and that most searches contain.
        """
        count = 0
        for fieldname in FIELD_BOOSTS:
            # Each word also holds a bitmap of every document number.
            words = self.vocabulary.commonest(
                fieldname, PREFETCH_WORDS, max_bytes // len(FIELD_BOOSTS), self.size // 8 + 200, BYTES_PER_POSTING
            )
            for word in words:
                self.postings.term(fieldname, word)
                count += 1
        # A name's other spellings are looked for in the names field's whole vocabulary: read here, not by the first
        # visitor who types a name (4.3 s on PostgreSQL at 1,000,000 releases).
        self.vocabulary.words("names")
        return count

    @_serialised
    def cache_bytes(self) -> int:
        """Return about how many bytes the view's postings cache holds now."""
        return self.postings.held_bytes


def _column_values(reader, name: str, docnums: list[int], default) -> dict:
    """Return a column's value for each document, `default` where a segment holds none.

    Indexes written before every document had every column end some segments' columns early,
    and Whoosh's reader then raises IndexError for the documents past the end.
    """
    if not docnums:
        return {}
    column = reader.column_reader(name)
    values = {}
    for d in docnums:
        try:
            values[d] = column[d]
        except IndexError:
            values[d] = default
    return values


def copies_in(searcher, doc_ids) -> dict[str, int]:
    """Return how many live documents of a Whoosh searcher have each of some ids."""
    return {doc_id: sum(1 for _ in searcher.docs_for_query(Term("id", doc_id))) for doc_id in doc_ids}
