"""Facet columns: per-document source, year, month and date read once per searcher.

Sets of documents are bitmaps: one Python int whose bit n stands for document n. Counting a
facet value, filtering by source or date and combining query terms are then single AND, OR
and bit_count operations done in C on an int of (documents / 8) bytes, where building and
intersecting frozensets of half a corpus costs milliseconds.
"""

from __future__ import annotations

import bisect
from datetime import date as Date

from indexer.schema import UNKNOWN_SOURCE, UNKNOWN_YEAR
from indexer.store import column_values

MONTH_NAMES = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
               "October", "November", "December")
# The date-range filters a searcher remembers: users page through the same range.
RANGE_CACHE = 32
# The document numbers each byte value stands for, to turn a bitmap back into numbers.
_BYTE_BITS = tuple(tuple(i for i in range(8) if value >> i & 1) for value in range(256))


def to_bits(docnums) -> int:
    """Return the bitmap of some document numbers."""
    docnums = list(docnums)
    buffer = bytearray((max(docnums, default=0) >> 3) + 1)
    for d in docnums:
        buffer[d >> 3] |= 1 << (d & 7)
    return int.from_bytes(buffer, "little")


def from_bits(bits: int) -> list[int]:
    """Return the document numbers of a bitmap, in ascending order."""
    data = bits.to_bytes((bits.bit_length() + 7) >> 3, "little")
    return [i << 3 | b for i, byte in enumerate(data) if byte for b in _BYTE_BITS[byte]]


def membership(bits: int, size: int) -> bytes:
    """Return a bitmap as bytes, for testing many documents: `data[d >> 3] >> (d & 7) & 1`."""
    return bits.to_bytes((size >> 3) + 1, "little")


class FacetColumns:
    """The facet values of every live document of one searcher, and cached filter sets."""

    def __init__(self, searcher):
        reader = searcher.reader()
        live = list(reader.all_doc_ids())
        self.size = reader.doc_count_all()
        self.all_docs = to_bits(live)
        self.source_of = column_values(reader, "source", live, UNKNOWN_SOURCE)
        self.year_of = column_values(reader, "year", live, UNKNOWN_YEAR)
        self.month_of = column_values(reader, "month", live, 0)
        self.date_of = column_values(reader, "date", live, 0)
        self.source_docs = _bitmaps(self.source_of, lambda source: source or UNKNOWN_SOURCE)
        self.year_docs = _bitmaps(self.year_of)
        self.month_docs = _bitmaps(self.month_of)
        dated = sorted((self.date_of[d], d) for d in live if self.year_of[d] != UNKNOWN_YEAR)
        self._dated_keys = [key for key, _ in dated]
        self._dated_docs = [d for _, d in dated]
        # Newest first, undated last: browsing and "newest" walk this order.
        self.newest_order = self._dated_docs[::-1] + [d for d in live if self.year_of[d] == UNKNOWN_YEAR]
        self.oldest_order = self._dated_docs + self.newest_order[len(self._dated_docs):]
        self._ranges: dict[tuple, int] = {}

    # -- filters: bitmaps, or None for "no filter" --

    def source_filter(self, sources) -> int | None:
        """Return the documents of any of the sources (OR within the facet), or None for no filter."""
        if not sources:
            return None
        docs = 0
        for s in sources:
            docs |= self.source_docs.get(s, 0)
        return docs

    def date_filter(self, year, month, date_from: Date | None, date_to: Date | None, undated: bool):
        """Return the documents in a year, month and date range (or with no known year), or None."""
        if undated:
            return self.year_docs.get(UNKNOWN_YEAR, 0)
        docs = None
        if year is not None:
            docs = self.year_docs.get(year, 0)
            if month is not None:
                docs &= self.month_docs.get(month, 0)
        if date_from or date_to:
            ranged = self._range(date_from, date_to)
            docs = ranged if docs is None else docs & ranged
        return docs

    def _range(self, date_from: Date | None, date_to: Date | None) -> int:
        """Return the dated documents whose date (or the span of a partial date) meets [from, to]."""
        key = (date_from, date_to)
        if key not in self._ranges:
            low = _key(date_from) if date_from else 0
            high = _key(date_to) if date_to else 99_999_999
            # Partial dates sort at their start (2023-00-00); a year that overlaps the range counts.
            first = bisect.bisect_left(self._dated_keys, low // 10_000 * 10_000)
            last = bisect.bisect_right(self._dated_keys, high)
            docs = to_bits(d for d in self._dated_docs[first:last] if _overlaps(self.date_of[d], low, high))
            if len(self._ranges) >= RANGE_CACHE:
                self._ranges.pop(next(iter(self._ranges)))
            self._ranges[key] = docs
        return self._ranges[key]

    def match_sources(self, wanted: str) -> list[str]:
        """Return the source names a `source:` term means: equal ignoring case, else starting with it, else containing it."""
        names = list(self.source_docs)
        for test in (lambda n: n.lower() == wanted, lambda n: n.lower().startswith(wanted),
                     lambda n: wanted in n.lower()):
            found = [n for n in names if test(n)]
            if found:
                return found
        return []

    # -- facets --

    def source_facet(self, docs, selected) -> list[dict]:
        """Return source counts, largest first and releases of unknown source last, every selected source listed."""
        counts = self._counts(self.source_docs, docs)
        values = [{"value": s, "count": c, "selected": s in selected} for s, c in counts.items()]
        values += [{"value": s, "count": 0, "selected": True} for s in selected if s not in counts]
        for v in values:
            v["unknown"] = v["value"] == UNKNOWN_SOURCE
        return sorted(values, key=lambda v: (v["unknown"], -v["count"], v["value"].lower()))

    def year_facet(self, docs, selected_year, undated_selected) -> list[dict]:
        """Return counts per known year, oldest first (a bar chart reads left to right)."""
        counts = self._counts(self.year_docs, docs)
        counts.pop(UNKNOWN_YEAR, None)
        values = [{"value": y, "count": c, "selected": y == selected_year} for y, c in counts.items()]
        if selected_year is not None and selected_year not in counts:
            values.append({"value": selected_year, "count": 0, "selected": True})
        return sorted(values, key=lambda v: v["value"])

    def month_facet(self, docs, selected_month) -> list[dict]:
        """Return counts per month of the selected year; month 0 (unknown) is left out."""
        counts = self._counts(self.month_docs, docs)
        return [{"value": m, "name": MONTH_NAMES[m - 1], "count": counts.get(m, 0), "selected": m == selected_month}
                for m in range(1, 13) if counts.get(m) or m == selected_month]

    def count_undated(self, docs) -> int:
        """Return how many documents have no date or no known year."""
        undated = self.year_docs.get(UNKNOWN_YEAR, 0)
        return undated.bit_count() if docs is None else (undated & docs).bit_count()

    def sorted_by_date(self, docs, *, newest: bool, limit: int) -> list[int]:
        """Return the first `limit` of docs by date, newest or oldest first, undated documents last."""
        order = self.newest_order if newest else self.oldest_order
        if docs is None:
            return order[:limit]
        if docs.bit_count() * 8 < len(order):
            # Few documents: sort them (as the full order would: by date, then number) rather than
            # walk the whole order.
            found = from_bits(docs)
            dated = sorted((d for d in found if self.year_of[d] != UNKNOWN_YEAR),
                           key=lambda d: (self.date_of[d], d), reverse=newest)
            return (dated + [d for d in found if self.year_of[d] == UNKNOWN_YEAR])[:limit]
        wanted, out = membership(docs, self.size), []
        for d in order:
            if wanted[d >> 3] >> (d & 7) & 1:
                out.append(d)
                if len(out) == limit:
                    break
        return out

    def _counts(self, bitmaps: dict, docs) -> dict:
        """Return how many of docs (None: all) each value's bitmap holds, leaving out zeros."""
        counts = {}
        for value, bits in bitmaps.items():
            n = bits.bit_count() if docs is None else (bits & docs).bit_count()
            if n:
                counts[value] = n
        return counts


def _key(day: Date) -> int:
    """Return the YYYYMMDD sort key of a date."""
    return day.year * 10_000 + day.month * 100 + day.day


def _overlaps(key: int, low: int, high: int) -> bool:
    """Return True when a (possibly partial) date key's span meets [low, high]."""
    year, month, day = key // 10_000, key // 100 % 100, key % 100
    start = year * 10_000 + (month or 1) * 100 + (day or 1)
    end = year * 10_000 + (month or 12) * 100 + (day or 31)
    return end >= low and start <= high


def _bitmaps(values_of: dict, key=lambda value: value) -> dict:
    """Return a bitmap of documents per value, from a dict of document -> value."""
    docs: dict = {}
    for d, value in values_of.items():
        docs.setdefault(key(value), []).append(d)
    return {value: to_bits(ds) for value, ds in docs.items()}


def facet_columns(searcher) -> FacetColumns:
    """Return the facet columns of a searcher, read once and kept with it."""
    columns = getattr(searcher, "_facet_columns", None)
    if columns is None:
        columns = FacetColumns(searcher)
        searcher._facet_columns = columns
    return columns
