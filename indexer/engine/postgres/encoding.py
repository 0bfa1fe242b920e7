"""A batch of documents analysed into one segment's rows, packed as binary COPY data, and read back.

The analysis is Whoosh's own (each field's `index()`, in the document's language), so the terms,
weights, positions and field lengths are exactly those a Whoosh segment of the same documents holds.
A term's postings in a segment are one row of packed arrays: ids int32, weights float32, and the
values as their lengths (uint32) followed by their bytes, all little-endian.
"""

from __future__ import annotations

import pickle
import struct
from collections import defaultdict
from dataclasses import dataclass

import numpy as np
from whoosh.fields import TEXT
from whoosh.util.numeric import byte_to_length, length_to_byte

from indexer.engine.analysis import document_language
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


def field_items(field, value):
    """Yield what Whoosh's writer indexes of a field value: (term bytes, frequency, weight, value bytes)."""
    if type(field) is TEXT and isinstance(value, str):
        # What field.index() yields, without its token objects (as indexer.engine.segment_writer does).
        for word, freq, weight, vbytes in field.format.word_values(value, field.analyzer, mode="index"):
            yield word.encode("utf-8"), freq, weight, vbytes
    else:
        yield from field.index(value)


def build_segment(segment_id: int, base: int, documents: list[dict]) -> Segment:
    """Analyse documents numbered base.. into one segment's rows."""
    count = len(documents)
    postings: dict[tuple[str, bytes], list] = defaultdict(list)
    lengths: dict[str, bytearray] = {}
    totals: dict[str, int] = defaultdict(int)
    doc_rows = [COPY_HEADER]
    for local, fields in enumerate(documents):
        stored = {}
        with document_language(fields.get("language")):
            for fieldname in sorted(fields):
                value = fields[fieldname]
                if value is None:
                    continue
                field = SCHEMA[fieldname]
                length = 0
                if field.indexed:
                    scorable = field.scorable
                    for tbytes, freq, weight, vbytes in field_items(field, value):
                        if scorable:
                            length += freq
                        postings[(fieldname, tbytes)].append((local, weight, vbytes))
                if length:
                    if fieldname not in lengths:
                        lengths[fieldname] = bytearray(count)
                    lengths[fieldname][local] = length_to_byte(length)
                    totals[fieldname] += length
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
    quantized = {name: LENGTH_OF_BYTE[np.frombuffer(bytes(b), dtype=np.uint8)] for name, b in lengths.items()}
    posting_rows = [COPY_HEADER]
    head = struct.pack("!h", len(POSTING_COLUMNS)) + _BIGINT.pack(8, segment_id)
    for (fieldname, tbytes), items in postings.items():
        ids = np.fromiter((item[0] for item in items), dtype="<i4", count=len(items))
        weights = np.fromiter((item[1] for item in items), dtype="<f4", count=len(items))
        values = [item[2] or b"" for item in items]
        if any(values):
            vals = np.fromiter(map(len, values), dtype="<u4", count=len(values)).tobytes() + b"".join(values)
        else:
            vals = b""
        of_field = quantized.get(fieldname)
        if of_field is not None:
            # As Whoosh's writer: the shortest and longest of the lengths stored for its documents.
            known = of_field[ids]
            known = known[known > 0]
        else:
            known = ()
        min_length = _INT.pack(4, int(known.min())) if len(known) else _NULL
        max_length = int(known.max()) if len(known) else 0
        posting_rows.append(
            head
            + _text(fieldname)
            + _bytes(tbytes)
            + _INT.pack(4, len(items))
            + _DOUBLE.pack(8, float(sum(item[1] for item in items)))
            + _REAL.pack(4, float(weights.max()))
            + min_length
            + _INT.pack(4, max_length)
            + _bytes(ids.tobytes())
            + _bytes(weights.tobytes())
            + _bytes(vals)
        )
    posting_rows.append(COPY_TRAILER)
    names = sorted(lengths)
    return Segment(
        id=segment_id,
        base=base,
        count=count,
        fields=names,
        lengths=[bytes(lengths[name]) for name in names],
        totals=[totals[name] for name in names],
        documents=b"".join(doc_rows),
        postings=b"".join(posting_rows),
        rows=len(postings),
    )


def decode_values(vals: bytes, count: int) -> list[bytes]:
    """Return the posting values of a row, one per posting."""
    if not vals:
        return [b""] * count
    sizes = np.frombuffer(vals, dtype="<u4", count=count)
    ends = np.cumsum(sizes) + 4 * count
    starts = ends - sizes
    return [vals[s:e] for s, e in zip(starts.tolist(), ends.tolist())]
