"""The one place that reads Whoosh's private internals: decoded posting blocks, BM25 scoring, positions.

Stepping a matcher posting by posting costs more than the rest of a search, so the postings
cache reads whole decoded blocks instead. Every name used here is private to whoosh3 and checked
against the public path by tests/test_engine_internals.py; `check_whoosh()` refuses another
version, which another package depending on `Whoosh` can silently install over it.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable, Iterator
from importlib import metadata
from itertools import accumulate

import numpy as np
from whoosh.codec.whoosh3 import W3LeafMatcher
from whoosh.matching.mcore import ListMatcher
from whoosh.matching.wrappers import FilterMatcher
from whoosh.scoring import BM25FScorer, WeightScorer
from whoosh.system import _INT_SIZE

WHOOSH_DISTRIBUTION = "whoosh3"
# The release whose internals this module reads; pyproject.toml pins the same.
WHOOSH_VERSION = "3.54.0"


class WhooshVersionError(RuntimeError):
    """The installed Whoosh is not the release the engine was written against."""


def check_whoosh() -> None:
    """Raise WhooshVersionError unless the pinned whoosh3 is the installed Whoosh."""
    try:
        installed = metadata.version(WHOOSH_DISTRIBUTION)
    except metadata.PackageNotFoundError:
        installed = None
    if installed != WHOOSH_VERSION:
        raise WhooshVersionError(
            f"The search engine needs {WHOOSH_DISTRIBUTION}=={WHOOSH_VERSION}, found {installed or 'none'} "
            f"(another package may have installed Whoosh over it): run `pip install {WHOOSH_DISTRIBUTION}=="
            f"{WHOOSH_VERSION}`"
        )


def unfiltered(m):
    """Return a segment's postings without the filter Whoosh wraps them in when the segment has deletions.

    A reader filters postings only to leave out its deleted documents. Callers drop those with
    the live-documents bitmap instead.
    """
    while isinstance(m, FilterMatcher):
        m = m.child
    return m


def is_block_matcher(m) -> bool:
    """Return True when a (unfiltered) matcher's decoded blocks can be read directly: a segment file's, or a list's."""
    return isinstance(m, W3LeafMatcher) or _is_list(m)


def _is_list(m) -> bool:
    """Return True for a term's postings held in lists with a weight each and a scorer (the database's TermMatcher).

    Whoosh's own list matchers, which may hold lists of values to combine, are stepped as before.
    """
    if not isinstance(m, ListMatcher) or m._all_weights is not None:
        return False
    if not isinstance(getattr(type(m), "scorer", None), property):
        return False
    return getattr(m, "arrays", None) is not None or (m._weights is not None and len(m._weights) == len(m._ids))


def _rest_of_list(m) -> tuple[list, list, Callable[[], list]]:
    """Return a list matcher's postings from where it stands (ids, weights, values()), and move it past them."""
    start = m._i
    m._i = len(m._ids)

    def values():
        # As ListMatcher.value() answers: "" for postings without values.
        return m._values[start:] if m._values else [""] * (len(m._ids) - start)

    return m._ids[start:], m._weights[start:], values


def list_arrays(m) -> tuple[np.ndarray, np.ndarray, Callable[[], list]] | None:
    """Return a list matcher's numpy postings from where it stands (ids, weights, values()), and move it past them.

    None when the matcher holds no arrays: read it by `blocks` instead.
    """
    arrays = getattr(m, "arrays", None) if _is_list(m) else None
    if arrays is None:
        return None
    start = m._i
    ids, weights = arrays[0][start:], arrays[1][start:]
    m._i = len(arrays[0])

    def values():
        return m._values[start:] if m._values else [""] * len(ids)

    return ids, weights, values


def bm25_parameters(m) -> tuple[float, float, float, float]:
    """Return (idf, average field length, B, K1) of a matcher's BM25F scorer, as its `_score` reads them."""
    scorer = m.scorer
    return scorer.idf, scorer.avgfl, scorer.B, scorer.K1


def bm25_scores(weights, lengths, idf: float, avgfl: float, b: float, k1: float) -> np.ndarray:
    """Return Whoosh's `bm25()` of each (weight, field length) pair, its operations in its order: the same floats."""
    tf = np.asarray(weights, dtype=np.float64)
    fl = np.asarray(lengths, dtype=np.float64)
    return idf * ((tf * (k1 + 1)) / (tf + k1 * ((1 - b) + b * fl / avgfl)))


def weight_scorer(m) -> tuple[str, Callable | None] | None:
    """Return how a block matcher's scorer scores a posting: ("weight", None), ("bm25", fn(weight, length)), or None.

    None means the scorer is of another kind: step the matcher and ask it.
    """
    scorer = getattr(m, "scorer", None)
    if type(scorer) is WeightScorer:
        return "weight", None
    if type(scorer) is BM25FScorer:
        # What scorer.score(matcher) computes from the posting's weight and the document's field length.
        return "bm25", scorer._score
    return None


def blocks(m, *, weights: bool = False, values: bool = False) -> Iterator[tuple[list, list | None, list | None]]:
    """Yield each decoded block of a block matcher as (ids, weights, values), decoding only what is asked."""
    if _is_list(m):
        if m.is_active():
            ids, weights_of, values_of = _rest_of_list(m)
            yield ids, weights_of if weights else None, values_of() if values else None
        return
    while m.is_active():
        if m._ids is None:
            m._read_ids()
        if weights and m._weights is None:
            m._read_weights()
        if values and m._values is None:
            m._read_values()
        yield m._ids, m._weights if weights else None, m._values if values else None
        m._next_block()


def block_spans(m) -> Iterator[tuple[int, int, Callable[[], list], Callable[[], list]]]:
    """Yield (first id, last id, ids(), values()) per block; the functions decode the block's ids or values.

    Blocks that hold none of the documents a caller wants need not be decoded at all.
    """
    if _is_list(m):
        if m.is_active():
            ids, _, values = _rest_of_list(m)
            yield ids[0], ids[-1], lambda: ids, values
        return
    first = 0
    while m.is_active():
        last = m.block_max_id()

        def ids(m=m):
            if m._ids is None:
                m._read_ids()
            return m._ids

        def values(m=m):
            if m._values is None:
                m._read_values()
            return m._values

        yield first, last, ids, values
        first = last + 1
        m._next_block()


def decode_positions(value: bytes) -> list[int]:
    """Return the positions in a Positions posting, as Positions.decode_positions does, with C loops.

    The value is the count (an unsigned int) then the pickled position deltas.
    """
    return list(accumulate(pickle.loads(value[_INT_SIZE:] if value.endswith(b".") else value[_INT_SIZE:] + b".")))


# What each opcode of Positions' pickled deltas takes, opcode included; 0 for an opcode the format never writes.
_OP_SIZE = np.zeros(256, dtype=np.int64)
for _op, _size in ((b"K", 2), (b"M", 3), (b"J", 5), (b"(", 1), (b"e", 1), (b"a", 1), (b".", 1)):
    _OP_SIZE[_op[0]] = _size
# The pickler's protocol 2 header and the list's memo entry, before the first item.
_PICKLE_HEAD = b"\x80\x02]q\x00"
_PICKLE_BATCH = 1000  # the pickler's appends per MARK


def decode_positions_many(buffer: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return (count per value, positions value after value) of Positions values buffer[starts[i]:ends[i]].

    The same positions as decode_positions gives each value, read for all values at once: one
    step of the loop reads the next opcode of every value still going. A value that is not a
    pickled list of ints as Positions.encode writes it raises ValueError.
    """
    starts = np.asarray(starts, dtype=np.int64)
    ends = np.asarray(ends, dtype=np.int64)
    n = len(starts)
    if not n:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    if int((ends - starts).min()) < _INT_SIZE + len(_PICKLE_HEAD) + 1:
        raise ValueError("a Positions value is too short")
    count_bytes = buffer[starts[:, None] + np.arange(4)].astype(np.int64)
    counts = count_bytes[:, 0] << 24 | count_bytes[:, 1] << 16 | count_bytes[:, 2] << 8 | count_bytes[:, 3]
    head = buffer[starts[:, None] + _INT_SIZE + np.arange(len(_PICKLE_HEAD))]
    if not (head == np.frombuffer(_PICKLE_HEAD, dtype=np.uint8)).all():
        raise ValueError("a Positions value does not hold a pickled list")
    slots = np.cumsum(counts) - counts  # where each value's deltas go
    deltas = np.zeros(int(counts.sum()), dtype=np.int64)
    first = starts + _INT_SIZE + len(_PICKLE_HEAD)
    # Most values hold only deltas under 256 (K and a byte each), and then only the shortest size for
    # their count: their items stand at known places, read at once. The rest are stepped below.
    batches = -(-counts // _PICKLE_BATCH)
    short = (ends - starts) == np.where(counts == 1, 13, first - starts + 2 * counts + 2 * batches + 1)
    if short.any():
        of_short = counts[short]
        of = np.repeat(np.flatnonzero(short), of_short)
        j = np.arange(len(of)) - np.repeat(np.cumsum(of_short) - of_short, of_short)  # each item's index in its value
        marks = np.where(counts[of] == 1, 0, 1 + 2 * (j // _PICKLE_BATCH))
        ops_at = first[of] + 2 * j + marks
        if not (buffer[ops_at] == ord("K")).all():
            raise ValueError("a Positions value does not hold a pickled list")
        deltas[slots[of] + j] = buffer[ops_at + 1]
    going = np.flatnonzero(~short)
    at, place = slots[going], first[going]
    while len(going):
        if (place >= ends[going]).any():
            raise ValueError("a Positions value ends before its pickle's STOP")
        ops = buffer[place]
        size = _OP_SIZE[ops]
        if not size.all():
            raise ValueError("a Positions value holds an opcode its format never writes")
        if (place + size > ends[going]).any():
            raise ValueError("a Positions value ends inside an opcode")
        item = size >= 2
        if item.any():
            where, target = place[item], at[item]
            width = size[item]
            value = buffer[where + 1].astype(np.int64)
            wide = width >= 3
            value[wide] |= buffer[where[wide] + 2].astype(np.int64) << 8
            widest = width == 5
            value[widest] |= (
                buffer[where[widest] + 3].astype(np.int64) << 16 | buffer[where[widest] + 4].astype(np.int64) << 24
            )
            # J is a signed int: as the pickler reads it.
            value[widest] = np.where(value[widest] >= 1 << 31, value[widest] - (1 << 32), value[widest])
            if (target >= slots[going[item]] + counts[going[item]]).any():
                raise ValueError("a Positions value holds more deltas than its count")
            deltas[target] = value
            at[item] += 1
        place = place + size
        stop = ops == ord(".")
        if stop.any():
            ended = going[stop]
            if (at[stop] != slots[ended] + counts[ended]).any() or (place[stop] != ends[ended]).any():
                raise ValueError("a Positions value's deltas do not match its count")
            keep = ~stop
            going, at, place = going[keep], at[keep], place[keep]
    # Each value's positions: its deltas summed from its first.
    summed = np.cumsum(deltas)
    before = np.concatenate([[0], summed])[slots]
    return counts, summed - np.repeat(before, counts)
