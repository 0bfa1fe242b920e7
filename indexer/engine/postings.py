"""Matched sets and top hits of queries from term postings read once per index view, with Whoosh's own scores.

Whoosh walks every posting of a query in Python, twice when the matched set and the top hits
are asked for separately: at 100,000 documents a common word costs hundreds of milliseconds.
Here each term's postings are read once per view, with Whoosh's own score for each, and kept
(up to a budget): the matched set is then bitmap arithmetic, and the top hits come from the
best-scoring postings first. Whoosh still scores the few documents that can reach the top, with
its own matchers, so the order is exactly the one `searcher.search` gives.
"""

from __future__ import annotations

import bisect
import heapq
from array import array
from collections import OrderedDict
from collections.abc import Callable
from functools import lru_cache
from itertools import islice

import numpy as np
from whoosh import query as Q
from whoosh.formats import Positions

from indexer.engine import internals
from indexer.engine.bitmaps import membership, positions, to_bits

# Bytes a term's postings hold per document (number, score, place in the best-first order), besides
# the bitmap of its documents. Least recently used terms and phrases go beyond the view's budget.
BYTES_PER_POSTING = 16
MAX_CACHED_PHRASES = 256
# Documents whose positions a phrase check reads between looks at the clock.
PHRASE_STEP = 8192
# Floating-point slack between a sum of cached scores and Whoosh's sum of the same scores.
SCORE_SLACK = 1e-9
# Postings read per term and round before checking whether the top hits are settled.
RANKING_STEP = 32
# Up to this many parts, a query's lists are read best first; beyond, every posting is summed once.
BEST_FIRST_PARTS = 6
CUT_RANKING = "The ranking was cut short at the time allowed for one search: the order is approximate."


class _TermPostings:
    """The documents (ascending) and Whoosh scores of one term, and the bitmap of its documents."""

    __slots__ = ("docs", "scores", "bits", "_by_score", "nbytes")

    def __init__(self, docs: array, scores: array):
        self.docs, self.scores = docs, scores
        self.bits = to_bits(docs)
        self._by_score = None
        self.nbytes = BYTES_PER_POSTING * len(docs) + self.bits.bit_length() // 8 + 200

    def best_first(self, count: int) -> array:
        """Return positions of postings, best score first, in order at least as far as the first `count`."""
        n = len(self.docs)
        if self._by_score is None or len(self._by_score) < min(count, n):
            order = None
            # Asked for more than sorted so far: sort well beyond it, not one step at a time.
            if self._by_score is not None:
                count = max(count, 4 * len(self._by_score))
            scores = np.frombuffer(self.scores, dtype=np.float64)
            if count * 16 < n:
                # Sorting a common word's postings costs more than ranking: sort only those above
                # a cutoff estimated from every 16th score, when that gives enough.
                sample = np.sort(scores[::16])[::-1]
                cutoff = sample[min(len(sample) - 1, count // 16 + 1)]
                order = np.flatnonzero(scores >= cutoff)
                if len(order) < count:
                    order = None
            if order is None:
                order = np.arange(n)
            # Best first, equal scores in document order (a stable sort of the negated scores).
            ranked = order[np.argsort(-scores[order], kind="stable")]
            self._by_score = array("i", ranked.astype(np.intc).tobytes())
        return self._by_score

    def score(self, docnum: int) -> float:
        """Return the term's score in a document, 0.0 when the document does not contain it."""
        i = bisect.bisect_left(self.docs, docnum)
        return self.scores[i] if i < len(self.docs) and self.docs[i] == docnum else 0.0

    def scores_of(self, docnums: np.ndarray) -> np.ndarray:
        """Return the term's score in each of some documents, 0.0 where a document does not contain it."""
        if not len(self.docs):
            return np.zeros(len(docnums))
        docs = np.frombuffer(self.docs, dtype=np.intc)
        i = np.minimum(np.searchsorted(docs, docnums), len(docs) - 1)
        return np.where(docs[i] == docnums, np.frombuffer(self.scores, dtype=np.float64)[i], 0.0)


EMPTY_POSTINGS = _TermPostings(array("i"), array("d"))


def _bounds(parts, constant: float, docnums: np.ndarray) -> np.ndarray:
    """Return each document's bound: `constant` plus its parts' scores times their factors.

    Added part by part, from 0, as `constant + sum(f * p.score(d) for p, f in parts)` adds them:
    the same floats.
    """
    total = np.zeros(len(docnums))
    for p, factor in parts:
        total = total + factor * p.scores_of(docnums)
    return constant + total


class HeldValues:
    """Raw posting values gathered from several reads, in document order, indexed as one list but not copied."""

    def __init__(self):
        self._parts: list = []
        self._ends: list[int] = []

    def extend(self, part) -> None:
        if len(part):
            self._parts.append(part)
            self._ends.append(len(self) + len(part))

    def __len__(self) -> int:
        return self._ends[-1] if self._ends else 0

    def __getitem__(self, i: int):
        if not 0 <= i < len(self):
            raise IndexError(i)
        k = bisect.bisect_right(self._ends, i)
        return self._parts[k][i - (self._ends[k - 1] if k else 0)]

    def positions(self, indices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Return (count, positions) of the Positions values at some ascending indices, decoded a part at a time."""
        counts, places = [], []
        bounds = np.searchsorted(indices, self._ends)
        a = 0
        for k, b in enumerate(bounds.tolist()):
            if b > a:
                part, local = self._parts[k], indices[a:b] - (self._ends[k - 1] if k else 0)
                if hasattr(part, "positions"):
                    found = part.positions(local)
                else:
                    # Whoosh's decoded block: its values joined, then decoded at once as the database's are.
                    values = [part[i] for i in local.tolist()]
                    sizes = np.fromiter(map(len, values), dtype=np.int64, count=len(values))
                    ends = np.cumsum(sizes)
                    buffer = np.frombuffer(b"".join(values), dtype=np.uint8)
                    found = internals.decode_positions_many(buffer, ends - sizes, ends)
                counts.append(found[0])
                places.append(found[1])
            a = b
        if not counts:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        return np.concatenate(counts), np.concatenate(places)


def _position_arrays(found: dict[int, list[int]], docnums: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return (count, positions) per document of some documents' positions, none for a document not in `found`."""
    of = [found.get(d, ()) for d in docnums.tolist()]
    counts = np.fromiter(map(len, of), dtype=np.int64, count=len(of))
    return counts, np.fromiter((p for ps in of for p in ps), dtype=np.int64, count=int(counts.sum()))


def _joined_bits(parts: list[np.ndarray]) -> int:
    """Return the bitmap of the documents in some arrays."""
    return to_bits(np.concatenate(parts)) if parts else 0


class CachedPostings:
    """Matched sets and top hits of queries, from term postings read once per searcher."""

    def __init__(self, searcher, live: int, size: int, *, budget_bytes: int):
        self.searcher = searcher
        # The live documents' bitmap and the number of document numbers, deleted ones included.
        self.live, self.size = live, size
        self.budget_bytes = budget_bytes
        self._terms: OrderedDict[tuple, _TermPostings] = OrderedDict()
        self._phrases: OrderedDict[tuple, _TermPostings] = OrderedDict()
        self._field_lengths: dict[tuple, list] = {}
        # Phrases checked in part when a search ran out of time: (documents checked, found so far).
        self._partial_phrases: OrderedDict[tuple, tuple[int, list]] = OrderedDict()
        self.phrase_step = PHRASE_STEP
        self.held_bytes = 0
        # Orders documents of equal score (lower first): the view sets it to newer first.
        self.tie_key: Callable[[int], int] = lambda docnum: 0

    def _keep(self, cache: OrderedDict, key, postings: _TermPostings) -> None:
        """Keep postings in a cache, dropping the least recently used terms and phrases beyond the budget."""
        cache[key] = postings
        self.held_bytes += postings.nbytes
        # The postings just read stay, whatever their size: the query asking for them is running.
        for other in (self._terms, self._phrases):
            while self.held_bytes > self.budget_bytes and len(other) > 1:
                self.held_bytes -= other.popitem(last=False)[1].nbytes

    def term(self, fieldname: str, text, values: HeldValues | None = None) -> _TermPostings:
        """Return the postings of a term as `Term(fieldname, text)` matches them (none when absent).

        When the postings are read now (not kept from before) and `values` is given, it receives
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
        found = _TermPostings(docs, scores)
        self._keep(self._terms, key, found)
        return found

    def _read_postings(
        self, sub, offset: int, fieldname: str, btext: bytes, docs: array, scores: array, values: HeldValues | None
    ) -> None:
        """Append a segment's postings of a term and Whoosh's score for each (and their values, if asked)."""
        m = internals.unfiltered(sub.postings(fieldname, btext))
        scoring = internals.weight_scorer(m) if internals.is_block_matcher(m) else None
        if scoring is not None:
            # Block by block: decoding a block costs less than stepping the matcher posting by
            # posting, and a score from (weight, length) is what `scorer.score(matcher)` computes.
            kind, bm25 = scoring
            whole = internals.list_arrays(m)
            if whole is not None:
                # A list held in numpy arrays (the database's): scored in one pass, no Python object per posting.
                ids, weights, values_of = whole
                if kind == "bm25":
                    lengths = self._length_array(sub, offset, fieldname)[ids]
                    weights = internals.bm25_scores(weights, lengths, *internals.bm25_parameters(m))
                docs.frombytes((ids + offset).astype(np.intc).tobytes())
                scores.frombytes(np.asarray(weights, dtype=np.float64).tobytes())
                if values is not None:
                    values.extend(values_of())
                return
            lengths = self._lengths(sub, offset, fieldname) if kind == "bm25" else None
            # Few (weight, length) pairs recur: score each once.
            score = lru_cache(maxsize=None)(bm25) if bm25 is not None else None
            for ids, weights, block_values in internals.blocks(m, weights=True, values=values is not None):
                docs.extend([d + offset for d in ids] if offset else ids)
                if lengths is None:
                    scores.extend(map(float, weights))
                else:
                    scores.extend(map(score, weights, map(lengths.__getitem__, ids)))
                if values is not None:
                    values.extend(block_values)
            return
        stepped = []
        while m.is_active():
            docs.append(m.id() + offset)
            scores.append(m.score())
            if values is not None:
                stepped.append(m.value())
            m.next()
        if values is not None:
            values.extend(stepped)

    def _lengths(self, sub, offset: int, fieldname: str) -> list:
        """Return a segment's field length per document, as its scorer reads them (read once)."""
        key = (offset, fieldname)
        if key not in self._field_lengths:
            self._field_lengths[key] = [sub.doc_field_length(d, fieldname, 1) for d in range(sub.doc_count_all())]
        return self._field_lengths[key]

    def _length_array(self, sub, offset: int, fieldname: str) -> np.ndarray:
        """Return a segment's field length per document as its scorer reads them, as an array (read once)."""
        key = (offset, fieldname, "array")
        if key not in self._field_lengths:
            reader = sub.reader()
            if hasattr(reader, "field_length_array"):
                self._field_lengths[key] = reader.field_length_array(fieldname, 1)
            else:
                lengths = self._field_lengths.get((offset, fieldname))
                if lengths is None:
                    lengths = [sub.doc_field_length(d, fieldname, 1) for d in range(sub.doc_count_all())]
                self._field_lengths[key] = np.array(lengths, dtype=np.int64)
        return self._field_lengths[key]

    # -- the matched set --

    def matched(self, query: Q.Query, budget=None) -> int:
        """Return the bitmap of the live documents a query matches, as `docs_for_query` finds them.

        With a budget that runs out, words not read yet are left out (the budget says which),
        and a phrase is checked in as many documents as time allows.
        """
        return self._bits(query, budget) & self.live

    def _bits(self, q: Q.Query, budget=None, neutral: int = 0) -> int:
        """Return the bitmap of the documents a query node matches (deleted ones possibly included).

        `neutral` is what a word left out for time counts as: nothing under an Or, anything under an And.
        """
        kind = type(q)
        if kind is Q.Term:
            if budget is not None and self._left_out(q, budget):
                budget.skip(q.fieldname, q.text)
                return neutral
            if budget is not None:
                budget.words_read.add(q.text)
            return self.term(q.fieldname, q.text).bits
        if kind is Q.And or kind is Q.Require:
            children = list(q.children())
            bits = self.live if children else 0
            for child in children:
                bits &= self._bits(child, budget, self.live)
            return bits
        if kind is Q.Or and not q.minmatch and q.scale is None:
            children = list(q.children())
            if budget is not None and all(self._left_out(child, budget) for child in children):
                # A word left out in every field it was looked for in: as if it were not in the query.
                for child in children:
                    budget.skip(child.fieldname, child.text)
                return neutral
            bits = 0
            for child in children:
                bits |= self._bits(child, budget, 0)
            return bits
        if kind is Q.AndNot:
            return self._bits(q.a, budget, neutral) & ~self._bits(q.b, budget, 0)
        if kind is Q.AndMaybe:
            return self._bits(q.a, budget, neutral)
        if kind is Q.Not:
            return self.live & ~self._bits(q.query, budget, 0)
        if kind is Q.Every and not q.fieldname:
            return self.live
        if q is Q.NullQuery:
            return 0
        if kind is Q.Phrase:
            return self.phrase(q, budget).bits
        # Anything else (ranges, fielded numbers): Whoosh finds its documents.
        return to_bits(self.searcher.docs_for_query(q))

    def _left_out(self, q: Q.Query, budget) -> bool:
        """Return True for a word that the search has no time left to read (one in memory costs nothing)."""
        # A search always reads one word (in every field): with none read it would match everything, or nothing.
        return (
            type(q) is Q.Term
            and bool(budget.words_read)
            and q.text not in budget.words_read
            and budget.expired()
            and not self.is_cached(q.fieldname, q.text)
        )

    def is_cached(self, fieldname: str, text) -> bool:
        """Return True when a term's postings are in memory (reading them costs nothing)."""
        try:
            return (fieldname, self.searcher.schema[fieldname].to_bytes(text)) in self._terms
        except (KeyError, ValueError):
            return True

    def phrase(self, q: Q.Phrase, budget=None) -> _TermPostings:
        """Return a phrase's documents and scores (the sum of its words' scores), kept per searcher.

        Positions are checked only in documents that contain every word. When the budget runs
        out first, the documents checked so far are the answer, and the next search of the same
        phrase carries on where this one stopped.
        """
        key = (q.fieldname, tuple(q.words), q.slop)
        if key in self._phrases:
            self._phrases.move_to_end(key)
            return self._phrases[key]
        words, fresh = [], {}
        for word in q.words:
            # A word read now brings its positions along: no second pass over its postings.
            values = HeldValues()
            words.append(self.term(q.fieldname, word, values))
            if values:
                fresh[word] = (words[-1].docs, values)
        every_word = self.live
        for word in words:
            every_word &= word.bits
        complete = True
        if not every_word:
            found = 0
        elif q.slop == 1 and isinstance(self.searcher.schema[q.fieldname].format, Positions):
            found, complete = self._adjacent(q.fieldname, q.words, every_word, fresh, key, budget)
        else:
            found = to_bits(self.searcher.docs_for_query(q))
        numbers = positions(found)
        # Summed word by word from 0, as sum() adds them: the same floats.
        scores = np.zeros(len(numbers))
        for word in words:
            scores = scores + word.scores_of(numbers)
        postings = _TermPostings(array("i", numbers.astype(np.intc).tobytes()), array("d", scores.tobytes()))
        if not complete:
            budget.cut(
                f'"{" ".join(q.words)}" occurs in too many releases to check every one in the time allowed: '
                "the results are those checked so far (searching again checks more)."
            )
            return postings
        if len(self._phrases) >= MAX_CACHED_PHRASES:
            self.held_bytes -= self._phrases.popitem(last=False)[1].nbytes
        self._keep(self._phrases, key, postings)
        return postings

    def _adjacent(
        self, fieldname: str, words: list, candidates: int, fresh: dict, key: tuple, budget
    ) -> tuple[int, bool]:
        """Return the candidates in which the words occur one after the other, as Whoosh's phrase matches them.

        `fresh` holds (documents, raw values) of words just read. Checks in slices of
        documents until done or out of budget; returns (found, complete). An incomplete check
        is kept under `key`, and the next call goes on from there.
        """
        docnums = positions(candidates)
        done, found = self._partial_phrases.pop(key, (0, []))
        fresh = dict(fresh)
        for word in words:
            if word not in fresh:
                # Held once for every slice of this search, where each slice would read the word's postings again.
                held = self._held_values(fieldname, word)
                if held is not None:
                    fresh[word] = held
        step = self.phrase_step
        start = done
        while done < len(docnums):
            # Every search checks one slice at least, so that repeating it always gets further.
            if budget is not None and done > start and budget.expired():
                self._partial_phrases[key] = (done, found)
                while len(self._partial_phrases) > MAX_CACHED_PHRASES:
                    self._partial_phrases.popitem(last=False)
                return _joined_bits(found), False
            chunk = docnums[done : done + step]
            found.append(self._adjacent_in(fieldname, words, chunk, fresh))
            done += len(chunk)
        return _joined_bits(found), True

    def _adjacent_in(self, fieldname: str, words: list, docnums: np.ndarray, fresh: dict) -> np.ndarray:
        """Return those of some documents (ascending) in which the words occur one after the other.

        Every word's positions in the documents are decoded at once, as keys (document, where the
        phrase would start): word i at p says the phrase may start at p - i. The documents left
        with a key common to every word hold the phrase.
        """
        keys = None
        for i, word in enumerate(words):
            if word in fresh:
                docs, values = fresh[word]
                docs = np.frombuffer(docs, dtype=np.intc) if isinstance(docs, array) else docs
                counts, places = values.positions(np.searchsorted(docs, docnums))
            else:
                counts, places = _position_arrays(self._positions(fieldname, word, docnums.tolist()), docnums)
            # The document's index in the high bits; the start, shifted past 0 (p - i >= -i), in the low.
            word_keys = np.repeat(np.arange(len(docnums), dtype=np.int64) << 32, counts) + (places + (len(words) - i))
            keys = word_keys if keys is None else np.intersect1d(keys, word_keys, assume_unique=True)
            if not len(keys):
                return docnums[:0]
        return docnums[np.unique(keys >> 32)]

    def _held_values(self, fieldname: str, word: str) -> tuple[np.ndarray, HeldValues] | None:
        """Return a word's documents and raw values when every segment holds them in arrays (the database's), else None.

        Whoosh's files are read block by block where a slice needs them instead: their values are decoded per block.
        """
        btext = self.searcher.schema[fieldname].to_bytes(word)
        docs, values = [], HeldValues()
        for sub, offset in self.searcher.leaf_searchers():
            if (fieldname, btext) not in sub.reader():
                continue
            whole = internals.list_arrays(internals.unfiltered(sub.reader().postings(fieldname, btext)))
            if whole is None:
                return None
            ids, _, values_of = whole
            docs.append(ids + offset)
            values.extend(values_of())
        return (np.concatenate(docs) if docs else np.zeros(0, dtype=np.int64)), values

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
        m = internals.unfiltered(sub.reader().postings(fieldname, btext))
        wanted = membership(to_bits(docnums), sub.doc_count_all())
        found = {}
        if internals.is_block_matcher(m):
            # Block by block (see _read_postings), skipping blocks that hold none of the documents.
            for first, last, ids, values in internals.block_spans(m):
                i = bisect.bisect_left(docnums, first)
                if i < len(docnums) and docnums[i] <= last:
                    block = ids()
                    hits = [j for j, d in enumerate(block) if wanted[d >> 3] >> (d & 7) & 1]
                    if hits:
                        block_values = values()
                        for j in hits:
                            found[block[j]] = internals.decode_positions(block_values[j])
            return found
        decode = m.format.decoder("positions")
        while m.is_active():
            d = m.id()
            if wanted[d >> 3] >> (d & 7) & 1:
                found[d] = decode(m.value())
            m.next()
        return found

    # -- the top hits --

    def best(
        self, query: Q.Query, selected: int, limit: int, budget=None, *, approximate: bool = False
    ) -> list[int] | None:
        """Return the `limit` best documents of `selected` in the order of Whoosh's scores (ties: see tie_key).

        Returns None when a part of the query has scores that cannot be summed from term postings.
        Words the budget left out of the matched set score nothing; when it runs out while
        ranking, the order is that of the documents ranked so far. `approximate`: the order of
        the summed scores, which bound Whoosh's where they are not equal to them (no Whoosh matcher).
        """
        if getattr(self.searcher.weighting, "use_final", False):
            return None
        parts: list[tuple[_TermPostings, float]] = []
        summed = self._score_parts(query, 1.0, parts, required=True, budget=budget)
        parts = [(p, factor) for p, factor in parts if len(p.docs)]
        if summed is None or not parts:
            return None
        constant, exact = summed
        stream = self._by_bound(parts, constant, selected, budget, want=2 * limit + RANKING_STEP)
        if approximate:
            return [docnum for _, docnum in islice(stream, limit)]
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
            return sorted(scores, key=lambda d: (-scores[d], self.tie_key(d), d))[:limit]
        # A sum that only bounds the score: Whoosh scores documents in order of their bounds until
        # no bound left can reach the last of the top hits.
        ranked: list[tuple[float, int]] = []  # (-score, docnum), best first
        batch: list[int] = []
        for bound, docnum in stream:
            if len(ranked) >= limit and -ranked[limit - 1][0] > bound * (1 + SCORE_SLACK):
                break
            batch.append(docnum)
            if len(batch) >= max(limit, RANKING_STEP):
                ranked = self._ranked(ranked, self._whoosh_scores(query, batch), limit)
                batch = []
                if budget is not None and len(ranked) >= limit and budget.expired():
                    budget.cut(CUT_RANKING)
                    break
        ranked = self._ranked(ranked, self._whoosh_scores(query, batch), limit)
        return [docnum for _, _, docnum in ranked]

    def _ranked(self, ranked: list, scores: dict[int, float], limit: int) -> list[tuple[float, int, int]]:
        """Return the best `limit` of (-score, tie key, docnum) ranked so far and newly scored documents."""
        return sorted(ranked + [(-v, self.tie_key(d), d) for d, v in scores.items()])[:limit]

    def _score_parts(
        self, q: Q.Query, factor: float, parts: list, required: bool, budget=None
    ) -> tuple[float, bool] | None:
        """Add the (postings, factor) whose sum makes a query's score; return (constant part, exact).

        `required`: every selected document matches this part; otherwise the part is under an Or
        and counts where it matches. A term or phrase counts exactly where it occurs; a part
        such as an And under an Or may not count where some of its terms occur, which makes the
        sum only a bound (exact False). Returns None for queries whose score is not such a sum.
        """
        kind = type(q)
        if kind is Q.Term:
            if budget is not None and budget.skipped(q.fieldname, q.text):
                # Left out of the matched set for time: ranked without it too.
                return 0.0, True
            # Term's matcher multiplies its score by the boost.
            parts.append((self.term(q.fieldname, q.text), factor * q.boost))
            return 0.0, True
        if kind is Q.Phrase:
            # A phrase scores as the sum of its words' scores, times its boost.
            parts.append((self.phrase(q, budget), factor * q.boost))
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
            summed = self._score_parts(child, factor, parts, required and child_required, budget)
            if summed is None:
                return None
            total += summed[0]
            # A part that must match where its parent matches, under a parent that may not.
            exact = exact and summed[1] and (required or not child_required)
        return total, exact

    def _by_bound(self, parts, constant: float, selected: int, budget=None, want: int = 64):
        """Yield (bound, docnum) for the selected documents, highest bound first.

        A document's bound is the sum of its parts' scores, at least Whoosh's score for it. When
        the selection is small every bound is computed; otherwise the parts are read best score
        first, round by round, until no unread document could have a higher bound than those left.
        """
        postings = sum(len(p.docs) for p, _ in parts)
        if selected.bit_count() * len(parts) * 4 <= postings or not parts:
            docs = positions(selected)
            bounds = _bounds(parts, constant, docs)
            for k in np.lexsort((docs, -bounds)).tolist():
                yield float(bounds[k]), int(docs[k])
            return
        if len(parts) > BEST_FIRST_PARTS:
            yield from self._by_sum(parts, constant, selected, budget, want)
            return
        wanted = membership(selected, self.size)
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
            fresh = []
            for docs, _, order, _ in orders:
                for i in order[depth : depth + RANKING_STEP]:
                    d = docs[i]
                    if d not in seen and wanted[d >> 3] >> (d & 7) & 1:
                        seen.add(d)
                        fresh.append(d)
            if fresh:
                for bound, d in zip(_bounds(parts, constant, np.array(fresh)).tolist(), fresh):
                    heapq.heappush(heap, (-bound, d))
            depth += RANKING_STEP

    def _by_sum(self, parts, constant: float, selected: int, budget=None, want: int = 64):
        """Yield (bound, docnum) for the selected documents, highest first, summing every posting once.

        With many parts (a pattern's words, a long OR), reading each list best first costs a
        lookup in every other list per document met; one pass over all postings costs less.
        """
        sums = np.zeros(self.size)
        for i, (p, factor) in enumerate(parts):
            if i and budget is not None and budget.expired():
                # The parts summed so far order the documents; the others would only refine it.
                budget.cut(CUT_RANKING)
                break
            # A term has one posting per document: a plain indexed add is exact. The same float
            # operations in the same order as a loop would do them, so the sums are the same.
            docs = np.frombuffer(p.docs, dtype=np.intc)
            sums[docs] += factor * np.frombuffer(p.scores, dtype=np.float64)
        docs = positions(selected)
        values = constant + sums[docs]
        # Best first, ties by document number; callers mostly take a page and a few more, so those
        # are ordered first and the rest only if asked.
        if len(docs) > want:
            first = np.argpartition(-values, want)[:want]
            rest = np.setdiff1d(np.arange(len(docs)), first, assume_unique=True)
        else:
            first, rest = np.arange(len(docs)), np.arange(0)
        for chunk in (first, rest):
            order = chunk[np.lexsort((docs[chunk], -values[chunk]))]
            for k in order.tolist():
                yield float(values[k]), int(docs[k])

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
