"""The index for a request: the live view of this process, leased for the request and shared by its threads."""

from __future__ import annotations

import os
import threading
from functools import partial

from flask import current_app, g

from indexer.engine.backends import live_index as open_live_index
from indexer.engine.live import LiveIndex
from searchapp.result_cache import cached_search
from searchapp.warming import RecentSearches, warm

MB = 1024 * 1024
_live: dict[tuple, LiveIndex] = {}
_live_lock = threading.Lock()


def live_index(app=None) -> LiveIndex:
    """Return this process's live index for the app's settings (a forked worker opens its own)."""
    config = (app or current_app).config
    settings = ("INDEX", "SEARCH_CACHE_MB", "SEARCH_SECONDS", "INDEX_MMAP", "WATCH_SECONDS")
    key = (os.getpid(), *(config[name] for name in settings))
    with _live_lock:
        live = _live.get(key)
        if live is None:
            recent = RecentSearches()
            live = _live[key] = open_live_index(
                config["INDEX"],
                cache_bytes=int(config["SEARCH_CACHE_MB"] * MB),
                time_budget=config["SEARCH_SECONDS"],
                mmap=config["INDEX_MMAP"],
                warm=partial(warm, recent=recent),
                watch_seconds=config["WATCH_SECONDS"],
            )
            live.recent = recent
        return live


def get_view():
    """Return the live view of the index for this request; raise IndexMissingError without an index."""
    if "view" not in g:
        live = live_index()
        lease = live.acquire()
        g.view_lease = (live, lease)
        g.view = lease.view
    return g.view


def cached_page(view, request):
    """Run a search for a request through the view's result cache (searchapp/result_cache.py)."""
    return cached_search(view, request, int(current_app.config["RESULT_CACHE_MB"] * MB))


def remember(request) -> None:
    """Note a search this process answered, to run on the next view before it serves."""
    live_index().recent.remember(request)


def release_view(exc=None) -> None:
    """End the request's lease of its view (closed once replaced and no request reads it)."""
    g.pop("view", None)
    held = g.pop("view_lease", None)
    if held is not None:
        live, lease = held
        live.release(lease)


def init_app(app) -> None:
    """Register the teardown with the app."""
    app.teardown_appcontext(release_view)
