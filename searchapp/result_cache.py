"""Result pages kept per index view: a search many visitors make at once, or again, is worked out once.

A widget on a busy site sends the same searches again and again; the pattern or phrase a visitor
types may cost a worker a third of a second. Pages are kept with the view they came from, so a
reindex starts afresh. Concurrent requests for the same page wait for the first one's answer
instead of repeating its work. An answer the time budget cut short is kept for CUT_SECONDS only:
asking again later gets further (a phrase check resumes), while a crowd asking at once costs one
budget, not one each.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict

from searchapp.search import SearchRequest, SearchResult, search

MEMO_KEY = "result_cache"
# Rough bytes of a kept page besides its hits' text, and per facet value.
PAGE_BYTES = 2_000
FACET_VALUE_BYTES = 120
# Seconds an answer cut short by the time budget is reused.
CUT_SECONDS = 2.0


class ResultCache:
    """Whole result pages of one view, least recently used dropped beyond a budget in bytes."""

    def __init__(self, budget_bytes: int, cut_seconds: float = CUT_SECONDS):
        self.budget_bytes = budget_bytes
        self.cut_seconds = cut_seconds
        self.held_bytes = 0
        self.hits = self.misses = 0
        # request -> (page, bytes, reusable until: time.monotonic(), or None for as long as the view lives)
        self._pages: OrderedDict[SearchRequest, tuple[SearchResult, int, float | None]] = OrderedDict()
        self._running: dict[SearchRequest, threading.Event] = {}
        self._lock = threading.Lock()

    def search(self, view, request: SearchRequest) -> SearchResult:
        """Return the page for a request: kept, or worked out now (once, however many ask at the same time)."""
        while True:
            with self._lock:
                kept = self._pages.get(request)
                if kept is not None and (kept[2] is None or kept[2] > time.monotonic()):
                    self._pages.move_to_end(request)
                    self.hits += 1
                    return kept[0]
                running = self._running.get(request)
                if running is None:
                    self._running[request] = threading.Event()
                    self.misses += 1
                    break
            # Another thread is working this page out: its answer is ours once kept.
            running.wait()
            with self._lock:
                if request not in self._pages:
                    # It failed: work it out here (and fail the same way, if it must).
                    self.misses += 1
                    return search(view, request)
        try:
            result = search(view, request)
            self._keep(request, result, None if result.complete else time.monotonic() + self.cut_seconds)
            return result
        finally:
            with self._lock:
                self._running.pop(request).set()

    def _keep(self, request: SearchRequest, result: SearchResult, until: float | None) -> None:
        size = _size(result)
        if size > self.budget_bytes:
            return
        with self._lock:
            replaced = self._pages.pop(request, None)
            if replaced is not None:
                self.held_bytes -= replaced[1]
            self._pages[request] = (result, size, until)
            self.held_bytes += size
            while self.held_bytes > self.budget_bytes:
                _, (_, dropped, _) = self._pages.popitem(last=False)
                self.held_bytes -= dropped


def _size(result: SearchResult) -> int:
    """Return about how many bytes a result page holds."""
    text = sum(len(h["snippet_html"]) + len(h["snippet"]) + 2 * len(h["title"]) + 300 for h in result.hits)
    facets = sum(len(values) for values in result.facets.values()) * FACET_VALUE_BYTES
    return PAGE_BYTES + text + facets


def cached_search(view, request: SearchRequest, budget_bytes: int) -> SearchResult:
    """Search through the view's result cache (none with a budget of 0)."""
    if budget_bytes <= 0:
        return search(view, request)
    cache = view.memo.get(MEMO_KEY)
    if cache is None:
        cache = view.memo.setdefault(MEMO_KEY, ResultCache(budget_bytes))
    return cache.search(view, request)
