"""A batch analysed at once gives, for every document, the postings Whoosh's own formats write from its tokens."""

from __future__ import annotations

import numpy as np
from hypothesis import example, given, settings
from hypothesis import strategies as st
from test_analysis_formats import LANGUAGES, TEXTS
from whoosh.formats import Frequency, Positions
from whoosh.util.numeric import length_to_byte

from indexer.engine import batch_analysis
from indexer.engine.analysis import JOINERS, document_language
from indexer.engine.batch_analysis import Vocabulary, encode_positions, length_bytes, name_postings, text_postings
from indexer.engine.schema import SCHEMA


def whooshs(format_class, fieldname: str, text: str | None, language: str | None) -> list:
    """Return the postings Whoosh's own format writes for a text from the field's tokens, sorted by term."""
    if not text:
        return []
    field = SCHEMA[fieldname]
    with document_language(language):
        return sorted(format_class.word_values(field.format, text, field.analyzer, mode="index"))


def per_document(found, count: int, boost: float) -> list[list]:
    """Return a batch's postings as each document's (term, count, weight, value), sorted by term."""
    documents = [[] for _ in range(count)]
    for row, term in enumerate(found.terms):
        values = found.row_values(row)
        a, b = found.starts[row], found.starts[row + 1]
        for doc, frequency, value in zip(found.docs[a:b].tolist(), found.counts[a:b].tolist(), values):
            documents[doc].append((term, frequency, frequency * boost, value))
    return [sorted(postings) for postings in documents]


def check_batch(texts: list[str | None], languages: list[str | None], vocabulary: Vocabulary) -> None:
    for fieldname, analyse, format_class in (
        ("body", lambda: text_postings(texts, languages, vocabulary), Positions),
        ("names", lambda: name_postings(texts, vocabulary), Frequency),
    ):
        found = analyse()
        boost = float(SCHEMA[fieldname].format.field_boost)
        expected = [whooshs(format_class, fieldname, text, lang) for text, lang in zip(texts, languages)]
        assert per_document(found, len(texts), boost) == expected
        assert found.lengths.tolist() == [sum(posting[1] for posting in postings) for postings in expected]
        # Rows in the order of the terms' UTF-8 bytes, as Whoosh's readers expect; documents in order in a row.
        keys = [term.encode("utf-8") for term in found.terms]
        assert keys == sorted(set(keys))
        for row in range(len(found.terms)):
            docs = found.docs[found.starts[row] : found.starts[row + 1]]
            assert (np.diff(docs) > 0).all()


# Words people write: capitals, Cyrillic, digits, underscores, accents, joined by every joiner and by none.
WORDS = st.sampled_from(
    ["S", "400", "Minsk", "minsk", "Лукашенко", "Київ", "don", "t", "U", "N", "2024", "05", "_x", "Oekraïne", "über"]
) | st.text(alphabet="abcXYZйЖ9_é", min_size=1, max_size=6)
SEPARATORS = st.sampled_from([" ", "  ", "\n", ", ", *JOINERS, "--", ". ", "'s ", "\u2019", "(", "…"])
TEXT = st.lists(st.tuples(WORDS, SEPARATORS), max_size=60).map(lambda parts: "".join(w + s for w, s in parts))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.none() | TEXT, st.sampled_from(LANGUAGES)), min_size=1, max_size=8))
def test_a_batch_of_written_texts_has_the_postings_of_whooshs_formats(documents):
    texts, languages = map(list, zip(*documents))
    check_batch(texts, languages, Vocabulary())


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(TEXTS), st.sampled_from(LANGUAGES), st.tuples(st.floats(0, 1), st.floats(0, 1))),
        min_size=1,
        max_size=5,
    )
)
def test_a_batch_of_real_texts_cut_anywhere_has_the_postings_of_whooshs_formats(documents):
    texts, languages = [], []
    for text, language, cut in documents:
        start, end = sorted(int(share * len(text)) for share in cut)
        texts.append(text[start:end])
        languages.append(language)
    check_batch(texts, languages, Vocabulary())


def test_words_remembered_from_earlier_batches_and_forgotten_past_the_limit_give_the_same_postings(monkeypatch):
    vocabulary = Vocabulary()
    batches = [TEXTS[:4], TEXTS[4:8], TEXTS[:2] + TEXTS[8:10]]
    for texts in batches:
        check_batch(texts, ["en", "ru", None, "nl"], vocabulary)
    monkeypatch.setattr(batch_analysis, "MEMO_LIMIT", 10)
    vocabulary.trim()
    assert not vocabulary.terms
    check_batch(TEXTS[:4], ["en", "ru", None, "nl"], vocabulary)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.lists(st.integers(0, 70_000) | st.integers(0, 3_000_000), min_size=1, max_size=2_500, unique=True),
        min_size=1,
        max_size=6,
    )
)
@example([list(range(0, 2_600_000, 1_000)), [5], list(range(300, 1_300))])
def test_positions_are_encoded_as_whooshs_positions_format_encodes_them(postings):
    # Long enough for the pickler's batches of 1,000, and positions past one and two bytes.
    postings = [sorted(places) for places in postings]
    counts = np.array([len(places) for places in postings], dtype=np.int64)
    firsts = np.concatenate(([0], np.cumsum(counts)[:-1])).astype(np.int64)
    places = np.array([p for places in postings for p in places], dtype=np.int64)
    sizes, starts, values = encode_positions(places, firsts, counts)
    expected = [Positions().encode(places) for places in postings]
    assert [values[a:b] for a, b in zip(starts.tolist(), starts[1:].tolist())] == expected
    assert sizes.tolist() == list(map(len, expected))


def test_length_bytes_are_whooshs():
    lengths = np.array([0, 1, 7, 255, 256, 1_000, 70_000, 2**31 - 1], dtype=np.int64)
    assert length_bytes(lengths) == bytes(length_to_byte(n) for n in lengths.tolist())
