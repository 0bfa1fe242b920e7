"""Whoosh's segment writer, with the two steps of its commit that cost most done in C where Whoosh loops in Python.

- Its posting pool spills a sorted run to a temporary file whenever it holds its memory limit
  of postings, and merges the runs at commit. Whoosh pickles and unpickles every posting with
  its own call: 13 µs a posting here, more than half of what writing a document cost. One
  pickle call per chunk does the same in C, and the merge holds one chunk per run in memory.
- Writing the postings looks up the field length of each posting's document through a Python
  column reader; the lengths of all the segment's documents are read once into a list instead.

Tests compare both with Whoosh's own pool and writer (tests/unit/test_segment_writer.py).
"""

from __future__ import annotations

import pickle
from collections.abc import Iterable, Iterator
from itertools import islice

from whoosh.codec.whoosh3 import LENGTHS_COLUMN, _lenfield
from whoosh.util.numeric import byte_to_length
from whoosh.writing import PostingPool, SegmentWriter

POSTINGS_PER_CHUNK = 4096
# A stored length byte's length; 0 means no length stored, which Whoosh's reader gives as None.
_LENGTH_OF_BYTE = [None] + [byte_to_length(b) for b in range(1, 256)]


class ChunkedPostingPool(PostingPool):
    """A PostingPool whose runs are pickled in chunks; items() yields the same postings in the same order."""

    chunk_size = POSTINGS_PER_CHUNK

    def _write_run(self, f, items: Iterable) -> None:
        """Write sorted postings to a run file, a chunk per pickle."""
        items = iter(items)
        while chunk := list(islice(items, self.chunk_size)):
            pickle.dump(chunk, f, pickle.HIGHEST_PROTOCOL)
        f.close()

    def _read_run(self, path: str) -> Iterator:
        """Yield the postings of a run file in order, then remove it."""
        f = self._open_run(path)
        try:
            while True:
                try:
                    chunk = pickle.load(f)
                except EOFError:
                    return
                yield from chunk
        finally:
            f.close()
            self._remove_run(path)


class ListedLengths:
    """A segment's per-document reader whose field lengths are read once into lists."""

    def __init__(self, perdoc):
        self._perdoc = perdoc

    def doc_field_length_reader(self, fieldname: str, default: int = 0):
        """Return docnum -> length of the field, as the reader's own accessor answers."""
        lenfield = _lenfield(fieldname)
        if not self._perdoc.has_column(lenfield):
            return lambda docnum, _default=default: _default
        lengths = [_LENGTH_OF_BYTE[b] for b in self._perdoc.column_reader(lenfield, LENGTHS_COLUMN).load()]
        # A column ends at the last document with the field; the reader answers None past it.
        lengths += [None] * (self._perdoc.doc_count_all() - len(lengths))
        return lengths.__getitem__


class IndexSegmentWriter(SegmentWriter):
    """Whoosh's SegmentWriter with the chunked pool and listed lengths; what it writes is the same."""

    def __init__(self, ix, *, limitmb: int, **kwargs):
        super().__init__(ix, limitmb=limitmb, **kwargs)
        # Nothing is in the pool before the first document; Whoosh offers no way to pass a pool class.
        self.pool = ChunkedPostingPool(self._tempstorage, self.newsegment, limitmb=limitmb)

    def _flush_segment(self) -> None:
        """Write the pooled postings into the new segment (Whoosh's own steps, with listed lengths)."""
        self.perdocwriter.close()
        perdoc = self.per_document_reader() if self.codec.length_stats else None
        self.fieldwriter.add_postings(self.schema, ListedLengths(perdoc) if perdoc else None, self.pool.iter_postings())
        self.fieldwriter.close()
        if perdoc:
            perdoc.close()
