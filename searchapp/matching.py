"""The matching strategy: releases with every word first; when fewer than a page, those with most of the words follow.

As Elasticsearch's `minimum_should_match` and Meilisearch's matching strategy do, a query whose
words are all found together in too few releases does not end in "nothing found": releases that
lack some of the words follow every full match, those matching more words first, each ranked
by relevance within its tier, and each hit says which words it lacks.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from indexer.engine.bitmaps import positions, to_bits
from indexer.engine.interface import ParsedQuery, QueryParts, SearchIndex

# A release must match at least this share of the query's parts (words or phrases) to be listed.
MIN_SHARE = 0.5


@dataclass
class Partial:
    """The releases matching some but not all of a query's parts, in tiers of how many they match."""

    parts: QueryParts
    # (parts matched, documents), most parts first; documents not yet narrowed by the filters.
    tiers: list[tuple[int, int]]

    @property
    def documents(self) -> int:
        """Return the bitmap of every partial match."""
        found = 0
        for _, docs in self.tiers:
            found |= docs
        return found

    def missing(self, docnum: int) -> list[str]:
        """Return the parts, as typed, that a document lacks."""
        return [label for label, docs in zip(self.parts.labels, self.parts.matched) if not docs >> docnum & 1]

    def unmatched(self) -> list[str]:
        """Return the parts no release matches."""
        return [label for label, docs in zip(self.parts.labels, self.parts.matched) if not docs]


def partial_matches(view: SearchIndex, parsed: ParsedQuery, text: str) -> Partial | None:
    """Return the releases matching most but not all of a query's parts, or None for a query of one part."""
    parts = view.parts(parsed, text)
    if parts is None:
        return None
    counts = np.zeros(view.size, dtype=np.uint8)
    for docs in parts.matched:
        counts[positions(docs)] += 1
    every = len(parts.labels)
    least = max(1, -(-every * MIN_SHARE // 1))
    tiers = []
    for count in range(every - 1, int(least) - 1, -1):
        docs = np.flatnonzero(counts == count)
        if len(docs):
            tiers.append((count, to_bits(docs)))
    return Partial(parts, tiers)


def ranked_partial(view: SearchIndex, partial: Partial, selected: int, start: int, end: int) -> list[int]:
    """Return positions start..end of the selected partial matches: more parts matched first, then by relevance."""
    found: list[int] = []
    for _, tier in partial.tiers:
        docs = tier & selected
        size = docs.bit_count()
        if start >= size:
            start, end = start - size, end - size
            continue
        # Below every full match, an order by summed scores is good enough: no exact tie-breaking.
        found += view.top(partial.parts.any_part, docs, min(end, size), approximate=True)[start:end]
        if end <= size:
            break
        start, end = 0, end - size
    return found


def _words(labels: list[str]) -> str:
    """Return words for a sentence: a, b and c."""
    return labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + " and " + labels[-1]


def partial_notice(partial: Partial, full: int, listed: int, *, read: bool = False) -> str | None:
    """Return what to tell the user: the words no release has, and what follows the full matches.

    `read`: some words were left out for time, and the tiers count the words read.
    """
    notes = []
    unmatched = partial.unmatched()
    if unmatched:
        notes.append(f"No release has {_words(unmatched)}.")
    if listed:
        every = "No release has" if not full else f"Only {full:,} {'release has' if full == 1 else 'releases have'}"
        of = " read" if read else ""
        notes.append(
            f"{every} every word{of}: {listed:,} more with most of the words{of} follow, each with the words it lacks."
        )
    return " ".join(notes) or None
