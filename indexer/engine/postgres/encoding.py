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
    # (field, term) -> [ids, weights, values]
    postings: dict[tuple[str, bytes], tuple[list, list, list]] = {}
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
                        found = postings.get((fieldname, tbytes))
                        if found is None:
                            found = postings[(fieldname, tbytes)] = ([], [], [])
                        found[0].append(local)
                        found[1].append(weight)
                        found[2].append(vbytes)
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
    quantized = {name: [_LENGTH_LIST[b] for b in packed] for name, packed in lengths.items()}
    posting_rows = [COPY_HEADER]
    head = struct.pack("!h", len(POSTING_COLUMNS)) + _BIGINT.pack(8, segment_id)
    fields = {name: _text(name) for name in SCHEMA.names()}
    for (fieldname, tbytes), (ids, weights, values) in postings.items():
        if values[0] is not None and any(values):
            vals = array("I", map(len, values)).tobytes() + b"".join(values)
        else:
            vals = b""
        of_field = quantized.get(fieldname)
        # As Whoosh's writer: the shortest and longest of the lengths stored for its documents.
        known = [length for length in map(of_field.__getitem__, ids) if length] if of_field is not None else ()
        packed_ids = array("i", ids).tobytes()
        packed_weights = array("f", weights).tobytes()
        posting_rows.append(
            head
            + fields[fieldname]
            + _bytes(tbytes)
            + _INT.pack(4, len(ids))
            + _DOUBLE.pack(8, float(sum(weights)))
            + _REAL.pack(4, float(max(weights)))
            + (_INT.pack(4, min(known)) if known else _NULL)
            + _INT.pack(4, max(known) if known else 0)
            + struct.pack("!i", len(packed_ids))
            + packed_ids
            + struct.pack("!i", len(packed_weights))
            + packed_weights
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
