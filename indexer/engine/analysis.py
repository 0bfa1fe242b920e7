"""How text becomes index terms, the same for pages and queries: words, folding, stemming by script.

One tokenizer does the whole chain (split into words, lowercase, fold accents, stem) with
one cache from word to term: the chain of Whoosh filters it replaces spent most of its time
passing tokens between generators. Stop words are kept, so "state of emergency" stays exact.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from whoosh.analysis import Token, Tokenizer
from whoosh.lang import stemmer_for_language
from whoosh.support.charset import accent_map

# Runs of letters and digits only: "Obama.The", "U.S." and "don't" split into their words,
# which Whoosh's default pattern (dotted runs kept whole) hides from search.
WORD_PATTERN = r"\w+"
# Terms are cached per word: the same few thousand words make up most of any corpus.
TERM_CACHE_SIZE = 200_000
CYRILLIC = ("\u0400", "\u04ff")


def _folding_map() -> dict[int, str | None]:
    """Return the character map that folds accents, so a query without them still matches."""
    folding = dict(accent_map)
    # Combining marks left after lowercasing ("İ".lower() is "i" + U+0307) carry no meaning here.
    folding.update({code: None for code in range(0x10000) if unicodedata.combining(chr(code))})
    folding.update(
        {
            ord("ß"): "ss",
            ord("æ"): "ae",
            ord("œ"): "oe",
            # Cyrillic letters that writers commonly type without their marks. "й" stays: it is a
            # letter of its own and the Russian stemmer's endings ("-ый", "-ой") need it.
            ord("ё"): "е",
            ord("ґ"): "г",
        }
    )
    return folding


FOLDING = _folding_map()


@lru_cache(maxsize=1)
def _stemmers():
    """Return the English and Russian stemmers, built once per process."""
    return stemmer_for_language("en"), stemmer_for_language("ru")


def stem(word: str) -> str:
    """Return the stem of a folded, lowercase word, by the script of its first letter.

    Latin words get the English (Porter2) stemmer, Cyrillic words the Russian one. Pages and
    queries go through the same function, so Ukrainian and Belarusian words, which the
    Russian stemmer handles only roughly, still match their own forms.
    """
    english, russian = _stemmers()
    first = word[0]
    if first.isdigit():
        return word
    if CYRILLIC[0] <= first <= CYRILLIC[1]:
        return russian(word)
    if word.isascii():
        return english(word)
    return word


@lru_cache(maxsize=TERM_CACHE_SIZE)
def index_term(word: str) -> str:
    """Return the index term of a word as written: lowercase, folded, stemmed."""
    folded = word.lower()
    if not folded.isascii():
        folded = folded.translate(FOLDING)
    return stem(folded) if folded else folded


class SearchTokenizer(Tokenizer):
    """Split text into words and turn each into its index term (see index_term)."""

    is_morph = True

    def __init__(self, expression: str = WORD_PATTERN):
        self.expression = re.compile(expression)

    def __eq__(self, other):
        return other.__class__ is self.__class__ and other.expression.pattern == self.expression.pattern

    def __call__(
        self,
        value,
        positions=False,
        chars=False,
        keeporiginal=False,
        removestops=True,
        start_pos=0,
        start_char=0,
        tokenize=True,
        mode="",
        **kwargs,
    ):
        token = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        token.boost = 1.0
        token.stopped = False
        if not tokenize:
            # A whole value, as the query parser passes for some query types.
            token.original = value
            token.text = index_term(value)
            if positions:
                token.pos = start_pos
            if chars:
                token.startchar, token.endchar = start_char, start_char + len(value)
            yield token
            return
        for pos, match in enumerate(self.expression.finditer(value), start_pos):
            word = match.group()
            token.text = index_term(word)
            if keeporiginal:
                token.original = word
            if positions:
                token.pos = pos
            if chars:
                # Offsets into the original text, so highlights land on the words as written.
                token.startchar = start_char + match.start()
                token.endchar = start_char + match.end()
            yield token


def search_analyzer() -> SearchTokenizer:
    """Return the analyzer of the searchable text fields."""
    return SearchTokenizer()
