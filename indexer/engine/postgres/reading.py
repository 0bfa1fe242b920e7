"""A Whoosh IndexReader over one published state in PostgreSQL, so that Whoosh's Searcher and our view run on it.

Documents are numbered as a Whoosh reader of the state's segments would number them: the
segments in order, each from where the one before ends. What is per document and cheap (field
lengths, sortable columns, deletions) is read once per state; a term's postings are read when a
query asks for them, one query for all its segments, and kept for a while.
"""

from __future__ import annotations

import bisect
import pickle
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

import numpy as np
from whoosh.matching import ListMatcher, ReadTooFar
from whoosh.matching.wrappers import FilterMatcher
from whoosh.reading import IndexReader, TermInfo, TermNotFound
from whoosh.util.numeric import byte_to_length, length_to_byte

from indexer.engine.bitmaps import positions
from indexer.engine.postgres.encoding import COLUMNS, LENGTH_OF_BYTE, PackedValues
from indexer.engine.schema import COLUMN_DEFAULTS, SCHEMA

# Terms whose rows a reader keeps: a query asks for a term's statistics, then for its postings.
ROWS_KEPT = 256
STORED_KEPT = 1024
# Bytes of posting values (positions) a reader keeps: a phrase over common words is checked over several searches.
VALUES_KEPT_BYTES = 64 << 20


def _quantized(length: int | None) -> int | None:
    """A length as Whoosh's term info gives it back: through its one-byte encoding."""
    return None if length is None else byte_to_length(length_to_byte(length))


@dataclass
class StateData:
    """What a reader loads once per state: its segments, deletions, field lengths and totals."""

    state: int
    segments: list[tuple[int, int, int]]  # (id, base, count), in document order
    offsets: list[int]  # each segment's first document number in this reader
    size: int
    deleted: frozenset[int]  # this reader's document numbers
    lengths: dict[str, np.ndarray]  # field -> one length byte per document
    totals: dict[str, int]
    columns: dict[str, list] = field(default_factory=dict)

    def global_docnum(self, docnum: int) -> int:
        """The documents table's number of this reader's document `docnum`."""
        i = bisect.bisect_right(self.offsets, docnum) - 1
        return self.segments[i][1] + docnum - self.offsets[i]


def load_state(conn, state: int) -> StateData:
    """Read a state's segments, deletions and field lengths (one transaction)."""
    with conn.transaction():
        row = conn.execute("SELECT segments, deleted FROM states WHERE id = %s", [state]).fetchone()
        if row is None:
            raise LookupError(f"state {state} is gone")
        segment_ids, deleted_bytes = row
        rows = conn.execute(
            "SELECT id, base, count, fields, lengths, totals FROM segments WHERE id = ANY(%s)",
            [segment_ids],
            binary=True,
        ).fetchall()
    by_id = {r[0]: r for r in rows}
    order = [by_id[s] for s in segment_ids]
    offsets, size = [], 0
    for _, _, count, *_ in order:
        offsets.append(size)
        size += count
    lengths: dict[str, np.ndarray] = {}
    totals: dict[str, int] = {}
    for (_, _, count, names, packed, field_totals), offset in zip(order, offsets):
        for name, data, total in zip(names, packed, field_totals):
            if name not in lengths:
                lengths[name] = np.zeros(size, dtype=np.uint8)
            lengths[name][offset : offset + count] = np.frombuffer(data, dtype=np.uint8)
            totals[name] = totals.get(name, 0) + total
    deleted = positions(int.from_bytes(deleted_bytes, "little")) if deleted_bytes else np.zeros(0, np.int64)
    local = []
    bases = np.array([r[1] for r in order], dtype=np.int64)
    if len(deleted) and len(order):
        i = np.searchsorted(bases, deleted, side="right") - 1
        counts = np.array([r[2] for r in order], dtype=np.int64)
        inside = (i >= 0) & (deleted < bases[np.maximum(i, 0)] + counts[np.maximum(i, 0)])
        local = (np.array(offsets, dtype=np.int64)[i[inside]] + deleted[inside] - bases[i[inside]]).tolist()
    return StateData(
        state=state,
        segments=[(r[0], r[1], r[2]) for r in order],
        offsets=offsets,
        size=size,
        deleted=frozenset(local),
        lengths=lengths,
        totals=totals,
    )


def load_columns(conn, data: StateData) -> dict[str, list]:
    """Read every document's sortable columns, by this reader's document number."""
    columns = {name: [COLUMN_DEFAULTS[name]] * data.size for name in COLUMNS}
    where = {segment: (base, offset) for (segment, base, _), offset in zip(data.segments, data.offsets)}
    with conn.transaction():
        with conn.cursor() as cur:
            cur.execute(
                f"SELECT segment, docnum, {', '.join(COLUMNS)} FROM documents WHERE segment = ANY(%s)",
                [list(where)],
            )
            for segment, docnum, *values in cur:
                base, offset = where[segment]
                d = offset + docnum - base
                for name, value in zip(COLUMNS, values):
                    columns[name][d] = value
    return columns


class TermMatcher(ListMatcher):
    """A term's postings in a list, with the `format` and `scorer` Whoosh's leaf matchers expose.

    Given `arrays` (numpy ids and weights), the postings cache reads them whole; the lists a step
    through the matcher needs are made from them when first asked for.
    """

    def __init__(self, *args, arrays: tuple[np.ndarray, np.ndarray] | None = None, **kwargs):
        self.arrays = arrays
        self._id_list = self._weight_list = None
        self._max_weight = None
        super().__init__(*args, **kwargs)

    @property
    def _ids(self):
        if self._id_list is None and self.arrays is not None:
            self._id_list = self.arrays[0].tolist()
        return self._id_list

    @_ids.setter
    def _ids(self, ids):
        self._id_list = ids

    @property
    def _weights(self):
        if self._weight_list is None and self.arrays is not None:
            self._weight_list = self.arrays[1].tolist()
        return self._weight_list

    @_weights.setter
    def _weights(self, weights):
        self._weight_list = weights

    def is_active(self):
        return self._i < (len(self.arrays[0]) if self._id_list is None else len(self._id_list))

    @property
    def format(self):
        return self._format

    @property
    def scorer(self):
        return self._scorer

    def block_max_weight(self):
        """The largest weight of the list, as ListMatcher gives it, worked out once.

        ListMatcher takes max() of every weight at each call, and Whoosh's collector asks at each
        of its quality checks: a search of a term of a million postings did not end.
        """
        if self._max_weight is None:
            weights = self.arrays[1] if self.arrays is not None and self._weight_list is None else None
            if weights is not None and len(weights):
                self._max_weight = float(weights.max())
            else:
                self._max_weight = super().block_max_weight()
        return self._max_weight

    def skip_to_quality(self, minquality):
        """Skip the postings of too low a quality, as ListMatcher does: the list is one block, so all or none."""
        if self.is_active() and self.block_quality() <= minquality:
            self._i = len(self.arrays[0]) if self._id_list is None else len(self._id_list)
        return 0

    def id(self):
        # Read from the array while no list is made: scoring a few documents should not list a million.
        return int(self.arrays[0][self._i]) if self._id_list is None else self._id_list[self._i]

    def weight(self):
        if self._weight_list is None and self.arrays is not None:
            return float(self.arrays[1][self._i])
        return super().weight()

    def skip_to(self, id):
        """Move to the first posting at or after a document, as ListMatcher does, by bisection instead of steps."""
        if not self.is_active():
            raise ReadTooFar
        if self._id_list is None and self.arrays is not None:
            ids = self.arrays[0]
            if id > ids[self._i]:
                self._i = int(np.searchsorted(ids, id))
        elif id > self._ids[self._i]:
            self._i = bisect.bisect_left(self._ids, id, self._i)


class PostgresReader(IndexReader):
    """The documents and terms of one state, read from PostgreSQL through `read(fn)`."""

    def __init__(self, data: StateData, read: Callable):
        self.schema = SCHEMA
        self.data = data
        self._read = read
        self._lock = threading.RLock()
        self._rows: OrderedDict[tuple, list] = OrderedDict()
        self._infos: dict[tuple, TermInfo | None] = {}
        self._stored: OrderedDict[int, dict] = OrderedDict()
        self._lexicons: dict[str, tuple[list[bytes], list[TermInfo]]] = {}
        self._length_lists: dict[str, list] = {}
        self._packed: OrderedDict[tuple, PackedValues] = OrderedDict()
        self._packed_bytes = 0
        self._segment_ids = [s[0] for s in data.segments]
        self._offset_of = {s[0]: offset for s, offset in zip(data.segments, data.offsets)}
        self._segment_order = {s: i for i, s in enumerate(self._segment_ids)}
        self.closed = False

    # -- the state --

    def generation(self) -> int:
        return self.data.state

    def close(self) -> None:
        self.closed = True

    def is_atomic(self) -> bool:
        return True

    def doc_count_all(self) -> int:
        return self.data.size

    def doc_count(self) -> int:
        return self.data.size - len(self.data.deleted)

    def has_deletions(self) -> bool:
        return bool(self.data.deleted)

    def is_deleted(self, docnum: int) -> bool:
        return docnum in self.data.deleted

    def all_doc_ids(self) -> Iterator[int]:
        deleted = self.data.deleted
        return (d for d in range(self.data.size) if d not in deleted)

    def stored_fields(self, docnum: int) -> dict:
        with self._lock:
            found = self._stored.get(docnum)
            if found is not None:
                self._stored.move_to_end(docnum)
                return dict(found)
        number = self.data.global_docnum(docnum)
        row = self._read(
            lambda conn: conn.execute(
                "SELECT stored FROM documents WHERE docnum = %s", [number], binary=True
            ).fetchone()
        )
        found = pickle.loads(row[0]) if row else {}
        with self._lock:
            self._stored[docnum] = found
            while len(self._stored) > STORED_KEPT:
                self._stored.popitem(last=False)
        return dict(found)

    def prefetch_stored(self, docnums: Iterable[int]) -> None:
        """Read the stored fields of documents not kept yet in one query: a page of hits costs one round trip."""
        with self._lock:
            wanted = [d for d in dict.fromkeys(docnums) if d not in self._stored]
        if len(wanted) < 2:
            return
        numbers = {self.data.global_docnum(d): d for d in wanted}
        rows = self._read(
            lambda conn: conn.execute(
                "SELECT docnum, stored FROM documents WHERE docnum = ANY(%s)", [list(numbers)], binary=True
            ).fetchall()
        )
        with self._lock:
            for number, stored in rows:
                self._stored[numbers[number]] = pickle.loads(stored)
            while len(self._stored) > STORED_KEPT:
                self._stored.popitem(last=False)

    # -- field lengths --

    def field_length(self, fieldname: str) -> int:
        return self.data.totals.get(fieldname, 0)

    def _length_list(self, fieldname: str) -> list | None:
        if fieldname not in self._length_lists:
            packed = self.data.lengths.get(fieldname)
            self._length_lists[fieldname] = None if packed is None else LENGTH_OF_BYTE[packed].tolist()
        return self._length_lists[fieldname]

    def doc_field_length(self, docnum: int, fieldname: str, default: int = 0) -> int:
        lengths = self._length_list(fieldname)
        if lengths is None:
            return default
        return lengths[docnum] or default

    def field_length_array(self, fieldname: str, default: int = 0) -> np.ndarray:
        """Return every document's length of a field, as `doc_field_length` gives each (int64)."""
        packed = self.data.lengths.get(fieldname)
        if packed is None:
            return np.full(self.data.size, default, dtype=np.int64)
        lengths = LENGTH_OF_BYTE[packed].astype(np.int64)
        return np.where(lengths == 0, default, lengths) if default else lengths

    def min_field_length(self, fieldname: str) -> int:
        packed = self.data.lengths.get(fieldname)
        return 0 if packed is None or not len(packed) else int(LENGTH_OF_BYTE[packed.min()])

    def max_field_length(self, fieldname: str) -> int:
        packed = self.data.lengths.get(fieldname)
        return 0 if packed is None or not len(packed) else int(LENGTH_OF_BYTE[packed.max()])

    # -- columns --

    def has_column(self, fieldname: str) -> bool:
        return fieldname in COLUMNS

    def column_reader(self, fieldname: str, column=None, reverse: bool = False, translate: bool = True):
        if fieldname not in COLUMNS:
            raise Exception(f"No column for field {fieldname!r}")
        with self._lock:
            if not self.data.columns:
                self.data.columns = self._read(lambda conn: load_columns(conn, self.data))
        return self.data.columns[fieldname]

    # -- terms --

    def _term_rows(self, fieldname: str, btext: bytes) -> list:
        key = (fieldname, btext)
        with self._lock:
            rows = self._rows.get(key)
            if rows is not None:
                self._rows.move_to_end(key)
                return rows
        rows = self._postings_rows(
            "doc_freq, total_weight, max_weight, min_length, max_length, ids, weights",
            "field = %s AND term = %s",
            fieldname,
            btext,
        )
        with self._lock:
            self._rows[key] = rows
            while len(self._rows) > ROWS_KEPT:
                self._rows.popitem(last=False)
            self._infos[key] = _info(rows) if rows else None
        return rows

    def _info(self, fieldname: str, text) -> TermInfo | None:
        if fieldname not in self.schema or self.schema[fieldname].format is None:
            return None
        btext = self._text_to_bytes(fieldname, text)
        key = (fieldname, btext)
        with self._lock:
            if key in self._infos:
                return self._infos[key]
        self.prefetch_infos(fieldname, [btext])
        return self._infos[key]

    def prefetch_infos(self, fieldname: str, btexts: Iterable[bytes]) -> None:
        """Read the statistics of terms not known yet, without their postings, in one query.

        Whoosh asks whether a term is there and how common it is before it reads postings, and
        "more like this" asks for every word of a release: the rows' arrays stay in the database.
        """
        with self._lock:
            wanted = sorted({t for t in btexts if (fieldname, t) not in self._infos})
        if not wanted:
            return
        rows = self._postings_rows(
            "doc_freq, total_weight, max_weight, min_length, max_length, term",
            "field = %s AND term = ANY(%s)",
            fieldname,
            wanted,
        )
        by_term: dict[bytes, list] = {}
        for row in rows:
            by_term.setdefault(bytes(row[6]), []).append(row)
        with self._lock:
            for btext in wanted:
                found = by_term.get(btext)
                self._infos[(fieldname, btext)] = _info(found) if found else None

    def _postings_rows(self, columns: str, condition: str, *params) -> list:
        """Return `columns` of the rows of this state's segments where `condition` holds, in the state's order.

        Each row begins with its segment. Binary results: bytea in text is hex, twice the bytes to
        send and decode (28 ms against 62-100 for the 4 MB of a common word at 1,000,000 releases).
        """
        rows = self._read(
            lambda conn: conn.execute(
                f"SELECT segment, {columns} FROM postings WHERE {condition} AND segment = ANY(%s)",
                [*params, self._segment_ids],
                binary=True,
            ).fetchall()
        )
        rows.sort(key=lambda r: self._segment_order[r[0]])
        return rows

    def __contains__(self, term) -> bool:
        fieldname, text = term
        return self._info(fieldname, text) is not None

    def term_info(self, fieldname: str, text) -> TermInfo:
        info = self._info(fieldname, text)
        if info is None:
            raise TermNotFound(f"{fieldname}:{text!r}")
        return info

    def frequency(self, fieldname: str, text) -> float:
        info = self._info(fieldname, text)
        return 0 if info is None else info.weight()

    def doc_frequency(self, fieldname: str, text) -> int:
        info = self._info(fieldname, text)
        return 0 if info is None else info.doc_frequency()

    def postings(self, fieldname: str, text, scorer=None, **kwargs):
        if fieldname not in self.schema:
            raise TermNotFound(f"No field {fieldname!r}")
        btext = self._text_to_bytes(fieldname, text)
        rows = self._term_rows(fieldname, btext)
        info = self._info(fieldname, btext)
        if info is None:
            raise TermNotFound(f"{fieldname}:{btext!r}")
        format_ = self.schema[fieldname].format
        with_values = bool(format_.supports("positions") or format_.supports("characters"))
        # Joined first and converted once: a common word has a row per segment, hundreds at 1,000,000 releases.
        ids = np.frombuffer(b"".join(r[6] for r in rows), dtype="<i4").astype(np.int64)
        ids += np.repeat([self._offset_of[r[0]] for r in rows], [len(r[6]) // 4 for r in rows])
        arrays = (ids, np.frombuffer(b"".join(r[7] for r in rows), dtype="<f4").astype(np.float64))
        values = _Values(len(arrays[0]), lambda: self._values(fieldname, btext)) if with_values else None
        matcher = TermMatcher(
            None, None, values, format_, scorer, term=(fieldname, btext), terminfo=info, arrays=arrays
        )
        if self.data.deleted:
            matcher = FilterMatcher(matcher, self.data.deleted, exclude=True)
        return matcher

    def _values(self, fieldname: str, btext: bytes) -> PackedValues:
        """Read a term's posting values (positions) in document order: only phrases and snippets need them."""
        key = (fieldname, btext)
        with self._lock:
            found = self._packed.get(key)
            if found is not None:
                self._packed.move_to_end(key)
                return found
        rows = self._postings_rows("doc_freq, vals", "field = %s AND term = %s", fieldname, btext)
        found = PackedValues.from_rows([(doc_freq, vals) for _, doc_freq, vals in rows])
        with self._lock:
            if key not in self._packed:
                self._packed[key] = found
                self._packed_bytes += found.nbytes
            # The values just read stay, whatever their size: the query asking for them is running.
            while self._packed_bytes > VALUES_KEPT_BYTES and len(self._packed) > 1:
                self._packed_bytes -= self._packed.popitem(last=False)[1].nbytes
        return found

    def has_vector(self, docnum: int, fieldname: str) -> bool:
        return False

    def vector(self, docnum: int, fieldname: str, format_=None):
        raise Exception(f"No vectors are stored for field {fieldname!r}")

    # -- the lexicon --

    def indexed_field_names(self) -> Iterable[str]:
        return [name for name in self.schema.names() if self.schema[name].format is not None]

    def _lexicon(self, fieldname: str) -> tuple[list[bytes], list[TermInfo]]:
        with self._lock:
            found = self._lexicons.get(fieldname)
        if found is not None:
            return found
        rows = self._read(
            lambda conn: conn.execute(
                "SELECT term, sum(doc_freq)::bigint, sum(total_weight), max(max_weight), min(min_length),"
                " max(max_length) FROM postings WHERE field = %s AND segment = ANY(%s) GROUP BY term",
                [fieldname, self._segment_ids],
                binary=True,
            ).fetchall()
        )
        rows.sort(key=lambda r: r[0])
        terms = [bytes(r[0]) for r in rows]
        infos = [TermInfo(r[2], r[1], _quantized(r[4]), _quantized(r[5]), r[3]) for r in rows]
        with self._lock:
            self._lexicons[fieldname] = (terms, infos)
        return terms, infos

    def all_terms(self) -> Iterator[tuple[str, bytes]]:
        for fieldname in sorted(self.indexed_field_names()):
            for term in self._lexicon(fieldname)[0]:
                yield fieldname, term

    def terms_from(self, fieldname: str, prefix) -> Iterator[tuple[str, bytes]]:
        prefix = self._text_to_bytes(fieldname, prefix)
        for name in sorted(self.indexed_field_names()):
            if name < fieldname:
                continue
            terms = self._lexicon(name)[0]
            start = bisect.bisect_left(terms, prefix) if name == fieldname else 0
            for term in terms[start:]:
                yield name, term

    def iter_from(self, fieldname: str, text) -> Iterator[tuple[tuple[str, bytes], TermInfo]]:
        text = self._text_to_bytes(fieldname, text)
        for name in sorted(self.indexed_field_names()):
            if name < fieldname:
                continue
            terms, infos = self._lexicon(name)
            start = bisect.bisect_left(terms, text) if name == fieldname else 0
            for i in range(start, len(terms)):
                yield (name, terms[i]), infos[i]

    def iter_field(self, fieldname: str, prefix="") -> Iterator[tuple[bytes, TermInfo]]:
        prefix = self._text_to_bytes(fieldname, prefix)
        terms, infos = self._lexicon(fieldname)
        for i in range(bisect.bisect_left(terms, prefix), len(terms)):
            yield terms[i], infos[i]

    def __iter__(self) -> Iterator[tuple[tuple[str, bytes], TermInfo]]:
        for fieldname in sorted(self.indexed_field_names()):
            terms, infos = self._lexicon(fieldname)
            for term, info in zip(terms, infos):
                yield (fieldname, term), info


class _Values:
    """A term's posting values, read from the database the first time one is asked for."""

    def __init__(self, count: int, read: Callable[[], PackedValues]):
        self._count, self._read, self._values = count, read, None

    def __len__(self) -> int:
        return self._count

    def _packed(self) -> PackedValues:
        if self._values is None:
            self._values = self._read()
        return self._values

    def __getitem__(self, i):
        return self._packed()[i]

    def __iter__(self):
        return iter(self._packed())


def _info(rows: list) -> TermInfo:
    """A term's statistics over its rows in a state (in the state's order), as Whoosh's readers sum them over segments.

    Rows begin (segment, doc_freq, total_weight, max_weight, min_length, max_length). The first
    and last document numbers are left out: nothing reads them, and they are in the arrays.
    """
    weight = sum(float(np.float32(r[2])) for r in rows)
    df = sum(r[1] for r in rows)
    min_lengths = [r[4] for r in rows if r[4] is not None]
    return TermInfo(
        weight,
        df,
        _quantized(min(min_lengths)) if min_lengths else None,
        _quantized(max(r[5] for r in rows)),
        max(r[3] for r in rows),
    )
