"""Snippets: the densest window of matched words in a stored text, escaped, with <mark> around matches."""

from __future__ import annotations

import html
import re
from bisect import bisect_left
from functools import lru_cache
from itertools import accumulate

from indexer.analysis import FOLDING, index_term

WORD = re.compile(r"\w+")
# Gaps and words alternately (gap, word, gap, ..., gap): word boundaries from one C-level split.
GAPS_AND_WORDS = re.compile(r"(\w+)")
SPACE = re.compile(r"\s+")
WINDOW_WORDS = 36
PREFIX = 2
ELLIPSIS = "…"


def snippet(text: str, terms: set[str], *, whole: bool = False) -> tuple[str, str]:
    """Return (html, plain) for the part of `text` richest in `terms`; html is escaped, matches marked."""
    if not text:
        return "", ""
    # Offsets from the lengths of the split pieces: a Python object per word would cost more
    # than the rest of the snippet.
    ends = list(accumulate(map(len, GAPS_AND_WORDS.split(text))))
    starts, word_ends = ends[0:-1:2], ends[1::2]
    n_words = len(word_ends)
    hits = _matches(text, starts, terms) if terms else []
    if whole or n_words <= WINDOW_WORDS:
        start, end = 0, len(text)
    else:
        first = _densest_window(hits, n_words)
        last = min(n_words, first + WINDOW_WORDS) - 1
        start = starts[first] if first else 0
        end = word_ends[last] if last < n_words - 1 else len(text)
    hit_spans = [(starts[i], word_ends[i]) for i in hits if start <= starts[i] < end]
    return _render(text, start, end, hit_spans)


def _matches(text: str, starts: list[int], terms: set[str]) -> list[int]:
    """Return the positions of words whose index term is wanted, stemming only plausible candidates."""
    # Stemming every word of a long release costs more than the rest of a query: a word is stemmed
    # only when its first letters, folded, are those of a wanted term. A regex finds those words.
    heads = frozenset(t[:PREFIX] for t in terms if t)
    if not heads:
        return []
    found = []
    for match in _candidates(heads).finditer(text):
        word = match.group()
        head = word[:PREFIX].lower()
        if not head.isascii():
            head = head.translate(FOLDING)[:PREFIX]
        if head in heads and index_term(word) in terms:
            found.append(bisect_left(starts, match.start()))
    return found


@lru_cache(maxsize=256)
def _candidates(heads: frozenset) -> re.Pattern:
    """Return a regex for whole words that may start with one of heads once lowercased and folded.

    ASCII words must start with a head, in any case; words with a non-ASCII letter among their
    first letters are all candidates, since folding may turn them into a head.
    """
    alternatives = "|".join(re.escape(h) for h in sorted(heads, key=len, reverse=True))
    return re.compile(rf"\b(?:(?i:{alternatives})|[^\W\x00-\x7f]|\w[^\W\x00-\x7f])\w*")


def _densest_window(hits: list[int], n_words: int) -> int:
    """Return the first word of the window of WINDOW_WORDS words holding the most hits."""
    if not hits:
        return 0
    best_start, best_count, j = hits[0], 0, 0
    for i, first in enumerate(hits):
        while j < len(hits) and hits[j] < first + WINDOW_WORDS:
            j += 1
        if j - i > best_count:
            best_start, best_count = first, j - i
    # Start a few words before the first match, so it is read in context.
    return max(0, min(best_start - 4, n_words - WINDOW_WORDS))


def _render(text: str, start: int, end: int, spans: list[tuple[int, int]]) -> tuple[str, str]:
    """Return the escaped, marked html and the plain text of text[start:end]."""
    prefix = ELLIPSIS if start > 0 else ""
    suffix = ELLIPSIS if end < len(text) else ""
    out, pos = [], start
    for s, e in spans:
        out.append(html.escape(text[pos:s], quote=False))
        out.append(f"<mark>{html.escape(text[s:e], quote=False)}</mark>")
        pos = e
    out.append(html.escape(text[pos:end], quote=False))
    plain = " ".join(text[start:end].split())
    marked = SPACE.sub(" ", "".join(out)).strip()
    return prefix + marked + suffix, prefix + plain + suffix
