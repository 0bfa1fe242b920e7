"""Facets and filters: per-document source, language, year, month and date of one index view, as bitmaps per value."""

from __future__ import annotations

import bisect
from datetime import date as Date

import numpy as np

from indexer.engine.bitmaps import from_bits, membership, positions, to_bits
from indexer.engine.schema import UNKNOWN_LANGUAGE, UNKNOWN_SOURCE, UNKNOWN_YEAR
from searchapp.languages import own_name

MONTH_NAMES = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
# The date-range filters a view remembers: users page through the same range.
RANGE_CACHE = 32


class FacetColumns:
    """The facet values of every live document of one index view, and cached filter sets."""

    def __init__(self, view):
        live = list(view.column("source"))  # the live document numbers, ascending
        self.size = view.size
        self.all_docs = view.live
        self.source_of = view.column("source")
        self.language_of = view.column("language")
        self.year_of = view.column("year")
        self.month_of = view.column("month")
        self.date_of = view.column("date")
        # Per facet: a bitmap of documents per value, and (by the bitmaps' id) its values and each
        # document's value as an index into them (-1: none).
        self._codes: dict[int, tuple[list, np.ndarray]] = {}
        self.source_docs = self._facet(self.source_of, lambda source: source or UNKNOWN_SOURCE)
        self.language_docs = self._facet(self.language_of, lambda language: language or UNKNOWN_LANGUAGE)
        self.year_docs = self._facet(self.year_of)
        self.month_docs = self._facet(self.month_of)
        dated = sorted((self.date_of[d], d) for d in live if self.year_of[d] != UNKNOWN_YEAR)
        self._dated_keys = [key for key, _ in dated]
        self._dated_docs = [d for _, d in dated]
        # Newest first, undated last: browsing and "newest" walk this order.
        self.newest_order = self._dated_docs[::-1] + [d for d in live if self.year_of[d] == UNKNOWN_YEAR]
        self.oldest_order = self._dated_docs + self.newest_order[len(self._dated_docs) :]
        self._ranges: dict[tuple, int] = {}
        self._totals: dict[int, dict] = {}
        # The last matched set counted, as document numbers: a search counts its facets over the same sets.
        self._last_counted: tuple[int, np.ndarray] = (0, np.zeros(0, dtype=np.int64))

    def _facet(self, values_of: dict, key=lambda value: value) -> dict:
        """Return a bitmap of documents per value, from a dict of document -> value, noting each document's value."""
        docs: dict = {}
        for d, value in values_of.items():
            docs.setdefault(key(value), []).append(d)
        codes = np.full(self.size, -1, dtype=np.int16 if len(docs) < 1 << 15 else np.int32)
        for i, ds in enumerate(docs.values()):
            codes[ds] = i
        bitmaps = {value: to_bits(ds) for value, ds in docs.items()}
        self._codes[id(bitmaps)] = (list(bitmaps), codes)
        return bitmaps

    # -- filters: bitmaps, or None for "no filter" --

    def source_filter(self, sources) -> int | None:
        """Return the documents of any of the sources (OR within the facet), or None for no filter."""
        if not sources:
            return None
        docs = 0
        for s in sources:
            docs |= self.source_docs.get(s, 0)
        return docs

    def language_filter(self, languages) -> int | None:
        """Return the documents in any of the languages (OR within the facet), or None for no filter."""
        if not languages:
            return None
        docs = 0
        for language in languages:
            docs |= self.language_docs.get(language, 0)
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
        docs = self._ranges.get(key)
        if docs is None:
            low = _key(date_from) if date_from else 0
            high = _key(date_to) if date_to else 99_999_999
            # Partial dates sort at their start (2023-00-00); a year that overlaps the range counts.
            first = bisect.bisect_left(self._dated_keys, low // 10_000 * 10_000)
            last = bisect.bisect_right(self._dated_keys, high)
            docs = to_bits(d for d in self._dated_docs[first:last] if _overlaps(self.date_of[d], low, high))
            if len(self._ranges) >= RANGE_CACHE:
                # Threads share the view: another may have taken the same entry out first.
                self._ranges.pop(next(iter(self._ranges), None), None)
            self._ranges[key] = docs
        return docs

    # -- facets --

    def source_facet(self, docs, selected) -> list[dict]:
        """Return source counts, largest first and releases of unknown source last, every selected source listed."""
        counts = self._counts(self.source_docs, docs)
        values = [{"value": s, "count": c, "selected": s in selected} for s, c in counts.items()]
        values += [{"value": s, "count": 0, "selected": True} for s in selected if s not in counts]
        for v in values:
            v["unknown"] = v["value"] == UNKNOWN_SOURCE
        return sorted(values, key=lambda v: (v["unknown"], -v["count"], v["value"].lower()))

    def language_facet(self, docs, selected) -> list[dict]:
        """Return counts per language with its own name, largest first and unknown last, every selected one listed."""
        counts = self._counts(self.language_docs, docs)
        counts.update({code: 0 for code in selected if code not in counts})
        values = [
            {
                "value": code,
                "name": own_name(code),
                "count": n,
                "selected": code in selected,
                "unknown": code == UNKNOWN_LANGUAGE,
            }
            for code, n in counts.items()
        ]
        return sorted(values, key=lambda v: (v["unknown"], -v["count"], v["value"]))

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
        return [
            {"value": m, "name": MONTH_NAMES[m - 1], "count": counts.get(m, 0), "selected": m == selected_month}
            for m in range(1, 13)
            if counts.get(m) or m == selected_month
        ]

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
            dated = sorted(
                (d for d in found if self.year_of[d] != UNKNOWN_YEAR),
                key=lambda d: (self.date_of[d], d),
                reverse=newest,
            )
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
        if docs is None:
            if id(bitmaps) not in self._totals:
                self._totals[id(bitmaps)] = {v: n for v, bits in bitmaps.items() if (n := bits.bit_count())}
            return dict(self._totals[id(bitmaps)])
        # One pass over the matched documents' values, where ANDing every value's bitmap with them costs
        # a pass over the whole index per value: hundreds of years and sources at a million releases.
        values, codes = self._codes[id(bitmaps)]
        last, docnums = self._last_counted
        if docs is not last and docs != last:
            docnums = positions(docs)
            self._last_counted = (docs, docnums)
        counts = np.bincount(codes[docnums] + 1, minlength=len(values) + 1)[1:]
        return {values[i]: int(counts[i]) for i in np.flatnonzero(counts).tolist()}


def _key(day: Date) -> int:
    """Return the YYYYMMDD sort key of a date."""
    return day.year * 10_000 + day.month * 100 + day.day


def _overlaps(key: int, low: int, high: int) -> bool:
    """Return True when a (possibly partial) date key's span meets [low, high]."""
    year, month, day = key // 10_000, key // 100 % 100, key % 100
    start = year * 10_000 + (month or 1) * 100 + (day or 1)
    end = year * 10_000 + (month or 12) * 100 + (day or 31)
    return end >= low and start <= high


def facet_columns(view) -> FacetColumns:
    """Return the facet columns of an index view, read once and kept with it."""
    if "facet_columns" not in view.memo:
        view.memo["facet_columns"] = FacetColumns(view)
    return view.memo["facet_columns"]
