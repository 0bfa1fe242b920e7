"""The engine's reads of Whoosh internals give what its public matchers give; the pinned Whoosh is installed."""

from __future__ import annotations

import pickle
import re
from importlib import metadata

import numpy as np
import pytest
import tomllib
from hypothesis import given, settings
from hypothesis import strategies as st
from whoosh import scoring
from whoosh.filedb.filestore import FileStorage
from whoosh.formats import Positions
from whoosh.matching import ListMatcher, ReadTooFar
from whoosh.reading import TermInfo
from whoosh.scoring import bm25

from indexer.engine import internals
from indexer.engine.postgres.encoding import PackedValues, pack_values
from indexer.engine.postgres.reading import TermMatcher
from indexer.engine.postings import HeldValues
from indexer.engine.schema import SCHEMA

from conftest import ROOT

# About Whoosh's own files and internals: the PostgreSQL backend has none of them.
pytestmark = pytest.mark.whoosh_only

WORDS = "council sanctions prisoners minsk report the of release decree".split()


@pytest.fixture(scope="module")
def searcher(tmp_path_factory):
    """A searcher on an index of two segments, the first with deletions, postings long enough for several blocks."""
    ix = FileStorage(str(tmp_path_factory.mktemp("internals"))).create_index(SCHEMA)
    for batch in range(2):
        writer = ix.writer()
        for n in range(400):
            words = [WORDS[(n * 7 + k * batch + k * k) % len(WORDS)] for k in range(3 + n % 11)]
            writer.add_document(
                id=f"d{batch}-{n}",
                title=" ".join(words[:3]),
                body=" ".join(words),
                source="S",
                date=20220101,
                year=2022,
                month=1,
                date_precision="day",
                language="en",
            )
        writer.commit(merge=False)
    writer = ix.writer()
    for n in range(0, 400, 3):
        writer.delete_by_term("id", f"d0-{n}")
    writer.commit(merge=False)
    with ix.searcher() as s:
        yield s


def public_postings(sub, fieldname: str, text: str):
    """Return (ids, weights, values, scores) of a segment's live postings, stepping Whoosh's matcher."""
    m = sub.postings(fieldname, text)
    ids, weights, values, scores = [], [], [], []
    while m.is_active():
        ids.append(m.id())
        weights.append(m.weight())
        values.append(m.value())
        scores.append(m.score())
        m.next()
    return ids, weights, values, scores


@pytest.mark.parametrize(
    "fieldname,text", [("body", "council"), ("body", "the"), ("title", "minsk"), ("body", "decre")]
)
def test_decoded_blocks_hold_the_matchers_postings(searcher, fieldname, text):
    for sub, _ in searcher.leaf_searchers():
        if (fieldname, text.encode()) not in sub.reader():
            continue
        ids, weights, values, scores = public_postings(sub, fieldname, text)
        m = internals.unfiltered(sub.postings(fieldname, text))
        assert internals.is_block_matcher(m)
        read = [(d, w, v) for i, ws, vs in internals.blocks(m, weights=True, values=True) for d, w, v in zip(i, ws, vs)]
        assert len(read) > 128, "postings of one block prove little"
        # The blocks also hold deleted documents, which the engine drops with the live bitmap.
        deleted = sub.reader().is_deleted
        live = [posting for posting in read if not deleted(posting[0])]
        assert [d for d, _, _ in live] == ids and [w for _, w, _ in live] == weights
        assert [v for _, _, v in live] == values
        # The positions decoded from a raw value are what the format's own decoder gives.
        decode = m.format.decoder("positions")
        assert [internals.decode_positions(v) for v in values] == [list(decode(v)) for v in values]
        # BM25 from (weight, field length) is the matcher's score.
        kind, bm25 = internals.weight_scorer(internals.unfiltered(sub.postings(fieldname, text)))
        assert kind == "bm25"
        lengths = [sub.doc_field_length(d, fieldname, 1) for d in ids]
        assert [bm25(w, n) for w, n in zip(weights, lengths)] == pytest.approx(scores, rel=1e-12)


def test_block_spans_cover_every_posting_in_order(searcher):
    sub, _ = searcher.leaf_searchers()[0]
    ids = public_postings(sub, "body", "the")[0]
    deleted = sub.reader().is_deleted
    seen, spans = [], 0
    # Each block is decoded while it is the matcher's current one, as the engine reads them.
    for first, last, block_ids, _ in internals.block_spans(internals.unfiltered(sub.postings("body", "the"))):
        block = list(block_ids())
        assert all(first <= d <= last for d in block)
        seen += [d for d in block if not deleted(d)]
        spans += 1
    assert spans > 1 and seen == ids


def test_the_reader_filters_only_deleted_documents(searcher):
    sub, _ = searcher.leaf_searchers()[0]
    assert sub.reader().has_deletions()
    kept = public_postings(sub, "body", "council")[0]
    every = [d for ids, _, _ in internals.blocks(internals.unfiltered(sub.postings("body", "council"))) for d in ids]
    assert kept == [d for d in every if not sub.reader().is_deleted(d)] and len(kept) < len(every)


def test_the_pinned_whoosh_is_the_one_installed():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    pinned = [d for d in pyproject["project"]["dependencies"] if d.startswith(internals.WHOOSH_DISTRIBUTION)]
    assert pinned == [f"{internals.WHOOSH_DISTRIBUTION}=={internals.WHOOSH_VERSION}"]
    assert metadata.version(internals.WHOOSH_DISTRIBUTION) == internals.WHOOSH_VERSION
    internals.check_whoosh()
    # Nothing else installed under the name the pinned package replaces.
    assert not any(re.fullmatch(r"whoosh", d.metadata["Name"] or "", re.I) for d in metadata.distributions())


def test_an_index_schema_pickled_under_the_old_module_name_still_loads():
    # Whoosh pickles the schema with the analyzer's module path, which moved to indexer.engine.analysis.
    from indexer.engine.analysis import SearchTokenizer

    old = pickle.dumps(SearchTokenizer(), protocol=0).replace(b"indexer.engine.analysis", b"indexer.analysis")
    assert b"cindexer.analysis\nSearchTokenizer" in old
    assert pickle.loads(old) == SearchTokenizer()


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.sampled_from(["S-400", "COVID-19", "O’Brien", "U.S.", "the", "The", "Лукашенко", "x_y", "war", ",", " "]),
        max_size=30,
    ).map(" ".join)
)
def test_term_positions_write_the_postings_whoosh_writes(text):
    """The text fields' format writes from the tokenizer's terms exactly what Whoosh's Positions writes from tokens."""
    for name in ("title", "body"):
        field = SCHEMA[name]
        ours = sorted(field.format.word_values(text, field.analyzer, mode="index"))
        assert ours == sorted(Positions.word_values(field.format, text, field.analyzer, mode="index"))


@settings(max_examples=100, deadline=None)
@given(
    # Few numbers, so that targets are often postings' documents themselves.
    ids=st.lists(st.integers(0, 300), min_size=1, max_size=200, unique=True).map(sorted),
    start=st.integers(0, 310),
    targets=st.lists(st.integers(0, 310), max_size=20),
    held=st.sampled_from(["lists", "arrays"]),
)
def test_the_databases_list_postings_read_whole_and_skipped_by_bisection_are_what_stepping_gives(
    ids, start, targets, held
):
    # The database's TermMatcher is one block from where it stands; its skip_to lands where ListMatcher's does.
    # Held in numpy arrays, as the database's reader makes it, it is read whole as arrays too.
    def matchers():
        weights = [float(d % 7) + 0.5 for d in ids]
        values = [d.to_bytes(3, "big") for d in ids]
        if held == "arrays":
            arrays = (np.array(ids, dtype=np.int64), np.array(weights, dtype=np.float64))
            ours = TermMatcher(None, None, values, Positions(), None, arrays=arrays)
        else:
            ours = TermMatcher(ids, weights, values, Positions(), None)
        return ours, ListMatcher(ids, weights, values)

    ours, whooshs = matchers()
    for target in [start, *sorted(targets)]:
        if not whooshs.is_active():
            with pytest.raises(ReadTooFar):
                ours.skip_to(target)
            break
        whooshs.skip_to(target)
        ours.skip_to(target)
        assert ours.is_active() == whooshs.is_active()
        if whooshs.is_active():
            assert ours.id() == whooshs.id() and ours.weight() == whooshs.weight()
    rest = []
    while whooshs.is_active():
        rest.append((whooshs.id(), whooshs.weight(), whooshs.value()))
        whooshs.next()
    assert internals.is_block_matcher(ours)
    whole = internals.list_arrays(ours)
    if held == "arrays":
        ids_of, weights_of, values_of = whole
        assert list(zip(ids_of.tolist(), weights_of.tolist(), values_of())) == rest and not ours.is_active()
        ours, _ = matchers()
        assert internals.list_arrays(ours)[0].tolist() == ids
    else:
        assert whole is None
        read = [p for i, ws, vs in internals.blocks(ours, weights=True, values=True) for p in zip(i, ws, vs)]
        assert read == rest and not ours.is_active()
    read = [p for i, ws, vs in internals.blocks(matchers()[0], weights=True, values=True) for p in zip(i, ws, vs)]
    assert read == [(d, float(d % 7) + 0.5, d.to_bytes(3, "big")) for d in ids]
    spans_of, _ = matchers()
    spans = list(internals.block_spans(spans_of))
    assert [(d, v) for _, _, block, values in spans for d, v in zip(block(), values())] == [
        (d, d.to_bytes(3, "big")) for d in ids
    ]
    assert all(first <= min(block()) and max(block()) <= last for first, last, block, _ in spans)
    # Whoosh's own list matchers are stepped, as before.
    assert not internals.is_block_matcher(ListMatcher(ids))


@settings(max_examples=300, deadline=None)
@given(
    postings=st.lists(st.tuples(st.floats(0.5, 1e4, width=32), st.integers(1, 1 << 20)), min_size=1, max_size=50),
    idf=st.floats(1e-6, 30),
    avgfl=st.floats(0.5, 1e5),
    b=st.floats(0, 1),
    k1=st.floats(0, 3),
)
def test_bm25_of_arrays_gives_whooshs_floats_exactly(postings, idf, avgfl, b, k1):
    # The postings cache scores a database term's postings in one numpy pass: each score must be Whoosh's own float.
    weights = np.array([w for w, _ in postings], dtype=np.float32)
    lengths = np.array([n for _, n in postings], dtype=np.int64)
    ours = internals.bm25_scores(weights, lengths, idf, avgfl, b, k1).tolist()
    assert ours == [bm25(idf, float(w), n, avgfl, b, k1) for w, n in postings]


ROWS = st.lists(st.lists(st.binary(max_size=6), max_size=8), max_size=6)


@given(rows=ROWS, cut=st.integers(0, 50))
@settings(max_examples=200, deadline=None)
def test_packed_values_are_the_rows_values_one_by_one(rows, cut):
    # The database's rows of values, held in one buffer and cut out where asked, give back the values written.
    packed = PackedValues.from_rows([(len(values), pack_values(values)) for values in rows])
    written = [v for values in rows for v in values]
    assert len(packed) == len(written) and list(packed) == written
    assert [packed[i] for i in range(len(written))] == written
    assert list(packed[cut:]) == written[cut:]
    held = HeldValues()
    for part in (packed[:cut], written[cut : cut + 3], packed[cut + 3 :]):
        held.extend(part)
    assert len(held) == len(written) and [held[i] for i in range(len(written))] == written
    with pytest.raises(IndexError):
        held[len(written)]


# Positions as documents hold them: mostly near one another, some far apart (M and J in the pickle), some many.
POSITIONS = st.one_of(
    st.lists(st.integers(0, 400), min_size=1, max_size=30, unique=True),
    st.lists(st.one_of(st.integers(0, 300), st.integers(0, 70_000), st.integers(0, 2**31 - 1)), min_size=1,
             max_size=20, unique=True),
    st.integers(995, 2005).map(lambda n: list(range(0, 2 * n, 2))),
).map(sorted)  # fmt: skip


@given(
    values=st.lists(POSITIONS, min_size=1, max_size=10),
    picks=st.lists(st.booleans(), min_size=10, max_size=10),
    cut=st.integers(0, 10),
)
@settings(max_examples=150, deadline=None)
def test_positions_decoded_at_once_are_whooshs_positions(values, picks, cut):
    # Whoosh's Positions format decodes each value by itself; the engine decodes many at once, from the
    # database's packed rows and from Whoosh's lists of values alike.
    fmt = Positions()
    encoded = [fmt.encode(p) for p in values]
    wanted = np.array([i for i in range(len(values)) if picks[i]], dtype=np.int64)
    expected = [fmt.decode_positions(encoded[i]) for i in wanted.tolist()]
    packed = PackedValues.from_rows([(len(encoded), pack_values(encoded))])
    held = HeldValues()
    for part in (packed[:cut], encoded[cut : cut + 2], packed[cut + 2 :]):
        held.extend(part)
    for source in (packed, held):
        counts, places = source.positions(wanted)
        assert counts.tolist() == [len(p) for p in expected]
        assert places.tolist() == [p for ps in expected for p in ps]


@pytest.mark.parametrize(
    "broken",
    [b"", b"\x00\x00\x00\x01\x80\x02]q\x00K\x05", b"\x00\x00\x00\x02\x80\x02]q\x00K\x05a.",
     b"\x00\x00\x00\x01\x80\x02]q\x00X\x05a.", b"\x00\x00\x00\x01\x80\x03]q\x00K\x05a.",
     b"\x00\x00\x00\x02\x80\x02]q\x00(K\x05M\x01", b"\x00\x00\x00\x01\x80\x02]q\x00(K\x05K\x06e."],
)  # fmt: skip
def test_a_value_that_is_not_a_positions_pickle_is_refused(broken):
    # Cut short, a count that is not the deltas', an opcode Positions never writes, another protocol.
    buffer = np.frombuffer(broken + b"K\x01a.", dtype=np.uint8)
    with pytest.raises(ValueError):
        internals.decode_positions_many(buffer, np.array([0]), np.array([len(broken)]))


@settings(max_examples=100, deadline=None)
@given(
    weights=st.lists(st.floats(0.5, 20, width=32), min_size=1, max_size=60),
    start=st.integers(0, 70),
    minquality=st.floats(0, 30),
    held=st.sampled_from(["lists", "arrays"]),
)
def test_the_databases_list_quality_is_what_whooshs_list_matcher_gives(searcher, weights, start, minquality, held):
    # TermMatcher works out the largest weight once and skips a low-quality list at once, where ListMatcher
    # takes max() at every call and steps a posting at a time: the qualities and where it stops must agree.
    ids = list(range(0, 3 * len(weights), 3))

    def matchers():
        scorers = [scoring.BM25F().scorer(searcher, "body", "council") for _ in range(2)]
        info = TermInfo(sum(weights), len(ids), 1, 13, max(weights))
        stored = [float(np.float32(w)) for w in weights]
        if held == "arrays":
            arrays = (np.array(ids, dtype=np.int64), np.array(stored, dtype=np.float64))
            ours = TermMatcher(None, None, None, Positions(), scorers[0], terminfo=info, arrays=arrays)
        else:
            ours = TermMatcher(ids, stored, None, Positions(), scorers[0], terminfo=info)
        whooshs = ListMatcher(ids, stored, None, Positions(), scorers[1], terminfo=info)
        return ours, whooshs

    ours, whooshs = matchers()
    for m in (ours, whooshs):
        m._i = min(start, len(ids))
    assert ours.is_active() == whooshs.is_active()
    if not whooshs.is_active():
        return
    assert ours.block_max_weight() == whooshs.block_max_weight()
    assert ours.max_quality() == whooshs.max_quality() and ours.block_quality() == whooshs.block_quality()
    assert ours.skip_to_quality(minquality) == whooshs.skip_to_quality(minquality)
    assert ours.is_active() == whooshs.is_active()
    if whooshs.is_active():
        assert ours.id() == whooshs.id() and ours.score() == whooshs.score()
