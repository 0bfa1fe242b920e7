"""The words of an index view's fields, sorted, with how many documents hold each: patterns and spelling use them."""

from __future__ import annotations

import bisect
import fnmatch
import heapq
import re
from array import array

# Characters that end a pattern's literal start ("ukr" of "ukr*an?").
WILDCARDS = re.compile(r"[*?\[]")


class Vocabulary:
    """Every word of each field of one view (all segments merged), read once per field on first use."""

    def __init__(self, searcher):
        self.searcher = searcher
        self._fields: dict[str, tuple[list[str], array]] = {}

    def words(self, fieldname: str) -> list[str]:
        """Return a field's words, sorted."""
        return self._field(fieldname)[0]

    def held(self, fieldname: str) -> bool:
        """Return True when a field's words are in memory."""
        return fieldname in self._fields

    def _field(self, fieldname: str) -> tuple[list[str], array]:
        if fieldname not in self._fields:
            frequency: dict[bytes, int] = {}
            for sub, _ in self.searcher.leaf_searchers():
                for text, info in sub.reader().iter_field(fieldname):
                    frequency[text] = frequency.get(text, 0) + info.doc_frequency()
            fieldobj = self.searcher.schema[fieldname]
            ordered = sorted(frequency)
            self._fields[fieldname] = (
                [fieldobj.from_bytes(t) for t in ordered],
                array("i", (frequency[t] for t in ordered)),
            )
        return self._fields[fieldname]

    def expand(self, fieldname: str, pattern: str, *, max_words: int, max_postings: int) -> tuple[list[str], int]:
        """Return the commonest words a pattern stands for, within the limits, and how many it stands for in all.

        Whole words are taken commonest first while their documents add up to at most
        max_postings (the first one always, so a pattern that matches finds something).
        """
        words, frequency = self._field(fieldname)
        literal = WILDCARDS.split(pattern, maxsplit=1)[0]
        first = bisect.bisect_left(words, literal)
        last = bisect.bisect_left(words, literal + "\U0010ffff") if literal else len(words)
        if literal == pattern.rstrip("*") and pattern.endswith("*") and not WILDCARDS.search(literal):
            found = range(first, last)
        else:
            match = re.compile(fnmatch.translate(pattern)).match
            found = [i for i in range(first, last) if match(words[i])]
        total = len(found)
        chosen, postings = [], 0
        for i in heapq.nsmallest(max_words, found, key=lambda i: (-frequency[i], i)):
            if chosen and postings + frequency[i] > max_postings:
                continue
            chosen.append(words[i])
            postings += frequency[i]
        return chosen, total

    def commonest(
        self, fieldname: str, max_words: int, max_bytes: int, bytes_per_word: int, bytes_per_posting: int
    ) -> list[str]:
        """Return up to max_words of a field's commonest words, commonest first, while their postings fit."""
        words, frequency = self._field(fieldname)
        chosen, held = [], 0
        for i in heapq.nlargest(max_words, range(len(words)), key=frequency.__getitem__):
            held += bytes_per_word + bytes_per_posting * frequency[i]
            if held > max_bytes:
                break
            chosen.append(words[i])
        return chosen
