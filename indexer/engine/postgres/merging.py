"""Merging a state's small segments into one: their live documents and postings rewritten, deleted ones dropped.

An incremental reindex adds a segment of what it wrote; without merging, a term's postings would be
read from ever more rows. Readers of the states that list the small segments are not affected:
those segments stay until no kept state lists them (store.remove_unused).
"""

from __future__ import annotations

import struct
from array import array
from itertools import compress, groupby

import numpy as np

from indexer.engine.postgres.encoding import (
    COLUMNS,
    COPY_HEADER,
    COPY_TRAILER,
    DOCUMENT_COLUMNS,
    LENGTH_OF_BYTE,
    POSTING_COLUMNS,
    PackedValues,
    pack_values,
)

# A state with this many segments of fewer documents than a full batch has them merged.
MERGE_AT = 8
_INT, _DOUBLE, _REAL = struct.Struct("!ii"), struct.Struct("!id"), struct.Struct("!if")
_NULL = struct.pack("!i", -1)


def _bytes(value: bytes) -> bytes:
    return struct.pack("!i", len(value)) + value


def merge_segments(conn, segment_ids: list[int], deleted: set[int], new_id: int, new_base: int) -> int:
    """Write the live documents of some segments as segment `new_id` from document `new_base`; return their count."""
    rows = conn.execute(
        "SELECT id, base, count, fields, lengths FROM segments WHERE id = ANY(%s) ORDER BY id", [segment_ids]
    ).fetchall()
    dead = np.array(sorted(deleted), dtype=np.int64)
    remaps: dict[int, np.ndarray] = {}
    old_numbers, new_numbers = [], []
    kept_lengths: dict[str, list[np.ndarray]] = {}
    total = 0
    for segment, base, count, names, packed in rows:
        numbers = np.arange(base, base + count, dtype=np.int64)
        keep = ~np.isin(numbers, dead)
        kept = int(keep.sum())
        remap = np.full(count, -1, dtype=np.int64)
        remap[keep] = np.arange(total, total + kept)
        remaps[segment] = remap
        old_numbers.append(numbers[keep])
        new_numbers.append(new_base + remap[keep])
        of_segment = dict(zip(names, packed))
        for name in set(names) | set(kept_lengths):
            data = of_segment.get(name)
            lengths = np.frombuffer(data, dtype=np.uint8)[keep] if data is not None else np.zeros(kept, np.uint8)
            kept_lengths.setdefault(name, [np.zeros(total, np.uint8)] if total else []).append(lengths)
        total += kept
    lengths = {name: np.concatenate(parts) if parts else np.zeros(0, np.uint8) for name, parts in kept_lengths.items()}
    quantized = {name: LENGTH_OF_BYTE[packed].tolist() for name, packed in lengths.items()}
    conn.execute(
        f"INSERT INTO documents ({', '.join(DOCUMENT_COLUMNS)})"
        f" SELECT m.new, %s, d.doc_id, d.stored, {', '.join('d.' + c for c in COLUMNS)}"
        " FROM documents d JOIN unnest(%s::bigint[], %s::bigint[]) AS m(old, new) ON d.docnum = m.old",
        [new_id, np.concatenate(old_numbers).tolist(), np.concatenate(new_numbers).tolist()],
    )
    payload = [COPY_HEADER]
    head = struct.pack("!h", len(POSTING_COLUMNS)) + struct.pack("!iq", 8, new_id)
    with conn.cursor(name="merged_postings") as cur:
        cur.itersize = 2000
        cur.execute(
            "SELECT field, term, segment, doc_freq, ids, weights, vals FROM postings WHERE segment = ANY(%s)"
            " ORDER BY field, term, segment",
            [segment_ids],
        )
        for (fieldname, term), group in groupby(cur, key=lambda r: (r[0], bytes(r[1]))):
            row = _merged_row(list(group), remaps, quantized.get(fieldname))
            if row is not None:
                payload.append(head + _bytes(fieldname.encode("utf-8")) + _bytes(term) + row)
    payload.append(COPY_TRAILER)
    with conn.cursor() as cur:
        with cur.copy(f"COPY postings ({', '.join(POSTING_COLUMNS)}) FROM STDIN (FORMAT BINARY)") as copy:
            copy.write(b"".join(payload))
    names = sorted(lengths)
    conn.execute(
        "INSERT INTO segments (id, base, count, fields, lengths, totals) VALUES (%s, %s, %s, %s, %s, %s)",
        [new_id, new_base, total, names, [lengths[n].tobytes() for n in names],
         [int(LENGTH_OF_BYTE[lengths[n]].sum()) for n in names]],
    )  # fmt: skip
    return total


def _merged_row(rows: list, remaps: dict, lengths: list | None) -> bytes | None:
    """The COPY columns after the term of a term's postings in the merged segment, or None when none is live."""
    ids: list[int] = []
    weights: list[float] = []
    values: list[bytes] = []
    with_values = False
    for _, _, segment, doc_freq, packed_ids, packed_weights, vals in rows:
        new = remaps[segment][np.frombuffer(packed_ids, dtype="<i4")]
        keep = new >= 0
        ids.extend(new[keep].tolist())
        weights.extend(np.frombuffer(packed_weights, dtype="<f4")[keep].tolist())
        if vals:
            with_values = True
            values.extend(compress(PackedValues.from_rows([(doc_freq, vals)]), keep.tolist()))
    if not ids:
        return None
    vals = pack_values(values) if with_values else b""
    known = [length for length in map(lengths.__getitem__, ids) if length] if lengths is not None else ()
    return (
        _INT.pack(4, len(ids))
        + _DOUBLE.pack(8, float(sum(weights)))
        + _REAL.pack(4, float(max(weights)))
        + (_INT.pack(4, min(known)) if known else _NULL)
        + _INT.pack(4, max(known) if known else 0)
        + _bytes(array("i", ids).tobytes())
        + _bytes(array("f", weights).tobytes())
        + _bytes(vals)
    )
