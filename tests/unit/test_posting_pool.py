"""The chunked posting pool gives back exactly what Whoosh's own pool does, with and without spilled runs."""

from __future__ import annotations

import tempfile

from hypothesis import given, settings
from hypothesis import strategies as st
from whoosh.filedb.filestore import FileStorage
from whoosh.writing import PostingPool

from indexer.engine.posting_pool import ChunkedPostingPool

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


def test_runs_spilled_and_merged_come_back_sorted_and_whole():
    items = [("body", f"w{i % 97}".encode(), i, 1.0, bytes([i % 256])) for i in range(2000)]
    assert drained(SmallChunks, items, 5_000, 2) == drained(PostingPool, items, 5_000, 2) == sorted(items)
