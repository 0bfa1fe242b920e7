"""Warming a new view before it serves: the searches this process answered lately, run once on it."""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict

from searchapp.search import BadParameter, SearchRequest, search

log = logging.getLogger(__name__)
# Searches replayed on a new view, most recent first: enough to fill the caches that matter.
REPLAYED = 16
# Seconds of replaying at most: on a busy server the old view keeps serving meanwhile, and a view
# switched to a little cold beats one switched to late.
WARM_SECONDS = 3.0
# Always run first: browsing fills the columns and facets every search uses.
BASE = (SearchRequest(), SearchRequest(q="the"), SearchRequest(q='"of the"'))


class RecentSearches:
    """The last distinct searches of this process, for warming the next view."""

    def __init__(self, size: int = REPLAYED):
        self.size = size
        self._lock = threading.Lock()
        self._recent: OrderedDict[SearchRequest, None] = OrderedDict()

    def remember(self, request: SearchRequest) -> None:
        """Note that a search was answered."""
        with self._lock:
            self._recent[request] = None
            self._recent.move_to_end(request)
            while len(self._recent) > self.size:
                self._recent.popitem(last=False)

    def latest(self) -> list[SearchRequest]:
        """Return the remembered searches, most recent first."""
        with self._lock:
            return list(reversed(self._recent))


def warm(view, recent: RecentSearches, seconds: float = WARM_SECONDS) -> int:
    """Run the base searches and the recent ones on a view, for at most `seconds`; return how many ran."""
    ran = 0
    deadline = time.monotonic() + seconds
    for request in BASE + tuple(recent.latest()):
        if ran and time.monotonic() > deadline:
            break
        try:
            search(view, request)
            ran += 1
        except BadParameter:
            pass  # a source that left the index with the reindex
    return ran
