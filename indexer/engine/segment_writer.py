"""Whoosh's segment writer, with the two steps of its commit that cost most done in C where Whoosh loops in Python.

- Its posting pool spills a sorted run to a temporary file whenever it holds its memory limit
  of postings, and merges the runs at commit. Whoosh pickles and unpickles every posting with
  its own call: 13 µs a posting here, more than half of what writing a document cost. One
  pickle call per chunk does the same in C, and the merge holds one chunk per run in memory.
- Adding a document passes each posting to the pool with its own call, which checks it and
  counts its size; a document's postings go in as one list, sized in one pass. Writer processes
  add a batch of documents at once (add_documents), whose text and names are analysed together
  by batch_analysis.py into the same postings, as the database backend analyses them. Documents come
  in order, so postings sorted by term and then by field, each sort stable, are in the order of
  Whoosh's sort of whole postings, at a third of its cost (tuples compared item by item). Each
  spilled run holds later documents than the one before, so the runs merge a term at a time.
- Writing the postings looks up the field length of each posting's document through a Python
  column reader; the lengths of all the segment's documents are read once into a list instead.
  And each posting passed through three calls and their checks into the codec's block: a term's
  postings now fill its blocks a block at a time (the codec's own code still writes each block).

Tests compare both with Whoosh's own pool and writer (tests/unit/test_segment_writer.py).
"""

from __future__ import annotations

import heapq
import pickle
from collections.abc import Iterable, Iterator
from itertools import chain, groupby, islice, repeat
from operator import itemgetter, mul

import numpy as np
from whoosh.codec.whoosh3 import LENGTHS_COLUMN, _lenfield
from whoosh.fields import TEXT
from whoosh.formats import Positions
from whoosh.util.numeric import byte_to_length
from whoosh.writing import PostingPool, SegmentWriter

from indexer.engine.analysis import document_language
from indexer.engine.batch_analysis import FieldPostings, analyse_batch, batch_analysable

_FIELD = itemgetter(0)
_TERM = itemgetter(1)
_FIELD_TERM = itemgetter(0, 1)
_GROUP_KEY = itemgetter(0)
_FREQUENCY = itemgetter(1)
_VALUE = itemgetter(4)

POSTINGS_PER_CHUNK = 4096
# A stored length byte's length; 0 means no length stored, which Whoosh's reader gives as None.
_LENGTH_OF_BYTE = [None] + [byte_to_length(b) for b in range(1, 256)]


class ChunkedPostingPool(PostingPool):
    """A PostingPool whose runs are pickled in chunks; items() yields the same postings in the same order."""

    chunk_size = POSTINGS_PER_CHUNK

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # True while every posting came with its document's (add_document_postings), documents in order.
        self._in_document_order = True
        self._last_docnum = -1
        # The same since the pool began, and the runs saved meanwhile, in order: each holds later documents.
        self._ever_in_document_order = True
        self._runs_in_document_order: list[str] = []

    def add(self, item) -> None:
        """Add one posting, in any order."""
        self._in_document_order = self._ever_in_document_order = False
        super().add(item)

    def _sorted_current(self) -> list:
        """Return the postings held in memory, sorted as whole tuples."""
        current = self.current
        if not self._in_document_order:
            current.sort()
            return current
        # A (field, term) holds one posting a document, added in document order: stable sorts keep it.
        current.sort(key=_TERM)
        current.sort(key=_FIELD)
        return current

    def save(self) -> None:
        """Write the postings held in memory to a new run."""
        if self.current:
            current = self._sorted_current()
            path, f = self._new_run()
            self._write_run(f, current)
            self._add_run(path)
            if self._ever_in_document_order:
                self._runs_in_document_order.append(path)
            self.current = []
        self.currentsize = 0
        # Postings still to come sort among themselves: each run is sorted on its own.
        self._in_document_order = True

    def items(self, maxfiles: int = 128):
        """Return the postings in order, merged from the runs, as Whoosh's pool does."""
        if not self.runs:
            return self._sorted_current()
        return super().items(maxfiles)

    def _merge_runs(self, paths: Iterable[str]) -> Iterator:
        """Yield the postings of runs merged in order; runs of documents in order are merged a term at a time."""
        paths = list(paths)
        saved = [path for path in self._runs_in_document_order if path in paths]
        if not self._ever_in_document_order or saved != paths:
            yield from super()._merge_runs(paths)
            return
        # A term's postings in an earlier run are of earlier documents, and heapq.merge takes ties in the
        # order of its inputs: whole terms in order give the postings in Whoosh's order, with a heap step
        # a term of a run instead of a posting.
        terms = [groupby(self._read_run(path), key=_FIELD_TERM) for path in paths]
        for _, postings in heapq.merge(*terms, key=_GROUP_KEY):
            # Taken whole before the merge moves its run on, which ends this group.
            yield from postings

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

    def add_document_postings(self, fieldnames: set[str], items: list) -> None:
        """Add one document's postings, counted as Whoosh's add() counts each; spill a run past the limit."""
        if not items:
            self.fieldnames.update(fieldnames)
            return
        docnum = items[0][2]
        self.add_batch_postings(fieldnames, items, _pooled_size(items), docnum, docnum)

    def add_batch_postings(self, fieldnames: set[str], items: list, size: int, first: int, last: int) -> None:
        """Add the postings of documents first..last, each (field, term)'s in document order, `size` as add() counts."""
        if first <= self._last_docnum:
            self._in_document_order = self._ever_in_document_order = False
        self._last_docnum = last
        self.fieldnames.update(fieldnames)
        self.currentsize += size
        self.current.extend(items)
        if self.currentsize > self.limit:
            self.save()


# Per field, the one object of each value shared: bounded by the longest text's positions and counts.
_SHARED_VALUES: dict[str, dict[bytes, bytes]] = {}
SHARED_VALUES_LIMIT = 200_000


def _pooled_size(items: list) -> int:
    """Return the size Whoosh's pool counts for postings: 150 bytes each, its field name, twice its term, its value."""
    return (
        150 * len(items)
        + sum(map(len, map(_FIELD, items)))
        + 2 * sum(map(len, map(_TERM, items)))
        + sum(map(len, filter(None, map(_VALUE, items))))
    )


def _add_analysed(
    postings: list, fieldname: str, found: FieldPostings, base: int, boost: float, of_positions: bool
) -> int:
    """Append a batch-analysed field's postings as pool items, documents numbered from base; return their size."""
    if not found.terms:
        return 0
    terms = [term.encode("utf-8") for term in found.terms]
    per_term = np.diff(found.starts).tolist()
    starts = found.value_starts.tolist()
    values = found.values
    # Whoosh's formats hand out one object for equal values of a single position or a count (see analysis),
    # and each block's pickle writes a repeated object once: the same objects give the same, smaller, blocks.
    shared = _SHARED_VALUES.setdefault(fieldname, {})
    if len(shared) > SHARED_VALUES_LIMIT:
        shared.clear()
    share = (found.counts == 1).tolist() if of_positions else repeat(True)
    postings += zip(
        repeat(fieldname),
        chain.from_iterable(map(repeat, terms, per_term)),
        (found.docs + base).tolist(),
        (found.counts * boost).tolist(),
        [
            shared.setdefault(value, value) if one else value
            for value, one in zip(map(values.__getitem__, map(slice, starts, starts[1:])), share)
        ],
    )
    count = len(found.docs)
    return 150 * count + len(fieldname) * count + 2 * sum(map(mul, map(len, terms), per_term)) + len(values)


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

    def _whooshs(self, fields: dict) -> bool:
        """Return True for a document only Whoosh's own writer takes: boosts, spelling fields, term vectors."""
        schema = self.schema
        return any(name.startswith("_") for name in fields) or any(
            schema[name].separate_spelling() or schema[name].vector for name in fields if name in schema
        )

    def add_documents(self, documents: list[dict]) -> None:
        """Add documents in order as add_document adds each, their text and names fields analysed as one batch."""
        if not documents:
            return
        if any(map(self._whooshs, documents)) or not batch_analysable(documents):
            for fields in documents:
                with document_language(fields.get("language")):
                    self.add_document(**fields)
            return
        self._check_state()
        analysed = analyse_batch(documents)
        lengths = {name: found.lengths.tolist() for name, found in analysed.items()}
        base = self.docnum
        postings: list = []
        indexed: set[str] = set()
        for local, fields in enumerate(documents):
            self._add_fields(base + local, fields, postings, indexed, {name: of[local] for name, of in lengths.items()})
        size = _pooled_size(postings)
        for fieldname, found in analysed.items():
            field_format = self.schema[fieldname].format
            size += _add_analysed(
                postings, fieldname, found, base, float(field_format.field_boost), isinstance(field_format, Positions)
            )
        self.pool.add_batch_postings(indexed, postings, size, base, base + len(documents) - 1)
        self._added = True
        self.docnum += len(documents)

    def add_document(self, **fields) -> None:
        """Add a document as Whoosh's writer does, its postings handed to the pool at once."""
        if self._whooshs(fields):
            super().add_document(**fields)
            return
        self._check_state()
        postings: list = []
        indexed: set[str] = set()
        self._add_fields(self.docnum, fields, postings, indexed)
        self.pool.add_document_postings(indexed, postings)
        self._added = True
        self.docnum += 1

    def _add_fields(self, docnum: int, fields: dict, postings: list, indexed: set, analysed: dict | None = None):
        """Write a document's stored fields, lengths and columns; append its postings and add its indexed fields.

        `analysed` holds the lengths of the fields a batch's analysis gave the postings of (add_documents).
        """
        schema = self.schema
        perdocwriter = self.perdocwriter
        fieldnames = sorted(fields)
        self._check_fields(schema, fieldnames)
        perdocwriter.start_doc(docnum)
        try:
            for fieldname in fieldnames:
                value = fields[fieldname]
                if value is None:
                    continue
                field = schema[fieldname]
                length = 0
                if field.indexed:
                    indexed.add(fieldname)
                    if analysed is not None and fieldname in analysed:
                        length = analysed[fieldname] if field.scorable else 0
                    # A text field's words straight from its format: what field.index() yields, encoded here.
                    elif type(field) is TEXT and isinstance(value, str):
                        words = list(field.format.word_values(value, field.analyzer, mode="index"))
                        if field.scorable:
                            length = sum(map(_FREQUENCY, words))
                        postings += [(fieldname, w.encode("utf-8"), docnum, wt, v) for w, _, wt, v in words]
                    else:
                        scorable = field.scorable
                        for tbytes, freq, weight, vbytes in field.index(value):
                            if scorable:
                                length += freq
                            postings.append((fieldname, tbytes, docnum, weight, vbytes))
                perdocwriter.add_field(fieldname, field, value if field.stored else None, length)
                column = field.column_type
                if column:
                    perdocwriter.add_column_value(fieldname, column, field.to_column_value(value))
        except ValueError:
            perdocwriter.cancel_doc()
            raise
        perdocwriter.finish_doc()

    def _flush_segment(self) -> None:
        """Write the pooled postings into the new segment (Whoosh's own steps, with listed lengths)."""
        self.perdocwriter.close()
        perdoc = self.per_document_reader() if self.codec.length_stats else None
        write_postings(
            self.fieldwriter, self.schema, ListedLengths(perdoc) if perdoc else None, self.pool.iter_postings()
        )
        self.fieldwriter.close()
        if perdoc:
            perdoc.close()


def write_postings(fieldwriter, schema, lengths: ListedLengths | None, items: Iterable) -> None:
    """Write sorted (field, term, docnum, weight, value) postings as Whoosh's FieldWriter.add_postings does."""
    for fieldname, of_field in groupby(items, key=itemgetter(0)):
        fieldwriter.start_field(fieldname, schema[fieldname])
        length_of = lengths.doc_field_length_reader(fieldname) if lengths else None
        for btext, postings in groupby(of_field, key=itemgetter(1)):
            fieldwriter.start_term(btext)
            _fill_blocks(fieldwriter._postwriter, list(postings), length_of)
            fieldwriter.finish_term()
        fieldwriter.finish_field()


def _fill_blocks(writer, postings: list, length_of) -> None:
    """Add a term's postings to the codec's postings writer a block at a time, as add_posting() adds each."""
    limit = writer._blocklimit
    for start in range(0, len(postings), limit):
        if start:
            # Whoosh writes a full block when the next posting arrives; the last stays for finish_postings().
            writer._write_block()
        block = postings[start : start + limit]
        docnums = [posting[2] for posting in block]
        weights = [posting[3] for posting in block]
        writer._ids.extend(docnums)
        writer._weights.extend(weights)
        writer._maxweight = max(writer._maxweight, *weights)
        writer._values.extend(value for *_, value in block if value)
        if length_of is not None:
            known = [length for length in map(length_of, docnums) if length]
            if known:
                shortest = min(known)
                if writer._minlength is None or shortest < writer._minlength:
                    writer._minlength = shortest
                writer._maxlength = max(writer._maxlength, *known)
