"""A batch of documents' text fields analysed at once into postings sorted by term and document, held as arrays.

Each document's words are found by one regular expression and turned into term numbers through
a memo, in C; grouping, counting and encoding positions is done for the whole batch by numpy.
The terms, counts, weights, lengths and encoded positions are those of the fields' own formats
(analysis.TermPositions, analysis.TermFrequency), as tests/unit/test_batch_analysis.py checks.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

import numpy as np
from whoosh.util.numeric import length_to_byte

from indexer.engine.analysis import (
    JOINERS,
    WORD,
    NameTokenizer,
    SearchTokenizer,
    TermFrequency,
    TermPositions,
    index_term,
    is_name,
    joined_term,
    name_key,
)
from indexer.engine.schema import SCHEMA

# A word, or words joined by joiners, whole: its parts are WORD's words.
WHOLE = re.compile(r"\w++(?:[" + re.escape(JOINERS) + r"]\w++)*")
_HAS_JOINER = re.compile("[" + re.escape(JOINERS) + "]")
# Words and terms remembered between batches, up to this many of each: enough for a corpus's vocabulary.
MEMO_LIMIT = 500_000
# Whoosh's Positions values: the count as 4 bytes, then the deltas pickled (protocol 2) as a list.
_PICKLE_HEAD = np.frombuffer(b"\x80\x02]q\x00", dtype=np.uint8)
_PICKLE_BATCH = 1000  # the pickler's batch of appends


class Vocabulary:
    """Term numbers for the terms of a process's batches, and the memos of words to term numbers."""

    def __init__(self):
        self.numbers: dict[str, int] = {}
        self.terms: list[str] = []
        self.words: dict[str | None, dict[str, int]] = {}
        # Names: a word -> (its key's number, the word in lowercase), for the words written as names.
        self.names: dict[str, tuple[int, str | None]] = {}
        self.seen: set[str] = set()
        # Joined words' entries: each its parts' term numbers, then the whole's (entry_parts of them, then one).
        self.entry_starts: list[int] = []
        self.entry_parts: list[int] = []
        self.entry_terms: list[int] = []

    def number(self, term: str) -> int:
        """Return the number of a term, giving it the next one when new."""
        found = self.numbers.get(term)
        if found is None:
            found = self.numbers[term] = len(self.terms)
            self.terms.append(term)
        return found

    def words_of(self, language: str | None) -> dict[str, int]:
        """Return the memo of one language's wholes to their codes (see _whole_code)."""
        return self.words.setdefault(language, {})

    def trim(self) -> None:
        """Forget everything once past MEMO_LIMIT: numbers need only last through one batch."""
        if len(self.terms) > MEMO_LIMIT or len(self.seen) > MEMO_LIMIT:
            self.__init__()


@dataclass
class FieldPostings:
    """One field's postings in a batch: rows of terms in order, each its documents in order."""

    terms: list[str]
    starts: np.ndarray  # row r's postings are starts[r]:starts[r + 1]
    docs: np.ndarray  # int64, the document of each posting
    counts: np.ndarray  # int64, how often the term is in the document
    lengths: np.ndarray  # int64, each document's count of terms in the field
    value_sizes: np.ndarray  # int64, the encoded value's size of each posting
    value_starts: np.ndarray  # int64, len(docs) + 1 offsets into values
    values: bytes  # the postings' values, encoded as the field's format encodes them, back to back

    def row_values(self, row: int) -> list[bytes]:
        """Return the encoded values of one row's postings, one each."""
        starts = self.value_starts[self.starts[row] : self.starts[row + 1] + 1].tolist()
        return [self.values[a:b] for a, b in zip(starts, starts[1:])]


def _analysed_fields() -> tuple[list[str], list[str]]:
    """Return the fields analysed a batch at a time: the text fields, and the names fields."""
    texts, names = [], []
    for name in SCHEMA.names():
        field = SCHEMA[name]
        if isinstance(field.format, TermPositions) and isinstance(field.analyzer, SearchTokenizer):
            texts.append(name)
        elif isinstance(field.format, TermFrequency) and isinstance(field.analyzer, NameTokenizer):
            names.append(name)
    return texts, names


TEXT_FIELDS, NAME_FIELDS = _analysed_fields()
# The batches' shared term numbers and word memos, kept between the batches of one process.
_VOCABULARY = Vocabulary()


def batch_analysable(documents: list[dict]) -> bool:
    """Return True when analyse_batch takes every analysed field of these documents: text or nothing."""
    return all(
        isinstance(fields.get(name), (str, type(None))) for fields in documents for name in TEXT_FIELDS + NAME_FIELDS
    )


def analyse_batch(documents: list[dict]) -> dict[str, FieldPostings]:
    """Analyse the text and names fields of documents (field dicts) at once, each in its language."""
    vocabulary = _VOCABULARY
    vocabulary.trim()
    languages = [fields.get("language") for fields in documents]
    analysed = {}
    for fieldname in TEXT_FIELDS:
        analysed[fieldname] = text_postings(_values_of(documents, fieldname), languages, vocabulary)
    for fieldname in NAME_FIELDS:
        analysed[fieldname] = name_postings(_values_of(documents, fieldname), vocabulary)
    return analysed


def _values_of(documents: list[dict], fieldname: str) -> list[str | None]:
    """Return a field's text in each document (None where it has none); any other kind of value is refused."""
    values = [fields.get(fieldname) for fields in documents]
    if any(value is not None and not isinstance(value, str) for value in values):
        raise TypeError(f"field {fieldname!r} takes text")
    return values


def _whole_code(whole: str, language: str | None, memo: dict[str, int], vocabulary: Vocabulary) -> int:
    """Return the code of a whole: a word's term number, or for joined words -1 - the number of their entry."""
    if _HAS_JOINER.search(whole) is None:
        return vocabulary.number(index_term(whole, language))
    parts = WORD.findall(whole)
    for part in parts:
        if part not in memo:
            memo[part] = vocabulary.number(index_term(part, language))
    vocabulary.entry_starts.append(len(vocabulary.entry_terms))
    vocabulary.entry_parts.append(len(parts))
    vocabulary.entry_terms += [memo[part] for part in parts]
    vocabulary.entry_terms.append(vocabulary.number(joined_term(whole)))
    return -len(vocabulary.entry_parts)


def text_postings(texts: list[str | None], languages: list[str | None], vocabulary: Vocabulary) -> FieldPostings:
    """Analyse one text field of a batch (None where a document lacks it) as analysis.TermPositions indexes it."""
    codes: list[int] = []
    found = np.zeros(len(texts), dtype=np.int64)  # wholes in each document
    for doc, (text, language) in enumerate(zip(texts, languages)):
        if not text:
            continue
        wholes = WHOLE.findall(text)
        memo = vocabulary.words_of(language)
        for whole in set(wholes).difference(memo):
            memo[whole] = _whole_code(whole, language, memo, vocabulary)
        codes += map(memo.__getitem__, wholes)
        found[doc] = len(wholes)
    codes_a = np.asarray(codes, dtype=np.int64)
    docs = np.repeat(np.arange(len(texts), dtype=np.int64), found)
    joined = codes_a < 0
    if not joined.any():
        places = np.arange(len(codes_a), dtype=np.int64) - np.repeat(np.cumsum(found) - found, found)
        return _grouped(codes_a, docs, places, found, vocabulary)
    # A joined whole of k parts takes k positions: its parts', the whole's term at the first of them.
    entries = -codes_a[joined] - 1
    entry_parts = np.asarray(vocabulary.entry_parts, dtype=np.int64)
    entry_starts = np.asarray(vocabulary.entry_starts, dtype=np.int64)
    entry_terms = np.asarray(vocabulary.entry_terms, dtype=np.int64)
    widths = np.ones(len(codes_a), dtype=np.int64)
    widths[joined] = entry_parts[entries]
    before = np.cumsum(widths) - widths
    firsts_of_doc = np.cumsum(found) - found
    places = before - np.repeat(before[np.minimum(firsts_of_doc, len(before) - 1)], found)
    tokens = entry_parts[entries] + 1
    which = np.repeat(np.arange(len(entries)), tokens)
    within = np.arange(int(tokens.sum()), dtype=np.int64) - np.repeat(np.cumsum(tokens) - tokens, tokens)
    plain = ~joined
    numbers = np.concatenate((codes_a[plain], entry_terms[entry_starts[entries][which] + within]))
    at = places[joined][which] + np.where(within < tokens[which] - 1, within, 0)
    joined_docs = docs[joined][which]
    lengths = np.bincount(np.concatenate((docs[plain], joined_docs)), minlength=len(texts)).astype(np.int64)
    return _grouped(
        numbers, np.concatenate((docs[plain], joined_docs)), np.concatenate((places[plain], at)), lengths, vocabulary
    )


def name_postings(texts: list[str | None], vocabulary: Vocabulary) -> FieldPostings:
    """Analyse the names field of a batch as analysis.TermFrequency indexes it (NameTokenizer.key_counts)."""
    keys: list[int] = []
    docs: list[int] = []
    counts: list[int] = []
    lengths = np.zeros(len(texts), dtype=np.int64)
    names, seen = vocabulary.names, vocabulary.seen
    for doc, text in enumerate(texts):
        if not text:
            continue
        words = Counter(WORD.findall(text))
        for word in words.keys() - seen:
            seen.add(word)
            if word[0].isupper() and is_name(word):
                lower = word.lower()
                names[word] = (vocabulary.number(name_key(word)), lower if lower.islower() else None)
        # A capitalised word the text also writes in lowercase is no name.
        of_doc: dict[int, int] = {}
        for word in words.keys() & names.keys():
            key, lower = names[word]
            if lower is None or lower not in words:
                of_doc[key] = of_doc.get(key, 0) + words[word]
        if of_doc:
            keys += of_doc
            counts += of_doc.values()
            docs += [doc] * len(of_doc)
            lengths[doc] = sum(of_doc.values())
    order = np.lexsort((np.array(docs, dtype=np.int64), _ranks(keys, vocabulary)))
    docs_sorted = np.array(docs, dtype=np.int64)[order]
    counts_sorted = np.array(counts, dtype=np.int64)[order]
    terms, starts = _rows(np.asarray(keys, dtype=np.int64)[order], vocabulary)
    # Frequency's value: the count as a big-endian uint32.
    values = counts_sorted.astype(">u4").tobytes()
    sizes = np.full(len(order), 4, dtype=np.int64)
    return FieldPostings(
        terms, starts, docs_sorted, counts_sorted, lengths, sizes, np.arange(len(order) + 1, dtype=np.int64) * 4, values
    )


def _ranks(numbers: list[int], vocabulary: Vocabulary) -> np.ndarray:
    """Return, for term numbers, their rank in the order of the terms' UTF-8 bytes, as Whoosh orders terms."""
    numbers = np.asarray(numbers, dtype=np.int64)
    if not len(numbers):
        return numbers
    used = np.unique(numbers)
    terms = vocabulary.terms
    by_bytes = sorted(range(len(used)), key=lambda i: terms[used[i]].encode("utf-8"))
    rank = np.empty(len(used), dtype=np.int64)
    rank[by_bytes] = np.arange(len(used))
    return rank[np.searchsorted(used, numbers)]


def _rows(sorted_numbers: np.ndarray, vocabulary: Vocabulary) -> tuple[list[str], np.ndarray]:
    """Return the terms of the rows of postings sorted by term, and where each row starts (and the end)."""
    if not len(sorted_numbers):
        return [], np.zeros(1, dtype=np.int64)
    firsts = np.flatnonzero(np.diff(sorted_numbers)) + 1
    starts = np.concatenate(([0], firsts, [len(sorted_numbers)])).astype(np.int64)
    terms = vocabulary.terms
    return [terms[n] for n in sorted_numbers[starts[:-1]].tolist()], starts


def _grouped(numbers: list[int], docs: list[int], places: list[int], lengths, vocabulary) -> FieldPostings:
    """Group tokens (term number, document, position) into postings sorted by term and document."""
    ranks = _ranks(numbers, vocabulary)
    docs_a = np.asarray(docs, dtype=np.int64)
    places_a = np.asarray(places, dtype=np.int64)
    order = np.lexsort((places_a, docs_a, ranks))
    ranks, docs_a, places_a = ranks[order], docs_a[order], places_a[order]
    numbers_a = np.asarray(numbers, dtype=np.int64)[order]
    if len(order):
        new = np.flatnonzero((np.diff(ranks) != 0) | (np.diff(docs_a) != 0)) + 1
        firsts = np.concatenate(([0], new)).astype(np.int64)
    else:
        firsts = np.zeros(0, dtype=np.int64)
    counts = np.diff(np.append(firsts, len(order)))
    terms, term_starts = _rows(numbers_a[firsts], vocabulary)
    sizes, starts, values = encode_positions(places_a, firsts, counts)
    return FieldPostings(terms, term_starts, docs_a[firsts], counts, lengths, sizes, starts, values)


def encode_positions(places: np.ndarray, firsts: np.ndarray, counts: np.ndarray):
    """Encode each posting's positions as Whoosh's Positions.encode does; return (sizes, offsets, bytes)."""
    total = len(places)
    if not total:
        return np.zeros(0, np.int64), np.zeros(1, np.int64), b""
    posting = np.repeat(np.arange(len(firsts)), counts)
    index = np.arange(total) - firsts[posting]  # each position's index within its posting
    deltas = places.copy()
    deltas[1:] -= places[:-1]
    deltas[firsts] = places[firsts]
    # Each delta as the pickler writes an int: K and a byte, M and 2 bytes, J and 4 bytes.
    op_size = np.where(deltas < 256, 2, np.where(deltas < 65536, 3, 5))
    single = counts == 1
    multi = ~single[posting]
    # A list of one item is the item and APPEND ("a"); longer lists go in batches: MARK ("(") .. APPENDS ("e").
    opens = multi & (index % _PICKLE_BATCH == 0)
    closes = multi & ((index % _PICKLE_BATCH == _PICKLE_BATCH - 1) | (index == counts[posting] - 1))
    closes |= ~multi  # APPEND after a single item
    element_size = op_size + opens + closes
    # Per posting: 4 bytes of count, the pickle's head (5), its elements, the STOP (".").
    sizes = 4 + len(_PICKLE_HEAD) + np.add.reduceat(element_size, firsts) + 1
    starts = np.zeros(len(firsts) + 1, dtype=np.int64)
    np.cumsum(sizes, out=starts[1:])
    out = np.zeros(int(starts[-1]), dtype=np.uint8)
    begin = starts[:-1]
    count_bytes = counts.astype(">u4").view(np.uint8).reshape(-1, 4)
    for k in range(4):
        out[begin + k] = count_bytes[:, k]
    for k, byte in enumerate(_PICKLE_HEAD):
        out[begin + 4 + k] = byte
    # Where each element starts: after its posting's head and the elements before it in the posting.
    before = np.cumsum(element_size) - element_size
    at = begin[posting] + 4 + len(_PICKLE_HEAD) + (before - before[firsts][posting])
    out[at[opens]] = ord("(")
    at = at + opens
    small, medium, large = op_size == 2, op_size == 3, op_size == 5
    out[at[small]] = ord("K")
    out[at[small] + 1] = deltas[small]
    out[at[medium]] = ord("M")
    out[at[medium] + 1] = deltas[medium] & 0xFF
    out[at[medium] + 2] = deltas[medium] >> 8
    out[at[large]] = ord("J")
    for k in range(4):
        out[at[large] + 1 + k] = (deltas[large] >> (8 * k)) & 0xFF
    ends = at + op_size
    out[ends[closes]] = np.where(multi[closes], ord("e"), ord("a"))
    out[starts[1:] - 1] = ord(".")
    return sizes, starts, out.tobytes()


def length_bytes(lengths: np.ndarray) -> bytes:
    """Return the length byte Whoosh stores for each document's field length."""
    cache: dict[int, int] = {}
    return bytes(cache[n] if n in cache else cache.setdefault(n, length_to_byte(n)) for n in lengths.tolist())
