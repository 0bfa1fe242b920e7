"""The index for a request: views of the index kept in a pool and reused, each reopened after a reindex.

A threaded server starts a thread per request, so views kept per thread would be opened (and
their caches rebuilt) on every request; a pool keeps them, one request at a time on each.
"""

from __future__ import annotations

import queue
import threading

from flask import current_app, g

from indexer.engine.storage import ViewSource

_pools: dict[str, queue.LifoQueue] = {}
_pools_lock = threading.Lock()


def get_view():
    """Return an up-to-date view of the index for this request; raise IndexMissingError without an index."""
    if "view" not in g:
        path = current_app.config["INDEX"]
        with _pools_lock:
            pool = _pools.setdefault(path, queue.LifoQueue())
        try:
            source = pool.get_nowait()
        except queue.Empty:
            source = ViewSource(path)
        g.view_source = source
        g.view = source.get()
    return g.view


def release_view(exc=None) -> None:
    """Give the request's view back to the pool, open, for the next request."""
    g.pop("view", None)
    source = g.pop("view_source", None)
    if source is not None:
        _pools[current_app.config["INDEX"]].put(source)


def init_app(app) -> None:
    """Register the teardown with the app."""
    app.teardown_appcontext(release_view)
