"""Spelling: index words close to a typed one, for variants of rare words and "did you mean"."""

from __future__ import annotations

import bisect
import re
from collections import OrderedDict

from rapidfuzz.distance import OSA
from whoosh import query as Q
from whoosh.automata.lev import levenshtein_automaton

from indexer.engine.analysis import index_term
from indexer.engine.vocabulary import Vocabulary

# A word shorter than this is never given variants or corrected.
FUZZY_MIN_CHARS = 5
# From this length a variant may be two edits away, below it one (a swap of two letters is one edit):
# "лукашенк" is two from "лукашук", another person, and "sanctoin" one from "sanction".
TWO_EDITS_FROM = 10
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
        """Return the index words within the edits a word of its length allows (see allowed_edits)."""
        key = (fieldname, text)
        found = self._close.get(key)
        if found is None:
            edits = allowed_edits(text)
            # The automaton counts a swap as two edits: look two away, keep those a swap brings closer.
            within = self._terms_within(fieldname, text, 2) if edits else ()
            found = [t for t in within if t != text and OSA.distance(t, text) <= edits][:MAX_CLOSE_TERMS]
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
            if not word.isalpha() or len(term) < FUZZY_MIN_CHARS or self.is_known(term):
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

    def is_known(self, term: str) -> bool:
        """Return True when some release has the word, in its title or its text: it is never corrected."""
        frequency = self.searcher.doc_frequency
        return frequency("body", term) > 0 or frequency("title", term) > 0

    def _surface(self, term: str, typed: str) -> str:
        """Return the form closest to the typed word of an index term (a stem) as a release writes it, cased alike."""
        docnum = next(iter(self.searcher.docs_for_query(Q.Term("body", term))), None)
        if docnum is not None:
            forms = {w.lower() for w in WORD.findall(self.searcher.stored_fields(docnum).get("body", ""))}
            forms = [w for w in forms if index_term(w) == term]
            if forms:
                word = min(forms, key=lambda w: (OSA.distance(w, typed.lower()), w))
                return word.capitalize() if typed[:1].isupper() else word
        return term


def allowed_edits(term: str) -> int:
    """Return the edits a spelling variant of a word may be away: none when short, one, two when long."""
    if len(term) < FUZZY_MIN_CHARS:
        return 0
    return 1 if len(term) < TWO_EDITS_FROM else 2
