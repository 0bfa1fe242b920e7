"""Spelling: index words close to a typed one, for variants of rare words and "did you mean"."""

from __future__ import annotations

import bisect
import re
from collections import OrderedDict

from whoosh import query as Q
from whoosh.automata.lev import levenshtein_automaton

from indexer.engine.analysis import index_term
from indexer.engine.vocabulary import Vocabulary

# A word shorter than this is never given variants or corrected.
FUZZY_MIN_CHARS = 4
MAX_CLOSE_TERMS = 200
# Words whose close words are remembered per view.
MAX_REMEMBERED = 4096
SUGGEST_MIN_DOCFREQ = 2
WORD = re.compile(r"\w+")
# Fielded terms and excluded words are not spell-checked.
FIELDED = re.compile(r'\w+:(?:"[^"]*"|\S+)|(?:^|\s)-\S+|\bNOT\s+\S+')


class Spelling:
    """The close words of an index view's vocabulary, with the word lists and answers it keeps."""

    def __init__(self, searcher, vocabulary: Vocabulary):
        self.searcher = searcher
        self.vocabulary = vocabulary
        self._close: OrderedDict[tuple, list[str]] = OrderedDict()

    def close_terms(self, fieldname: str, text: str) -> list[str]:
        """Return the index words one or two edits from text (two for long words)."""
        key = (fieldname, text)
        found = self._close.get(key)
        if found is None:
            maxdist = 1 if len(text) < 7 else 2
            found = [t for t in self._terms_within(fieldname, text, maxdist) if t != text][:MAX_CLOSE_TERMS]
            self._close[key] = found
            # Every distinct unknown word a visitor types lands here: keep the recent ones only.
            if len(self._close) > MAX_REMEMBERED:
                self._close.popitem(last=False)
        return found

    def _terms_within(self, fieldname: str, text: str, maxdist: int):
        """Yield the words of a field within maxdist edits of text (same first letter), as `terms_within` finds them.

        Whoosh walks a Levenshtein automaton along the field's term cursor, and each seek in the
        cursor reads the index: over the sorted words of the view's vocabulary, the same walk is
        about five times faster.
        """
        fieldobj = self.searcher.schema[fieldname]
        words = self.vocabulary.words(fieldobj.spelling_fieldname(fieldname))
        dfa = levenshtein_automaton(text, maxdist, 1).to_dfa()
        # Whoosh's find_matches, with a bisect for the cursor's seek.
        i = 0
        while i < len(words):
            match = dfa.next_valid_string(words[i])
            if not match:
                return
            i = bisect.bisect_left(words, match, i)
            if i < len(words) and words[i] == match:
                yield match
                i += 1

    def suggest(self, text: str) -> str | None:
        """Return the query with each unknown word replaced by the commonest close word in the index, or None."""
        frequency = self.searcher.doc_frequency
        plain = FIELDED.sub(" ", text)
        changed, out = False, []
        for word in WORD.findall(plain):
            term = index_term(word)
            if not word.isalpha() or len(term) < FUZZY_MIN_CHARS or frequency("body", term) > 1:
                out.append(word)
                continue
            # Not a shorter word that happens to be close ("forc" -> "for"): the same length, give or take one.
            candidates = [c for c in self.close_terms("body", term) if len(c) >= len(term) - 1]
            best = max(candidates, key=lambda c: frequency("body", c), default=None)
            if best and frequency("body", best) >= SUGGEST_MIN_DOCFREQ:
                out.append(self._surface(best, word))
                changed = True
            else:
                out.append(word)
        return " ".join(out) if changed else None

    def _surface(self, term: str, typed: str) -> str:
        """Return a word as written in a document for an index term (a stem), cased like the typed word."""
        docnum = next(iter(self.searcher.docs_for_query(Q.Term("body", term))), None)
        if docnum is not None:
            for word in WORD.findall(self.searcher.stored_fields(docnum).get("body", "")):
                if index_term(word) == term:
                    return word if typed[:1].isupper() else word.lower()
        return term
