"""Queries as users type them, parsed into Whoosh queries: sources resolved, rare words given their variants."""

from __future__ import annotations

import re
from collections.abc import Callable

from whoosh import query as Q
from whoosh.qparser import AndGroup, MultifieldParser, PlusMinusPlugin

from indexer.engine.spelling import FUZZY_MIN_CHARS, Spelling

# Title words count double: a release about sanctions says so in its headline.
FIELD_BOOSTS = {"title": 2.0, "body": 1.0}
# A word that few documents contain may be misspelt: also look for words one or two edits away,
# ranked below the exact word.
FUZZY_MAX_DOCFREQ = 2
FUZZY_BOOST = 0.3
# Words a pattern ("a*") stands for that are highlighted, at most.
MAX_PATTERN_TERMS = 200
SYNTAX = re.compile(r'["()*?:\\^~+\-]')


def parse_query(
    text: str, searcher, spelling: Spelling, sources: Callable[[str], list[str]]
) -> tuple[Q.Query, str | None]:
    """Parse the user's query; a query the parser cannot read falls back to its plain words.

    `sources(wanted)` returns the source names a `source:` term names.
    """
    if not text.strip():
        return Q.Every(), None
    notice = None
    if text.count('"') % 2 or text.count("(") != text.count(")"):
        words = " ".join(SYNTAX.sub(" ", text).split())
        notice = f"Could not read the query syntax; searched for the words: {words}"
        text = words
        if not text:
            return Q.NullQuery, notice
    parser = MultifieldParser(["title", "body"], searcher.schema, fieldboosts=FIELD_BOOSTS, group=AndGroup)
    parser.add_plugin(PlusMinusPlugin())
    parsed = parser.parse(text)
    return _rewrite(parsed, searcher, spelling, sources), notice


def _rewrite(node: Q.Query, searcher, spelling: Spelling, sources) -> Q.Query:
    """Resolve `source:` against the real source names, and add spelling variants of rare words."""
    if node.is_leaf():
        field = getattr(node, "fieldname", None)
        if field == "source":
            return _source_query(node, sources)
        if isinstance(node, Q.Term) and field in FIELD_BOOSTS:
            return _with_variants(node, searcher, spelling)
        return node
    if isinstance(node, Q.Not):
        # Excluded words are excluded exactly: no spelling variants.
        return node
    return node.apply(lambda child: _rewrite(child, searcher, spelling, sources))


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
    """Return the term, or it OR its close spellings (ranked lower) when few documents contain it."""
    text = term.text
    if not isinstance(text, str) or len(text) < FUZZY_MIN_CHARS or not text.isalpha():
        return term
    # Rarity is judged on the body, so a word absent from titles only is not "misspelt".
    if searcher.doc_frequency("body", text) > FUZZY_MAX_DOCFREQ:
        return term
    variants = spelling.close_terms(term.fieldname, text)
    if not variants:
        return term
    return Q.Or([term] + [Q.Term(term.fieldname, v, boost=term.boost * FUZZY_BOOST) for v in variants])


def highlight_terms(query: Q.Query, reader) -> set[str]:
    """Return the index terms a query looks for (not those it excludes), to highlight."""
    terms: set[str] = set()

    def walk(node):
        if isinstance(node, Q.Not):
            return
        if node.is_leaf():
            if getattr(node, "fieldname", None) not in FIELD_BOOSTS:
                return
            if isinstance(node, Q.Phrase):
                terms.update(node.words)
            elif isinstance(node, Q.Term):
                terms.add(node.text)
            elif isinstance(node, (Q.Prefix, Q.Wildcard, Q.FuzzyTerm)):
                # The words of the index a pattern stands for, bounded: "a*" must not list the vocabulary.
                for i, (_, text) in enumerate(node.expanded_terms(reader)):
                    if i >= MAX_PATTERN_TERMS:
                        break
                    terms.add(text.decode("utf-8") if isinstance(text, bytes) else text)
            return
        for child in node.children():
            walk(child)

    walk(query)
    return terms


def is_everything(query: Q.Query) -> bool:
    """Return True for the query of an empty search: every document, in no order of relevance."""
    return isinstance(query, Q.Every)
