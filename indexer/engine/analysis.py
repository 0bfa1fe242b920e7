"""How text becomes index terms, the same for pages and queries: words, folding, stemming by script.

One tokenizer does the whole chain (split into words, lowercase, fold accents, stem) with
one cache from word to term: the chain of Whoosh filters it replaces spent most of its time
passing tokens between generators. Stop words are kept, so "state of emergency" stays exact.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache, lru_cache
from operator import sub
from pickle import dumps

import jellyfish
import simplemma
import Stemmer
from anyascii import anyascii
from whoosh.analysis import Token, Tokenizer
from whoosh.formats import Frequency, Positions
from whoosh.support.charset import accent_map
from whoosh.system import pack_uint

# Runs of letters and digits only: "Obama.The", "U.S." and "don't" split into their words,
# which Whoosh's default pattern (dotted runs kept whole) hides from search.
WORD_PATTERN = r"\w+"
# Words joined by a hyphen, an apostrophe or a dot ("S-400", "COVID-19", "O'Brien", "U.S."): each
# part is a word, and the whole is one more term, as typed, so that a query for it matches exactly.
JOINERS = "-\u2010\u2011'\u2019."
JOINED_PATTERN = r"\w+(?:[" + re.escape(JOINERS) + r"]\w+)*"
# Typographic variants of the joiners, written as users type them.
_JOINER_FORMS = str.maketrans({"\u2010": "-", "\u2011": "-", "\u2019": "'"})
WORD = re.compile(WORD_PATTERN)
_HAS_JOINER = re.compile("[" + re.escape(JOINERS) + "]")
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


# Snowball stemmers (PyStemmer, in C) of the languages written in Latin letters; English for the rest.
LATIN_STEMMERS = {
    "en": "english",
    # Snowball's newer Dutch stemmer strips "ge-": "generatoren" and "generator" part ways.
    "nl": "dutch_porter",
    "de": "german",
    "fr": "french",
    "pl": "polish",
    "es": "spanish",
    "it": "italian",
    "pt": "portuguese",
    "cs": "czech",
    "lt": "lithuanian",
    "ro": "romanian",
    "sv": "swedish",
    "da": "danish",
    "no": "norwegian",
    "fi": "finnish",
    "hu": "hungarian",
    "tr": "turkish",
}
# Words of these languages by their lemma where simplemma's dictionary has them: Ukrainian has no
# Snowball stemmer, and Dutch Snowball keeps plurals apart ("sancties", "sanctie"). Other words by
# Snowball: Cyrillic by the Russian stemmer, which also serves Belarusian (no stemmer or lemmatiser
# of Belarusian is maintained; its endings are close to Russian ones).
LEMMATISED = {"uk", "nl"}
# The languages a query word is analysed as, by script: a query has no language, its documents do.
QUERY_LANGUAGES = {"latin": ("en", "nl", "de", "fr", "pl"), "cyrillic": ("ru", "uk")}
# The language of the text being analysed (a document's), None for a query: the script decides.
DOCUMENT_LANGUAGE: ContextVar[str | None] = ContextVar("document_language", default=None)


@cache
def _snowball(algorithm: str):
    """Return one Snowball stemmer's function, built once per process."""
    return Stemmer.Stemmer(algorithm).stemWord


def stem(word: str, language: str | None = None) -> str:
    """Return the stem of a folded, lowercase word in a language, by the script of its first letter.

    Latin words get their language's Snowball stemmer (English when it has none), Cyrillic words
    the Ukrainian lemma or the Russian stem. Pages and queries go through the same function.
    """
    first = word[0]
    if first.isdigit():
        return word
    cyrillic = CYRILLIC[0] <= first <= CYRILLIC[1]
    if not cyrillic and not word.isascii():
        return word
    return _snowball("russian" if cyrillic else LATIN_STEMMERS.get(language, "english"))(word)


@contextmanager
def document_language(language: str | None):
    """Analyse text within this context as a document of a language (None: by script alone)."""
    token = DOCUMENT_LANGUAGE.set(language)
    try:
        yield
    finally:
        DOCUMENT_LANGUAGE.reset(token)


def query_languages(word: str) -> tuple[str | None, ...]:
    """Return the languages a query word is analysed as: None (by script alone), then those of its script."""
    cyrillic = bool(word) and CYRILLIC[0] <= word[0].lower() <= CYRILLIC[1]
    return (None, *QUERY_LANGUAGES["cyrillic" if cyrillic else "latin"])


@lru_cache(maxsize=TERM_CACHE_SIZE)
def index_term(word: str, language: str | None = None) -> str:
    """Return the index term of a word as written in a language: lowercase, then its lemma or its folded stem."""
    lower = word.lower()
    if language in LEMMATISED and lower and simplemma.is_known(lower, lang=language):
        # The lemma of the word as written: folding first would hide "Oekraïne" from the dictionary.
        lemma = simplemma.lemmatize(lower, lang=language).lower()
        return lemma if lemma.isascii() else lemma.translate(FOLDING)
    folded = lower if lower.isascii() else lower.translate(FOLDING)
    return stem(folded, language) if folded else folded


# The tokenizer's own memo of index_term, per document language.
_TERMS_BY_LANGUAGE: dict[str | None, dict[str, str]] = {}


def _terms_memo(language: str | None) -> dict[str, str]:
    """Return the memo of one language's index terms by word, emptied when it grows past TERM_CACHE_SIZE."""
    terms = _TERMS_BY_LANGUAGE.setdefault(language, {})
    if len(terms) > TERM_CACHE_SIZE:
        terms.clear()
    return terms


@lru_cache(maxsize=TERM_CACHE_SIZE)
def joined_term(word: str) -> str:
    """Return the index term of joined words as a whole: lowercase and folded, joiners kept, not stemmed."""
    folded = word.lower().translate(_JOINER_FORMS)
    return folded if folded.isascii() else folded.translate(FOLDING)


def is_joined(term: str) -> bool:
    """Return True for the term of joined words ("s-400"), which a query matches whole or by its parts."""
    return any(joiner in term for joiner in "-'.")


def parts_of(term: str) -> list[str]:
    """Return the index terms of the parts of a joined term."""
    return [index_term(part) for part in WORD.findall(term)]


class SearchTokenizer(Tokenizer):
    """Split text into words and turn each into its index term (see index_term); joined words also give their whole.

    In a document, "S-400" gives "s-400" and then "s" and "400", the whole at the position of its
    first part, so that phrases of the parts still line up. In a query (`mode="query"`) it gives
    the whole alone: the query rewrite decides how its parts match.
    """

    is_morph = True

    def __init__(self, expression: str = JOINED_PATTERN):
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
            token.text = index_term(value, DOCUMENT_LANGUAGE.get())
            if positions:
                token.pos = start_pos
            if chars:
                token.startchar, token.endchar = start_char, start_char + len(value)
            yield token
            return
        query = mode == "query"
        language = DOCUMENT_LANGUAGE.get()
        # A plain dictionary per language: a lookup costs a third of a call to the cached function.
        terms = _terms_memo(language)
        pos = start_pos
        for match in self.expression.finditer(value):
            whole = match.group()
            # isalnum (in C) settles almost every word; only the rest may hold a joiner (or "_").
            if not whole.isalnum() and _HAS_JOINER.search(whole):
                # The whole first, spanning the joined words, at the position of the first part.
                self._set(token, joined_term(whole), whole, pos, start_char + match.start(), start_char + match.end())
                yield token
                if query:
                    pos += 1
                    continue
                parts = [(m.group(), match.start() + m.start()) for m in WORD.finditer(whole)]
            else:
                # One word, most of the time: set in line, as a call per word costs more than the rest.
                term = terms.get(whole)
                if term is None:
                    term = terms[whole] = index_term(whole, language)
                token.text = term
                if positions:
                    token.pos = pos
                if chars:
                    # Offsets into the original text, so highlights land on the words as written.
                    token.startchar, token.endchar = start_char + match.start(), start_char + match.end()
                if keeporiginal:
                    token.original = whole
                yield token
                pos += 1
                continue
            for word, at in parts:
                self._set(token, index_term(word, language), word, pos, start_char + at, start_char + at + len(word))
                yield token
                pos += 1

    def positions_of(self, value: str) -> dict[str, list[int]]:
        """Return each term of a document's text with its positions, as the tokens give them, without tokens."""
        language = DOCUMENT_LANGUAGE.get()
        terms = _terms_memo(language)
        found: dict[str, list[int]] = {}
        pos = 0
        for whole in self.expression.findall(value):
            if not whole.isalnum() and _HAS_JOINER.search(whole):
                # The whole at its first part's position, then the parts.
                found.setdefault(joined_term(whole), []).append(pos)
                for part in WORD.findall(whole):
                    found.setdefault(index_term(part, language), []).append(pos)
                    pos += 1
                continue
            term = terms.get(whole)
            if term is None:
                term = terms[whole] = index_term(whole, language)
            places = found.get(term)
            if places is None:
                found[term] = [pos]
            else:
                places.append(pos)
            pos += 1
        return found

    @staticmethod
    def _set(token: Token, text: str, original: str, pos: int, startchar: int, endchar: int) -> None:
        """Fill the reused token with one term and what the caller asked to keep of it."""
        token.text = text
        if token.positions:
            token.pos = pos
        if token.chars:
            token.startchar, token.endchar = startchar, endchar
        token.original = original


# Names are words that start with a capital, of at least this many letters.
NAME_MIN_LETTERS = 4


@lru_cache(maxsize=TERM_CACHE_SIZE)
def name_key(word: str) -> str:
    """Return the sound of a name in any script and spelling, as one key: Лукашэнка, Lukašenka, Lukashenko alike.

    The name is transliterated to ASCII (anyascii), then coded by NYSIIS (jellyfish), which maps
    the usual spellings of one sound ("sh", "š" as "s"; "y", "i"; endings) to one code. Spellings
    it codes apart (Tsikhanouskaya, Tikhanovskaya) are an edit or two apart, as spelling variants are.
    """
    # "y" and "i" stand for one sound across transliterations (Kyiv, Київ as "Kiyiv"; Zelenskyy, Zelenskiy).
    letters = "".join(c for c in anyascii(word).lower() if "a" <= c <= "z").replace("y", "i")
    if len(letters) < NAME_MIN_LETTERS:
        return ""
    key = jellyfish.nysiis(letters)
    if len(key) < NAME_MIN_LETTERS:
        # A code this short stands for too many names ("Mara", "Mary", "Mayer"): the letters themselves
        # (lowercase, where codes are capitals), so that Kyiv is Київ still.
        return letters
    # Ukrainian and Belarusian "г" is an "h" in Latin letters and a "g" in anyascii's: Hrushevsky, Грушевський.
    return "G" + key[1:] if key.startswith("H") else key


def is_name(word: str) -> bool:
    """Return True for a word written as a name: a capital first, letters only, long enough."""
    return word[:1].isupper() and word.isalpha() and len(word) >= NAME_MIN_LETTERS


class NameTokenizer(Tokenizer):
    """Turn the names of a text into their keys (see name_key), for matching across scripts and spellings."""

    def __eq__(self, other):
        return other.__class__ is self.__class__

    def __call__(self, value, positions=False, chars=False, mode="", tokenize=True, removestops=True, **kwargs):
        token = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        token.boost = 1.0
        token.stopped = False
        if not tokenize:
            token.text = value
            yield token
            return
        for key in self.keys_of(value):
            token.text = key
            yield token

    @staticmethod
    def keys_of(value: str) -> list[str]:
        """Return the key of each name in a text, in order, as the tokens give them."""
        # The field keeps neither positions nor offsets: words alone, found in one C pass.
        words = WORD.findall(value)
        # A capitalised word the text also writes in lowercase ("Sanctions" in a heading) is no name.
        lowercase = {word for word in words if word.islower()}
        return [
            name_key(word) for word in words if word[0].isupper() and word.lower() not in lowercase and is_name(word)
        ]

    @staticmethod
    def key_counts(value: str) -> dict[str, int]:
        """Return how often each name key is in a text: keys_of counted, each distinct word looked at once."""
        counts = Counter(WORD.findall(value))
        lowercase = {word for word in counts if word.islower()}
        keys: dict[str, int] = {}
        for word, count in counts.items():
            if word[0].isupper() and word.lower() not in lowercase and is_name(word):
                key = name_key(word)
                keys[key] = keys.get(key, 0) + count
        return keys


def name_analyzer() -> NameTokenizer:
    """Return the analyzer of the names field."""
    return NameTokenizer()


def search_analyzer() -> SearchTokenizer:
    """Return the analyzer of the searchable text fields."""
    return SearchTokenizer()


class TermPositions(Positions):
    """Whoosh's Positions format, written from the tokenizer's terms directly: the same postings, without tokens."""

    def word_values(self, value, analyzer, **kwargs):
        # Indexing passes mode="index" alone; anything else goes Whoosh's way.
        if not isinstance(analyzer, SearchTokenizer) or not isinstance(value, str) or set(kwargs) - {"mode"}:
            yield from super().word_values(value, analyzer, **kwargs)
            return
        boost = self.field_boost
        # Most of a document's terms are at one position, and one position's encoding is always the same.
        encoded_one = _ONE_POSITION
        for word, places in analyzer.positions_of(value).items():
            count = len(places)
            if count == 1:
                at = places[0]
                encoded = encoded_one.get(at)
                if encoded is None:
                    encoded = encoded_one[at] = self.encode(places)
            else:
                encoded = _encode_positions(places)
            # Every token's boost is 1.0: the weight is the count.
            yield word, count, count * boost, encoded


# A position's encoding by the position, for terms found once in a text.
_ONE_POSITION: dict[int, bytes] = {}


def _encode_positions(places: list[int]) -> bytes:
    """Return what Positions.encode gives for several positions: their count, then their deltas pickled."""
    deltas = [places[0], *map(sub, places[1:], places)]
    return pack_uint(len(deltas)) + dumps(deltas, 2)


class TermFrequency(Frequency):
    """Whoosh's Frequency format, written from the name keys directly: the same postings, without tokens."""

    def word_values(self, value, analyzer, **kwargs):
        # Indexing passes mode="index" alone; anything else goes Whoosh's way.
        if not isinstance(analyzer, NameTokenizer) or not isinstance(value, str) or set(kwargs) - {"mode"}:
            return super().word_values(value, analyzer, **kwargs)
        boost = self.field_boost
        # A token's boost is 1.0, and Frequency sums them as floats: float(count) is that sum exactly.
        return [
            (key, count, float(count) * boost, _encoded_count(count))
            for key, count in analyzer.key_counts(value).items()
        ]


@cache
def _encoded_count(count: int) -> bytes:
    """Return a frequency as Frequency's postings encode it."""
    return pack_uint(count)
