"""Queries as users type them, parsed into Whoosh queries: sources resolved, rare words given their variants."""

from __future__ import annotations

import re
from collections.abc import Callable

from rapidfuzz.distance import OSA
from whoosh import query as Q
from whoosh.qparser import AndGroup, MultifieldParser, PlusMinusPlugin

from indexer.engine.analysis import (
    JOINED_PATTERN,
    index_term,
    is_joined,
    joined_term,
    name_key,
    parts_of,
    query_languages,
)
from indexer.engine.spelling import FUZZY_MIN_CHARS, Spelling
from indexer.engine.vocabulary import Vocabulary

# Title words count double: a release about sanctions says so in its headline.
FIELD_BOOSTS = {"title": 2.0, "body": 1.0}
# A word no release contains may be misspelt: also look for words one or two edits away (see
# spelling.allowed_edits), ranked below any exact word.
FUZZY_BOOST = 0.3
# A word's other spellings and scripts (the names field): below the word as typed, the exact sound first.
NAME_BOOST = 0.5
NAME_VARIANT_BOOST = 0.3
# Edits a name's key may be from the typed one: codes are shorter than words, so an edit weighs more.
# None up to 8 letters (LACASANC, Lukashenko, is one from LACASAC, Lukashuk, another man), one from 9,
# two from 10 (TSACKANASC, Tsikhanouskaya, is two from TACKANAVSC, Tikhanovskaya).
NAME_EDITS_FROM = {9: 1, 10: 2}
# Releases with the words of a query side by side, in the title or the text, rank above those
# with the words apart: the phrase of them adds its words' scores again, times this.
PROXIMITY_BOOST = 0.5
# Words of a query ranked by proximity, at most; and releases with them all, at most (checking
# where the words stand costs a read per release).
PROXIMITY_MAX_WORDS = 6
PROXIMITY_MAX_CANDIDATES = 100
# How highlight_terms marks a name's key among the index terms (no term holds a colon).
NAME_HIGHLIGHT = "names:"
# Words in quotes and fielded words ("title:x") mean exactly what they say: never given variants.
EXACT = re.compile(r'"([^"]*)"|\w+:("[^"]*"|\S+)')
# Spelling variants searched per word, the commonest first: each costs a postings read.
MAX_VARIANTS = 8
# Words of a query searched, at most (as web search engines do): the rest are left out, and the user told.
MAX_QUERY_WORDS = 32
# Index words a pattern ("ukr*", "wom?n") stands for, at most: the commonest, holding at most
# MAX_PATTERN_POSTINGS documents in all, so that "a*" costs about what a few common words cost.
MAX_PATTERN_WORDS = 32
MAX_PATTERN_POSTINGS = 250_000
SYNTAX = re.compile(r'["()*?:\\^~+\-]')
# A minus excludes only at the start of a word: in "S-400" or "COVID-19" it joins.
EXCLUDE = r"(?<![^\s(])-"
# A query of exclusions alone ("-russia", "-a -\"b c\""): every release without them.
ONLY_EXCLUSIONS = re.compile(r'\s*(?:-(?:"[^"]*"|\S+)\s*)+')
EXCLUSION = re.compile(r'-("[^"]*"|\S+)')
# Joined words ("S-400") match as typed; their parts, one after the other, rank this much lower.
PARTS_BOOST = 0.5


def parse_query(
    text: str, searcher, spelling: Spelling, vocabulary: Vocabulary, sources: Callable[[str], list[str]]
) -> tuple[Q.Query, str | None, tuple[str, ...]]:
    """Parse the user's query into (query, notice, words searched through spelling variants, as typed).

    A query the parser cannot read falls back to its plain words. `sources(wanted)` returns the
    source names a `source:` term names. The work a query may ask for is bounded (words,
    patterns, variants), and the notice says what was left out.
    """
    if not text.strip():
        return Q.Every(), None, ()
    notices = []
    if text.count('"') % 2 or text.count("(") != text.count(")"):
        words = " ".join(SYNTAX.sub(" ", text).split())
        notices.append(f"Could not read the query syntax; searched for the words: {words}")
        text = words
        if not text:
            return Q.NullQuery, notices[0], ()
    parser = MultifieldParser(["title", "body"], searcher.schema, fieldboosts=FIELD_BOOSTS, group=AndGroup)
    parser.add_plugin(PlusMinusPlugin(minusexpr=EXCLUDE))
    if ONLY_EXCLUSIONS.fullmatch(text):
        # Whoosh's parser makes nothing of a query without a positive part.
        parsed = Q.And([Q.Not(parser.parse(m.group(1))) for m in EXCLUSION.finditer(text)])
    else:
        parsed = parser.parse(text)
    parsed = _first_words(parsed, MAX_QUERY_WORDS, notices)
    exact = {index_term(w) for m in EXACT.finditer(text) for w in re.findall(r"\w+", m.group(1) or m.group(2))}
    rewrite = _Rewrite(searcher, spelling, vocabulary, sources, notices, exact, typed_words(text))
    query = rewrite(parsed)
    return query, " ".join(dict.fromkeys(notices + rewrite.notes())) or None, tuple(rewrite.fuzzed)


def _first_words(query: Q.Query, limit: int, notices: list[str]) -> Q.Query:
    """Return the query without the parts that name words beyond the first `limit` distinct ones."""
    seen: dict[str, None] = {}
    dropped: list[str] = []

    def keep(node):
        if node.is_leaf():
            words = getattr(node, "words", None) or [str(getattr(node, "text", ""))]
            if words == [""]:
                return node
            new = [w for w in words if w not in seen]
            if len(seen) + len(new) > limit and new:
                dropped.extend(new)
                return None
            seen.update(dict.fromkeys(new))
            return node
        if isinstance(node, Q.Not):
            inner = keep(node.query)
            return None if inner is None else Q.Not(inner)
        children = [kept for kept in (keep(child) for child in node.children()) if kept is not None]
        if not children:
            return None
        return _with_children(node, children)

    kept = keep(query)
    if dropped:
        notices.append(
            f"Only the first {limit} words of a query are searched; left out: {' '.join(dict.fromkeys(dropped))}."
        )
    return kept if kept is not None else Q.NullQuery


def _with_children(node: Q.Query, children: list[Q.Query]) -> Q.Query:
    """Return a compound query like `node` with other children."""
    if isinstance(node, Q.BinaryQuery):
        if len(children) == 2:
            return type(node)(children[0], children[1])
        # One side left out: what remains is the side that matters (AndNot's a; AndMaybe's a).
        return children[0]
    copy = node.copy()
    copy.subqueries = children
    return copy


class _Rewrite:
    """Resolve `source:` against the real source names, expand patterns, and add spelling variants of rare words."""

    def __init__(
        self,
        searcher,
        spelling: Spelling,
        vocabulary: Vocabulary,
        sources,
        notices: list[str],
        exact: set[str],
        typed: dict[str, str],
    ):
        self.searcher, self.spelling, self.vocabulary, self.sources = searcher, spelling, vocabulary, sources
        self.notices = notices
        # Index terms of words meant exactly, and the typed word of each index term.
        self.exact, self.typed = exact, typed
        # The typed words searched through their spelling variants.
        self.fuzzed: dict[str, None] = {}
        self.patterns_cut: dict[str, tuple[int, int]] = {}

    def notes(self) -> list[str]:
        """Return what to tell the user about the patterns that stand for more words than were searched."""
        return [
            f"{pattern} stands for {total:,} words; searched for the {kept} commonest of them."
            for pattern, (kept, total) in self.patterns_cut.items()
        ]

    def __call__(self, node: Q.Query, excluded: bool = False) -> Q.Query:
        if node.is_leaf():
            field = getattr(node, "fieldname", None)
            if field == "source":
                return _source_query(node, self.sources)
            if isinstance(node, (Q.Prefix, Q.Wildcard)) and field in FIELD_BOOSTS:
                return self._expanded(node)
            if field in FIELD_BOOSTS and isinstance(node, Q.Term) and is_joined(node.text):
                return _joined(node)
            if field in FIELD_BOOSTS and isinstance(node, Q.Phrase) and any(map(is_joined, node.words)):
                # Within a phrase, joined words are their parts: the whole holds one position of several.
                words = [part for word in node.words for part in (parts_of(word) if is_joined(word) else [word])]
                return Q.Phrase(field, words, slop=node.slop, boost=node.boost)
            if isinstance(node, Q.Term) and field in FIELD_BOOSTS:
                return self._word(node, excluded)
            if isinstance(node, Q.Phrase) and field in FIELD_BOOSTS:
                return self._phrase_forms(node)
            return node
        if isinstance(node, Q.Not):
            # Excluded words are excluded exactly: no spelling variants.
            return Q.Not(self(node.query, excluded=True))
        if isinstance(node, Q.AndNot):
            return Q.AndNot(self(node.a, excluded), self(node.b, excluded=True))
        return node.apply(lambda child: self(child, excluded))

    def _word(self, term: Q.Term, excluded: bool) -> Q.Query:
        """Return a word's query in one field: its forms, and unless meant exactly, its names or spelling variants."""
        forms = self._forms(term)
        if excluded or term.text in self.exact:
            return forms
        names = self._names(term)
        # A word some release has, in one language or another, is not misspelt.
        found = forms if forms is not term or self.spelling.is_known(term.text) else None
        if found is None:
            found = _with_variants(term, self.searcher, self.spelling)
            if found is not term and self._is_a_name(names, found):
                # Another spelling of a name ("Lukashenka" for "Lukashenko"): the name, not a typo. No
                # release has the spelling typed, so the others need not rank below it.
                found = term
                names = [Q.Term(n.fieldname, n.text, boost=n.boost / NAME_BOOST) for n in names]
            elif found is not term:
                self.fuzzed[self.typed.get(term.text, str(term.text))] = None
        if term.fieldname != "body" or not names:
            return found
        return Q.Or([*(found.subqueries if isinstance(found, Q.Or) else [found]), *names])

    def _forms(self, term: Q.Term) -> Q.Query:
        """Return a word's query as every language of its script analyses it, each form in releases of its language.

        A form counts only in its own language: the German stem of "against" is "again", an
        English word of its own.
        """
        word = self.typed.get(term.text)
        if not word:
            return term
        frequency = self.searcher.doc_frequency
        forms: dict[tuple[str, str], None] = {}
        for language in query_languages(word)[1:]:
            form = index_term(word, language)
            if form != term.text and frequency(term.fieldname, form):
                forms[(form, language)] = None
        if not forms:
            return term
        return Q.Or([term, *(_in_language(Q.Term(term.fieldname, f, boost=term.boost), lang) for f, lang in forms)])

    def _phrase_forms(self, phrase: Q.Phrase) -> Q.Query:
        """Return a phrase as every language of its script analyses its words, each in releases of its language."""
        typed = [self.typed.get(w) for w in phrase.words]
        if not all(typed):
            return phrase
        frequency = self.searcher.doc_frequency
        forms: dict[tuple[str, ...], str] = {}
        for language in query_languages(typed[0])[1:]:
            words = tuple(index_term(word, language) for word in typed)
            # Only forms whose every word some release has: each phrase costs a check of positions.
            if words != tuple(phrase.words) and all(frequency(phrase.fieldname, w) for w in words):
                forms.setdefault(words, language)
        if not forms:
            return phrase
        field, slop, boost = phrase.fieldname, phrase.slop, phrase.boost
        others = [_in_language(Q.Phrase(field, list(w), slop=slop, boost=boost), lang) for w, lang in forms.items()]
        return Q.Or([phrase, *others])

    def _is_a_name(self, names: list[Q.Query], variants: Q.Query) -> bool:
        """Return True when an unknown word's sound is mostly written as a name, not its variants' word.

        "Lukashenka" and "Lukashenko" sound alike and the releases write it capitalised; "sanctoins"
        and "Sanctions" sound alike too, but "sanctions" is capitalised only at the start of headings.
        """
        frequency = self.searcher.doc_frequency
        named = max((frequency("names", n.text) for n in names), default=0)
        words = max((frequency(v.fieldname, v.text) for v in variants.leaves() if isinstance(v, Q.Term)), default=0)
        return bool(named) and named >= words

    def _names(self, term: Q.Term) -> list[Q.Query]:
        """Return the terms of a word's sound in the names field: its other scripts and spellings, ranked lower."""
        word = self.typed.get(term.text)
        key = name_key(word) if word and word.isalpha() else ""
        if not key:
            return []
        frequency = self.searcher.doc_frequency
        edits = max((n for length, n in NAME_EDITS_FROM.items() if len(key) >= length), default=0)
        close = self.spelling.close_terms("names", key) if edits else []
        keys = [k for k in close if frequency("names", k) and OSA.distance(k, key) <= edits]
        keys = sorted(keys, key=lambda k: (-frequency("names", k), k))[:MAX_VARIANTS]
        names = [Q.Term("names", k, boost=term.boost * NAME_VARIANT_BOOST) for k in keys]
        # The sound of the word in more releases than the word itself: other spellings or scripts have it.
        # Otherwise ("sanctions", capitalised in a few headings) it would only cost a read.
        if frequency("names", key) > frequency("body", term.text):
            names.insert(0, Q.Term("names", key, boost=term.boost * NAME_BOOST))
        return names

    def _expanded(self, node: Q.Query) -> Q.Query:
        """Return the index words a pattern stands for, as terms, within the pattern budget."""
        pattern = node.text + "*" if isinstance(node, Q.Prefix) else node.text
        words, total = self.vocabulary.expand(
            node.fieldname, pattern, max_words=MAX_PATTERN_WORDS, max_postings=MAX_PATTERN_POSTINGS
        )
        if len(words) < total:
            # Title and body each expand the pattern: tell it once, with the larger count.
            shown = self.patterns_cut.get(pattern)
            if shown is None or shown[1] < total:
                self.patterns_cut[pattern] = (len(words), total)
        if not words:
            return Q.NullQuery
        return Q.Or([Q.Term(node.fieldname, word, boost=node.boost) for word in words])


def _in_language(query: Q.Query, language: str) -> Q.Query:
    """Return a query that matches only in releases of one language, scored as the query alone."""
    return Q.Require(query, Q.Term("language", language))


def _joined(term: Q.Term) -> Q.Query:
    """Return joined words as typed, or (ranked lower) their parts one after the other."""
    parts = parts_of(term.text)
    if len(parts) < 2:
        return term
    return Q.Or([term, Q.Phrase(term.fieldname, parts, boost=term.boost * PARTS_BOOST)])


def _source_query(node: Q.Query, sources) -> Q.Query:
    """Return a query for the sources a `source:` term names, ignoring case; exact names first."""
    wanted = " ".join(getattr(node, "words", None) or [str(getattr(node, "text", ""))]).strip()
    names = sources(wanted)
    if not names:
        return Q.NullQuery
    return Q.Or([Q.Term("source", name) for name in names])


def match_sources(names, wanted: str) -> list[str]:
    """Return the source names `wanted` means: equal ignoring case, else starting with it, else containing it."""
    wanted = wanted.strip().lower()
    names = list(names)
    for test in (lambda n: n.lower() == wanted, lambda n: n.lower().startswith(wanted), lambda n: wanted in n.lower()):
        found = [n for n in names if test(n)]
        if found:
            return found
    return []


def _with_variants(term: Q.Term, searcher, spelling: Spelling) -> Q.Query:
    """Return the term, or it OR its close spellings (ranked lower) when no release contains it."""
    text = term.text
    if not isinstance(text, str) or len(text) < FUZZY_MIN_CHARS or not text.isalpha():
        return term
    if spelling.is_known(text):
        return term
    variants = spelling.close_terms(term.fieldname, text)
    if not variants:
        return term
    if len(variants) > MAX_VARIANTS:
        frequency = searcher.doc_frequency
        variants = sorted(variants, key=lambda v: (-frequency(term.fieldname, v), v))[:MAX_VARIANTS]
    return Q.Or([term] + [Q.Term(term.fieldname, v, boost=term.boost * FUZZY_BOOST) for v in variants])


def highlight_terms(query: Q.Query, reader) -> set[str]:
    """Return the index terms a query looks for (not those it excludes), to highlight; name keys as "names:KEY"."""
    terms: set[str] = set()

    def walk(node):
        if isinstance(node, Q.Not):
            return
        if node.is_leaf():
            if getattr(node, "fieldname", None) == "names":
                terms.add(f"{NAME_HIGHLIGHT}{node.text}")
                return
            if getattr(node, "fieldname", None) not in FIELD_BOOSTS:
                return
            if isinstance(node, Q.Phrase):
                terms.update(node.words)
            elif isinstance(node, Q.Term):
                terms.add(node.text)
            return
        for child in node.children():
            walk(child)

    walk(query)
    return terms


def is_everything(query: Q.Query) -> bool:
    """Return True for a query of every document, or every one but some: in no order of relevance."""
    if isinstance(query, Q.And):
        return all(isinstance(child, Q.Not) for child in query.children())
    return isinstance(query, (Q.Every, Q.Not))


def required_parts(query: Q.Query) -> tuple[list[Q.Query], list[Q.Query], Q.Query | None]:
    """Return a query's word parts (words, phrases: each in every field), other parts (`source:x`), exclusions."""
    excluded: list[Q.Query] = []
    while isinstance(query, Q.AndNot):
        excluded.append(query.b)
        query = query.a
    parts, others = [], []
    for child in query.children() if isinstance(query, Q.And) else [query]:
        if isinstance(child, Q.Not):
            excluded.append(child.query)
        elif any(getattr(leaf, "fieldname", None) in FIELD_BOOSTS for leaf in child.leaves()):
            parts.append(child)
        else:
            # A filter typed in the query (source:, language:): every release listed must meet it.
            others.append(child)
    return parts, others, (Q.Or(excluded) if len(excluded) > 1 else excluded[0]) if excluded else None


def any_of(parts: list[Q.Query], others: list[Q.Query], excluded: Q.Query | None) -> Q.Query:
    """Return the query matching any of the word parts and all the others, still without what is excluded."""
    query = Q.And([*others, Q.Or(parts)]) if others else Q.Or(parts)
    return query if excluded is None else Q.AndNot(query, excluded)


def typed_words(text: str) -> dict[str, str]:
    """Return the word as typed of each index term of a query: words, joined words and their parts."""
    typed: dict[str, str] = {}
    for whole in re.findall(JOINED_PATTERN, text):
        parts = re.findall(r"\w+", whole)
        if len(parts) > 1:
            typed.setdefault(joined_term(whole), whole)
        for word in parts:
            typed.setdefault(index_term(word), word)
    return typed


def part_label(part: Q.Query, typed: dict[str, str]) -> str:
    """Return how the user typed a required part (typed: see typed_words): its word, or its phrase in quotes."""
    leaf = next((leaf for leaf in part.leaves() if isinstance(leaf, (Q.Term, Q.Phrase))), None)
    if isinstance(leaf, Q.Phrase):
        return '"' + " ".join(typed.get(w, w) for w in leaf.words) + '"'
    if isinstance(leaf, Q.Term):
        return typed.get(leaf.text, str(leaf.text))
    return str(part)


def proximity_words(query: Q.Query) -> list[str]:
    """Return the index terms of a query of plain words, in order, for ranking by proximity; [] for others."""
    parts, _, _ = required_parts(query)
    if not 2 <= len(parts) <= PROXIMITY_MAX_WORDS:
        return []
    words = []
    for part in parts:
        # The word as typed comes first among its forms (see _Rewrite).
        term = next((leaf for leaf in part.leaves() if isinstance(leaf, Q.Term) and leaf.fieldname == "body"), None)
        if term is None or not isinstance(part, (Q.Or, Q.Term)):
            return []
        words.append(term.text)
    return words


def with_proximity(query: Q.Query, words: list[str]) -> Q.Query:
    """Return a query that ranks releases with the words side by side (title or text) above the others."""
    phrases = [Q.Phrase(field, words, boost=PROXIMITY_BOOST * boost) for field, boost in FIELD_BOOSTS.items()]
    return Q.AndMaybe(query, Q.Or(phrases))
