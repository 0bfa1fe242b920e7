"""A batch of documents analysed into one segment's rows, packed as binary COPY data, and read back.

The analysis is Whoosh's own (each field's `index()`, in the document's language), so the terms,
weights, positions and field lengths are exactly those a Whoosh segment of the same documents holds.
A term's postings in a segment are one row of packed arrays: ids int32, weights float32, and the
values as their lengths (uint32) followed by their bytes, all little-endian.
"""

from __future__ import annotations

import pickle
import struct
import sys
from array import array
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from whoosh.util.numeric import byte_to_length, length_to_byte

from indexer.engine.batch_analysis import FieldPostings, analyse_batch, length_bytes
from indexer.engine.internals import decode_positions_many
from indexer.engine.schema import COLUMN_DEFAULTS, SCHEMA

COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + struct.pack("!ii", 0, 0)
COPY_TRAILER = struct.pack("!h", -1)
DOCUMENT_COLUMNS = ("docnum", "segment", "doc_id", "stored", "source", "date", "year", "month", "date_precision",
                    "language")  # fmt: skip
POSTING_COLUMNS = ("segment", "field", "term", "doc_freq", "total_weight", "max_weight", "min_length",
                   "max_length", "ids", "weights", "vals")  # fmt: skip
# The sortable columns the documents table carries, as the view reads them (view.column), in the table's order.
COLUMNS = DOCUMENT_COLUMNS[4:]
assert set(COLUMNS) == set(COLUMN_DEFAULTS)
# A stored length byte's length; 0 means no length stored.
LENGTH_OF_BYTE = np.array([0] + [byte_to_length(b) for b in range(1, 256)], dtype=np.int64)
_BIGINT, _INT, _DOUBLE, _REAL = struct.Struct("!iq"), struct.Struct("!ii"), struct.Struct("!id"), struct.Struct("!if")
_NULL = struct.pack("!i", -1)
# Arrays are packed in the machine's order, which must be the format's.
assert sys.byteorder == "little", "the packed postings are little-endian"
_LENGTH_LIST = LENGTH_OF_BYTE.tolist()


@dataclass
class Segment:
    """One batch's documents as rows: field lengths, the documents' COPY data and the postings' COPY data."""

    id: int
    base: int
    count: int
    fields: list[str]
    lengths: list[bytes]  # per field: one length byte per document
    totals: list[int]
    documents: bytes
    postings: bytes
    rows: int  # posting rows


def _bytes(value: bytes) -> bytes:
    return struct.pack("!i", len(value)) + value


def _text(value: str) -> bytes:
    return _bytes(value.encode("utf-8"))


def build_segment(segment_id: int, base: int, documents: list[dict]) -> Segment:
    """Analyse documents numbered base.. into one segment's rows."""
    count = len(documents)
    analysed = analyse_batch(documents)
    # The other fields (identifiers, numbers) give a term or a few each, through Whoosh's own field.index().
    # (field, term) -> [ids, weights, values]
    postings: dict[tuple[str, bytes], tuple[list, list, list]] = {}
    lengths: dict[str, bytes] = {}
    totals: dict[str, int] = {}
    other_lengths: dict[str, bytearray] = {}
    doc_rows = [COPY_HEADER]
    for local, fields in enumerate(documents):
        stored = {}
        for fieldname in sorted(fields):
            value = fields[fieldname]
            if value is None:
                continue
            field = SCHEMA[fieldname]
            if field.indexed and fieldname not in analysed:
                length = 0
                scorable = field.scorable
                for tbytes, freq, weight, vbytes in field.index(value):
                    if scorable:
                        length += freq
                    found = postings.get((fieldname, tbytes))
                    if found is None:
                        found = postings[(fieldname, tbytes)] = ([], [], [])
                    found[0].append(local)
                    found[1].append(weight)
                    found[2].append(vbytes)
                if length:
                    if fieldname not in other_lengths:
                        other_lengths[fieldname] = bytearray(count)
                    other_lengths[fieldname][local] = length_to_byte(length)
                    totals[fieldname] = totals.get(fieldname, 0) + length
            if field.stored:
                stored[fieldname] = value
        columns = [fields.get(name, COLUMN_DEFAULTS[name]) for name in COLUMNS]
        doc_rows.append(
            struct.pack("!h", len(DOCUMENT_COLUMNS))
            + _BIGINT.pack(8, base + local)
            + _BIGINT.pack(8, segment_id)
            + _text(fields["id"])
            + _bytes(pickle.dumps(stored, protocol=pickle.HIGHEST_PROTOCOL))
            + _text(columns[0])
            + _INT.pack(4, columns[1])
            + _INT.pack(4, columns[2])
            + _INT.pack(4, columns[3])
            + _text(columns[4])
            + _text(columns[5])
        )
    doc_rows.append(COPY_TRAILER)
    for fieldname, found in analysed.items():
        if found.lengths.any():
            lengths[fieldname] = length_bytes(found.lengths)
            totals[fieldname] = int(found.lengths.sum())
    lengths.update((name, bytes(packed)) for name, packed in other_lengths.items())
    head = struct.pack("!h", len(POSTING_COLUMNS)) + _BIGINT.pack(8, segment_id)
    fields = {name: _text(name) for name in SCHEMA.names()}
    posting_rows = [COPY_HEADER]
    rows = 0
    for fieldname, found in analysed.items():
        posting_rows.extend(_analysed_rows(head + fields[fieldname], found, lengths.get(fieldname), SCHEMA[fieldname]))
        rows += len(found.terms)
    quantized = {name: [_LENGTH_LIST[b] for b in packed] for name, packed in other_lengths.items()}
    for (fieldname, tbytes), (ids, weights, values) in postings.items():
        vals = pack_values(values) if values[0] is not None else b""
        of_field = quantized.get(fieldname)
        # As Whoosh's writer: the shortest and longest of the lengths stored for its documents.
        known = [length for length in map(of_field.__getitem__, ids) if length] if of_field is not None else ()
        posting_rows.append(
            _posting_row(
                head + fields[fieldname],
                tbytes,
                len(ids),
                float(sum(weights)),
                float(max(weights)),
                min(known) if known else None,
                max(known) if known else 0,
                array("i", ids).tobytes(),
                array("f", weights).tobytes(),
                vals,
            )
        )
    rows += len(postings)
    posting_rows.append(COPY_TRAILER)
    names = sorted(lengths)
    return Segment(
        id=segment_id,
        base=base,
        count=count,
        fields=names,
        lengths=[lengths[name] for name in names],
        totals=[totals[name] for name in names],
        documents=b"".join(doc_rows),
        postings=b"".join(posting_rows),
        rows=rows,
    )


def _posting_row(head, tbytes, doc_freq, total, most, shortest, longest, ids, weights, vals) -> bytes:
    """Return one postings row as binary COPY data."""
    return (
        head
        + _bytes(tbytes)
        + _INT.pack(4, doc_freq)
        + _DOUBLE.pack(8, total)
        + _REAL.pack(4, most)
        + (_INT.pack(4, shortest) if shortest is not None else _NULL)
        + _INT.pack(4, longest)
        + _bytes(ids)
        + _bytes(weights)
        + _bytes(vals)
    )


def _analysed_rows(head: bytes, found: FieldPostings, packed_lengths: bytes | None, field) -> list[bytes]:
    """Return the postings rows of a field analysed a batch at a time."""
    if not found.terms:
        return []
    firsts = found.starts[:-1]
    weights = found.counts * float(field.format.field_boost)
    weights32 = weights.astype("<f4")
    totals = np.add.reduceat(weights, firsts).tolist()
    most = np.maximum.reduceat(weights32, firsts).astype(np.float64).tolist()
    if packed_lengths is not None:
        # As Whoosh's writer: the shortest and longest of the lengths stored for its documents (none is 0 here).
        stored = LENGTH_OF_BYTE[np.frombuffer(packed_lengths, dtype=np.uint8)][found.docs]
        shortest = np.minimum.reduceat(stored, firsts).tolist()
        longest = np.maximum.reduceat(stored, firsts).tolist()
    else:
        shortest, longest = [None] * len(found.terms), [0] * len(found.terms)
    ids = found.docs.astype("<i4").tobytes()
    packed_weights = weights32.tobytes()
    sizes = found.value_sizes.astype("<u4").tobytes()
    values = found.values
    starts = found.starts.tolist()
    value_starts = found.value_starts.tolist()
    rows = []
    for row, term in enumerate(found.terms):
        a, b = starts[row], starts[row + 1]
        rows.append(
            _posting_row(
                head,
                term.encode("utf-8"),
                b - a,
                totals[row],
                most[row],
                shortest[row],
                longest[row],
                ids[4 * a : 4 * b],
                packed_weights[4 * a : 4 * b],
                sizes[4 * a : 4 * b] + values[value_starts[a] : value_starts[b]],
            )
        )
    return rows


def pack_values(values: list[bytes]) -> bytes:
    """A row's posting values: each one's size (uint32), then the values, or nothing when every one is empty."""
    return array("I", map(len, values)).tobytes() + b"".join(values) if any(values) else b""


class PackedValues:
    """A term's posting values in one buffer, cut into one value per posting only where one is asked for.

    A common word has hundreds of thousands of postings, and a phrase looks at the values of a
    few thousand of them per search: slicing every one out up front cost more than the check.
    """

    def __init__(self, buffer: bytes, starts: np.ndarray, ends: np.ndarray):
        self._buffer, self._starts, self._ends = buffer, starts, ends

    @classmethod
    def from_rows(cls, rows: list[tuple[int, bytes]]) -> PackedValues:
        """Join rows of (posting count, values as pack_values writes them) in document order."""
        parts, starts, ends, base = [], [], [], 0
        for count, vals in rows:
            vals = bytes(vals)
            if not vals:
                # Postings without values: each one's value is b"" (any empty slice of the buffer).
                starts.append(np.zeros(count, dtype=np.int64))
                ends.append(np.zeros(count, dtype=np.int64))
                continue
            sizes = np.frombuffer(vals, dtype="<u4", count=count).astype(np.int64)
            row_ends = np.cumsum(sizes) + (base + 4 * count)
            starts.append(row_ends - sizes)
            ends.append(row_ends)
            parts.append(vals)
            base += len(vals)
        empty = np.zeros(0, dtype=np.int64)
        return cls(
            b"".join(parts),
            np.concatenate(starts) if starts else empty,
            np.concatenate(ends) if ends else empty,
        )

    @property
    def nbytes(self) -> int:
        return len(self._buffer) + self._starts.nbytes + self._ends.nbytes

    def __len__(self) -> int:
        return len(self._starts)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return PackedValues(self._buffer, self._starts[i], self._ends[i])
        return self._buffer[int(self._starts[i]) : int(self._ends[i])]

    def __iter__(self) -> Iterator[bytes]:
        buffer = self._buffer
        return (buffer[s:e] for s, e in zip(self._starts.tolist(), self._ends.tolist()))

    def positions(self, indices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Return (count, positions) of the Positions values at some indices, decoded all at once."""
        return decode_positions_many(
            np.frombuffer(self._buffer, dtype=np.uint8), self._starts[indices], self._ends[indices]
        )
