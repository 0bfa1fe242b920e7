"""Our segment writer writes what Whoosh's own writes; its pool gives back what Whoosh's pool does."""

from __future__ import annotations

import itertools
import tempfile

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from whoosh.codec.whoosh3 import W3Codec
from whoosh.filedb.filestore import FileStorage
from whoosh.writing import PostingPool, SegmentWriter

from indexer.engine.analysis import document_language
from indexer.engine.schema import SCHEMA
from indexer.engine.segment_writer import ChunkedPostingPool, IndexSegmentWriter

# About Whoosh's own files and internals: the PostgreSQL backend has none of them.
pytestmark = pytest.mark.whoosh_only

# (field, term, document number, weight, encoded value): a field's format gives all its postings a value, or none.
postings = st.lists(
    st.tuples(
        st.sampled_from(["body", "title", "names", "id"]),
        st.binary(min_size=1, max_size=12),
        st.integers(0, 5000),
        st.floats(0, 50, allow_nan=False),
        st.binary(max_size=20),
    ).map(lambda p: p[:4] + (None,) if p[0] == "id" else p),
    max_size=3000,
)


class SmallChunks(ChunkedPostingPool):
    """Chunks of 7 postings: runs of hundreds split anywhere."""

    chunk_size = 7


def drained(pool_class, items, limit: int, merge: int) -> list:
    """Add postings to a pool spilling every `limit` bytes, and return what items() yields."""
    with tempfile.TemporaryDirectory() as tmp:
        pool = pool_class(FileStorage(tmp), None, limitmb=1)
        pool.limit = limit
        for item in items:
            pool.add(item)
        if merge and len(pool.runs) > merge:
            # Runs merged into fewer runs first, as Whoosh does past 128 of them.
            pool.reduce_to(merge, merge)
        return list(pool.items())


@settings(max_examples=60, deadline=None)
@given(
    items=postings,
    limit=st.sampled_from([2_000, 20_000, 10**9]),
    merge=st.sampled_from([0, 2, 3]),
    pool_class=st.sampled_from([ChunkedPostingPool, SmallChunks]),
)
def test_the_chunked_pool_yields_what_whooshs_pool_yields(items, limit, merge, pool_class):
    assert drained(pool_class, items, limit, merge) == drained(PostingPool, items, limit, merge)


# A document's postings: one a (field, term), as a writer hands them over; some added one by one instead.
document_postings = st.lists(
    st.tuples(
        st.dictionaries(
            st.tuples(st.sampled_from(["body", "title", "names", "date"]), st.binary(min_size=1, max_size=6)),
            st.tuples(st.floats(0, 50, allow_nan=False), st.binary(max_size=8)),
            max_size=40,
        ),
        st.booleans(),
    ),
    max_size=120,
)


def drained_by_document(pool_class, docs, limit: int) -> list:
    """Add documents' postings to a pool in document order, spilling every `limit` bytes; return its items()."""
    with tempfile.TemporaryDirectory() as tmp:
        pool = pool_class(FileStorage(tmp), None, limitmb=1)
        pool.limit = limit
        for docnum, (postings_of_doc, one_by_one) in enumerate(docs):
            items = [(field, term, docnum, weight, value) for (field, term), (weight, value) in postings_of_doc.items()]
            if pool_class is PostingPool or one_by_one:
                for item in items:
                    pool.add(item)
            else:
                pool.add_document_postings({item[0] for item in items}, items)
        return list(pool.items())


@settings(max_examples=80, deadline=None)
@given(docs=document_postings, limit=st.sampled_from([2_000, 20_000, 10**9]))
def test_documents_postings_come_back_in_whooshs_order(docs, limit):
    assert drained_by_document(ChunkedPostingPool, docs, limit) == drained_by_document(PostingPool, docs, limit)


def test_runs_spilled_and_merged_come_back_sorted_and_whole():
    items = [("body", f"w{i % 97}".encode(), i, 1.0, bytes([i % 256])) for i in range(2000)]
    assert drained(SmallChunks, items, 5_000, 2) == drained(PostingPool, items, 5_000, 2) == sorted(items)


words = st.sampled_from(["sanctions", "minsk", "S-400", "Lukashenko", "рада", "the", "of", "court", "zorvexa"])
documents = st.lists(
    st.fixed_dictionaries(
        {
            "title": st.lists(words, max_size=4),
            "body": st.lists(words, max_size=30),
            "lang": st.sampled_from(["en", "ru"]),
            "date": st.sampled_from([0, 20220000, 20220300, 20220314, 20041231]),
            "source": st.sampled_from(["Viasna", "Kremlin", "Unknown source"]),
        }
    ),
    min_size=1,
    max_size=40,
)


UNSPILLED = 10**9


def fields_of(number: int, doc: dict) -> dict:
    """Return the index fields of a generated document."""
    title, body = " ".join(doc["title"]), " ".join(doc["body"])
    return {
        "id": str(number),
        "title": title,
        "body": body,
        "names": f"{title}\n{body}",
        "language": doc["lang"],
        "source": doc["source"],
        "date": doc["date"],
        "year": doc["date"] // 10_000,
        "month": doc["date"] // 100 % 100,
        "date_precision": "day" if doc["date"] % 100 else "none",
        "path": f"text/{number}.txt",
        "file_size": len(body),
    }


def segment_contents(writer_class, docs, limit: int, batches: list[int] | None = None) -> dict:
    """Write generated documents into a new index with a writer class (see written); return all it holds."""
    return written(writer_class, [fields_of(number, doc) for number, doc in enumerate(docs)], limit, batches)


def written(writer_class, documents: list[dict], limit: int, batches: list[int] | None = None) -> dict:
    """Write documents' fields into a new index with a writer class, spilling every `limit` bytes; return all it holds.

    With `batches`, our writer takes the documents in batches of those sizes in turn (add_documents).
    """
    with tempfile.TemporaryDirectory() as tmp:
        ix = FileStorage(tmp).create_index(SCHEMA)
        writer = writer_class(ix, limitmb=1)
        writer.pool.limit = limit
        if batches:
            sizes = itertools.cycle(batches)
            while documents:
                size = next(sizes)
                writer.add_documents(documents[:size])
                documents = documents[size:]
        for fields in documents:
            with document_language(fields["language"]):
                writer.add_document(**fields)
        writer.commit()
        with ix.reader() as reader:
            held = {"stored": list(reader.all_stored_fields())}
            # Unspilled, the postings and the term table byte for byte. A spilled posting's value comes back
            # from its run as an object of its own where it shared one with others, which pickles longer.
            segment = reader.segment()
            for ext in (W3Codec.POSTS_EXT, W3Codec.TERMS_EXT) if limit >= UNSPILLED else ():
                with reader.storage().open_file(segment.make_filename(ext)) as f:
                    held[ext] = f.read()
            for column in ("source", "date", "year", "month", "date_precision", "language"):
                held[column, "column"] = list(reader.column_reader(column))
            for fieldname in ("title", "body", "names"):
                # Whoosh cannot give the longest of a field no document has.
                held[fieldname, "total length"] = reader.field_length(fieldname)
                if held[fieldname, "total length"]:
                    held[fieldname, "max length"] = reader.max_field_length(fieldname)
                held[fieldname, "lengths"] = [reader.doc_field_length(d, fieldname) for d in range(reader.doc_count())]
            for fieldname in ("title", "body", "names", "id", "language", "source", "date", "year", "month"):
                for term in reader.lexicon(fieldname):
                    info = reader.term_info(fieldname, term)
                    stats = (info.weight(), info.doc_frequency(), info.min_length(), info.max_length())
                    weights = list(reader.postings(fieldname, term).items_as("weight"))
                    positions = reader.postings(fieldname, term)
                    if positions.supports("positions"):
                        weights.append(list(positions.items_as("positions")))
                    held[fieldname, term] = (stats, info.max_weight(), weights)
        return held


@settings(max_examples=40, deadline=None)
@given(docs=documents, limit=st.sampled_from([3_000, UNSPILLED]))
def test_our_segment_writer_writes_what_whooshs_writes(docs, limit):
    assert segment_contents(IndexSegmentWriter, docs, limit) == segment_contents(SegmentWriter, docs, limit)


@settings(max_examples=40, deadline=None)
@given(
    docs=documents,
    limit=st.sampled_from([3_000, UNSPILLED]),
    batches=st.lists(st.integers(1, 12), min_size=1, max_size=4),
)
def test_documents_analysed_in_batches_are_written_as_whooshs_writer_writes_them_one_by_one(docs, limit, batches):
    # Batches of any sizes, spilled between them or not: the same segment as Whoosh's writer makes.
    expected = segment_contents(SegmentWriter, docs, limit)
    assert segment_contents(IndexSegmentWriter, docs, limit, batches) == expected


def test_a_batch_holding_a_document_with_boosts_is_written_as_whooshs_writer_writes_it():
    # Boosts are Whoosh's own to apply: the whole batch goes through its writer, document by document.
    docs = [{"title": ["minsk", "court"], "body": ["court", "S-400"] * i, "lang": "en", "date": 0, "source": "Viasna"}
            for i in range(1, 4)]  # fmt: skip
    documents = [fields_of(number, doc) for number, doc in enumerate(docs)]
    documents[1]["_title_boost"] = 3.0
    expected = written(SegmentWriter, documents, UNSPILLED)
    assert written(IndexSegmentWriter, documents, UNSPILLED, [3]) == expected
    # The boost is in the weights: the check above would see it lost.
    assert expected != written(SegmentWriter, [fields_of(n, doc) for n, doc in enumerate(docs)], UNSPILLED)


def test_terms_of_many_documents_fill_several_blocks_as_whooshs_writer_does():
    # Whoosh's blocks hold 128 postings: common words here span several, rare ones one, some none in a field.
    vocabulary = ["sanctions", "minsk", "S-400", "Lukashenko", "рада", "the", "of", "court", "zorvexa"]
    docs = [
        {
            "title": [vocabulary[number % 5]],
            "body": [vocabulary[(number * step) % len(vocabulary)] for step in range(1 + number % 23)],
            "lang": "ru" if number % 7 == 0 else "en",
            "date": 20220314 if number % 3 else 0,
            "source": "Viasna" if number % 2 else "Kremlin",
        }
        for number in range(700)
    ]
    for limit in (50_000, UNSPILLED):
        assert segment_contents(IndexSegmentWriter, docs, limit) == segment_contents(SegmentWriter, docs, limit)
