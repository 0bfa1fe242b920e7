"""The text and names fields write, from real text in every language, the postings Whoosh's formats write."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from whoosh.formats import Frequency, Positions

from indexer.engine.analysis import LATIN_STEMMERS, LEMMATISED, document_language
from indexer.engine.schema import SCHEMA

from conftest import CORPUS, FIXTURES

# Releases in English, Dutch, Russian and Ukrainian, and pages' markup (entities, scripts, joined words).
TEXTS = sorted(
    path.read_text(encoding="utf-8", errors="replace")
    for path in [*CORPUS.rglob("*.txt"), *FIXTURES.rglob("*.html"), *FIXTURES.rglob("*.md")]
)
LANGUAGES = sorted({None, "ru", "uk", "be", "und", *LATIN_STEMMERS, *LEMMATISED}, key=str)


def whooshs(format_class, fieldname: str, text: str) -> list:
    """Return the postings Whoosh's own format writes for a text from the field's tokens."""
    field = SCHEMA[fieldname]
    return sorted(format_class.word_values(field.format, text, field.analyzer, mode="index"))


def ours(fieldname: str, text: str) -> list:
    """Return the postings the field's format writes for a text."""
    field = SCHEMA[fieldname]
    return sorted(field.format.word_values(text, field.analyzer, mode="index"))


def test_the_texts_are_many_and_long():
    assert len(TEXTS) > 150 and sum(map(len, TEXTS)) > 1_000_000


@settings(max_examples=150, deadline=None)
@given(
    text=st.sampled_from(TEXTS),
    language=st.sampled_from(LANGUAGES),
    cut=st.tuples(st.floats(0, 1), st.floats(0, 1)),
)
def test_text_and_names_postings_of_real_text_are_whooshs(text, language, cut):
    start, end = sorted(int(share * len(text)) for share in cut)
    # The whole text, and a part of it cut anywhere (inside words, markup, joined words).
    for part in (text, text[start:end]):
        with document_language(language):
            for fieldname in ("title", "body"):
                assert ours(fieldname, part) == whooshs(Positions, fieldname, part)
            assert ours("names", part) == whooshs(Frequency, "names", part)


def test_a_text_of_repeated_and_single_words_has_whooshs_postings():
    text = " ".join(["minsk"] * 300 + [f"w{n}" for n in range(70_000)] + ["minsk", "S-400", "s", "400"])
    for fieldname in ("title", "body"):
        assert ours(fieldname, text) == whooshs(Positions, fieldname, text)
    names = "Lukashenko Лукашенко Київ Kyiv Sanctions sanctions Tsikhanouskaya " * 40
    assert ours("names", names) == whooshs(Frequency, "names", names)
