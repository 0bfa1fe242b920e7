"""Result pages kept per index view: a search many visitors make at once, or again, is worked out once.

A widget on a busy site sends the same searches again and again; the pattern or phrase a visitor
types may cost a worker a third of a second. Pages are kept with the view they came from, so a
reindex starts afresh, and only whole answers are kept (one the time budget cut short is not).
Concurrent requests for the same page wait for the first one's answer instead of repeating its work.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from searchapp.search import SearchRequest, SearchResult, search

MEMO_KEY = "result_cache"
# Rough bytes of a kept page besides its hits' text, and per facet value.
PAGE_BYTES = 2_000
FACET_VALUE_BYTES = 120


class ResultCache:
    """Whole result pages of one view, least recently used dropped beyond a budget in bytes."""

    def __init__(self, budget_bytes: int):
        self.budget_bytes = budget_bytes
        self.held_bytes = 0
        self.hits = self.misses = 0
        self._pages: OrderedDict[SearchRequest, tuple[SearchResult, int]] = OrderedDict()
        self._running: dict[SearchRequest, threading.Event] = {}
        self._lock = threading.Lock()

    def search(self, view, request: SearchRequest) -> SearchResult:
        """Return the page for a request: kept, or worked out now (once, however many ask at the same time)."""
        while True:
            with self._lock:
                kept = self._pages.get(request)
                if kept is not None:
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
                    # Cut short, or failed: work it out here.
                    self.misses += 1
                    return search(view, request)
        try:
            result = search(view, request)
            if result.complete:
                self._keep(request, result)
            return result
        finally:
            with self._lock:
                self._running.pop(request).set()

    def _keep(self, request: SearchRequest, result: SearchResult) -> None:
        size = _size(result)
        if size > self.budget_bytes:
            return
        with self._lock:
            self._pages[request] = (result, size)
            self.held_bytes += size
            while self.held_bytes > self.budget_bytes:
                _, (_, dropped) = self._pages.popitem(last=False)
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
