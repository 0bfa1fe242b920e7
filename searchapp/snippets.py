"""Snippets: the densest window of matched words in a stored text, escaped, with <mark> around matches."""

from __future__ import annotations

import html
import re
from functools import lru_cache
from itertools import accumulate, compress

from indexer.engine.analysis import FOLDING, index_term, is_name, name_key
from indexer.engine.query import NAME_HIGHLIGHT

WORD = re.compile(r"\w+")
# Gaps and words alternately (gap, word, gap, ..., gap).
GAPS_AND_WORDS = re.compile(r"(\w+)")
# The letters folding changes.
_FOLDED = re.compile("[{}]".format("".join(re.escape(chr(c)) for c, to in sorted(FOLDING.items()) if to != chr(c))))
SPACE = re.compile(r"\s+")
# Words that may be names: a capital, then letters (is_name has the last word).
CAPITALISED = re.compile(r"\b[^\W\d_a-zа-я]\w{3,}")
WINDOW_WORDS = 36
PREFIX = 2
ELLIPSIS = "…"


def snippet(text: str, terms: set[str], *, whole: bool = False) -> tuple[str, str]:
    """Return (html, plain) for the part of `text` richest in `terms`; html is escaped, matches marked.

    Name keys among the terms ("names:KEY") mark the names a release spells otherwise, or in
    another script, where none of its words is a term of the query.
    """
    if not text:
        return "", ""
    names = {t[len(NAME_HIGHLIGHT) :] for t in terms if t.startswith(NAME_HIGHLIGHT)}
    if names:
        terms = {t for t in terms if not t.startswith(NAME_HIGHLIGHT)}
    spans = _found(text, terms) if terms else []
    if spans is None:
        html, plain = _snippet_word_by_word(text, terms, whole)
        if "<mark>" in html or not names:
            return html, plain
        spans = []
    if not spans and names:
        # Only spelt otherwise: reading every capitalised word costs more, so only here.
        spans = [m.span() for m in CAPITALISED.finditer(text) if is_name(m.group()) and name_key(m.group()) in names]
    # Only the words around the window are counted: tokenising a whole release costs more than
    # the rest of the snippet.
    if whole or not _words_at(text, 0, WINDOW_WORDS + 1):
        start, end = 0, len(text)
    else:
        start = _window_start(text, spans)
        end = _words_at(text, start, WINDOW_WORDS).end()
        if not WORD.search(text, end):
            end = len(text)
    return _render(text, start, end, [(s, e) for s, e in spans if start <= s < end])


def _found(text: str, terms: set[str]) -> list[tuple[int, int]] | None:
    """Return the spans of the words whose index term is wanted, or None when the text needs folding.

    A word is stemmed only when its first letters (lowercased) are those of a wanted term: they
    are found with str.find. Letters that folding changes ("é", "ё") could make other words
    candidates, so such texts are left to _snippet_word_by_word.
    """
    lowered = text.lower()
    # Final sigma is the one letter lowercased by its context, not letter by letter.
    if len(lowered) != len(text) or "Σ" in text or _FOLDED.search(lowered):
        return None
    spans = []
    for head in {t[:PREFIX] for t in terms if t}:
        at = lowered.find(head)
        while at >= 0:
            if at == 0 or not _is_word_char(text[at - 1]):
                match = WORD.match(text, at)
                if match and match.group()[:PREFIX].lower() == head and index_term(match.group()) in terms:
                    spans.append(match.span())
            at = lowered.find(head, at + 1)
    return sorted(spans)


def _window_start(text: str, spans: list[tuple[int, int]]) -> int:
    """Return where the window of the densest hits starts, as _snippet_word_by_word places it."""
    if not spans:
        return 0
    # Word numbers relative to the first hit; a gap of a window or more is as good as any longer.
    numbers = [0]
    for (_, end), (start, _) in zip(spans, spans[1:]):
        numbers.append(numbers[-1] + _count_words(text, end, start, WINDOW_WORDS) + 1)
    best = spans[_densest(numbers)][0]
    # The window starts a few words before the first hit, so that it is read in context.
    if _count_words(text, best, len(text), WINDOW_WORDS - 4) < WINDOW_WORDS - 4:
        # Near the end: the window is the last words.
        return _word_start_before(text, len(text), WINDOW_WORDS)
    if _count_words(text, 0, best, 5) <= 4:
        return 0
    return _word_start_before(text, best, 4)


def _snippet_word_by_word(text: str, terms: set[str], whole: bool) -> tuple[str, str]:
    """Return the snippet of a text whose words are folded: judge every word."""
    # One split gives the words and, from the lengths of the pieces, their offsets.
    pieces = GAPS_AND_WORDS.split(text)
    words = pieces[1::2]
    ends = list(accumulate(map(len, pieces)))
    starts, word_ends = ends[0:-1:2], ends[1::2]
    hits = _matches(words, terms)
    if whole or len(words) <= WINDOW_WORDS:
        start, end = 0, len(text)
    else:
        first = max(0, min(hits[_densest(hits)] - 4, len(words) - WINDOW_WORDS)) if hits else 0
        last = min(len(words), first + WINDOW_WORDS) - 1
        start = starts[first] if first else 0
        end = word_ends[last] if last < len(words) - 1 else len(text)
    hit_spans = [(starts[i], word_ends[i]) for i in hits if start <= starts[i] < end]
    return _render(text, start, end, hit_spans)


def _matches(words: list[str], terms: set[str]) -> list[int]:
    """Return the positions of words whose index term is wanted, stemming only plausible candidates."""
    # Each distinct word is judged once, and stemmed only when its first letters, folded, are
    # those of a wanted term.
    heads = {t[:PREFIX] for t in terms}
    wanted = set()
    for word in set(words):
        head = word[:PREFIX].lower()
        if not head.isascii():
            head = head.translate(FOLDING)[:PREFIX]
        if head in heads and index_term(word) in terms:
            wanted.add(word)
    return list(compress(range(len(words)), map(wanted.__contains__, words))) if wanted else []


def _densest(hits: list[int]) -> int:
    """Return which hit (word number) starts the window of WINDOW_WORDS words holding the most hits."""
    best, best_count, j = 0, 0, 0
    for i, first in enumerate(hits):
        while j < len(hits) and hits[j] < first + WINDOW_WORDS:
            j += 1
        if j - i > best_count:
            best, best_count = i, j - i
    return best


def _words_at(text: str, start: int, count: int) -> re.Match | None:
    """Return the match of the first `count` words from `start` (not cut inside a word), or None."""
    return _word_runs(count).match(text, start)


def _count_words(text: str, start: int, end: int, cap: int) -> int:
    """Return how many words text[start:end] holds, counting no further than cap."""
    if _word_runs(cap).match(text, start, end):
        return cap
    return len(WORD.findall(text, start, end))


def _word_start_before(text: str, end: int, count: int) -> int:
    """Return where the count-th word before `end` starts (there are at least that many)."""
    reach = 64 * count
    while True:
        low = max(0, end - reach)
        # From inside a word the first match is a piece of it, so one more word than asked is read.
        starts = [m.start() for m in WORD.finditer(text, low, end)]
        if len(starts) > count or low == 0:
            return starts[-count]
        reach *= 4


@lru_cache(maxsize=8)
def _word_runs(count: int) -> re.Pattern:
    """Return a pattern matching `count` whole words and what precedes each."""
    return re.compile(r"(?:\W*\b\w+\b){" + str(count) + "}")


def _is_word_char(char: str) -> bool:
    """Return True for a character of \\w (what WORD matches)."""
    return char.isalnum() or char == "_"


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
